//! Starting, steering, reaping and cleaning up a run's worker processes.
//!
//! `Runtime` owns everything a run creates: the workers, their pipes and reader threads, the
//! shared segment and (for the fork method) the launcher. Dropping it kills what is still alive,
//! reaps every child and unlinks the segment, so a run that ends any way — finished, failed,
//! interrupted, panicked — leaves no process, zombie or segment behind.
//!
//! Events from all workers fan in through one `crossbeam-channel`. Each worker has a reader
//! thread that decodes its pipe and, once the pipe closes, reaps the worker and adds its `exit`
//! event, so the exit is always the worker's last event. The channel is bounded and the readers
//! block when it is full: back-pressure slows the workers down instead of losing events.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, bounded};
use nix::sys::signal::Signal;

use nix::unistd::Pid;
use thiserror::Error;

use super::clock::now_ns;
use super::control::{Control, ControlSender};
use super::event::{Decoded, Decoder, Envelope, EventKind, Stream};
use super::hub::{Hub, Proc, WorkerHandle};
use super::launcher::Launcher;
use super::shm::{CellSpec, Segment, ShmError, sweep_stale};
use super::worker::{TOKEN_ENV, WorkerSpec, encode_spec};

/// How a worker process comes to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartMethod {
    /// Run our own executable again with a hidden entry point (like Python's `spawn`).
    #[default]
    Reexec,
    /// Fork a copy of a small single-threaded launcher (like Python's `fork`).
    Fork,
}

impl StartMethod {
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Reexec => "reexec",
            StartMethod::Fork => "fork",
        }
    }
}

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("cannot create a pipe for worker {worker}: {source}")]
    Pipe { worker: u16, source: nix::Error },
    #[error(
        "cannot start worker {worker} ({method}): {source}{}",
        limit_hint(source)
    )]
    Spawn {
        worker: u16,
        method: &'static str,
        source: std::io::Error,
    },
    #[error("cannot send worker {worker} its job: {source}")]
    Handshake { worker: u16, source: std::io::Error },
    #[error("cannot start the fork launcher: {0}{hint}", hint = limit_hint(.0))]
    Launcher(std::io::Error),
    #[error(transparent)]
    Shm(#[from] ShmError),
    #[error("interrupted")]
    Interrupted,
    #[error("too many workers (at most {0})")]
    TooMany(u16),
    #[error(
        "cannot start the threads that read worker {worker}: {source} (is `ulimit -u` too low?)"
    )]
    Threads { worker: u16, source: std::io::Error },
}

/// What a process start that failed with EAGAIN most likely ran into.
fn limit_hint(e: &std::io::Error) -> &'static str {
    if e.raw_os_error() == Some(libc::EAGAIN) {
        " (is `ulimit -u` too low?)"
    } else {
        ""
    }
}

static INTERRUPT: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

/// The flag that the signal handlers `main` installs (SIGINT, SIGTERM, SIGHUP) set; every wait
/// loop of the runtime polls it and ends the run with `RuntimeError::Interrupted`.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    INTERRUPT.get_or_init(Arc::default).clone()
}

pub fn interrupted() -> bool {
    INTERRUPT.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Options that apply to every worker of a run.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub method: StartMethod,
    /// Interval scale at start (1000 = as the scenario says).
    pub speed_permille: u32,
    /// Start with step gates on.
    pub gates: bool,
    /// The mpviz executable that workers run (default: this process's own executable; tests
    /// that drive the library from another binary name mpviz's here).
    pub exe: Option<std::path::PathBuf>,
    /// Steering shared with a front end on another thread (default: a new one made from
    /// `speed_permille` and `gates`).
    pub hub: Option<Arc<Hub>>,
    /// Workers report what they do step by step (shared-value reads and writes, queue items,
    /// lock requests, waits and holds). Off, they send only their lifecycle, phases, results
    /// and errors: what a headless run that wants only the answer, or a benchmark, needs.
    pub trace: bool,
    /// Test-only: make this start-up step fail (`launcher`, `segment`, `pipe`, `spawn`,
    /// `handover`, `readers`), so tests can check that a failure at any step leaves nothing
    /// behind. Taken from `MPVIZ_TEST_FAULT` by default, as `MPVIZ_TEST_PANIC` is for the UI.
    pub fault: Option<String>,
}

/// The environment variable a test sets to make a start-up step fail (see `RuntimeOptions`).
pub const FAULT_ENV: &str = "MPVIZ_TEST_FAULT";

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            method: StartMethod::Reexec,
            speed_permille: 1000,
            gates: false,
            exe: None,
            hub: None,
            trace: true,
            fault: std::env::var(FAULT_ENV).ok(),
        }
    }
}

