//! `--engine python`: each scenario's own program (assets/python/), run by real CPython under
//! the probe with fork, spawn and forkserver, gives the tutorial's figures; every process is
//! seen and says the lines of the program it is at; step mode holds the processes at gates and
//! lets them go only when told (a lost update made by hand, every time); nothing is left.
//! Skipped with a message where there is no `python3` (CI has CPython 3.11).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const METHODS: [&str; 3] = ["fork", "spawn", "forkserver"];

fn printed(out: &common::Output) -> Vec<String> {
    out.events("output")
        .iter()
        .filter(|e| e["stream"] == "stdout")
        .filter_map(|e| e["text"].as_str().map(str::to_string))
        .collect()
}

fn num(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
}

/// Each scenario's program under each start method, side by side (separate runs).
fn every_program() -> Vec<(&'static str, &'static str, common::Output)> {
    let scenarios = ["process", "queue", "compare", "pool", "shared", "lock"];
    let cases: Vec<(&str, &str)> = scenarios
        .iter()
        .flat_map(|s| METHODS.iter().map(move |m| (*s, *m)))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&(s, m)| {
                scope.spawn(move || {
                    let out = common::run(&[
                        "run",
                        s,
                        "--engine",
                        "python",
                        "--mp-start-method",
                        m,
                        "--speed",
                        "10",
                        "--json",
                    ]);
                    (s, m, out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a run"))
            .collect()
    })
}

#[test]
fn the_tutorials_programs_give_its_figures_under_every_start_method() {
    if !common::python_here() {
        return;
    }
    for (scenario, method, out) in every_program() {
        let what = format!("{scenario} under {method}: {}", out.stderr);
        assert_eq!(out.code, Some(0), "{what}");
        let s = out.summary();
        assert_eq!(s["source"], "python", "{what}");
        assert_eq!(
            s["script"],
            format!("assets/python/mp_{scenario}.py"),
            "{what}"
        );
        assert_eq!(s["dropped_events"], 0, "{what}: {s}");
        let lines = printed(&out);
        // Every process that started said how it ended, and said where it was in the program.
        let started: BTreeSet<u64> = out
            .events("started")
            .iter()
            .filter_map(|e| e["worker"].as_u64())
            .collect();
        let exited: BTreeSet<u64> = out
            .events("exit")
            .iter()
            .filter_map(|e| e["worker"].as_u64())
            .collect();
        assert_eq!(started, exited, "{what}");
        let at: BTreeSet<u64> = out
            .events("at")
            .iter()
            .filter_map(|e| e["worker"].as_u64())
            .collect();
        let code = mpviz::scenario::code::python(scenario);
        for e in out.events("at") {
            let line = e["line"].as_u64().expect("a line") as usize;
            assert!(
                (1..=code.lines().count()).contains(&line),
                "{what}: line {line} of the program"
            );
        }
        assert!(
            at.contains(&1),
            "{what}: the script's own process says its lines"
        );
        match scenario {
            "process" => {
                assert_eq!(lines, ["abc", "joined, exit code 0"], "{what}");
                assert_eq!(s["processes"], 2, "{what}");
                // The child is at `def job(a, b):` (line 5), the parent at start and join.
                let child_lines: Vec<u64> = out
                    .events("at")
                    .iter()
                    .filter(|e| e["worker"] == 2)
                    .filter_map(|e| e["line"].as_u64())
                    .collect();
                assert_eq!(child_lines, [5], "{what}");
            }
            "queue" => {
                assert_eq!(lines, ["499667166000"], "{what}");
                let putters: BTreeSet<u64> = out
                    .events("queue_get")
                    .iter()
                    .filter_map(|e| e["from"].as_u64())
                    .collect();
                assert_eq!(putters.len(), 2, "{what}: each item names its putter");
            }
            "compare" => {
                let result = |prefix: &str| {
                    lines
                        .iter()
                        .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
                        .unwrap_or_else(|| panic!("{what}: no {prefix} line in {lines:?}"))
                };
                let normal = result("normal: ");
                assert_eq!(result("multithread: "), normal, "{what}");
                assert_eq!(result("multicore: "), normal, "{what}");
            }
            "pool" => {
                assert_eq!(
                    lines,
                    [
                        "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]",
                        "4",
                        "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]",
                        "TypeError: job() takes 1 positional argument but 3 were given",
                    ],
                    "{what}"
                );
                let failed: Vec<&Value> = out
                    .events("task_end")
                    .into_iter()
                    .filter(|e| e["ok"] == false)
                    .collect();
                assert_eq!(failed.len(), 1, "{what}");
                assert_eq!(
                    failed[0]["error"],
                    "TypeError: job() takes 1 positional argument but 3 were given",
                    "{what}"
                );
            }
            "shared" => {
                assert_eq!(lines, ["15 18.14 [7, 5, 6, 7]"], "{what}");
                // Both Values are written 10 times (5 steps by 2 writers), and the Array's
                // elements 4, 2, 2 and 2 times, under the lock: each element ends as printed,
                // nothing lost.
                let cells = s["cells"].as_array().expect("cells");
                let figures: Vec<(u64, u64, String)> = cells
                    .iter()
                    .map(|c| {
                        (
                            c["index"].as_u64().expect("index"),
                            c["writes"].as_u64().expect("writes"),
                            c["last"].as_str().expect("last").to_string(),
                        )
                    })
                    .collect();
                let want = [
                    (0, 10, "15"),
                    (0, 10, "18.14"),
                    (0, 4, "7"),
                    (1, 2, "5"),
                    (2, 2, "6"),
                    (3, 2, "7"),
                ];
                let want: Vec<(u64, u64, String)> = want
                    .iter()
                    .map(|(i, w, l)| (*i, *w, l.to_string()))
                    .collect();
                assert_eq!(figures, want, "{what}: {s}");
                assert_eq!(s["lost_updates"], 0, "{what}: {s}");
                assert_eq!(s["lock_acquisitions"], 10, "{what}: {s}");
            }
            "lock" => {
                let cells = s["cells"].as_array().expect("cells");
                assert_eq!(cells.len(), 2, "{what}: {s}");
                // Without the lock: never above 40, short by exactly its lost updates.
                let last = num(&cells[0]["last"]).expect("last");
                let lost = num(&cells[0]["lost_sum"]).expect("lost_sum");
                assert!(last <= 40, "{what}: {s}");
                assert_eq!(last + lost, 40, "{what}: {s}");
                assert_eq!(lines.iter().filter(|l| l.starts_with("final: ")).count(), 2);
                assert!(
                    lines.contains(&format!("final: {last}")),
                    "{what}: {lines:?}"
                );
                // With it: 20, and each process's five writes in one unbroken block.
                assert_eq!(num(&cells[1]["last"]), Some(20), "{what}: {s}");
                assert_eq!(cells[1]["lost_updates"], 0, "{what}: {s}");
                assert_eq!(
                    lines.last().map(String::as_str),
                    Some("final: 20"),
                    "{what}"
                );
                let cell = cells[1]["cell"].clone();
                let mut writes: Vec<(u64, u64)> = out
                    .events("write")
                    .iter()
                    .filter(|e| e["cell"] == cell)
                    .map(|e| {
                        (
                            e["t_ns"].as_u64().expect("a figure"),
                            e["worker"].as_u64().expect("a figure"),
                        )
                    })
                    .collect();
                writes.sort();
                let switches = writes.windows(2).filter(|w| w[0].1 != w[1].1).count();
                assert_eq!((writes.len(), switches), (10, 1), "{what}: {writes:?}");
            }
            _ => unreachable!(),
        }
        let dirs = mpviz::python::run_dirs_of(out.mpviz_pid as u32);
        assert!(dirs.is_empty(), "{what}: run directories left: {dirs:?}");
        common::assert_no_processes(&out.worker_pids());
    }
}

/// The user as scheduler: with step mode on, the unlocked counter's two processes are let go
/// only when both wait at a gate, so in every round both read the same value and one of the two
/// writes is lost — ten rounds, ten lost updates, every time; the locked run stays exact.
#[test]
fn step_mode_holds_each_process_until_it_is_let_go() {
    if !common::python_here() {
        return;
    }
    for method in METHODS {
        let what =
            mpviz::python::headless::tutorial("lock", "python3".into(), Some(method.to_string()))
                .expect("the lock program");
        let control = mpviz::python::Control::default();
        control.steer.set_interval(0.01);
        control.steer.set_gates(true);
        #[derive(PartialEq)]
        enum At {
            Busy,
            Gate,
            Lock,
        }
        let mut children: BTreeMap<u16, At> = BTreeMap::new();
        // Each run of the program starts two: the two of a run have both started when the
        // count is even.
        let mut started = 0;
        let mut gates = 0;
        let mut writes: BTreeMap<u16, Vec<(u64, u16)>> = BTreeMap::new();
        let mut observer = |e: &mpviz::runtime::Envelope| {
            use mpviz::runtime::EventKind as K;
            match &e.kind {
                // The script's own process is let go at once.
                K::Gate { .. } if e.worker == 1 => {
                    assert!(control.steer.release(1));
                }
                K::Started if e.worker > 1 => {
                    started += 1;
                    children.insert(e.worker, At::Busy);
                }
                K::Gate { .. } => {
                    gates += 1;
                    children.insert(e.worker, At::Gate);
                }
                K::LockRequested { .. } => {
                    children.insert(e.worker, At::Lock);
                }
                K::Exit { .. } => {
                    children.remove(&e.worker);
                }
                K::Write { cell, .. } => writes.entry(*cell).or_default().push((e.t_ns, e.worker)),
                // What a process printed comes through its stdout, apart from its events: a
                // line read after its gate is no sign it moved on.
                K::Output { .. } => {}
                _ => {
                    if let Some(a) = children.get_mut(&e.worker) {
                        *a = At::Busy;
                    }
                }
            }
            // Everyone at a gate or waiting for the lock: the ones at gates go.
            if started % 2 == 0
                && children.values().all(|a| *a != At::Busy)
                && children.values().any(|a| *a == At::Gate)
            {
                for (w, a) in children.iter_mut() {
                    if *a == At::Gate {
                        assert!(control.steer.release(*w), "{method}: {w} waits");
                        *a = At::Busy;
                    }
                }
            }
        };
        let s = mpviz::python::run(&what, &control, &mut observer).expect("the run");
        assert_eq!(s.exit_code, 0, "{method}");
        assert_eq!(s.dropped_events, 0, "{method}");
        assert!(gates > 0, "{method}: the processes waited at gates");
        let cells = &s.cells;
        assert_eq!(cells.len(), 2, "{method}: {s:?}");
        assert_eq!(cells[0].lost_updates, 10, "{method}: one per round: {s:?}");
        let last: i64 = cells[0]
            .last
            .as_deref()
            .expect("a figure")
            .parse()
            .expect("a figure");
        let lost: i64 = cells[0].lost_sum.parse().expect("a figure");
        assert_eq!(last + lost, 40, "{method}: {s:?}");
        assert_eq!(cells[1].last.as_deref(), Some("20"), "{method}: {s:?}");
        assert_eq!(cells[1].lost_updates, 0, "{method}: {s:?}");
        assert!(mpviz::python::run_dirs_of(std::process::id()).is_empty());
    }
}

/// The lost updates the value panel's title names (`v: 7 of 8 — 1 lost`), 0 if none.
fn lost_in_title(screen: &str) -> usize {
    screen
        .lines()
        .find(|l| l.contains("┌ v: "))
        .and_then(|l| {
            let before = l.split(" lost").next()?;
            before.rsplit(' ').next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// The UI in step mode on real CPython, at 80x24, by hand: both processes of the unlocked run
/// wait before their read (`STEP: press 2r 3r`); letting each read, then each write, loses
/// exactly one update, named on screen; step mode off lets the program finish; q leaves
/// nothing.
#[test]
fn stepping_a_lost_update_by_hand_in_the_ui() {
    if !common::python_here() {
        return;
    }
    let mut s = common::pty::Session::start(&["ui", "lock", "--engine", "python"]);
    s.wait_for("the program's processes", |t| t.contains("job()"));
    s.press(b"m");
    let both = s.wait_for("both at their read gates", |t| t.contains("press 2r 3r"));
    let before = lost_in_title(&both);
    s.press(b"2");
    s.wait_for("2 at its write gate", |t| t.contains("press 2w 3r"));
    s.press(b"3");
    s.wait_for("both at their write gates", |t| t.contains("press 2w 3w"));
    s.press(b"2");
    s.wait_for("2's write", |t| t.contains("press 2r 3w"));
    s.press(b"3");
    let lost = s.wait_for("3's write, over 2's", |t| lost_in_title(t) == before + 1);
    assert!(lost.contains("press 2r 3r"), "both wait again:\n{lost}");
    // Step mode off: the program runs to its end.
    s.press(b"m");
    let done = s.wait_for("the run's end", |t| t.contains(" done "));
    assert!(
        lost_in_title(&done) > before,
        "the lost update stays counted:\n{done}"
    );
    let running = common::pty::children_of(s.pid);
    s.press(b"q");
    assert!(s.wait_exit(), "mpviz exits 0");
    s.assert_terminal_restored();
    common::assert_no_processes(&running);
    assert!(mpviz::python::run_dirs_of(s.pid as u32).is_empty());
}

/// A shared Array written without a lock, by two processes: each element's lost updates are
/// found on their own, and each element ends short of the exact total by exactly what its lost
/// updates would have added.
#[test]
fn an_arrays_elements_lose_updates_each_exactly() {
    if !common::python_here() {
        return;
    }
    const STEPS: i64 = 800;
    let script = format!("{}/tests/python/array_race.py", env!("CARGO_MANIFEST_DIR"));
    for method in METHODS {
        let out = common::run(&["python", "--json", &script, method, &STEPS.to_string()]);
        let what = format!("{method}: {}", out.stderr);
        assert_eq!(out.code, Some(0), "{what}");
        let s = out.summary();
        let cells = s["cells"].as_array().expect("cells");
        assert_eq!(cells.len(), 3, "{what}: one per element: {s}");
        let mut ended = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            assert_eq!(c["index"], i as u64, "{what}: {s}");
            assert_eq!(c["writes"], 2 * STEPS, "{what}: every write seen: {s}");
            let last = num(&c["last"]).expect("last");
            let lost = num(&c["lost_sum"]).expect("lost_sum");
            assert!(last <= 4 * STEPS, "{what}: {s}");
            assert_eq!(last + lost, 4 * STEPS, "{what}: element {i}: {s}");
            ended.push(last.to_string());
        }
        assert_eq!(printed(&out), [format!("[{}]", ended.join(", "))], "{what}");
        common::assert_no_processes(&out.worker_pids());
    }
}

/// A picture of a Python run, for documentation: `mpviz snapshot SCENARIO --engine python`
/// draws the real program's screen at its end (its processes, both Values' traces exact at 40
/// and 20 with the lock), names the program in the picture, and offers only the keys that work;
/// the Rust engine's parameters are refused before anything starts.
#[test]
fn a_snapshot_of_a_python_run_shows_the_program() {
    if !common::python_here() {
        return;
    }
    let out = std::env::temp_dir().join(format!("mpviz-pyshot-{}.txt", std::process::id()));
    let path = out.display().to_string();
    let run = common::run(&[
        "snapshot", "lock", "--engine", "python", "--speed", "10", "--size", "80x24", "--out",
        &path, "--when", "done",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(&out).expect("the picture");
    let _ = std::fs::remove_file(&out);
    for part in [
        "mpviz python assets/python/mp_lock.py",
        " done ",
        "job_locked()",
        "v #2: 20 of 20",
        "Lock() at mp_lock.py:35: 2 acquisitions",
    ] {
        assert!(text.contains(part), "{part:?} in:\n{text}");
    }
    assert!(!text.contains("e edit"), "no parameters to edit:\n{text}");
    let bad = common::run(&[
        "snapshot",
        "lock",
        "--engine",
        "python",
        "--race-window-ms",
        "5",
        "--out",
        &path,
    ]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("--race-window-ms"), "{}", bad.stderr);
    assert!(!out.exists(), "nothing written");
}

/// `mpviz snapshot python SCRIPT ARGS`: a picture of the user's own program — here two locks,
/// each its own lane panel named as the program names it; a scenario's flags are refused, and
/// nothing is written.
#[test]
fn a_snapshot_of_the_users_own_program_shows_its_locks_by_name() {
    if !common::python_here() {
        return;
    }
    let out = std::env::temp_dir().join(format!("mpviz-usershot-{}.txt", std::process::id()));
    let path = out.display().to_string();
    let script = format!(
        "{}/tests/python/users/two_locks.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let run = common::run(&[
        "snapshot", "--size", "100x36", "--out", &path, "python", &script, "spawn",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(&out).expect("the picture");
    let _ = std::fs::remove_file(&out);
    for part in [
        "two_locks.py",
        " done ",
        "work()",
        "a: 315 of 315",
        "b: 330 of 330",
        "Lock la: 18 acquisitions",
        "Lock lb: 18 acquisitions",
    ] {
        assert!(text.contains(part), "{part:?} in:\n{text}");
    }
    for flag in ["--engine", "--start-method"] {
        let value = if flag == "--engine" { "python" } else { "fork" };
        let bad = common::run(&["snapshot", flag, value, "--out", &path, "python", &script]);
        assert_eq!(bad.code, Some(2), "{flag}: {}", bad.stderr);
        assert!(bad.stderr.contains(flag), "{}", bad.stderr);
        assert!(!out.exists(), "nothing written");
    }
}
