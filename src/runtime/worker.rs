//! The worker side: the hidden entry point every worker process runs, however it was started.
//!
//! A worker finds its plumbing at fixed descriptors: 3 is its event pipe (to the parent), 4 its
//! control pipe (from the parent), 5 and up the scenario's extra pipes (queues). Its stdout and
//! stderr are a pipe the parent reads, so a worker can never draw on the user's terminal.
//!
//! Before running anything the worker checks that it was started by mpviz: descriptors 3 and 4
//! must be pipes, and the first message on the control pipe must carry the run's token, which
//! the parent also put in the environment. A person who types `mpviz __worker` gets a sentence
//! saying what this is instead.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::now_ns;
use super::control::{Control, ControlState, Flow, MSG_LEN};
use super::event::{Access, EventKind, Num, STREAM_HEADER, StoreId, encode};
use super::shm::Segment;
use super::sys::exit_now;

pub const EVENT_FD: RawFd = 3;
pub const CONTROL_FD: RawFd = 4;
pub const FIRST_EXTRA_FD: RawFd = 5;
/// Environment variable holding the run's token.
pub const TOKEN_ENV: &str = "MPVIZ_WORKER_TOKEN";
/// First bytes of the handshake on the control pipe.
pub const HELLO: [u8; 8] = *b"MPVZHELO";
const MAX_SPEC: usize = 1 << 20;

/// Exit code of a worker that refused to start (not started by mpviz, bad handshake).
pub const REFUSED: i32 = 2;

/// What the parent tells a worker before it starts.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub token: String,
    pub worker: u16,
    pub parent: i32,
    pub segment: Option<String>,
    pub speed_permille: u32,
    pub gates: bool,
    pub extra_fds: u32,
    pub trace: bool,
    pub job: serde_json::Value,
}

/// Buffered writer of events to the parent. Events are flushed whenever the worker is about to
/// wait (sleep, gate, lock, exit) and whenever the buffer fills, so a live view sees every event
/// before the worker blocks, without a system call per event in hot loops.
pub struct Emitter {
    out: File,
    buf: Vec<u8>,
    trace: bool,
}

const FLUSH_AT: usize = 16 * 1024;

impl Emitter {
    fn new(out: File, trace: bool) -> Self {
        let mut buf = Vec::with_capacity(FLUSH_AT * 2);
        buf.extend_from_slice(&STREAM_HEADER);
        Self { out, buf, trace }
    }

    /// Whether step-by-step events are wanted (see `RuntimeOptions::trace`); a job can skip
    /// the work of preparing them when not.
    pub fn tracing(&self) -> bool {
        self.trace
    }

    pub fn emit(&mut self, kind: &EventKind) {
        self.emit_at(now_ns(), kind);
    }

    /// Emits an event stamped with a time the caller already read.
    pub fn emit_at(&mut self, t_ns: u64, kind: &EventKind) {
        if !self.trace && kind.is_trace() {
            return;
        }
        encode(&mut self.buf, t_ns, kind);
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if self.out.write_all(&self.buf).is_err() {
            // The parent closed our event pipe: it is gone, and so is any reason to go on.
            exit_now(1);
        }
        self.buf.clear();
    }
}

/// Everything a job needs: its identity, the event stream, the parent's controls, the segment.
pub struct WorkerCtx {
    pub id: u16,
    pub events: Emitter,
    pub control: Arc<ControlState>,
    segment: Option<Segment>,
    extras: Vec<Option<File>>,
    /// Stores this worker made into shared cells (each write's `seq`).
    stores: u32,
}

impl WorkerCtx {
    pub fn emit(&mut self, kind: EventKind) {
        self.events.emit(&kind);
    }

    pub fn flush(&mut self) {
        self.events.flush();
    }

    /// Sleeps `base` scaled by the parent's speed setting; flushes events first.
    pub fn sleep(&mut self, base: Duration) -> Flow {
        self.flush();
        self.control.sleep(base)
    }

    /// Waits at a step gate before `access` when gates are on (announcing it to the parent).
    pub fn gate(&mut self, access: Access) -> Flow {
        let control = self.control.clone();
        control.pass_gate(|| {
            self.emit(EventKind::Gate { access });
            self.flush();
        })
    }