impl RuntimeOptions {
    /// An error if a test asked for `step` to fail.
    fn injected(&self, step: &str) -> std::io::Result<()> {
        match &self.fault {
            Some(f) if f == step => Err(std::io::Error::other(format!("test fault at {step}"))),
            _ => Ok(()),
        }
    }

    fn exe(&self) -> std::io::Result<std::path::PathBuf> {
        self.exe.clone().map_or_else(std::env::current_exe, Ok)
    }
}

/// What `Runtime::next` found.
#[derive(Debug)]
pub enum Next {
    Event(Envelope),
    Timeout,
}

/// Events travel from a reader thread to the parent in batches (one channel operation for up to
/// `BATCH` events instead of one each); at most `CHANNEL_CAPACITY` batches wait at once.
const BATCH: usize = 256;
const CHANNEL_CAPACITY: usize = 32;
const EVENT_PIPE_BYTES: i32 = 1 << 20;

/// Events of one worker, in the order it sent them.
pub type Batch = Vec<Envelope>;
const MAX_WORKERS: u16 = 1024;

pub struct Runtime {
    opts: RuntimeOptions,
    token: String,
    tx: Sender<Batch>,
    rx: Receiver<Batch>,
    /// Events of a batch taken from the channel and not yet handed out.
    pending: std::collections::VecDeque<Envelope>,
    workers: Vec<Arc<WorkerHandle>>,
    /// Events of the parent's own (and `spawned`), delivered before the workers' channel.
    own: std::collections::VecDeque<Envelope>,
    /// Pauses and resumes of the hub already turned into events.
    pauses_seen: usize,
    hub: Arc<Hub>,
    readers: Vec<JoinHandle<()>>,
    shutdown: Arc<AtomicBool>,
    segment: Option<Segment>,
    launcher: Option<Launcher>,
    /// Stale segments removed when this runtime started.
    pub swept: Vec<String>,
    exited: usize,
}

impl Runtime {
    pub fn new(opts: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let swept = sweep_stale();
        let (tx, rx) = bounded(CHANNEL_CAPACITY);
        let token = super::shm::random_hex();
        let launcher = match opts.method {
            StartMethod::Fork => Some(
                opts.injected("launcher")
                    .and_then(|()| opts.exe())
                    .and_then(|exe| Launcher::start(&exe, &token, opts.fault.as_deref()))
                    .map_err(RuntimeError::Launcher)?,
            ),
            StartMethod::Reexec => None,
        };
        let hub = opts
            .hub
            .clone()
            .unwrap_or_else(|| Hub::new(opts.speed_permille, opts.gates));
        Ok(Runtime {
            own: std::collections::VecDeque::new(),
            pauses_seen: 0,
            pending: std::collections::VecDeque::new(),
            hub,
            opts,
            token,
            tx,
            rx,
            workers: Vec::new(),
            readers: Vec::new(),
            shutdown: Arc::new(AtomicBool::new(false)),
            segment: None,
            launcher,
            swept,
            exited: 0,
        })
    }

    /// Whether workers spawned from now on start with their step gates closed.
    pub fn set_gates(&mut self, on: bool) {
        self.hub.set_gates(on);
    }

    /// The run's steering handle, for a front end on another thread.
    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// Whether workers report step by step (`RuntimeOptions::trace`).
    pub fn traced(&self) -> bool {
        self.opts.trace
    }

    pub fn method(&self) -> StartMethod {
        self.opts.method
    }

    /// Creates the run's shared segment (one per runtime; a second call replaces the first).
    pub fn create_segment(&mut self, cells: &[CellSpec]) -> Result<&Segment, RuntimeError> {
        if let Err(e) = self.opts.injected("segment") {
            return Err(ShmError::Make {
                name: "(test)".into(),
                why: e.to_string(),
            }
            .into());
        }
        self.segment = Some(Segment::create(cells)?);
        Ok(self.segment.as_ref().expect("segment just set"))
    }

    pub fn segment(&self) -> Option<&Segment> {
        self.segment.as_ref()
    }

    /// Drops the segment now (unlinking it), e.g. between two parts of a scenario.
    pub fn remove_segment(&mut self) {
        self.segment = None;
    }

    pub fn workers(&self) -> &[Arc<WorkerHandle>] {
        &self.workers
    }

    /// Number of workers started and not yet seen to exit.
    pub fn live(&self) -> usize {
        self.workers.len() - self.exited
    }

