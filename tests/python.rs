//! Real CPython programs under the probe (`mpviz python`): every process of the run is seen
//! under each start method, the shared counter's lost updates are exact, the lock keeps it
//! exact, the program's output and exit code are its own, bad input is one line, and nothing
//! of a run is left (processes, the run's directory). Skipped with a message where there is no
//! `python3` (CI has CPython 3.11).

mod common;

use std::process::Command;

fn fixture(name: &str) -> String {
    format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn nothing_left(out: &common::Output) {
    common::assert_no_processes(&out.worker_pids());
    let dirs = mpviz::python::run_dirs_of(out.mpviz_pid as u32);
    assert!(dirs.is_empty(), "run directories left: {dirs:?}");
}

#[test]
fn the_counter_under_every_start_method_lost_updates_exact_and_the_lock_exact() {
    if !common::python_here() {
        return;
    }
    const STEPS: i64 = 1500;
    for method in ["fork", "spawn", "forkserver"] {
        let out = common::run(&[
            "python",
            "--json",
            &fixture("race.py"),
            method,
            &STEPS.to_string(),
        ]);
        let what = format!("{method}: {}", out.stderr);
        assert_eq!(out.code, Some(0), "{what}");
        let s = out.summary();
        // The script's process and its four children, each with its own stream.
        assert_eq!(s["processes"], 5, "{what}: {s}");
        assert_eq!(s["dropped_events"], 0, "{what}: {s}");
        assert_eq!(
            s["writes"],
            4 * STEPS,
            "{what}: every write is accounted for"
        );
        let cells = s["cells"].as_array().expect("cells");
        assert_eq!(cells.len(), 2, "{what}: one Value per run: {s}");
        let expected = 4 * STEPS;
        let num = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<i64>().ok());
        // Without the lock: never above the exact total, and short by exactly what the lost
        // updates would have added.
        let (last, lost) = (num(&cells[0]["last"]), num(&cells[0]["lost_sum"]));
        let (last, lost) = (last.expect("last"), lost.expect("lost_sum"));
        assert!(last <= expected, "{what}: {s}");
        assert_eq!(last + lost, expected, "{what}: {s}");
        // Named as the program names them: one `v` per run of the function that makes it.
        assert_eq!(cells[0]["name"], "v", "{what}: {s}");
        assert_eq!(cells[1]["name"], "v #2", "{what}: {s}");
        // With the lock: exact, nothing lost.
        assert_eq!(num(&cells[1]["last"]), Some(expected), "{what}: {s}");
        assert_eq!(cells[1]["lost_updates"], 0, "{what}: {s}");
        assert_eq!(s["lock_acquisitions"], 2 * STEPS, "{what}: {s}");
        // Each child starts, and says how it ended.
        let exits = out.events("exit");
        assert_eq!(exits.len(), 5, "{what}");
        assert!(exits.iter().all(|e| e["code"] == 0), "{what}: {exits:?}");
        // What the script printed is there, in its words.
        let printed: Vec<&str> = out
            .events("output")
            .iter()
            .filter_map(|e| e["text"].as_str())
            .collect();
        assert!(
            printed.contains(&format!("locked {expected} {expected}").as_str()),
            "{what}: {printed:?}"
        );
        nothing_left(&out);
    }
}