    pub fn stopping(&self) -> bool {
        self.control.stopping()
    }

    pub fn segment(&self) -> Result<&Segment, String> {
        self.segment
            .as_ref()
            .ok_or_else(|| "this job needs a shared segment".to_string())
    }

    /// The segment and the event emitter at once (to report while holding the segment).
    pub fn parts(&mut self) -> Result<(&Segment, &mut Emitter), String> {
        let seg = self
            .segment
            .as_ref()
            .ok_or_else(|| "this job needs a shared segment".to_string())?;
        Ok((seg, &mut self.events))
    }

    /// Reads element `index` of shared cell `cell` and reports the read: the value, and which
    /// store it saw (for the writes that follow to name it as `from`).
    pub fn read_shared(&mut self, cell: u16, index: u32) -> Result<(Num, StoreId), String> {
        let (value, from) = self
            .segment()?
            .load_tagged(cell as usize, index as usize)
            .ok_or_else(|| format!("shared cell {cell}[{index}] is missing"))?;
        self.emit(EventKind::Read {
            cell,
            index,
            value,
            from,
        });
        Ok((value, from))
    }

    /// Stores `value` in element `index` of shared cell `cell` and reports the write, with
    /// `old`, the value read before it from store `from`, and the store this one replaced in
    /// memory (learnt from the same atomic swap that stored it); returns the value as stored.
    /// The event is stamped before the store: whoever reads the stored value does so later,
    /// so sorting writes by time never puts a write before the one it read from.
    pub fn write_shared(
        &mut self,
        cell: u16,
        index: u32,
        (old, from): (Num, StoreId),
        value: Num,
    ) -> Result<Num, String> {
        let t = now_ns();
        self.stores += 1;
        let me = StoreId {
            worker: self.id,
            seq: self.stores,
        };
        let (seg, events) = self.parts()?;
        let (new, replaced) = seg
            .swap(cell as usize, index as usize, value, me)
            .ok_or_else(|| format!("shared cell {cell}[{index}] is missing"))?;
        events.emit_at(
            t,
            &EventKind::Write {
                cell,
                index,
                old,
                new,
                seq: me.seq,
                from,
                replaced,
            },
        );
        Ok(new)
    }

    /// Takes the `i`th extra pipe (queue) the parent handed over.
    pub fn take_extra(&mut self, i: usize) -> Result<File, String> {
        self.extras
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| format!("this job needs extra pipe {i}"))
    }
}

/// The job runner a binary provides: runs `job` and returns the exit code.
pub type Dispatch = fn(&mut WorkerCtx, serde_json::Value) -> i32;

fn is_pipe(fd: RawFd) -> bool {
    super::sys::fd_is_fifo(fd)
}

const NOT_FOR_PEOPLE: &str = "mpviz: `__worker` is the internal entry point of mpviz's worker \
processes and is started by mpviz itself. To run a scenario, use `mpviz run SCENARIO` \
(see `mpviz list`).";

fn refuse(why: &str) -> i32 {
    eprintln!("{NOT_FOR_PEOPLE}\n(refused: {why})");
    REFUSED
}

