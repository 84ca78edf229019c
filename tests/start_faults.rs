//! A start-up step that fails — the fork launcher, the shared segment, a pipe, the spawn, the
//! hand-over of a worker's pipes, its reader threads — fails the run with an error that says
//! which, and leaves nothing: no worker alive, no zombie of this process, no segment. The
//! steps are made to fail by the test-only `RuntimeOptions::fault` (`MPVIZ_TEST_FAULT` for the
//! binary, as `MPVIZ_TEST_PANIC` is for the UI); `launcher-dies` kills the fork launcher in the
//! middle of a request.

mod common;

use mpviz::runtime::{Envelope, RuntimeOptions, StartMethod};
use mpviz::scenario::{self, Params};

/// This process's children that are zombies (state Z in /proc/PID/stat).
fn zombie_children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.first() == Some(&"Z") && f.get(1).and_then(|p| p.parse().ok()) == Some(me)
        })
        .collect()
}

#[test]
fn a_failure_at_any_start_up_step_leaves_nothing_behind() {
    let lock = scenario::default_params("lock").expect("lock");
    let Params::Lock(mut p) = lock else {
        panic!("lock");
    };
    p.interval_ms = 1;
    let params = Params::Lock(p);
    let steps = [
        ("launcher", StartMethod::Fork),
        ("segment", StartMethod::Reexec),
        ("pipe", StartMethod::Reexec),
        ("pipe", StartMethod::Fork),
        ("spawn", StartMethod::Reexec),
        ("handover", StartMethod::Reexec),
        ("readers", StartMethod::Reexec),
        ("readers", StartMethod::Fork),
        // The launcher is killed after it forked the intermediate and the worker, before it
        // reaped the one or reported the other: both are re-parented to us unannounced.
        ("launcher-dies", StartMethod::Fork),
    ];
    for (step, method) in steps {
        let opts = RuntimeOptions {
            method,
            exe: Some(env!("CARGO_BIN_EXE_mpviz").into()),
            fault: Some(step.into()),
            ..RuntimeOptions::default()
        };
        let mut spawned = Vec::new();
        let mut observer = |e: &Envelope| {
            if e.worker != 0 {
                spawned.push(e.pid);
            }
        };
        let err = match scenario::run(&params, opts, &mut observer) {
            Ok(_) => panic!("{step} ({method:?}): the run should fail"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("test fault")
                || err.contains("EMFILE")
                || err.contains("the fork launcher ended"),
            "{step}: {err}"
        );
        let zombies = zombie_children();
        assert!(
            zombies.is_empty(),
            "{step} ({method:?}): zombies {zombies:?}"
        );
        common::assert_no_processes(&spawned);
        let segs = common::segments_of(std::process::id() as i32);
        assert!(segs.is_empty(), "{step} ({method:?}): segments {segs:?}");
    }
}
