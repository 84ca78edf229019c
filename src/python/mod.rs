//! A real CPython program traced by the probe (`assets/probe/mpviz_probe.py`, carried inside
//! the binary): `mpviz python SCRIPT`. The run gets a private directory (mode 0700) holding the
//! probe and a Unix socket; every Python process of the run connects to the socket and sends
//! its events (JSON lines and binary records), one connection per process, each a worker of its own (numbered in
//! the order they connect; the script's own process is worker 1). The script's output is read
//! from its stdout and stderr and becomes `output` events, each line its writer's (`output`). The program runs in a process group
//! of its own, and this process is a child subreaper, so whatever the script starts is killed
//! and reaped at the end, and the directory removed, on every path.
//!
//! Wire protocol (any process that speaks it can be shown): connect, send one line
//! `{"hello":1,"pid":P,"ppid":Q,"t_ns":T}` (T, optional: when it connected, its start), read back one line with the worker number; then send events
//! as JSON lines, each an object as `mpviz run --json` prints one, with `type`, the event's
//! fields and `t_ns` (CLOCK_MONOTONIC nanoseconds), without `worker` and `pid`, or the hot ones
//! as binary records (`record`: a line starts with `{`, a record with its tag). A store of a
//! shared value is named `{"worker":W,"seq":S}` with the worker number mpviz gave.

pub mod headless;
pub mod keeper;
mod output;
mod record;
pub mod steer;
mod wire;

use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::Serialize;

use crate::model::lost::{WriteRec, find_lost_updates};
use crate::runtime::clock::now_ns;
use crate::runtime::{Envelope, EventKind, Num};
use crate::scenario::RunError;

/// The probe's source, written into each run's private directory.
pub const PROBE: &str = include_str!("../../assets/probe/mpviz_probe.py");

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct PythonRun {
    pub python: PathBuf,
    /// The script; for a program carried in mpviz (`embedded`), the name it is shown by.
    pub script: PathBuf,
    pub args: Vec<String>,
    /// The program's text, when it is one of the tutorial's carried in the binary: it is
    /// written into the run's private directory and run from there.
    pub embedded: Option<&'static str>,
    /// multiprocessing's start method for the program (fork, spawn or forkserver) unless the
    /// script sets its own; none: Python's default.
    pub start_method: Option<String>,
}

/// The start methods a program can be given.
pub const START_METHODS: [&str; 3] = ["fork", "spawn", "forkserver"];

