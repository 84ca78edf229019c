//! The real binary in a real pseudo-terminal: pick the lock scenario, let it run, pause,
//! resume, resize, quit; leave on SIGTERM; then check the screen, the restored terminal, and
//! that nothing is left.

mod common;

use common::pty::{Session, children_of, proc_state};

#[test]
fn lock_scenario_runs_pauses_resumes_and_quits_cleanly() {
    let mut s = Session::start(&[]);
    s.wait_for("the picker", |t| t.contains("§1.7") && t.contains("lock"));
    s.press(b"6");
    // Slow it down (x0.25) so there is time to pause in the middle of the unlocked run.
    s.press(b"--");
    let text = s.wait_for("the lock scenario", |t| {
        t.contains("without the lock") && t.contains("CPU per core") && t.contains("×0.25")
    });
    assert!(
        text.contains("  0 [") && text.contains("  1 ["),
        "a bar per core:\n{text}"
    );
    let workers = children_of(s.pid);
    assert_eq!(workers.len(), 2, "two live workers: {workers:?}");

    s.press(b" ");
    s.wait_for("the paused state", |t| {
        t.contains("PAUSED") && t.contains("paused (SIGSTOP)")
    });
    for pid in &workers {
        assert_eq!(
            proc_state(*pid),
            Some('T'),
            "worker {pid} is stopped by SIGSTOP"
        );
    }
    s.press(b" ");
    s.wait_for("the run going on", |t| {
        t.contains("running") && !t.contains("PAUSED")
    });
    for pid in &workers {
        assert_ne!(proc_state(*pid), Some('T'), "worker {pid} continues");
    }

    // Resize: below the minimum a notice, back up the screens again; never a crash.
    s.resize(10, 40);
    s.wait_for("the too-small notice", |t| t.contains("terminal too small"));
    s.resize(48, 160);
    s.wait_for("the large layout", |t| {
        t.contains("CPU per core") && t.contains("mp_lock.py")
    });
    s.resize(24, 80);
    s.wait_for("the 80x24 layout", |t| {
        t.contains("CPU per core") && !t.contains("too small")
    });

    s.press(b"q");
    assert!(s.wait_exit(), "q exits with status 0");
    s.assert_terminal_restored();
    common::assert_no_processes(&workers);
    assert!(
        common::segments_of(s.pid).is_empty(),
        "segments left: {:?}",
        common::segments_of(s.pid)
    );
}

#[test]
fn sigterm_while_a_run_is_live_restores_the_terminal_and_cleans_up() {
    let cast = std::env::temp_dir().join(format!("mpviz-ui-{}.cast", std::process::id()));
    let mut s = Session::start(&[
        "ui",
        "--scenario",
        "lock",
        "--record",
        &cast.to_string_lossy(),
    ]);
    s.wait_for("a live run", |t| t.contains("without the lock"));
    let workers = children_of(s.pid);
    assert!(!workers.is_empty());
    let pid = nix::unistd::Pid::from_raw(s.pid);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    assert!(!s.wait_exit(), "an interrupted UI exits with 130");
    s.assert_terminal_restored();
    common::assert_no_processes(&workers);
    assert!(common::segments_of(s.pid).is_empty());
    // The recording: an asciicast v2 header of the terminal's size, then what was drawn.
    let rec = std::fs::read_to_string(&cast).expect("the UI recorded a cast");
    let _ = std::fs::remove_file(&cast);
    let header: serde_json::Value =
        serde_json::from_str(rec.lines().next().expect("header")).expect("json");
    assert_eq!(
        (
            header["version"].as_u64(),
            header["width"].as_u64(),
            header["height"].as_u64()
        ),
        (Some(2), Some(80), Some(24))
    );
    let drawn: String = rec
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e[1] == "o")
        .filter_map(|e| e[2].as_str().map(str::to_string))
        .collect();
    assert!(
        drawn.contains("without the lock"),
        "the frames are in the recording"
    );
}

#[test]
fn a_64_process_pool_keeps_the_ui_answering_keys_and_quits_cleanly() {
    let mut s = Session::start(&[
        "ui",
        "pool",
        "--processes",
        "64",
        "--task-ms",
        "5",
        "--map-n",
        "12800",
        "--chunksize",
        "4",
    ]);
    s.wait_for("64 live workers", |t| t.contains("64 live"));
    let workers = children_of(s.pid);
    assert!(workers.len() >= 60, "{} workers", workers.len());
    // Keys are answered while 64 workers report (the time it takes is `mpviz bench pool64`).
    for _ in 0..3 {
        s.press(b"?");
        s.wait_for("the help", |t| t.contains("Help — keys and symbols"));
        s.press(b"?");
        s.wait_for("the help gone", |t| !t.contains("Help — keys and symbols"));
    }
    s.press(b"q");
    assert!(s.wait_exit(), "q exits with status 0");
    s.assert_terminal_restored();
    common::assert_no_processes(&workers);
    assert!(common::segments_of(s.pid).is_empty());
}

#[test]
fn sizes_from_1x1_to_500x200_and_a_resize_storm_never_break_the_ui() {
    let mut s = Session::start(&["ui", "--scenario", "lock"]);
    s.wait_for("a live run", |t| t.contains("without the lock"));
    // The extremes, then 200 sizes in a row as fast as they can be sent (seeded).
    let mut sizes = vec![(1, 1), (200, 500), (1, 500), (200, 1), (24, 80)];
    let mut rng = common::Rng::new(common::fault_seed());
    for _ in 0..200 {
        sizes.push((rng.below(200) as u16 + 1, rng.below(500) as u16 + 1));
    }
    for (rows, cols) in sizes {
        s.resize(rows, cols);
    }
    s.resize(40, 120);
    s.wait_for("the screen drawn again at 120x40", |t| {
        t.contains("CPU per core") && !t.contains("too small")
    });
    assert!(
        s.child.try_wait().expect("try_wait").is_none(),
        "still running"
    );
    s.press(b"q");
    assert!(s.wait_exit(), "q exits with status 0");
    s.assert_terminal_restored();
    assert!(common::segments_of(s.pid).is_empty());
}

/// Parameters on the command line keep the UI's pace for the rest (a pool task takes 200 ms,
/// so the grid can be watched), and UI options are taken after the scenario too.
#[test]
fn command_line_parameters_keep_the_uis_pace() {
    let mut s = Session::start(&["ui", "pool", "--processes", "8", "--theme", "high-contrast"]);
    let text = s.wait_for("the pool under way at the UI's pace", |t| {
        t.contains("§1.5 pool") && t.contains("each task takes 200 ms")
    });
    assert!(text.contains("Workers"), "{text}");
    s.press(b"q");
    assert!(s.wait_exit(), "q exits with status 0");
    s.assert_terminal_restored();
}