#[test]
fn the_probe_changes_neither_output_nor_exit_code() {
    if !common::python_here() {
        return;
    }
    for method in ["fork", "spawn"] {
        let plain = Command::new("python3")
            .args([&fixture("plain.py"), method, "-x", "two words"])
            .output()
            .expect("python3");
        let out = common::run(&[
            "python",
            "--json",
            &fixture("plain.py"),
            method,
            "-x",
            "two words",
        ]);
        assert_eq!(plain.status.code(), Some(3));
        assert_eq!(out.code, Some(3), "the script's exit code is passed on");
        let lines = |stream: &str| -> Vec<String> {
            out.events("output")
                .iter()
                .filter(|e| e["stream"] == stream)
                .filter_map(|e| e["text"].as_str().map(str::to_string))
                .collect()
        };
        let mut traced = lines("stdout");
        let mut untraced: Vec<String> = String::from_utf8_lossy(&plain.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        // The children print in whatever order they run: compare as sets of lines.
        traced.sort();
        untraced.sort();
        assert_eq!(traced, untraced, "{method}");
        assert_eq!(lines("stderr"), vec!["to stderr".to_string()], "{method}");
        assert_eq!(out.summary()["processes"], 4, "{method}");
        // Each child's line is shown as that child's, the script's own as worker 1's.
        let children: std::collections::BTreeSet<u64> = (0..3)
            .map(|n| printed_by(&out, &format!("child {n}")))
            .collect();
        assert_eq!(children.len(), 3, "{method}: {children:?}");
        assert!(!children.contains(&1), "{method}: {children:?}");
        assert_eq!(printed_by(&out, "squares [0, 1, 4]"), 1, "{method}");
        // And before that child's end, in the stream and in time: it printed, then ended.
        for n in 0..3 {
            let text = format!("child {n}");
            let at = |kind: &str, worker: u64| {
                out.lines
                    .iter()
                    .position(|e| {
                        e["type"] == kind
                            && e["worker"] == worker
                            && (kind != "output" || e["text"] == text.as_str())
                    })
                    .expect("the event")
            };
            let w = printed_by(&out, &text);
            let (printed, ended) = (at("output", w), at("exit", w));
            assert!(printed < ended, "{method}: {text} after its end");
            let t = |i: usize| out.lines[i]["t_ns"].as_u64().expect("t_ns");
            assert!(
                t(printed) <= t(ended),
                "{method}: {text} stamped after its end"
            );
        }
        nothing_left(&out);
    }
}

#[test]
fn bad_input_is_one_line_and_starts_nothing() {
    if !common::python_here() {
        return;
    }
    let cast = std::env::temp_dir().join(format!("mpviz-test-{}.cast", std::process::id()));
    let cast = cast.to_str().expect("a path");
    let cases: [&[&str]; 4] = [
        &["python", "/nonexistent/script.py"],
        // The UI's recording, asked for where there is no terminal for the UI.
        &["python", "--record", cast, &fixture("plain.py")],
        &[
            "python",
            "--python",
            "/nonexistent/python3",
            &fixture("plain.py"),
        ],
        &["python", env!("CARGO_MANIFEST_DIR")],
    ];
    for args in cases {
        let out = common::run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("mpviz: "), "{}", out.stderr);
        assert!(out.raw.is_empty(), "{args:?}: nothing ran");
        assert!(mpviz::python::run_dirs_of(out.mpviz_pid as u32).is_empty());
    }
    assert!(!std::path::Path::new(cast).exists(), "no recording made");
}

#[test]
fn the_tutorials_queue_program_gives_its_figure_and_each_item_its_putter() {
    if !common::python_here() {
        return;
    }
    let script = format!("{}/assets/python/mp_queue.py", env!("CARGO_MANIFEST_DIR"));
    let out = common::run(&["python", "--json", &script]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let printed: Vec<&str> = out
        .events("output")
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(printed, vec!["499667166000"], "CPython's own figure");
    let puts = out.events("queue_put");
    let gets = out.events("queue_get");
    assert_eq!((puts.len(), gets.len()), (2, 2));
    let mut putters: Vec<u64> = puts.iter().filter_map(|e| e["worker"].as_u64()).collect();
    let mut froms: Vec<u64> = gets.iter().filter_map(|e| e["from"].as_u64()).collect();
    putters.sort_unstable();
    froms.sort_unstable();
    assert_eq!(
        putters, froms,
        "each item is got with the worker that put it"
    );
    // The queue's own locks are its machinery: no lock events from them.
    assert_eq!(out.summary()["lock_acquisitions"], 0);
    nothing_left(&out);
}

#[test]
fn the_pools_tasks_are_seen_with_their_workers_and_the_bad_call_in_pythons_words() {
    if !common::python_here() {
        return;
    }
    for method in ["fork", "spawn", "forkserver"] {
        let out = common::run(&["python", "--json", &fixture("pool.py"), method]);
        assert_eq!(out.code, Some(0), "{method}: {}", out.stderr);
        let printed: Vec<&str> = out
            .events("output")
            .iter()
            .filter_map(|e| e["text"].as_str())
            .collect();
        let words = "TypeError: job() takes 1 positional argument but 3 were given";
        assert_eq!(
            printed,
            vec!["[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]", "4", words],
            "{method}: CPython's own results"
        );
        let starts = out.events("task_start");
        let ends = out.events("task_end");
        assert_eq!(starts.len(), ends.len(), "{method}: every task ends");
        // map's chunks cover range(10) exactly once.
        let mut covered: Vec<i64> = starts
            .iter()
            .filter(|e| e["call"] == "job")
            .flat_map(|e| {
                let (first, count) = (
                    e["first"].as_i64().unwrap_or(-1),
                    e["count"].as_i64().unwrap_or(0),
                );
                first..first + count
            })
            .collect();
        covered.sort_unstable();
        assert_eq!(covered, (0..10).collect::<Vec<_>>(), "{method}");
        // The bad call ends failed, with Python's message.
        assert!(
            ends.iter().any(|e| e["ok"] == false && e["error"] == words),
            "{method}: {ends:?}"
        );
        // Each apply_async is named as the call Python makes.
        let mut calls: Vec<&str> = starts
            .iter()
            .filter_map(|e| e["call"].as_str())
            .filter(|c| *c != "job")
            .collect();
        calls.sort_unstable();
        assert_eq!(calls, ["job(2)", "job(2, 3, 4)"], "{method}");
        // Tasks ran in the pool's two workers, not in the script's process.
        assert!(
            starts.iter().all(|e| e["worker"].as_u64() != Some(1)),
            "{method}"
        );
        nothing_left(&out);
    }
}

fn is_keeper(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|b| *b == 0).any(|a| a == b"__keeper"))
        .unwrap_or(false)
}