/// How a traced Python run ended, for `--json`'s last line.
#[derive(Debug, Clone, Serialize)]
pub struct PythonSummary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source: &'static str,
    pub script: String,
    pub ok: bool,
    /// The script's exit code (128 + N when a signal N ended it).
    pub exit_code: i32,
    /// Python processes seen (each connected to the run's socket).
    pub processes: u64,
    /// The program's own threads seen (each a worker of its own).
    pub threads: u64,
    pub reads: u64,
    pub writes: u64,
    /// Writes whose effect a later write erased (exact: from the stores' names).
    pub lost_updates: usize,
    /// Each shared value that was written: how many writes, the last value stored, and what
    /// its lost updates would have added.
    pub cells: Vec<CellSummary>,
    pub lock_acquisitions: u64,
    pub lock_contended: u64,
    /// Each lock that was taken: how often, how often it was contended, and how often it
    /// passed from one process (or thread) to another.
    pub locks: Vec<LockSummary>,
    /// Each queue that had an item put on it or taken off: how many, and how many were left
    /// in it at the end.
    pub queues: Vec<QueueSummary>,
    /// Events the probe could not send, or mpviz could not read.
    pub dropped_events: u64,
    /// Processes that ended without saying how (killed by a signal, most likely: a
    /// `terminate()`): what they had buffered and not yet sent is lost, and cannot be counted.
    pub unsaid_ends: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LockSummary {
    pub lock: u16,
    /// What the program calls it (its `lock_made` event's name), if it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub acquisitions: u64,
    pub contended: u64,
    pub owner_changes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueSummary {
    pub queue: u16,
    /// What the program calls it (its `queue_made` event's name), if it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it is: `Queue()`, `JoinableQueue()`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    pub puts: u64,
    pub gets: u64,
    /// Put and never taken.
    pub left: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellSummary {
    pub cell: u16,
    /// The element, for an Array (0 for a Value).
    pub index: u32,
    /// What the program calls it (`v`, `array[2]`; its `cell` event's name), if it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub writes: usize,
    /// The value left in memory (the newest store of the unbroken chain).
    pub last: Option<String>,
    pub lost_updates: usize,
    /// The sum of the lost writes' increments (`new - old`): what the value is short by.
    pub lost_sum: String,
}

impl PythonRun {
    /// A program of the user's own, from its file.
    pub fn user(
        python: PathBuf,
        script: PathBuf,
        args: Vec<String>,
        start_method: Option<String>,
    ) -> Self {
        PythonRun {
            python,
            script,
            args,
            embedded: None,
            start_method,
        }
    }

    /// Checks everything before anything starts: the script is a file, the interpreter runs.
    pub fn check(&self) -> Result<(), RunError> {
        if let Some(m) = &self.start_method
            && !START_METHODS.contains(&m.as_str())
        {
            return Err(RunError::Usage(format!(
                "{m:?} is not a start method; choose one of {}",
                START_METHODS.join(", ")
            )));
        }
        match std::fs::metadata(&self.script) {
            _ if self.embedded.is_some() => {}
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(RunError::Usage(format!(
                    "{} is not a file (give a Python script)",
                    self.script.display()
                )));
            }
            Err(e) => {
                return Err(RunError::Usage(format!(
                    "cannot read the script {}: {e}",
                    self.script.display()
                )));
            }
        }
        let out = Command::new(&self.python)
            .args(["-c", "import sys; print(sys.version_info >= (3, 8))"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| {
                RunError::Usage(format!(
                    "cannot run {} ({e}); give the interpreter with --python PATH",
                    self.python.display()
                ))
            })?;
        if String::from_utf8_lossy(&out.stdout).trim() != "True" {
            return Err(RunError::Usage(format!(
                "{} is not Python 3.8 or newer",
                self.python.display()
            )));
        }
        Ok(())
    }
}

/// The run's private directory, removed when dropped.
struct RunDir(PathBuf);

impl RunDir {
    /// A fresh name for a run's directory.
    fn name() -> PathBuf {
        std::env::temp_dir().join(format!(
            "mpviz-py-{}-{}",
            std::process::id(),
            crate::runtime::shm::random_hex()
        ))
    }

    fn make(dir: PathBuf) -> std::io::Result<RunDir> {
        // Not recursive: the name is fresh, and an existing one (planted) is refused.
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let d = RunDir(dir);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(d.0.join("mpviz_probe.py"))?;
        std::io::Write::write_all(&mut f, PROBE.as_bytes())?;
        Ok(d)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Steering of a Python run from another thread: stop and go on (SIGSTOP / SIGCONT of the
/// program's process group), or end it.
#[derive(Debug, Default)]
pub struct Control {
    cancel: AtomicBool,
    /// The program's process group, once it runs (0 before).
    group: std::sync::atomic::AtomicI32,
    /// Its pace and step gates (settable before it starts: they are its first settings).
    pub steer: Arc<steer::Steer>,
}

impl Control {
    /// Stops (`true`) or continues every process of the program; false if none runs.
    pub fn pause(&self, on: bool) -> bool {
        let g = self.group.load(Ordering::Acquire);
        g > 0
            && killpg(
                Pid::from_raw(g),
                if on { Signal::SIGSTOP } else { Signal::SIGCONT },
            )
            .is_ok()
    }

    /// Ends the run (as Ctrl-C does a headless one).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }

    /// Whether the run was asked to end (here, or by a signal to mpviz).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Acquire) || crate::runtime::spawn::interrupted()
    }
}

/// How long a program asked to end (SIGTERM) has before it is killed.
const GRACE: Duration = Duration::from_secs(1);

/// Runs the script under the probe, handing every event to `observer` as it arrives.
pub fn run(
    what: &PythonRun,
    control: &Control,
    observer: &mut dyn FnMut(&Envelope),
) -> Result<PythonSummary, RunError> {
    what.check()?;
    nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)?;
    // The keeper first: from the moment the directory exists, a SIGKILL of mpviz leaves
    // nothing behind either.
    let name = RunDir::name();
    let keeper = keeper::Keeper::start(&name).map_err(|e| {
        RunError::Failed(format!(
            "cannot start the run's keeper: {e}{}",
            if e.raw_os_error() == Some(libc::EAGAIN) {
                " (is `ulimit -u` too low?)"
            } else {
                ""
            }
        ))
    })?;
    let dir = RunDir::make(name)?;
    control.steer.create(&dir.0)?;
    let script = match what.embedded {
        Some(text) => {
            let file = what
                .script
                .file_name()
                .map_or_else(|| "program.py".into(), |n| n.to_owned());
            let path = dir.0.join(file);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            path
        }
        None => what.script.clone(),
    };
    let sock = dir.0.join("sock");
    let listener = UnixListener::bind(&sock)?;
    let (tx, rx) = unbounded::<Envelope>();
    let stop = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicU64::new(0));
    let boot = format!(
        "import sys; sys.path.append({:?}); import mpviz_probe; mpviz_probe.main()",
        dir.0.display().to_string()
    );
    // The program's stdout and stderr: sockets, not pipes, so each piece read names the
    // process that wrote it (`output`).
    let (stdout, their_stdout) = UnixStream::pair()?;
    let (stderr, their_stderr) = UnixStream::pair()?;
    let mut command = Command::new(&what.python);
    if let Some(m) = &what.start_method {
        command.env("MPVIZ_PROBE_START_METHOD", m);
    }
    let mut child = command
        .arg("-c")
        .arg(&boot)
        .arg(&script)
        .args(&what.args)
        .env("MPVIZ_PROBE_SOCK", &sock)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(OwnedFd::from(their_stdout))
        .stderr(OwnedFd::from(their_stderr))
        .spawn()
        .map_err(|e| RunError::Failed(format!("cannot start {}: {e}", what.python.display())))?;
    // Our copies of the program's ends: the streams end when the program's processes do.
    drop(command);
    let main_pid = child.id() as i32;
    let group = Pid::from_raw(main_pid);
    control.group.store(main_pid, Ordering::Release);
    keeper.watch(group);
    // From here on, whatever happens, the group is killed and reaped and the directory goes.
    let guard = GroupGuard(group, &keeper);
    let mut threads = Vec::new();
    let outputs = Arc::new(output::Outputs::new(stdout, stderr)?);
    for which in 0..2 {
        let (tx, stop, outputs) = (tx.clone(), stop.clone(), outputs.clone());
        threads.push(
            std::thread::Builder::new()
                .spawn(move || outputs.follow(which, &tx, &stop))
                .map_err(|e| no_thread("output", e))?,
        );
    }
    let accept = {
        let (tx, stop, dropped) = (tx.clone(), stop.clone(), dropped.clone());
        let steer = control.steer.clone();
        std::thread::Builder::new()
            .spawn(move || wire::serve(listener, &tx, &stop, &dropped, &steer, &outputs))
            .map_err(|e| no_thread("socket", e))?
    };
    drop(tx);
    let mut counts = Counts::default();
    let mut asked_to_end: Option<std::time::Instant> = None;
    let status = loop {
        if control.is_cancelled() {
            match asked_to_end {
                None => {
                    // A stopped program must go on to hear it.
                    let _ = killpg(group, Signal::SIGCONT);
                    let _ = killpg(group, Signal::SIGTERM);
                    asked_to_end = Some(std::time::Instant::now());
                }
                Some(t) if t.elapsed() > GRACE => {
                    let _ = killpg(group, Signal::SIGKILL);
                }
                Some(_) => {}
            }
        }
        drain(&rx, Duration::from_millis(20), &mut counts, observer);
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(e.into()),
        }
    };
    // The script is done: anything it left running goes, and is reaped (it is ours, as a
    // subreaper, once its parent is gone).
    control.group.store(0, Ordering::Release);
    drop(guard);
    stop.store(true, Ordering::Relaxed);
    let _ = accept.join();
    control.steer.close();
    for t in threads {
        let _ = t.join();
    }
    drain(&rx, Duration::ZERO, &mut counts, observer);
    use std::os::unix::process::ExitStatusExt;
    let (code, signal) = (status.code(), status.signal());
    let exit = Envelope {
        kind: EventKind::Exit { code, signal },
        worker: 1,
        pid: main_pid,
        t_ns: now_ns(),
    };
    observer(&exit);
    if crate::runtime::spawn::interrupted() {
        return Err(crate::runtime::RuntimeError::Interrupted.into());
    }
    let exit_code = code.unwrap_or_else(|| 128 + signal.unwrap_or(0));
    let cells: Vec<CellSummary> = counts
        .writes
        .iter()
        .map(|(&(cell, index), w)| {
            let lost = find_lost_updates(w);
            let float = |r: &WriteRec| counts.floats.get(&(cell, r.worker, r.seq)).copied();
            let (last, lost_sum) = if w.iter().any(|r| float(r).is_some()) {
                let num = |r: &WriteRec| float(r).unwrap_or((r.old as f64, r.new as f64));
                let sum = lost
                    .iter()
                    .fold(0.0, |s, l| s + num(&l.lost).1 - num(&l.lost).0);
                (
                    last_store(w).map(|r| Num::Float(num(r).1).to_string()),
                    Num::Float(sum).to_string(),
                )
            } else {
                let sum: i128 = lost.iter().map(|l| l.lost.new - l.lost.old).sum();
                (last_store(w).map(|r| r.new.to_string()), sum.to_string())
            };
            CellSummary {
                cell,
                index,
                name: counts.names.known(cell, index),
                writes: w.len(),
                last,
                lost_updates: lost.len(),
                lost_sum,
            }
        })
        .collect();
    let lost = cells.iter().map(|c| c.lost_updates).sum();
    let names = &counts.names;
    let locks: Vec<LockSummary> = std::mem::take(&mut counts.locks)
        .into_iter()
        .map(|(lock, stats)| {
            let s = stats.finish();
            LockSummary {
                lock,
                name: names.lock(lock).map(str::to_string),
                acquisitions: s.acquisitions,
                contended: s.contended,
                owner_changes: s.owner_changes,
            }
        })
        .collect();
    let queues = std::mem::take(&mut counts.queues)
        .into_iter()
        .map(|(queue, (puts, gets))| QueueSummary {
            queue,
            name: names.queue(queue).map(str::to_string),
            what: names.queue_what(queue).map(str::to_string),
            puts,
            gets,
            left: puts.saturating_sub(gets),
        })
        .collect();
    Ok(PythonSummary {
        kind: "summary",
        source: "python",
        script: what.script.display().to_string(),
        ok: exit_code == 0,
        exit_code,
        processes: counts.processes,
        threads: counts.thread_workers.len() as u64,
        reads: counts.reads,
        writes: counts.writes.values().map(|w| w.len() as u64).sum(),
        lost_updates: lost,
        cells,
        lock_acquisitions: locks.iter().map(|l| l.acquisitions).sum(),
        lock_contended: locks.iter().map(|l| l.contended).sum(),
        locks,
        queues,
        dropped_events: dropped.load(Ordering::Relaxed) + counts.dropped,
        unsaid_ends: counts.unsaid,
    })
}

fn no_thread(what: &str, e: std::io::Error) -> RunError {
    RunError::Failed(format!(
        "cannot start the {what} thread: {e} (is `ulimit -u` too low?)"
    ))
}

/// How long what is left of a program may take to end after a SIGTERM (multiprocessing's
/// resource tracker ignores it, and unlinks the semaphores and shared memory the program left
/// once the program's processes are gone) before it is killed.
const LEFT_GRACE: Duration = Duration::from_secs(1);

/// Ends the program's process group and reaps every child of it when dropped: a SIGTERM first,
/// so that multiprocessing's resource tracker can remove what the program left in /dev/shm
/// (a SIGKILL of the whole group left a spawn program's named semaphores behind), then, after
/// at most `LEFT_GRACE`, a SIGKILL of whatever is left.
struct GroupGuard<'k>(Pid, &'k keeper::Keeper);

