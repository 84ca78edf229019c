//! Helpers for the end-to-end tests: run the real binary, read its JSON lines, and check that
//! nothing of a run is left behind (processes, zombies, shared segments).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use serde_json::Value;

pub mod pty;

pub const BIN: &str = env!("CARGO_BIN_EXE_mpviz");

/// Makes this test process the reaper of orphans, so a worker that outlives mpviz becomes our
/// child and can be seen (and cleaned up) here instead of vanishing into init.
pub fn adopt_orphans() {
    nix::sys::prctl::set_child_subreaper(true).expect("subreaper");
}

pub struct Output {
    pub code: Option<i32>,
    pub lines: Vec<Value>,
    pub raw: String,
    pub stderr: String,
    pub mpviz_pid: i32,
}

impl Output {
    pub fn summary(&self) -> &Value {
        self.lines
            .last()
            .filter(|v| v["type"] == "summary")
            .expect("the last line is the summary")
    }

    pub fn events(&self, kind: &str) -> Vec<&Value> {
        self.lines.iter().filter(|v| v["type"] == kind).collect()
    }

    /// The events of any of these kinds, in the order they were printed.
    pub fn events_of(&self, kinds: &[&str]) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|v| kinds.iter().any(|k| v["type"] == *k))
            .collect()
    }

    pub fn worker_pids(&self) -> Vec<i32> {
        self.events("spawned")
            .iter()
            .filter_map(|e| e["pid"].as_i64())
            .map(|p| p as i32)
            .collect()
    }
}

pub fn spawn(args: &[&str]) -> Child {
    adopt_orphans();
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mpviz")
}

/// Runs mpviz to the end, calling `on_line` for each JSON line as it arrives (to inject
/// faults at a moment the run itself announces).
/// Longest a headless run may take before it is ended and its test failed (a program that
/// hangs under the probe fails its test rather than hold CI until its limit).
const DEADLINE: Duration = Duration::from_secs(180);

pub fn run_with(args: &[&str], mut on_line: impl FnMut(&Value, &Child)) -> Output {
    let mut child = spawn(args);
    let stdout = child.stdout.take().expect("stdout");
    // Ends mpviz (SIGTERM: it ends its program and cleans up) if it is still running at the
    // deadline; told to stand down once the run's output is all read.
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let pid = Pid::from_raw(child.id() as i32);
    let watchdog = std::thread::spawn(move || {
        let late = watch.recv_timeout(DEADLINE).is_err();
        if late {
            let _ = kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        late
    });
    let mut lines = Vec::new();
    let mut raw = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read line");
        raw.push_str(&line);
        raw.push('\n');
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            on_line(&v, &child);
            lines.push(v);
        }
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    let status = child.wait().expect("wait");
    let _ = done.send(());
    let late = watchdog.join().unwrap_or(false);
    assert!(
        !late,
        "mpviz {args:?} did not end within {DEADLINE:?}; ended it. It printed:\n{raw}\n{stderr}"
    );
    Output {
        code: status.code(),
        lines,
        raw,
        stderr,
        mpviz_pid: child.id() as i32,
    }
}

pub fn run(args: &[&str]) -> Output {
    run_with(args, |_, _| {})
}

/// True once `pid` no longer exists; reaps it if it became our (orphaned) zombie.
fn is_gone(pid: i32) -> bool {
    let p = Pid::from_raw(pid);
    let _ = waitpid(p, Some(WaitPidFlag::WNOHANG));
    matches!(kill(p, None), Err(nix::errno::Errno::ESRCH))
}

/// Every pid is gone right now: no orphan, no zombie. Kills leftovers before failing.
pub fn assert_no_processes(pids: &[i32]) {
    let left: Vec<i32> = pids.iter().copied().filter(|p| !is_gone(*p)).collect();
    for p in &left {
        let _ = kill(Pid::from_raw(*p), nix::sys::signal::Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(*p), None);
    }
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// Waits (polling, with a deadline) until every pid is gone.
pub fn wait_gone(pids: &[i32], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if pids.iter().all(|p| is_gone(*p)) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        // A polling interval, not a synchronisation: the loop waits for the condition.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Segments of the mpviz process `pid` still in /dev/shm.
pub fn segments_of(pid: i32) -> Vec<String> {
    let prefix = format!("mpviz-{pid}-");
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Nothing of the run is left: no worker process or zombie, no segment.
pub fn assert_clean(out: &Output) {
    assert_no_processes(&out.worker_pids());
    assert_eq!(
        segments_of(out.mpviz_pid),
        Vec::<String>::new(),
        "segments left in /dev/shm"
    );
}

/// Every worker's events start with `spawned` and end with its `exit`.
pub fn assert_accounted(out: &Output) {
    let mut workers: Vec<u64> = out
        .events("spawned")
        .iter()
        .filter_map(|e| e["worker"].as_u64())
        .collect();
    workers.sort_unstable();
    for w in workers {
        let evs: Vec<&Value> = out
            .lines
            .iter()
            .filter(|e| e["worker"].as_u64() == Some(w))
            .collect();
        assert_eq!(
            evs.first().map(|e| &e["type"]),
            Some(&Value::from("spawned")),
            "worker {w}"
        );
        assert_eq!(
            evs.last().map(|e| &e["type"]),
            Some(&Value::from("exit")),
            "worker {w}"
        );
        assert_eq!(
            evs.iter().filter(|e| e["type"] == "exit").count(),
            1,
            "worker {w}: one exit"
        );
        let counted = out.summary()["workers"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["worker"].as_u64() == Some(w)))
            .and_then(|x| x["events"].as_u64());
        assert_eq!(
            counted,
            Some(evs.len() as u64),
            "worker {w}: summary counts every event"
        );
    }
    assert_eq!(out.summary()["dropped_events"], 0);
}

/// The pid an event came from.
pub fn pid_of(e: &Value) -> Pid {
    Pid::from_raw(e["pid"].as_i64().expect("pid") as i32)
}

/// Runs mpviz and SIGKILLs the worker that sends the first event of `kind` (a worker's, not
/// the parent's); returns the run and that event (`None`: no such event, or the kill failed).
pub fn kill_on(args: &[&str], kind: &str) -> (Output, Option<Value>) {
    let mut killed = None;
    let out = run_with(args, |e, _| {
        if killed.is_none()
            && e["type"] == kind
            && e["worker"].as_u64().unwrap_or(0) > 0
            && kill(pid_of(e), nix::sys::signal::Signal::SIGKILL).is_ok()
        {
            killed = Some(e.clone());
        }
    });
    (out, killed)
}

/// The seed of the fault trials: `MPVIZ_FAULT_SEED`, or a fixed one (so a failure can be
/// replayed by setting it).
pub fn fault_seed() -> u64 {
    std::env::var("MPVIZ_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026)
}

/// xorshift64*: small, seedable, the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Whether CPython with multiprocessing is on PATH (the Python tests are skipped, with a
/// message, where it is not; CI has CPython 3.11).
pub fn python_here() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import multiprocessing"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: no python3 with multiprocessing on PATH");
    }
    ok
}