/// The UI on a real CPython run, in a pseudo-terminal: every process listed, each Value's
/// trace and the lock's lanes drawn from the probe's events, pause stops the program's
/// processes, `r` runs it again, and quitting in the middle leaves nothing; the session's
/// recording is the program's screen from its first frame.
#[test]
fn the_ui_shows_a_python_run_and_quitting_leaves_nothing() {
    if !common::python_here() {
        return;
    }
    let ticks = fixture("ticks.py");
    let cast = std::env::temp_dir().join(format!("mpviz-py-ui-{}.cast", std::process::id()));
    let mut s =
        common::pty::Session::start(&["python", "--record", &cast.to_string_lossy(), &ticks]);
    s.wait_for("the first writes", |t| {
        t.contains("v: ") && t.contains(" running ")
    });
    // The script's process waits for its children, and says so.
    s.wait_for("the script's process in join()", |t| {
        t.lines()
            .any(|l| l.contains("__main__") && l.contains("in join()"))
    });
    s.press(b" ");
    let paused = s.wait_for("the pause", |t| t.contains("PAUSED"));
    // The run's keeper (mpviz's own helper, see src/python/keeper.rs) is not the program's.
    let main: Vec<i32> = common::pty::children_of(s.pid)
        .into_iter()
        .filter(|p| !is_keeper(*p))
        .collect();
    assert!(!main.is_empty(), "the program runs: {paused}");
    assert!(
        main.iter()
            .all(|p| common::pty::proc_state(*p) == Some('T')),
        "the program's processes are stopped: {main:?}\n{paused}"
    );
    s.press(b" ");
    let text = s.wait_for("the run's end", |t| t.contains(" done "));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("mpviz python"), "{text}");
    assert!(flat.contains("Workers: 0 live, 5 in all"), "{text}");
    assert!(
        flat.contains("__main__") && flat.contains("job()"),
        "{text}"
    );
    // The lock is named from where it was made (its line assigns it to no name).
    assert!(
        flat.contains("Lock() at ticks.py:18: 80 acquisitions"),
        "{text}"
    );
    // Again, and quit while it runs.
    s.press(b"r");
    s.wait_for("the second run", |t| {
        t.contains(" running ") && t.contains("v: ")
    });
    let running = common::pty::children_of(s.pid);
    s.press(b"q");
    assert!(s.wait_exit(), "mpviz exits 0");
    s.assert_terminal_restored();
    common::assert_no_processes(&running);
    assert!(
        mpviz::python::run_dirs_of(s.pid as u32).is_empty(),
        "no run directory left"
    );
    let rec = std::fs::read_to_string(&cast).expect("the UI recorded a cast");
    let _ = std::fs::remove_file(&cast);
    let first: serde_json::Value = rec
        .lines()
        .nth(1)
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("a first frame");
    let first = first[2].as_str().unwrap_or_default();
    assert!(
        first.contains("python")
            && first.contains("ticks.py")
            && !first.contains("multiprocessing made visible"),
        "the first frame is the program's: {first:?}"
    );
}

