//! Faults a classroom will produce: a worker killed mid-run, a worker killed while it holds
//! the lock, Ctrl-C, the parent itself killed, a person typing the hidden entry point.

mod common;

use std::time::Duration;

use common::{assert_clean, kill_on, pid_of, run_with, segments_of, spawn, wait_gone};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

#[test]
fn a_worker_killed_mid_run_is_reported_and_the_run_ends() {
    let mut killed = None;
    let out = run_with(
        &[
            "run",
            "lock",
            "--mode",
            "unlocked",
            "--steps",
            "40",
            "--interval-ms",
            "20",
            "--json",
        ],
        |e, _| {
            if killed.is_none() && e["type"] == "write" && e["worker"] == 2 {
                kill(pid_of(e), Signal::SIGKILL).expect("kill worker 2");
                killed = Some(e["pid"].clone());
            }
        },
    );
    assert_eq!(
        out.code,
        Some(1),
        "a run with a killed worker reports a problem"
    );
    let s = out.summary();
    let w2 = s["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["worker"] == 2))
        .expect("w2");
    assert_eq!(w2["exit_signal"], 9);
    assert!(
        s["problems"].to_string().contains("SIGKILL"),
        "{}",
        s["problems"]
    );
    let w1 = s["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["worker"] == 1))
        .expect("w1");
    assert_eq!(w1["exit_code"], 0, "the other worker finished its steps");
    assert!(s["runs"][0]["final"].as_i64() <= s["runs"][0]["expected"].as_i64());
    assert_clean(&out);
}

#[test]
fn a_lock_whose_holder_is_killed_is_recovered_and_the_run_completes() {
    let (out, killed) = kill_on(
        &[
            "run",
            "lock",
            "--mode",
            "locked",
            "--steps",
            "20",
            "--interval-ms",
            "20",
            "--json",
        ],
        "lock_acquired",
    );
    let victim = killed
        .and_then(|e| e["worker"].as_u64())
        .expect("somebody took the lock");
    let recovered = out.events("lock_recovered");
    assert_eq!(
        recovered.len(),
        1,
        "the other worker recovered the lock (EOWNERDEAD)"
    );
    assert_ne!(recovered[0]["worker"].as_u64(), Some(victim));
    let r = &out.summary()["runs"][0];
    assert_eq!(r["recovered"], 1);
    assert_eq!(r["lock"]["recovered"], 1);
    let survivor = out.summary()["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["worker"].as_u64() != Some(victim)))
        .expect("survivor");
    assert_eq!(survivor["exit_code"], 0, "the survivor ran all its steps");
    // The survivor's 20 increments all landed after the recovery.
    assert!(r["final"].as_i64().is_some_and(|f| f >= 20));
    assert_clean(&out);
}

#[test]
fn ctrl_c_stops_the_run_and_cleans_up() {
    let mut interrupted = false;
    let out = run_with(
        &[
            "run",
            "lock",
            "--mode",
            "unlocked",
            "--steps",
            "1000",
            "--interval-ms",
            "10",
            "--json",
        ],
        |e, child| {
            // Once, at the first write, whoever made it.
            if e["type"] == "write" && !interrupted {
                interrupted = true;
                kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("interrupt");
            }
        },
    );
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    assert_clean(&out);
}

/// A pool handing out ten million one-value chunks to 64 workers hears Ctrl-C while it is
/// still submitting (the submit loop never looked before): the run ends, with every worker
/// reaped and the 80 MB result segment removed, long before the submitting would have. Two
/// more signals while it cleans up change nothing.
#[test]
fn ctrl_c_is_heard_while_a_big_pool_submits() {
    let mut sent = false;
    let mut at = None;
    let out = run_with(
        &[
            "run",
            "pool",
            "--processes",
            "64",
            "--map-n",
            "10000000",
            "--chunksize",
            "1",
            "--json",
        ],
        |e, child| {
            // Once the map's chunks are going out.
            if e["type"] == "task_start" && !sent {
                sent = true;
                at = Some(std::time::Instant::now());
                let pid = Pid::from_raw(child.id() as i32);
                for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGINT] {
                    kill(pid, sig).expect("signal");
                }
            }
        },
    );
    let took = at.map(|t| t.elapsed());
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    assert!(
        took.is_some_and(|d| d < std::time::Duration::from_secs(10)),
        "it took {took:?} to stop"
    );
    assert_clean(&out);
}

#[test]
fn workers_leave_on_their_own_when_the_parent_is_killed() {
    for method in ["reexec", "fork"] {
        let mut child = spawn(&[
            "run",
            "lock",
            "--mode",
            "unlocked",
            "--steps",
            "1000",
            "--interval-ms",
            "10",
            "--json",
            "--start-method",
            method,
        ]);
        let mpviz = child.id() as i32;
        let stdout = child.stdout.take().expect("stdout");
        let mut pids = Vec::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let v: Value = serde_json::from_str(&line.expect("line")).expect("json");
            if v["type"] == "spawned" {
                pids.push(v["pid"].as_i64().expect("pid") as i32);
            }
            if v["type"] == "write" {
                break;
            }
        }
        kill(Pid::from_raw(mpviz), Signal::SIGKILL).expect("kill mpviz");
        child.wait().expect("reap mpviz");
        // A deadline, not a pace: under the whole suite's load (Python runs beside it on two
        // cores) 2 s was once not enough.
        assert!(
            wait_gone(&pids, Duration::from_secs(5)),
            "{method}: workers outlived their parent: {pids:?}"
        );
        // The segment of the killed run is still there, and the next run sweeps it.
        let left = segments_of(mpviz);
        assert_eq!(left.len(), 1, "{method}: {left:?}");
        let out = common::run(&["run", "process", "--json"]);
        let swept = out.summary()["swept_segments"].to_string();
        assert!(swept.contains(&left[0]), "{method}: {swept}");
        assert!(segments_of(mpviz).is_empty());
    }
}

#[test]
fn the_hidden_worker_entry_point_refuses_a_person() {
    let out = std::process::Command::new(common::BIN)
        .arg("__worker")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("internal entry point") && err.contains("mpviz run"),
        "{err}"
    );
    let out = std::process::Command::new(common::BIN)
        .arg("__launcher")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_hidden_worker_entry_point_refuses_a_socket_that_carries_no_pipes() {
    use std::io::Write;
    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let child = std::process::Command::new(common::BIN)
        .arg("__worker")
        .stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(
            theirs,
        )))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    ours.write_all(b"hello").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("internal entry point") && err.contains("did not carry"),
        "{err}"
    );
}