    /// Starts a worker running `job`, handing it `extras` as descriptors 5, 6, ...
    pub fn spawn(
        &mut self,
        job: serde_json::Value,
        extras: Vec<OwnedFd>,
    ) -> Result<u16, RuntimeError> {
        if self.workers.len() >= MAX_WORKERS as usize {
            return Err(RuntimeError::TooMany(MAX_WORKERS));
        }
        let id = self.workers.len() as u16 + 1;
        let pipe = || {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|source| RuntimeError::Pipe { worker: id, source })
        };
        let (ev_r, ev_w) = pipe()?;
        // A deeper event pipe lets a worker run on through a burst while its reader catches up
        // (best effort: the default 64 KiB still works, only with more waiting).
        let _ = nix::fcntl::fcntl(&ev_w, nix::fcntl::FcntlArg::F_SETPIPE_SZ(EVENT_PIPE_BYTES));
        let (ctl_r, ctl_w) = pipe()?;
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        if self.opts.injected("pipe").is_err() {
            return Err(RuntimeError::Pipe {
                worker: id,
                source: nix::errno::Errno::EMFILE,
            });
        }
        let extra_count = extras.len() as u32;
        let method = self.opts.method;
        let spawned_ns = now_ns();
        let pid = match (&mut self.launcher, method) {
            (Some(l), StartMethod::Fork) => {
                match l.fork_worker(&[&out_w, &err_w, &ev_w, &ctl_r], &extras) {
                    Ok(pid) => {
                        // A worker that is ours joins our process group, as a re-executed one
                        // is in: Ctrl-Z and Ctrl-C at a shell reach it with us (the
                        // launcher's group holds only what is not registered).
                        let _ = nix::unistd::setpgid(pid, nix::unistd::getpgrp());
                        pid
                    }
                    Err(source) => {
                        // A launcher that died mid-request leaves an intermediate and perhaps
                        // a worker whose pids we never learnt; our end of the worker's control
                        // pipe goes with this scope, so such a worker ends anyway.
                        drop(ctl_w);
                        let known: Vec<i32> = self.workers.iter().map(|w| w.pid).collect();
                        l.reap_strays(&known);
                        return Err(RuntimeError::Spawn {
                            worker: id,
                            method: "fork",
                            source,
                        });
                    }
                }
            }
            _ => spawn_reexec(&self.opts, &self.token, [out_w, err_w, ev_w, ctl_r], extras)
                .map_err(|source| RuntimeError::Spawn {
                    worker: id,
                    method: "reexec",
                    source,
                })?,
        };
        // (In the fork path our copies of the child's ends are dropped here, at scope end.)