/// What a program printed to one stream, as a sorted list of lines (its processes print in
/// whatever order they run).
fn sorted_lines(text: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(text)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The worker that printed `text` (one line, printed once).
fn printed_by(out: &common::Output, text: &str) -> u64 {
    let by: Vec<u64> = out
        .events("output")
        .iter()
        .filter(|e| e["text"] == text)
        .filter_map(|e| e["worker"].as_u64())
        .collect();
    assert_eq!(by.len(), 1, "{text:?} printed once: {by:?}");
    by[0]
}

fn traced_lines(out: &common::Output, stream: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .events("output")
        .iter()
        .filter(|e| e["stream"] == stream)
        .filter_map(|e| e["text"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// Programs a learner writes that are not the tutorial's: each runs under the probe with the
/// same output, errors and exit code as without it, under every start method, every process
/// seen and nothing dropped; and what each does that the probe must follow is there.
#[test]
fn user_programs_beyond_the_tutorial_run_unchanged_under_the_probe() {
    if !common::python_here() {
        return;
    }
    let scripts = [
        "executor.py",
        "manager.py",
        "nested.py",
        "raises.py",
        "osexit.py",
        "terminate.py",
        "redirected.py",
        "threads.py",
        "two_locks.py",
        "condition.py",
        "gave_up.py",
        "manager_lock.py",
        "unpicklable.py",
        "queues.py",
        "wrapped.py",
        "pipe.py",
        "pool_calls.py",
        "simple_queue.py",
        "pipeline.py",
    ];
    let mut cases = Vec::new();
    for script in scripts {
        for method in ["fork", "spawn", "forkserver"] {
            cases.push((script, method));
        }
    }
    // Each case in a thread of its own: they are separate runs, with nothing in common.
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&(script, method)| {
                scope.spawn(move || {
                    let path = fixture(&format!("users/{script}"));
                    let plain = Command::new("python3")
                        .args([&path, method])
                        .output()
                        .expect("python3");
                    let out = common::run(&["python", "--json", &path, method]);
                    (script, method, plain, out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a case"))
            .collect()
    });
    for (script, method, plain, out) in results {
        let what = format!("{script} under {method}: {}", out.stderr);
        assert_eq!(out.code, plain.status.code(), "{what}: the exit code");
        assert_eq!(
            traced_lines(&out, "stdout"),
            sorted_lines(&plain.stdout),
            "{what}"
        );
        assert_eq!(
            traced_lines(&out, "stderr"),
            sorted_lines(&plain.stderr),
            "{what}"
        );
        let s = out.summary();
        assert_eq!(s["dropped_events"], 0, "{what}: {s}");
        if script != "terminate.py" {
            assert_eq!(s["unsaid_ends"], 0, "{what}: every end said: {s}");
            // Each blocking call a process said it waits in, it said it left, one at a time.
            let mut open: std::collections::HashMap<u64, String> = Default::default();
            for e in &out.lines {
                let w = e["worker"].as_u64().unwrap_or(0);
                match e["type"].as_str() {
                    Some("blocked") => {
                        let on = e["on"].as_str().unwrap_or_default().to_string();
                        assert!(on.ends_with("()"), "{what}: {e}");
                        let before = open.insert(w, on);
                        assert_eq!(before, None, "{what}: worker {w} already waiting");
                    }
                    Some("unblocked") => {
                        assert!(open.remove(&w).is_some(), "{what}: {e} not waiting")
                    }
                    _ => {}
                }
            }
            assert!(
                open.is_empty(),
                "{what}: still waiting at the end: {open:?}"
            );
        }
        let exits = out.events("exit");
        let child_exit = |code: i64| exits.iter().any(|e| e["worker"] != 1 && e["code"] == code);
        match script {
            // The script's process and the executor's two workers; each call item it puts on
            // its queue is got once, in another process, as the same words (no address).
            "executor.py" => {
                assert_eq!(s["processes"], 3, "{what}: {s}");
                // Its call queue only: its result queue is read past `get`, not followed.
                assert_eq!(s["queues"].as_array().map(Vec::len), Some(1), "{what}: {s}");
                let words = |kind: &str| {
                    let mut w: Vec<String> = out
                        .events(kind)
                        .iter()
                        .map(|e| e["value"].to_string())
                        .collect();
                    w.sort_unstable();
                    w
                };
                let puts = words("queue_put");
                assert!(!puts.is_empty(), "{what}");
                assert!(
                    puts.iter().all(|w| !w.contains(" at 0x")),
                    "{what}: {puts:?}"
                );
                assert_eq!(words("queue_get"), puts, "{what}");
                // What the script's process waits in, as its lines write the calls: the
                // result that cannot come before its timeout, and the Event never set, are
                // certain waits; any other it says is one of its own calls.
                let waits: std::collections::BTreeSet<String> = out
                    .events("blocked")
                    .iter()
                    .filter(|e| e["worker"] == 1)
                    .filter_map(|e| e["on"].as_str().map(str::to_string))
                    .collect();
                for certain in ["held.result()", "flag.wait()"] {
                    assert!(waits.contains(certain), "{what}: {waits:?}");
                }
                let its_own = [
                    "ex.map()",
                    "Future.result()",
                    "held.result()",
                    "cf.as_completed()",
                    "cf.wait()",
                    "flag.wait()",
                ];
                assert!(
                    waits.iter().all(|w| its_own.contains(&w.as_str())),
                    "{what}: {waits:?}"
                );
            }
            // A JoinableQueue's puts are followed as a Queue's are: 6 tasks and 2 Nones on it,
            // 6 results on the other, each got once, from the queue it was put on; each queue
            // named as the program names it, in every process.
            "queues.py" => {
                let (puts, gets) = (out.events("queue_put"), out.events("queue_get"));
                assert_eq!((puts.len(), gets.len()), (14, 14), "{what}: {s}");
                let mut named: Vec<(u64, String, String)> = out
                    .events("queue_made")
                    .iter()
                    .map(|e| {
                        (
                            e["queue"].as_u64().unwrap_or(0),
                            e["name"].to_string(),
                            e["what"].to_string(),
                        )
                    })
                    .collect();
                named.sort();
                named.dedup();
                let of = |name: &str| {
                    named
                        .iter()
                        .find(|n| n.1 == format!("{name:?}"))
                        .map(|n| n.0)
                };
                let (tasks, done) = (of("tasks"), of("done"));
                assert!(
                    tasks.is_some() && done.is_some() && tasks != done,
                    "{what}: {named:?}"
                );
                assert_eq!(named.len(), 2, "{what}: one number each: {named:?}");
                let on = |events: &[&serde_json::Value], q| {
                    events.iter().filter(|e| e["queue"].as_u64() == q).count()
                };
                assert_eq!((on(&puts, tasks), on(&puts, done)), (8, 6), "{what}");
                assert_eq!((on(&gets, tasks), on(&gets, done)), (8, 6), "{what}");
                // The summary's figures, per queue.
                let queues = s["queues"].as_array().expect("queues");
                let fig = |name: &str| {
                    queues
                        .iter()
                        .find(|q| q["name"] == name)
                        .map(|q| (q["what"].to_string(), q["puts"].clone(), q["left"].clone()))
                };
                assert_eq!(
                    fig("tasks"),
                    Some(("\"JoinableQueue()\"".into(), 8.into(), 0.into())),
                    "{what}: {s}"
                );
                assert_eq!(
                    fig("done"),
                    Some(("\"Queue()\"".into(), 6.into(), 0.into())),
                    "{what}: {s}"
                );
            }
            // The child waits for the parent's answer in its recv, whatever the order the
            // numbers come in; a recv with its message already there is no wait.
            "pipe.py" => {
                let waits: Vec<_> = out
                    .events("blocked")
                    .iter()
                    .map(|e| (e["worker"].as_u64().unwrap_or(0), e["on"].to_string()))
                    .collect();
                assert!(
                    waits.iter().all(|(w, on)| (*w == 1 && on == "\"a.recv()\"")
                        || (*w != 1 && (on == "\"conn.recv()\"" || on == "\"ready.wait()\""))),
                    "{what}: {waits:?}"
                );
            }
            // Its workers wait for jobs in `jobs.get()`; the main process in `jobs.join()`
            // once the jobs are out.
            "pipeline.py" => {
                let waits = |on: &str| {
                    out.events("blocked")
                        .iter()
                        .filter(|e| e["on"] == on)
                        .map(|e| e["worker"].as_u64().unwrap_or(0))
                        .collect::<std::collections::BTreeSet<_>>()
                };
                assert_eq!(
                    waits("jobs.join()").into_iter().collect::<Vec<_>>(),
                    [1],
                    "{what}: {:?}",
                    out.events("blocked")
                );
                // (A worker finds jobs waiting for it if it starts late: it waits in none.)
                assert!(!waits("jobs.get()").contains(&1), "{what}");
                let queues = s["queues"].as_array().expect("queues");
                let named: Vec<_> = queues.iter().map(|q| q["name"].clone()).collect();
                assert_eq!(named, ["jobs", "results"], "{what}: {s}");
            }
            // The program's SimpleQueue: three puts, three gets, named; no other queue.
            "simple_queue.py" => {
                let queues = s["queues"].as_array().expect("queues");
                assert_eq!(queues.len(), 1, "{what}: {s}");
                assert_eq!(
                    (
                        &queues[0]["name"],
                        &queues[0]["what"],
                        &queues[0]["puts"],
                        &queues[0]["gets"]
                    ),
                    (
                        &"results".into(),
                        &"SimpleQueue()".into(),
                        &3.into(),
                        &3.into()
                    ),
                    "{what}: {s}"
                );
            }
            // Each task as the call it makes; a chunk of a range as the range it covers.
            "pool_calls.py" => {
                let mut calls: Vec<String> = out
                    .events("task_start")
                    .iter()
                    .map(|e| match e["call"].as_str().unwrap_or_default() {
                        "abs" => format!("abs(x) for x in range({}, +{})", e["first"], e["count"]),
                        c => c.to_string(),
                    })
                    .collect();
                calls.sort();
                assert_eq!(
                    calls,
                    [
                        "abs(-7)",
                        "abs(x) for x in [5, -1, 9]",
                        "abs(x) for x in range(-2, +2)",
                        "abs(x) for x in range(-4, +2)",
                        "add(1, 2)",
                        "add(3, 4)",
                    ],
                    "{what}"
                );
                let mut waits: Vec<String> = out
                    .events("blocked")
                    .iter()
                    .map(|e| e["on"].as_str().unwrap_or_default().to_string())
                    .collect();
                waits.sort();
                waits.dedup();
                for on in ["pool.starmap()", "pool.map()", "r.wait()", "pool.imap()"] {
                    assert!(waits.iter().any(|w| w == on), "{what}: {on} in {waits:?}");
                }
            }
            // The manager's server and three children.
            // Its calls to the manager are recvs of multiprocessing's own: no waits said.
            "manager.py" => {
                assert_eq!(s["processes"], 5, "{what}: {s}");
                assert_eq!(out.events("blocked").len(), 0, "{what}");
            }
            // Two children, each with a grandchild that writes the Value under its lock; what
            // each prints is shown as its own, five processes, five different workers.
            "nested.py" => {
                assert_eq!(s["processes"], 5, "{what}: {s}");
                assert_eq!(s["writes"], 2, "{what}: {s}");
                assert_eq!(s["cells"][0]["last"], "3", "{what}: {s}");
                let by = |text: &str| printed_by(&out, text);
                let workers = [
                    by("total 3"),
                    by("child 1 grandchild exit 0"),
                    by("child 2 grandchild exit 0"),
                    by("grandchild 1"),
                    by("grandchild 2"),
                ];
                assert_eq!(workers[0], 1, "{what}: the script's own line");
                let distinct: std::collections::BTreeSet<_> = workers.iter().collect();
                assert_eq!(distinct.len(), 5, "{what}: {workers:?}");
            }
            // The child's print went into the file its parent pointed stdout at, as without
            // the probe (checked above): the probe only takes streams that are the run's.
            "redirected.py" => {}
            // Each of the child's two threads is a worker of its own, known by its thread
            // id, with its own writes (under the Value's lock: exact) and its end.
            "threads.py" => {
                assert_eq!(
                    (s["processes"].as_u64(), s["threads"].as_u64()),
                    (Some(2), Some(2)),
                    "{what}: {s}"
                );
                assert_eq!(s["cells"][0]["last"], "55", "{what}: {s}");
                // `with v.get_lock():` takes the Value's own lock: a lock of the program's,
                // named for its Value; the value's own reads and writes are not takes of it.
                assert_eq!(s["locks"][0]["name"], "v.get_lock()", "{what}: {s}");
                assert_eq!(s["locks"][0]["acquisitions"], 10, "{what}: {s}");
                let threads: Vec<u64> = out
                    .events("spawned")
                    .iter()
                    .filter(|e| e["method"] == "thread")
                    .filter_map(|e| e["worker"].as_u64())
                    .collect();
                assert_eq!(threads.len(), 2, "{what}");
                for w in &threads {
                    let writes = out
                        .events("write")
                        .iter()
                        .filter(|e| e["worker"] == *w)
                        .count();
                    assert_eq!(writes, 5, "{what}: worker {w}'s writes");
                    assert!(exits.iter().any(|e| e["worker"] == *w), "{what}: {w} ends");
                }
            }
            // Two locks, each its own: named as the program names them, each taken six
            // times by each of three processes, every take of one followed by its release
            // before that process takes it again (the nested one timed apart).
            "two_locks.py" => {
                let locks = s["locks"].as_array().expect("locks");
                let named: Vec<_> = locks.iter().map(|l| l["name"].clone()).collect();
                assert_eq!(named, ["la", "lb"], "{what}: {s}");
                for l in locks {
                    assert_eq!(l["acquisitions"], 18, "{what}: {s}");
                }
                for c in s["cells"].as_array().expect("cells") {
                    assert_eq!(c["lost_updates"], 0, "{what}: {s}");
                }
                let last: Vec<_> = s["cells"]
                    .as_array()
                    .expect("cells")
                    .iter()
                    .map(|c| c["last"].clone())
                    .collect();
                assert_eq!(last, ["315", "330"], "{what}: {s}");
                let mut held = std::collections::BTreeMap::new();
                for e in out.events_of(&["lock_acquired", "lock_released"]) {
                    let key = (e["worker"].as_u64(), e["lock"].as_u64());
                    assert!(
                        locks.iter().any(|l| l["lock"] == e["lock"]),
                        "{what}: a step of an unknown lock: {e}"
                    );
                    let now_held = e["type"] == "lock_acquired";
                    let was = held.insert(key, now_held).unwrap_or(false);
                    assert_ne!(was, now_held, "{what}: {key:?} twice in a row: {e}");
                }
                assert!(held.values().all(|h| !h), "{what}: a lock left held");
            }
            // The locks the program takes, by name; an Event's and a Barrier's are not.
            "condition.py" => {
                let locks = s["locks"].as_array().expect("locks");
                let named: Vec<_> = locks.iter().map(|l| l["name"].clone()).collect();
                assert_eq!(named, ["cond", "v.get_lock()"], "{what}: {s}");
                assert_eq!(locks[1]["acquisitions"], 2, "{what}: {s}");
                assert_eq!(s["cells"][0]["last"], "21", "{what}: {s}");
                // What each waits in, as its line calls it.
                let waits = |on: &str| {
                    out.events("blocked")
                        .iter()
                        .filter(|e| e["on"] == on)
                        .map(|e| e["worker"].as_u64().unwrap_or(0))
                        .collect::<Vec<_>>()
                };
                let mut ev = waits("ev.wait()");
                ev.sort_unstable();
                ev.dedup();
                assert_eq!(ev.len(), 2, "{what}: both consumers wait in ev.wait()");
                assert!(!ev.contains(&1), "{what}");
                assert_eq!(waits("Barrier.wait()"), [1], "{what}");
                assert!(
                    waits("cond.wait()").iter().all(|w| ev.contains(w)),
                    "{what}"
                );
                assert!(
                    out.events("blocked")
                        .iter()
                        .all(|e| e["on"] != "Condition.wait()"),
                    "{what}: an Event's own Condition is its machinery"
                );
            }
            // A lock not taken (acquire(False), a timeout) is given up: said, and the child
            // is no longer waiting for it.
            "gave_up.py" => {
                let gave_up = out.events("lock_gave_up");
                assert_eq!(gave_up.len(), 2, "{what}");
                assert!(
                    gave_up.iter().all(|e| e["worker"] != 1),
                    "{what}: the child's"
                );
                assert_eq!(s["locks"][0]["acquisitions"], 1, "{what}: {s}");
            }
            // A Manager's Lock (a proxy) is one lock of the program's, whichever process's
            // proxy takes it, named where it was made.
            "manager_lock.py" => {
                let locks = s["locks"].as_array().expect("locks");
                assert_eq!(locks.len(), 1, "{what}: {s}");
                assert_eq!(locks[0]["name"], "ml", "{what}: {s}");
                assert_eq!(locks[0]["acquisitions"], 15, "{what}: {s}");
            }
            // Compared with the plain run above: the same refusal, no module imported for it.
            "unpicklable.py" => {}
            "raises.py" => assert!(child_exit(1), "{what}: {exits:?}"),
            // `os._exit` skips every clean-up: the write before it and its code still arrive.
            "osexit.py" => {
                assert!(child_exit(5), "{what}: {exits:?}");
                assert_eq!(s["writes"], 1, "{what}: {s}");
            }
            // Pool.terminate's SIGTERM (left at its default: see the probe's TaskTap): both
            // workers end, without saying how (their connections close), after every task
            // start they made was sent.
            "terminate.py" => {
                let unsaid = exits
                    .iter()
                    .filter(|e| e["worker"] != 1 && e.get("code").is_none())
                    .count();
                assert_eq!(unsaid, 2, "{what}: {exits:?}");
                assert_eq!(s["unsaid_ends"], 2, "{what}: said in the summary: {s}");
                assert_eq!(out.events("task_start").len(), 2, "{what}");
            }
            // Output unchanged (above) is the point: the wrapped sleep was found by its name.
            // Its pool tasks are named as its functions are.
            "wrapped.py" => {
                let mut calls: Vec<_> = out
                    .events("task_start")
                    .iter()
                    .map(|e| e["call"].clone())
                    .collect();
                calls.sort_by_key(|c| c.to_string());
                assert_eq!(calls, ["sleep(0.01)", "sleep(0.02)"], "{what}");
            }
            _ => unreachable!(),
        }
        nothing_left(&out);
    }
}

/// Ctrl-C, SIGTERM and SIGKILL of mpviz while a program runs: its processes, mpviz's keeper
/// and the run's directory are all gone afterwards (after a SIGKILL mpviz cleans up nothing
/// itself: its keeper does).
#[test]
fn signals_to_mpviz_mid_run_leave_no_process_and_no_directory() {
    use std::io::BufRead;
    if !common::python_here() {
        return;
    }
    common::adopt_orphans();
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGKILL,
    ] {
        let mut child = Command::new(common::BIN)
            .args(["python", "--json", &fixture("forever.py")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mpviz");
        let mpviz = child.id() as i32;
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        // Until both children have written.
        let mut pids = std::collections::BTreeSet::new();
        let mut writers = std::collections::BTreeSet::new();
        for line in lines.by_ref() {
            let e: serde_json::Value = serde_json::from_str(&line.expect("a line")).expect("json");
            if let Some(p) = e["pid"].as_i64() {
                pids.insert(p as i32);
            }
            if e["type"] == "write" {
                writers.insert(e["worker"].as_i64());
            }
            if writers.len() == 2 {
                break;
            }
        }
        assert_eq!(writers.len(), 2, "{sig}: both children wrote");
        // mpviz's own children: the program's first process and the keeper.
        let mut all: Vec<i32> = pids.into_iter().collect();
        all.extend(common::pty::children_of(mpviz));
        all.retain(|p| *p != mpviz);
        let dirs = mpviz::python::run_dirs_of(mpviz as u32);
        assert_eq!(
            dirs.len(),
            1,
            "{sig}: the run's directory exists while it runs"
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(mpviz), sig).expect("signal");
        let drain = std::thread::spawn(move || lines.count());
        let status = child.wait().expect("wait");
        let _ = drain.join();
        if sig != nix::sys::signal::Signal::SIGKILL {
            assert!(
                !status.success(),
                "{sig}: an interrupted run is not a success"
            );
        }
        // The program never ends by itself: only a kill ends its processes.
        common::wait_gone(&all, std::time::Duration::from_secs(10));
        common::assert_no_processes(&all);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while dirs[0].exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!dirs[0].exists(), "{sig}: {} left", dirs[0].display());
    }
}

#[test]
fn values_of_every_kind_arrive_exact_whichever_form_the_probe_sends_them_in() {
    if !common::python_here() {
        return;
    }
    let out = common::run(&["python", "--json", &fixture("kinds.py")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let writes: Vec<(String, String)> = out
        .events("write")
        .iter()
        .map(|e| (e["old"].to_string(), e["new"].to_string()))
        .collect();
    let want = [
        ("0", "18446744073709551615"), // above i64: a JSON line
        ("0.5", "1.75"),               // floats: a binary record
        ("97", "122"),                 // a char Array's element, b"a" -> b"z"
        ("0", "1"),                    // a bool
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(o, n)| (o.to_string(), n.to_string()))
        .collect();
    assert_eq!(writes, want);
    let reads = out.events("read");
    let values: Vec<String> = reads.iter().map(|e| e["value"].to_string()).collect();
    assert_eq!(values, ["0.5", "18446744073709551615", "1.75", "1"]);
    // Each read names the store it saw: this process's own write of that Value.
    let last = reads.last().expect("a read");
    assert_eq!(last["from"]["worker"], 1);
    assert_eq!(last["from"]["seq"], 4);
    let s = out.summary();
    assert_eq!(s["dropped_events"], 0, "{s}");
    // Each says what the program calls it, what it is and where it was made.
    let made: Vec<(String, String, String)> = out
        .events("cell")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("?").to_string();
            (s("name"), s("what"), s("at"))
        })
        .collect();
    let made: Vec<(&str, &str, &str)> = made
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        made,
        [
            ("big", "Value('L')", "kinds.py:5"),
            ("f", "Value('d')", "kinds.py:7"),
            ("ch", "Array('c', 2)", "kinds.py:9"),
            ("b", "Value('?')", "kinds.py:11"),
        ]
    );
    let printed = out.events("output");
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0]["text"], "18446744073709551615 1.75 b'zb' True");
}

/// A user's own `sitecustomize` on PYTHONPATH still runs in every process it ran in without
/// the probe (the probe is not a sitecustomize and hides none), and every process is traced.
#[test]
fn the_users_own_sitecustomize_runs_as_without_the_probe() {
    if !common::python_here() {
        return;
    }
    let site = fixture("site");
    let script = fixture("sitecustom.py");
    let plain = Command::new("python3")
        .arg(&script)
        .env("PYTHONPATH", &site)
        .output()
        .expect("python3");
    assert!(plain.status.success());
    let traced = Command::new(common::BIN)
        .args(["python", "--json", &script])
        .env("PYTHONPATH", &site)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("mpviz");
    assert_eq!(traced.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&traced.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let printed = |stream: &str| {
        let mut v: Vec<String> = lines
            .iter()
            .filter(|e| e["type"] == "output" && e["stream"] == stream)
            .filter_map(|e| e["text"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    assert_eq!(printed("stdout"), sorted_lines(&plain.stdout));
    assert_eq!(printed("stderr"), sorted_lines(&plain.stderr));
    assert!(
        printed("stderr").len() >= 3,
        "the script's process and both spawn children ran it: {:?}",
        printed("stderr")
    );
    let summary = lines.last().expect("a summary");
    // The script's process, two fork children, two spawn children.
    assert_eq!(summary["processes"], 5, "{summary}");
    assert_eq!(summary["writes"], 4, "{summary}");
    assert_eq!(summary["dropped_events"], 0, "{summary}");
}

/// An interpreter run isolated (`-I`: no environment, no user site, no script directory on
/// the path) or with `-E -s`, as a `--python` wrapper gives it: every process of the run is
/// still reached under every start method (the probe needs no PYTHON* variable and no site),
/// and the locked counter is exact. (The wrappers are files of the repository: one written
/// and run by a test could be busy in another test's fork.)
#[test]
fn an_isolated_interpreter_is_probed_all_the_same() {
    if !common::python_here() {
        return;
    }
    let race = fixture("race.py");
    for flags in ["I", "E"] {
        let py = fixture(&format!("interpreters/python-{flags}"));
        for method in ["fork", "spawn", "forkserver"] {
            let out = common::run(&["python", "--python", &py, "--json", &race, method, "200"]);
            let what = format!("python-{flags} under {method}: {}", out.stderr);
            assert_eq!(out.code, Some(0), "{what}");
            let s = out.summary();
            assert_eq!(s["processes"], 5, "{what}: {s}");
            assert_eq!(s["cells"][1]["last"], "800", "{what}: {s}");
            assert_eq!(s["locks"][0]["acquisitions"], 400, "{what}: {s}");
            nothing_left(&out);
        }
    }
}
