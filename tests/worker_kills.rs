//! Workers SIGKILLed at seeded random points of every scenario — and on purpose while one waits
//! for the lock or is writing the shared value (a dead lock holder: tests/faults.rs) — and a
//! queue writer killed in the middle of a stream of puts. Whatever the moment: the run ends
//! (never a hang), with a summary that names the signal when something was lost, nothing is left
//! behind, and no queue item arrives torn.
//!
//! `MPVIZ_FAULT_SEED` picks the sequence (printed with any failure); `MPVIZ_KILL_TRIALS` how
//! many random trials run (default 60).

mod common;

use std::time::Duration;

use common::{Output, Rng, assert_clean, fault_seed, kill_on, pid_of, run_with};
use nix::sys::signal::{Signal, kill};

/// What a run killed at some point must still show: it ended with a summary, a failure names
/// the signal, a locked counter never goes above the exact total, and nothing is left.
fn check(out: &Output, what: &str) {
    assert!(
        matches!(out.code, Some(0) | Some(1)),
        "{what}: exit {:?}, stderr {}",
        out.code,
        out.stderr
    );
    let Some(s) = out.lines.last().filter(|v| v["type"] == "summary") else {
        panic!(
            "{what}: no summary (exit {:?}); stderr: {}; last lines: {:?}",
            out.code,
            out.stderr,
            &out.lines[out.lines.len().saturating_sub(3)..]
        );
    };
    if s["ok"] == false {
        let problems = s["problems"].to_string();
        assert!(
            problems.contains("SIGKILL") || problems.contains("signal 9"),
            "{what}: the report should name the signal: {problems}"
        );
    }
    for r in s["runs"].as_array().into_iter().flatten() {
        assert!(
            r["final"].as_i64() <= r["expected"].as_i64(),
            "{what}: the counter went above the exact total: {r}"
        );
    }
    assert_clean(out);
}

#[test]
fn a_worker_killed_while_it_waits_for_the_lock_does_not_stop_the_holder() {
    // With the increment locked one at a time, workers queue for the lock all the time; a
    // request that is not followed by an acquisition is a worker waiting.
    let args = [
        "run",
        "lock",
        "--json",
        "--mode",
        "locked",
        "--granularity",
        "step",
        "--speed",
        "4",
    ];
    let mut holder = None;
    let mut killed = false;
    let out = run_with(&args, |e, _| match e["type"].as_str() {
        Some("lock_acquired") => holder = e["worker"].as_u64(),
        Some("lock_released") => holder = None,
        Some("lock_requested") if !killed && holder.is_some() && e["worker"].as_u64() != holder => {
            killed = kill(pid_of(e), Signal::SIGKILL).is_ok();
        }
        _ => {}
    });
    check(&out, "waiter killed");
    // The signal may land after the worker's last step (the event that chose it was already
    // history): only a worker that died of it must make the run fail.
    let died_of_it = out
        .events("exit")
        .iter()
        .any(|e| e["signal"].as_i64() == Some(Signal::SIGKILL as i64));
    assert!(!died_of_it || killed);
    if died_of_it {
        assert_eq!(out.summary()["ok"], false, "a killed worker is reported");
    }
}

#[test]
fn a_writer_killed_mid_update_is_reported_and_the_run_ends() {
    let (out, killed) = kill_on(
        &[
            "run", "lock", "--json", "--mode", "unlocked", "--speed", "4",
        ],
        "read",
    );
    assert!(killed.is_some());
    check(&out, "writer killed between read and write");
}

#[test]
fn workers_killed_at_random_moments_of_every_scenario_never_hang_a_run() {
    let seed = fault_seed();
    let trials: u64 = std::env::var("MPVIZ_KILL_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut rng = Rng::new(seed);
    let scenarios: [&[&str]; 7] = [
        &["run", "process", "--json"],
        &["run", "queue", "--json"],
        &["run", "compare", "--json", "--n", "3000000"],
        &["run", "pool", "--json", "--task-ms", "5", "--map-n", "40"],
        &["run", "shared", "--json", "--speed", "8"],
        &["run", "lock", "--json", "--speed", "8"],
        &[
            "run",
            "lock",
            "--json",
            "--speed",
            "8",
            "--granularity",
            "step",
        ],
    ];
    let mut kills = 0;
    for trial in 0..trials {
        let args = scenarios[(trial % scenarios.len() as u64) as usize];
        let fork = rng.below(3) == 0;
        // Kill on the k-th event from a worker (k past the end: the run is left alone).
        let k = rng.below(40);
        let mut args: Vec<&str> = args.to_vec();
        if fork {
            args.extend(["--start-method", "fork"]);
        }
        let mut seen = 0;
        let mut killed = false;
        let out = run_with(&args, |e, _| {
            let from_worker = e["worker"].as_u64().unwrap_or(0) > 0 && e["pid"].is_i64();
            if from_worker && !killed && e["type"] != "exit" {
                if seen == k {
                    killed = kill(pid_of(e), Signal::SIGKILL).is_ok();
                }
                seen += 1;
            }
        });
        kills += killed as u32;
        check(
            &out,
            &format!("seed {seed}, trial {trial}: {args:?}, killed at worker event {k}"),
        );
    }
    eprintln!("worker kills: {trials} random trials (seed {seed}), {kills} workers killed");
    assert!(kills > 0);
}

#[test]
fn a_queue_writer_killed_mid_stream_never_delivers_a_torn_item() {
    use mpviz::runtime::queue::{MessageReader, queue_pipe};
    use mpviz::runtime::{EventKind, RuntimeOptions};
    use mpviz::scenario::Session;
    use mpviz::scenario::compare::parse_item;
    use mpviz::scenario::job::Job;
    common::adopt_orphans();
    let mut ignore = |_: &mpviz::runtime::Envelope| {};
    let opts = RuntimeOptions {
        exe: Some(common::BIN.into()),
        ..Default::default()
    };
    let mut s = Session::new(opts, &mut ignore).expect("session");
    let (r, w) = queue_pipe().expect("pipe");
    let count = 50_000_000u64;
    let id =
        s.rt.spawn(Job::QueueFlood { count }.to_json(), vec![w])
            .expect("spawn");
    let mut q = MessageReader::new(r);
    let mut m = Vec::new();
    let (mut got, mut next) = (0u64, 0u128);
    while q
        .get_into(&mut m)
        .expect("a whole item or the end, never an error")
    {
        let (from, v) = parse_item(&m).expect("every item parses");
        assert_eq!((from, v), (id, next), "items arrive whole and in order");
        next += 1;
        got += 1;
        if got == 100_000 {
            s.rt.signal(id, Signal::SIGKILL);
        }
    }
    assert!(got >= 100_000 && got < count, "{got} items before the end");
    let mut exit = None;
    while s.rt.live() > 0 {
        if let Some(e) = s.next(Duration::from_secs(5)).expect("next")
            && let EventKind::Exit { signal, .. } = e.kind
        {
            exit = signal;
        }
    }
    assert_eq!(exit, Some(Signal::SIGKILL as i32));
}