        let control = ControlSender::new(File::from(ctl_w));
        let spec = WorkerSpec {
            token: self.token.clone(),
            worker: id,
            parent: std::process::id() as i32,
            segment: self.segment.as_ref().map(|s| s.name().to_string()),
            speed_permille: self.hub.speed(),
            gates: self.hub.gates(),
            extra_fds: extra_count,
            trace: self.opts.trace,
            job,
        };
        self.own.push_back(Envelope {
            kind: EventKind::Spawned {
                method: method.name().into(),
            },
            worker: id,
            pid: pid.as_raw(),
            t_ns: spawned_ns,
        });
        let handle = Arc::new(WorkerHandle {
            id,
            pid: pid.as_raw(),
            spawned_ns,
            proc: Proc::new(pid),
            control,
        });
        let reader = self.opts.injected("readers").and_then(|()| {
            start_readers(
                id,
                handle.clone(),
                File::from(ev_r),
                [File::from(out_r), File::from(err_r)],
                self.tx.clone(),
                self.shutdown.clone(),
            )
        });
        let reader = match reader {
            Ok(r) => r,
            Err(source) => {
                // The worker exists and no reader will reap it: kill and reap it here.
                handle.proc.signal(nix::sys::signal::Signal::SIGKILL);
                handle.proc.reap();
                return Err(RuntimeError::Threads { worker: id, source });
            }
        };
        self.readers.push(reader);
        let handshake = handle.control.send_raw(&encode_spec(&spec));
        self.hub.add(handle.clone());
        self.workers.push(handle);
        // A worker that died before reading its job shows up as an exit event; anything else
        // failing here is worth reporting.
        match handshake {
            Err(source) if source.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(RuntimeError::Handshake { worker: id, source })
            }
            _ => Ok(id),
        }
    }

    /// Adds an event of the parent's own (worker 0) to the stream. It is queued apart from
    /// the workers' bounded channel: the parent is that channel's only reader, so sending into
    /// it could block the parent on itself when the workers have filled it.
    pub fn emit(&mut self, kind: EventKind) {
        self.own.push_back(Envelope {
            kind,
            worker: 0,
            pid: std::process::id() as i32,
            t_ns: now_ns(),
        });
    }

    /// The next event already at hand, without waiting (already noted): the parent's own
    /// first, then the rest of a batch taken earlier.
    pub fn take_ready(&mut self) -> Option<Envelope> {
        // A pause or resume is handed out before any event read after it: whatever a worker
        // stamped after a resume reached this loop after the hub noted the resume.
        for (on, t_ns) in self.hub.pauses_since(self.pauses_seen) {
            self.pauses_seen += 1;
            self.own.push_back(Envelope {
                kind: if on {
                    EventKind::Paused
                } else {
                    EventKind::Resumed
                },
                worker: 0,
                pid: std::process::id() as i32,
                t_ns,
            });
        }
        let e = self.own.pop_front().or_else(|| self.pending.pop_front())?;
        self.note(&e);
        Some(e)
    }

    /// Keeps a batch taken from `receiver` for `take_ready` to hand out.
    pub fn absorb(&mut self, batch: Batch) {
        self.pending.extend(batch);
    }

    /// The next event, waiting at most `timeout`. Fails only when interrupted by a signal.
    pub fn next(&mut self, timeout: Duration) -> Result<Next, RuntimeError> {
        // An event already waiting is taken without reading the clock for a deadline.
        if !self.interrupted() {
            if let Some(e) = self.take_ready() {
                return Ok(Next::Event(e));
            }
            if let Ok(batch) = self.rx.try_recv() {
                self.absorb(batch);
                if let Some(e) = self.take_ready() {
                    return Ok(Next::Event(e));
                }
            }
        }
        let slice = Duration::from_millis(50).min(timeout);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.interrupted() {
                return Err(RuntimeError::Interrupted);
            }
            if let Some(e) = self.take_ready() {
                return Ok(Next::Event(e));
            }
            match self.rx.recv_timeout(slice) {
                Ok(batch) => self.absorb(batch),
                Err(RecvTimeoutError::Timeout) => {
                    if std::time::Instant::now() >= deadline {
                        return Ok(Next::Timeout);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(Next::Timeout),
            }
        }
    }

    /// True once a signal or the hub asked the run to end.
    pub fn interrupted(&self) -> bool {
        interrupted() || self.hub.cancelled()
    }

    /// The fan-in channel, for callers that wait on it together with other sources; a batch
    /// taken from it directly must be passed to `absorb`.
    pub fn receiver(&self) -> &Receiver<Batch> {
        &self.rx
    }

    /// Book-keeping for an event handed out.
    fn note(&mut self, e: &Envelope) {
        if e.worker != 0 && matches!(e.kind, EventKind::Exit { .. }) {
            self.exited += 1;
        }
    }

    /// Sends `msg` to one worker; false if it is gone.
    pub fn control(&self, worker: u16, msg: Control) -> bool {
        self.handle(worker).is_some_and(|w| w.send(msg))
    }

    /// Sends `msg` to every worker still listening.
    pub fn broadcast(&self, msg: Control) {
        for w in &self.workers {
            let _ = w.control.send(msg);
        }
    }

    /// Sends a signal to a worker that has not been reaped yet.
    pub fn signal(&self, worker: u16, sig: Signal) -> bool {
        self.handle(worker).is_some_and(|w| w.proc.signal(sig))
    }

    pub fn handle(&self, worker: u16) -> Option<&WorkerHandle> {
        self.workers.iter().find(|w| w.id == worker).map(|w| &**w)
    }

    /// Kills every worker that is still running (their exits arrive as events).
    pub fn kill_all(&self) {
        for w in &self.workers {
            w.proc.signal(Signal::SIGKILL);
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for w in &self.workers {
            // SIGCONT first is not needed: SIGKILL ends stopped processes too.
            w.proc.signal(Signal::SIGKILL);
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.launcher = None;
        self.segment = None;
    }
}

/// Re-executes this binary as a worker. `fds` are the child's ends: stdout, stderr, events,
/// control.
fn spawn_reexec(
    opts: &RuntimeOptions,
    token: &str,
    fds: [OwnedFd; 4],
    extras: Vec<OwnedFd>,
) -> std::io::Result<Pid> {
    let [out_w, err_w, ev_w, ctl_r] = fds;
    if extras.len() + 2 > super::fdpass::MAX_FDS {
        return Err(std::io::Error::other("too many pipes for one worker"));
    }
    let exe = opts.exe()?;
    opts.injected("spawn")?;
    // Only stdin, stdout and stderr are mapped at the start, so std can use posix_spawn (no
    // copy of this process's memory map, unlike the fork a pre_exec hook forces: 0.9 ms of the
    // start became 0.08). The worker's other pipes follow over stdin, a socket.
    let (ours, theirs) = UnixStream::pair()?;
    let mut cmd = Command::new(exe);
    cmd.arg("__worker")
        .env(TOKEN_ENV, token)
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));
    let mut child = cmd.spawn()?;
    drop(cmd); // our copies of the child's stdin, stdout and stderr
    let mut passed = vec![ev_w.as_raw_fd(), ctl_r.as_raw_fd()];
    passed.extend(extras.iter().map(|f| f.as_raw_fd()));
    let handed = opts
        .injected("handover")
        .and_then(|()| super::fdpass::send_fds(&ours, &passed));
    if let Err(e) = handed {
        // The worker exists but will never have its pipes: end it and reap it now, or it stays
        // a zombie for as long as this process lives.
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    // The `Child` is not waited on here: the reader thread reaps by pid.
    Ok(Pid::from_raw(child.id() as i32))
}

fn send_or_quit<T>(tx: &Sender<T>, shutdown: &AtomicBool, e: T) -> bool {
    // The common case costs no clock reading: only a full channel needs a deadline.
    let mut e = match tx.try_send(e) {
        Ok(()) => return true,
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => return false,
        Err(crossbeam_channel::TrySendError::Full(back)) => back,
    };
    loop {
        match tx.send_timeout(e, Duration::from_millis(100)) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(back)) => {
                if shutdown.load(Ordering::Relaxed) {
                    return false;
                }
                e = back;
            }
            Err(SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}

fn start_readers(
    worker: u16,
    handle: Arc<WorkerHandle>,
    mut events: File,
    outputs: [File; 2],
    tx: Sender<Batch>,
    shutdown: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let pid = handle.pid;
    // Threads that cannot be made (a low `ulimit -u`) are an error to report, not a panic.
    let out_threads: Vec<JoinHandle<()>> = outputs
        .into_iter()
        .zip([Stream::Stdout, Stream::Stderr])
        .map(|(file, stream)| {
            let (tx, shutdown) = (tx.clone(), shutdown.clone());
            std::thread::Builder::new()
                .spawn(move || read_output(worker, pid, stream, file, tx, &shutdown))
        })
        .collect::<std::io::Result<_>>()?;
    std::thread::Builder::new().spawn(move || {
        let mut dec = Decoder::default();
        let mut buf = vec![0u8; 64 * 1024];
        let mut delivering = true;
        loop {
            let n = match events.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            dec.feed(&buf[..n]);
            let mut batch = Batch::with_capacity(BATCH);
            while let Some(d) = dec.next_event() {
                let e = match d {
                    Decoded::Event(t_ns, kind) => Envelope {
                        kind,
                        worker,
                        pid,
                        t_ns,
                    },
                    Decoded::Skipped(_) => continue,
                    Decoded::Broken(err) => {
                        let message = format!("event stream of worker {worker} is corrupt: {err}");
                        Envelope {
                            kind: EventKind::Error { message },
                            worker,
                            pid,
                            t_ns: now_ns(),
                        }
                    }
                };
                if !delivering {
                    continue;
                }
                batch.push(e);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Batch::with_capacity(BATCH));
                    delivering = send_or_quit(&tx, &shutdown, full);
                }
            }
            if delivering && !batch.is_empty() {
                delivering = send_or_quit(&tx, &shutdown, batch);
            }
        }
        // A frame cut short by the worker's death is an event that never arrived.
        let dropped = dec.dropped + u64::from(dec.pending() > 0);
        for t in out_threads {
            let _ = t.join();
        }
        let exit = handle.proc.reap();
        if delivering {
            let mut last = Batch::new();
            if dropped > 0 {
                last.push(Envelope {
                    kind: EventKind::Dropped { count: dropped },
                    worker,
                    pid,
                    t_ns: now_ns(),
                });
            }
            last.push(Envelope {
                kind: exit,
                worker,
                pid,
                t_ns: now_ns(),
            });
            send_or_quit(&tx, &shutdown, last);
        }
    })
}

fn read_output(
    worker: u16,
    pid: i32,
    stream: Stream,
    output: File,
    tx: Sender<Batch>,
    shutdown: &AtomicBool,
) {
    use std::io::BufRead;
    let reader = std::io::BufReader::new(output);
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break };
        let text = String::from_utf8_lossy(&line).into_owned();
        let kind = EventKind::Output { stream, text };
        let e = Envelope {
            kind,
            worker,
            pid,
            t_ns: now_ns(),
        };
        if !send_or_quit(&tx, shutdown, vec![e]) {
            break;
        }
    }
}
