//! Every way to leave the UI — q, Ctrl-C, SIGINT, SIGTERM, SIGHUP (the terminal closing),
//! SIGKILL, and a panic (a hidden test-only trigger) — at random moments of every scenario, in a
//! real pseudo-terminal. After each: no process of the run alive, no zombie, no segment of it
//! in /dev/shm (after a SIGKILL: removed by the next start), and, except after SIGKILL, the
//! terminal back on the primary screen, cursor shown, in cooked mode.
//!
//! Two or three signals in a row at random gaps (the same twice, or a mix) and a closed
//! terminal are quit paths too: any number of signals ends in one clean-up.
//!
//! Seeded and reproducible: `MPVIZ_FAULT_SEED` picks the sequence (printed with any failure),
//! `MPVIZ_FAULT_TRIALS` how many trials run (default 240: every scenario × every quit path,
//! four times, with random moments and start methods).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::pty::Session;
use common::{Rng, fault_seed, segments_of};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

const SCENARIOS: [&str; 6] = ["process", "queue", "compare", "pool", "shared", "lock"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Quit {
    Key,
    CtrlC,
    Signal(Signal),
    /// Several signals in a row, a random gap (0-25 ms) apart: a second or third signal must
    /// never skip the clean-up.
    Signals(&'static [Signal]),
    /// The terminal closes (the window is shut): the kernel hangs up the session.
    HangUp,
    Panic,
}

const QUITS: [Quit; 10] = [
    Quit::Key,
    Quit::CtrlC,
    Quit::Signal(Signal::SIGINT),
    Quit::Signal(Signal::SIGTERM),
    Quit::Signal(Signal::SIGHUP),
    Quit::Signal(Signal::SIGKILL),
    Quit::Signals(&[Signal::SIGTERM, Signal::SIGTERM]),
    Quit::Signals(&[Signal::SIGINT, Signal::SIGHUP, Signal::SIGTERM]),
    Quit::HangUp,
    Quit::Panic,
];

#[derive(Debug, Clone)]
struct Trial {
    index: usize,
    scenario: &'static str,
    quit: Quit,
    after_ms: u64,
    /// Between the signals of `Quit::Signals`.
    gap_ms: u64,
    fork: bool,
}

/// Pids of live (or zombie) processes whose environment carries `tag`.
fn tagged(tag: &str) -> BTreeSet<i32> {
    let needle = format!("MPVIZ_TRIAL_TAG={tag}\0");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

fn exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Runs one trial; returns how many processes of the run it saw besides the UI.
fn run_trial(seed: u64, t: &Trial) -> Result<usize, String> {
    let tag = format!("{seed:x}-{}", t.index);
    let mut args = vec!["ui", "--scenario", t.scenario];
    if t.fork {
        args.extend(["--start-method", "fork"]);
    }
    let mut s = Session::start_with(
        &args,
        &[("MPVIZ_TRIAL_TAG", &tag), ("MPVIZ_TEST_PANIC", "1")],
    );
    let ui = s.pid;
    // Every process of the run seen while it lives (polled until the moment comes).
    let mut seen = BTreeSet::new();
    let moment = Instant::now() + Duration::from_millis(t.after_ms);
    loop {
        seen.extend(tagged(&tag));
        if Instant::now() >= moment {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    seen.remove(&ui);
    match t.quit {
        Quit::Key => s.press(b"q"),
        Quit::CtrlC => s.press(b"\x03"),
        Quit::Panic => s.press(b"!"),
        Quit::Signal(sig) => kill(Pid::from_raw(ui), sig).map_err(|e| format!("kill: {e}"))?,
        Quit::Signals(sigs) => {
            for (i, sig) in sigs.iter().enumerate() {
                if i > 0 {
                    // The fault's own timing: the next signal comes this long after.
                    std::thread::sleep(Duration::from_millis(t.gap_ms));
                }
                // The UI may already be gone after the first: that is a clean exit too.
                let _ = kill(Pid::from_raw(ui), *sig);
            }
        }
        Quit::HangUp => s.hang_up(),
    }
    let deadline = Instant::now() + common::pty::LONG;
    let status = loop {
        if let Some(st) = s.child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = kill(Pid::from_raw(ui), Signal::SIGKILL);
            return Err("the UI did not exit".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let killed = t.quit == Quit::Signal(Signal::SIGKILL);
    if t.quit == Quit::Panic && status.exit_code() != 101 {
        return Err(format!("a panic should exit with 101, got {status:?}"));
    }
    if !killed {
        // The terminal: cooked mode, primary screen, cursor shown (a closed one is gone).
        if t.quit != Quit::HangUp && s.cooked() == Some(false) {
            return Err("the terminal was left in raw mode".into());
        }
        s.close();
        let (alternate, hidden) = s.screen_modes();
        if t.quit != Quit::HangUp && (alternate || hidden) {
            return Err(format!(
                "terminal not restored: alternate screen {alternate}, cursor hidden {hidden}"
            ));
        }
        // mpviz reaped every worker before it left: none alive, none a zombie.
        let left: Vec<i32> = tagged(&tag)
            .into_iter()
            .chain(seen.iter().copied())
            .filter(|p| exists(*p))
            .collect();
        if !left.is_empty() {
            return Err(format!("processes of the run left behind: {left:?}"));
        }
        let segs = segments_of(ui);
        if !segs.is_empty() {
            return Err(format!("segments left in /dev/shm: {segs:?}"));
        }
    } else {
        s.close();
        // Workers die with their parent; orphans come to this test process (a subreaper),
        // which reaps them here.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut all: BTreeSet<i32> = tagged(&tag);
            all.extend(seen.iter().copied().filter(|p| exists(*p)));
            for p in &all {
                let _ = waitpid(Pid::from_raw(*p), Some(WaitPidFlag::WNOHANG));
            }
            let alive: Vec<i32> = all.into_iter().filter(|p| exists(*p)).collect();
            if alive.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("processes outlived the killed UI: {alive:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // The killed UI's segment goes at the next start (its owner is gone).
        if !segments_of(ui).is_empty() {
            let out = common::run(&["run", "process", "--json"]);
            if out.code != Some(0) {
                return Err(format!("the next start failed: {}", out.stderr));
            }
            let segs = segments_of(ui);
            if !segs.is_empty() {
                return Err(format!(
                    "the next start left the dead UI's segments: {segs:?}"
                ));
            }
        }
    }
    Ok(seen.len())
}

#[test]
fn every_quit_path_at_random_moments_leaves_nothing_behind() {
    common::adopt_orphans();
    let seed = fault_seed();
    let trials: usize = std::env::var("MPVIZ_FAULT_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SCENARIOS.len() * QUITS.len() * 4);
    let mut rng = Rng::new(seed);
    // Every (scenario, quit path) pair in turn; the moment and the start method at random.
    let plan: Vec<Trial> = (0..trials)
        .map(|index| Trial {
            index,
            scenario: SCENARIOS[index % SCENARIOS.len()],
            quit: QUITS[(index / SCENARIOS.len()) % QUITS.len()],
            after_ms: rng.below(1200),
            gap_ms: rng.below(26),
            fork: rng.below(3) == 0,
        })
        .collect();
    // Three trials at a time, each in its own terminal.
    let lanes = 3;
    let results: Vec<Result<usize, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..lanes)
            .map(|lane| {
                let plan = &plan;
                scope.spawn(move || {
                    plan.iter()
                        .skip(lane)
                        .step_by(lanes)
                        .map(|t| {
                            run_trial(seed, t).map_err(|e| format!("seed {seed}, trial {t:?}: {e}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err("a lane panicked".into())])
            })
            .collect()
    });
    let processes: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    eprintln!(
        "quit paths: {trials} trials (seed {seed}), {processes} worker and launcher processes \
         seen and checked, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