#[test]
fn a_pool_worker_killed_mid_task_is_replaced_and_its_task_reported_lost() {
    // Slow tasks (--task-ms), so the worker is surely inside one when it is killed.
    let (out, killed) = kill_on(
        &[
            "run",
            "pool",
            "--json",
            "--processes",
            "2",
            "--map-n",
            "20",
            "--chunksize",
            "2",
            "--task-ms",
            "40",
        ],
        "task_start",
    );
    let task = killed
        .and_then(|e| e["task"].as_u64())
        .expect("a task started");
    assert_eq!(out.code, Some(1), "the lost task makes the run fail");
    let s = out.summary();
    let problems = s["problems"].to_string();
    assert!(
        problems.contains("SIGKILL") && problems.contains(&format!("task {task}")),
        "the report names the signal and the lost task: {problems}"
    );
    // A third worker took the dead one's place, and the pool went on to the end.
    assert_eq!(out.events("spawned").len(), 3);
    assert!(
        out.events("phase")
            .iter()
            .any(|p| p["name"].as_str().is_some_and(|n| n.contains("replaces")))
    );
    assert_eq!(s["apply_async"], 4);
    assert_eq!(s["apply_async_list"].as_array().map(Vec::len), Some(10));
    assert_eq!(
        s["map"].as_array().map(Vec::len),
        Some(18),
        "one chunk of 2 lost"
    );
    let record = s["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|r| r["task"].as_u64() == Some(task)))
        .expect("the lost task's record");
    assert_eq!(record["ok"], false);
    assert!(
        record["error"].as_str().is_some_and(|e| e.contains("lost")),
        "{record}"
    );
    common::assert_no_processes(&out.worker_pids());
    assert!(segments_of(out.mpviz_pid).is_empty());
}

#[test]
fn a_pool_worker_killed_in_a_fast_map_never_hangs_the_run() {
    let (out, killed) = kill_on(
        &[
            "run",
            "pool",
            "--json",
            "--processes",
            "2",
            "--map-n",
            "4000000",
            "--chunksize",
            "200000",
        ],
        "task_start",
    );
    assert!(killed.is_some());
    // Whether the kill landed inside a chunk or between two, the run ends and says so.
    assert_eq!(out.code, Some(1));
    let said = format!("{}{}", out.stderr, out.raw);
    assert!(
        said.contains("SIGKILL"),
        "the report names the signal: {said}"
    );
    common::assert_no_processes(&out.worker_pids());
    assert!(segments_of(out.mpviz_pid).is_empty());
}