fn read_spec(control: &mut File) -> Result<WorkerSpec, String> {
    let mut hello = [0u8; 12];
    control
        .read_exact(&mut hello)
        .map_err(|e| format!("no handshake on the control pipe: {e}"))?;
    if hello[..8] != HELLO {
        return Err("the control pipe did not start with mpviz's handshake".into());
    }
    let len = u32::from_le_bytes([hello[8], hello[9], hello[10], hello[11]]) as usize;
    if len > MAX_SPEC {
        return Err(format!("handshake of {len} bytes is too long"));
    }
    let mut body = vec![0u8; len];
    control
        .read_exact(&mut body)
        .map_err(|e| format!("handshake cut short: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("handshake is not a worker spec: {e}"))
}

/// Frames a spec for the control pipe.
pub fn encode_spec(spec: &WorkerSpec) -> Vec<u8> {
    let body = serde_json::to_vec(spec).unwrap_or_default();
    let mut out = HELLO.to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Takes ownership of a descriptor number this process inherited.
fn adopt(fd: RawFd) -> Option<File> {
    super::sys::adopt_fd(fd).map(File::from)
}

/// How long a re-executed worker waits for its pipes from the parent.
const PIPES_PATIENCE: Duration = Duration::from_secs(5);

/// A re-executed worker's pipes arrive over stdin, a socket (see `spawn_reexec`); they are put
/// where a forked worker finds them (3 events, 4 control, 5… extras) and stdin becomes
/// /dev/null. Stdin that is not a socket (a forked worker, or a person at a terminal) is left
/// alone.
fn take_pipes_from_stdin() -> Result<(), String> {
    use std::os::fd::{AsFd, IntoRawFd};
    let stdin = std::io::stdin();
    if nix::sys::socket::getsockopt(&stdin.as_fd(), nix::sys::socket::sockopt::SockType).is_err() {
        return Ok(());
    }
    if !super::fdpass::readable_within(&stdin.as_fd(), PIPES_PATIENCE) {
        return Err("no pipes arrived on stdin".into());
    }
    let fds = match super::fdpass::recv_fds(0) {
        Ok(Some(fds)) if fds.len() >= 2 => fds,
        _ => return Err("stdin did not carry mpviz's pipes".into()),
    };
    // Received at the lowest free numbers (3, 4, ...), exactly the range they are placed in:
    // each is replaced there or closed by `arrange_worker_fds`, so ownership is let go here.
    let raw: Vec<RawFd> = fds.into_iter().map(IntoRawFd::into_raw_fd).collect();
    super::sys::arrange_worker_fds([1, 2, raw[0], raw[1]], &raw[2..])
        .map_err(|e| format!("cannot place the pipes: {e}"))
}

/// The entry point of a worker process. Returns its exit code.
pub fn worker_main(dispatch: Dispatch) -> i32 {
    if let Err(why) = take_pipes_from_stdin() {
        return refuse(&why);
    }
    if !is_pipe(EVENT_FD) || !is_pipe(CONTROL_FD) {
        return refuse("descriptors 3 and 4 are not mpviz's pipes");
    }
    let (Some(events), Some(mut control)) = (adopt(EVENT_FD), adopt(CONTROL_FD)) else {
        return refuse("cannot take over descriptors 3 and 4");
    };
    let spec = match read_spec(&mut control) {
        Ok(s) => s,
        Err(e) => return refuse(&e),
    };
    match std::env::var(TOKEN_ENV) {
        Ok(t) if t == spec.token && !t.is_empty() => {}
        _ => return refuse("the run's token does not match"),
    }
    // If the parent dies, die too: at once by signal when it is our direct parent, and in any
    // case when the control pipe reaches end of file (see `control_loop`).
    if nix::unistd::getppid().as_raw() == spec.parent {
        let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
        if nix::unistd::getppid().as_raw() != spec.parent {
            exit_now(1);
        }
    }
    let state = Arc::new(ControlState::new(spec.speed_permille, spec.gates));
    let mut ctx = WorkerCtx {
        id: spec.worker,
        events: Emitter::new(events, spec.trace),
        control: state.clone(),
        segment: None,
        extras: (0..spec.extra_fds)
            .map(|i| adopt(FIRST_EXTRA_FD + i as RawFd))
            .collect(),
        stores: 0,
    };
    ctx.emit(EventKind::Started);
    if let Err(e) = std::thread::Builder::new().spawn(move || control_loop(control, &state)) {
        ctx.emit(EventKind::Error {
            message: format!("cannot start its control thread: {e} (is `ulimit -u` too low?)"),
        });
        ctx.flush();
        return 3;
    }
    if let Some(name) = &spec.segment {
        match Segment::open(name) {
            Ok(s) => ctx.segment = Some(s),
            Err(e) => {
                ctx.emit(EventKind::Error {
                    message: e.to_string(),
                });
                ctx.flush();
                return 3;
            }
        }
    }
    let code = dispatch(&mut ctx, spec.job);
    ctx.flush();
    code
}

fn control_loop(mut pipe: File, state: &ControlState) {
    let mut m = [0u8; MSG_LEN];
    loop {
        if pipe.read_exact(&mut m).is_err() {
            // End of file: the parent is gone (or closed us off). Leave without unwinding.
            exit_now(1);
        }
        if let Some(c) = Control::decode(&m) {
            state.apply(c);
        }
    }
}