impl Drop for GroupGuard<'_> {
    fn drop(&mut self) {
        let group = Pid::from_raw(-self.0.as_raw());
        if killpg(self.0, Signal::SIGTERM).is_ok() {
            // A stopped process hears it once it goes on.
            let _ = killpg(self.0, Signal::SIGCONT);
            let deadline = std::time::Instant::now() + LEFT_GRACE;
            while std::time::Instant::now() < deadline {
                match waitpid(group, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(5)),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    // No child of ours left in the group (any other is someone else's).
                    Err(_) => break,
                }
            }
        }
        let _ = killpg(self.0, Signal::SIGKILL);
        // Killed, not yet reaped: the group's number is still the program's, so the keeper can
        // be told to forget it only now, and is told before the number is free again.
        self.1.forget();
        loop {
            match waitpid(group, Some(WaitPidFlag::__WALL)) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

/// What the summary counts, from the events.
#[derive(Default)]
struct Counts {
    processes: u64,
    reads: u64,
    /// Per shared cell and element, its writes (the lost-update analysis follows one element's
    /// stores).
    writes: std::collections::BTreeMap<(u16, u32), Vec<WriteRec>>,
    /// Each lock's figures, by its number.
    locks: std::collections::BTreeMap<u16, crate::model::lock::LockStats>,
    /// Each queue's puts and gets, by its number.
    queues: std::collections::BTreeMap<u16, (u64, u64)>,
    dropped: u64,
    /// Processes' exits with neither a code nor a signal.
    unsaid: u64,
    /// The program's threads, each a worker of its own.
    thread_workers: std::collections::HashSet<u16>,
    /// The cells' names, from their `cell` events.
    names: crate::model::names::CellNames,
    /// The numbers of writes that are not both integers, by (cell, worker, seq).
    floats: std::collections::HashMap<(u16, u16, u32), (f64, f64)>,
}

fn drain(
    rx: &Receiver<Envelope>,
    first_wait: Duration,
    counts: &mut Counts,
    observer: &mut dyn FnMut(&Envelope),
) {
    let first = if first_wait.is_zero() {
        rx.try_recv().ok()
    } else {
        rx.recv_timeout(first_wait).ok()
    };
    for e in first.into_iter().chain(rx.try_iter()) {
        counts.names.learn(&e.kind);
        match &e.kind {
            EventKind::Spawned { method } if method == "thread" => {
                counts.thread_workers.insert(e.worker);
            }
            EventKind::Spawned { .. } => counts.processes += 1,
            EventKind::Read { .. } => counts.reads += 1,
            EventKind::Write { cell, index, .. } => {
                // The analysis follows store names; a float Value's numbers are kept beside.
                if let Some((w, nums)) = WriteRec::of_any_write(&e) {
                    if let Some(nums) = nums {
                        counts.floats.insert((*cell, e.worker, w.seq), nums);
                    }
                    counts.writes.entry((*cell, *index)).or_default().push(w);
                }
            }
            EventKind::QueuePut { queue, .. } => counts.queues.entry(*queue).or_default().0 += 1,
            EventKind::QueueGet { queue, .. } => counts.queues.entry(*queue).or_default().1 += 1,
            EventKind::Dropped { count } => counts.dropped += count,
            // A thread has no exit code: its end is said by its connection's close.
            EventKind::Exit {
                code: None,
                signal: None,
            } if !counts.thread_workers.contains(&e.worker) => counts.unsaid += 1,
            _ => {}
        }
        if let Some(lock) = e.kind.lock_id() {
            counts.locks.entry(lock).or_default().observe(&e);
        }
        observer(&e);
    }
}

/// The write whose value is in memory after `writes`: the store no later write replaced.
fn last_store(writes: &[WriteRec]) -> Option<&WriteRec> {
    let replaced: std::collections::HashSet<crate::runtime::StoreId> =
        writes.iter().map(|w| w.replaced).collect();
    writes.iter().rev().find(|w| {
        !replaced.contains(&crate::runtime::StoreId {
            worker: w.worker,
            seq: w.seq,
        })
    })
}

/// Where the probe is written (for tests: it must not be left behind).
pub fn run_dirs_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("mpviz-py-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}
