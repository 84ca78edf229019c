//! What workers (and the parent) report, and the compact binary format it travels in.
//!
//! A worker's event pipe starts with a 4-byte header (`MPV` and the format version), then
//! carries frames: `varint length | tag | varint t_ns | fields`. Lengths let a reader skip a frame
//! it cannot parse and count it as dropped instead of losing the rest of the stream. Worker id
//! and pid are not on the wire: the parent knows which pipe an event came from and adds them
//! (`Envelope`). The same `Envelope` is what `run --json` prints, one object per line.

use serde::{Deserialize, Serialize};

use super::codec::{DecodeError, Reader, put_ivarint, put_str, put_uvarint};

/// Magic and version at the start of every event stream.
pub const STREAM_HEADER: [u8; 4] = *b"MPV\x04";
/// Longest frame a decoder accepts; longer ones mean a corrupt stream.
pub const MAX_FRAME: usize = 16 * 1024;

/// A number as the scenarios use it: integers exact (up to 128 bits), or a double.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Num {
    Int(i128),
    Float(f64),
}

/// Numbers read back from JSON (`replay`): through `serde_json::Value`, which keeps integers of
/// any size exact (the crate is built with `arbitrary_precision`).
impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let text = match v {
            serde_json::Value::Number(n) => n.to_string(),
            // An integer beyond 64 bits, carried as its digits (see `replay`).
            serde_json::Value::String(s) if s.parse::<i128>().is_ok() => s,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a number, got {other}"
                )));
            }
        };
        if let Ok(i) = text.parse::<i128>() {
            return Ok(Num::Int(i));
        }
        text.parse::<f64>()
            .map(Num::Float)
            .map_err(|_| serde::de::Error::custom(format!("{text} is not a number")))
    }
}

impl Num {
    pub fn as_i128(self) -> Option<i128> {
        match self {
            Num::Int(v) => Some(v),
            Num::Float(_) => None,
        }
    }

    /// The number as a float (an integer beyond 2^53 rounded).
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(v) => write!(f, "{v}"),
            Num::Float(v) => write!(f, "{v}"),
        }
    }
}

/// An item as a queue carries it: a number (the scenarios' items, a Python int or float) or,
/// for any other Python object, what it is shown as (its `repr`, cut by the probe).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Item {
    Num(Num),
    Text(String),
}

impl Item {
    pub fn as_i128(&self) -> Option<i128> {
        match self {
            Item::Num(n) => n.as_i128(),
            Item::Text(_) => None,
        }
    }
}

impl From<Num> for Item {
    fn from(n: Num) -> Item {
        Item::Num(n)
    }
}

/// A string that is an integer's digits is that integer (as `Num` reads it); any other string
/// is a text item.
impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) if s.parse::<i128>().is_err() => Ok(Item::Text(s)),
            v => Num::deserialize(v)
                .map(Item::Num)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Num(n) => write!(f, "{n}"),
            Item::Text(t) => f.write_str(t),
        }
    }
}

/// The shared-memory access a step gate holds a worker before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
}

/// One store into a shared cell: which worker made it and its number among that worker's
/// stores (from 1). Seq 0 of worker 0 is the cell's initial value. Shared cells keep the id of
/// the store that put their current value beside it, swapped with the value in one atomic step,
/// so each read knows which store it saw and each write which store it replaced: the store
/// order is known exactly, not guessed from timestamps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct StoreId {
    pub worker: u16,
    pub seq: u32,
}

impl StoreId {
    /// The value a cell was created with.
    pub const INITIAL: StoreId = StoreId { worker: 0, seq: 0 };

    pub fn is_initial(self) -> bool {
        self == StoreId::INITIAL
    }

    /// The id as it sits in shared memory beside the value.
    pub fn to_bits(self) -> u64 {
        (self.worker as u64) << 32 | self.seq as u64
    }

    pub fn from_bits(bits: u64) -> StoreId {
        StoreId {
            worker: (bits >> 32) as u16,
            seq: bits as u32,
        }
    }
}

/// Which output stream of a worker a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Everything that can happen in a run, as seen by the parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The parent asked the OS for a new worker (`method`: reexec or fork).
    Spawned {
        method: String,
    },
    /// The worker's own code began running.
    Started,
    /// A named stage of a worker's or the parent's work (`compute`, `sleep`, `unlocked` ...).
    Phase {
        name: String,
    },
    /// A line the worker printed.
    Output {
        stream: Stream,
        text: String,
    },
    /// An item put on an inter-process queue (`queue`: its number, as `queue_made` says;
    /// 0 for a scenario's one queue).
    QueuePut {
        #[serde(default)]
        queue: u16,
        value: Item,
    },
    /// An item was taken off the queue (`from`: the worker that put it).
    QueueGet {
        #[serde(default)]
        queue: u16,
        from: u16,
        value: Item,
    },
    /// A pool task began on this worker: a `map` chunk (`call` is the function's name, applied
    /// to `count` values from `first`) or one `apply_async` call (`call` is the whole call).
    TaskStart {
        task: u32,
        call: String,
        first: i64,
        count: u32,
    },
    /// The task ended; a failed call carries its error.
    TaskEnd {
        task: u32,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A read of shared cell `cell` (element `index` for arrays), and the store it saw.
    Read {
        cell: u16,
        index: u32,
        value: Num,
        #[serde(default)]
        from: StoreId,
    },
    /// A write of shared cell `cell`: the value it read before (`old`, stored by `from`), what
    /// it stored (`new`, as store `seq` of this worker), and the store it replaced in memory
    /// (`replaced`: `from` unless another store came in between — a lost update).
    Write {
        cell: u16,
        index: u32,
        old: Num,
        new: Num,
        #[serde(default)]
        seq: u32,
        #[serde(default)]
        from: StoreId,
        #[serde(default)]
        replaced: StoreId,
    },
    /// The worker waits at a step gate before the given access.
    Gate {
        access: Access,
    },
    /// A worker asks for lock `lock` (0: a scenario's one lock; a traced program's locks are
    /// numbered by the probe and named by their `lock_made` events).
    LockRequested {
        #[serde(default)]
        lock: u16,
    },
    LockAcquired {
        #[serde(default)]
        lock: u16,
        wait_ns: u64,
        contended: bool,
    },
    LockReleased {
        #[serde(default)]
        lock: u16,
        hold_ns: u64,
    },
    /// The lock's previous owner died holding it; this worker made it consistent and holds it.
    LockRecovered,
    /// The worker stopped waiting for lock `lock` without taking it (a traced program's
    /// `acquire(timeout=…)` that timed out, or `acquire(False)` of a taken lock).
    LockGaveUp {
        lock: u16,
    },
    /// A worker's result (`label` says which job), with how long the job took.
    Result {
        label: String,
        value: Num,
        elapsed_ns: u64,
    },
    Error {
        message: String,
    },
    /// The worker was reaped: its exit code, or the signal that killed it.
    Exit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
    },
    /// Events that could not be delivered (a corrupt frame, a shed path).
    Dropped {
        count: u64,
    },
    /// The parent stopped every worker (SIGSTOP): durations that span this moment and the next
    /// `resumed` leave the stopped time out.
    Paused,
    /// The parent let the workers go on (SIGCONT).
    Resumed,
    /// The process is now at this line (from 1) of the program's source: a traced Python
    /// program's probe says so whenever the line of a shared access, a lock step, a queue
    /// operation or a sleep differs from the one it said last. The code pane marks it.
    At {
        line: u32,
    },
    /// A shared cell was made: what the program calls it (`v`, or empty if it has no
    /// variable of its own), what it is (`Value('i')`, `Array('i', 4)`) and where it was made
    /// (`mp_lock.py:23`). A traced program's probe says so; the screen names the cell by it.
    Cell {
        cell: u16,
        name: String,
        what: String,
        at: String,
    },
    /// A lock was made: what the program calls it, what it is (`Lock()`) and where it was
    /// made, as `cell` says of a shared value. Its `lock_*` events carry its number.
    LockMade {
        lock: u16,
        name: String,
        what: String,
        at: String,
    },
    /// A traced process (or thread) waits in a blocking call until it returns: `on` is the
    /// call as its program's line writes it (`ev.wait()`, `tasks.get()`, `pool.map()`).
    Blocked {
        on: String,
    },
    /// Its blocking call returned.
    Unblocked,
    /// A queue was made: what the program calls it, what it is (`JoinableQueue()`) and where
    /// it was made. Its `queue_put` and `queue_get` events carry its number.
    QueueMade {
        queue: u16,
        name: String,
        what: String,
        at: String,
    },
}

/// An event with where and when it happened. Worker 0 is the parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(flatten)]
    pub kind: EventKind,
    pub worker: u16,
    pub pid: i32,
    pub t_ns: u64,
}

impl Envelope {
    /// An event of worker `worker` (pid `100 + worker`) at `t_ns`, for tests and tools.
    pub fn of(worker: u16, t_ns: u64, kind: EventKind) -> Envelope {
        Envelope {
            kind,
            worker,
            pid: 100 + worker as i32,
            t_ns,
        }
    }
}

impl EventKind {
    /// A step of the work, as opposed to the lifecycle, phases, results and errors: the events a
    /// run without tracing leaves out.
    pub fn is_trace(&self) -> bool {
        matches!(
            self,
            EventKind::QueuePut { .. }
                | EventKind::QueueGet { .. }
                | EventKind::Read { .. }
                | EventKind::Write { .. }
                | EventKind::LockRequested { .. }
                | EventKind::LockAcquired { .. }
                | EventKind::LockReleased { .. }
                | EventKind::LockGaveUp { .. }
        )
    }

    /// The lock a lock step is of; None for any other event.
    pub fn lock_id(&self) -> Option<u16> {
        match self {
            EventKind::LockRequested { lock }
            | EventKind::LockAcquired { lock, .. }
            | EventKind::LockReleased { lock, .. }
            | EventKind::LockGaveUp { lock } => Some(*lock),
            _ => None,
        }
    }

    fn tag(&self) -> u8 {
        match self {
            EventKind::Spawned { .. } => 1,
            EventKind::Started => 2,
            EventKind::Phase { .. } => 3,
            EventKind::Output { .. } => 4,
            EventKind::QueuePut { .. } => 5,
            EventKind::QueueGet { .. } => 6,
            EventKind::TaskStart { .. } => 7,
            EventKind::TaskEnd { .. } => 8,
            EventKind::Read { .. } => 9,
            EventKind::Write { .. } => 10,
            EventKind::Gate { .. } => 11,
            EventKind::LockRequested { .. } => 12,
            EventKind::LockAcquired { .. } => 13,
            EventKind::LockReleased { .. } => 14,
            EventKind::LockRecovered => 15,
            EventKind::Result { .. } => 16,
            EventKind::Error { .. } => 17,
            EventKind::Exit { .. } => 18,
            EventKind::Dropped { .. } => 19,
            EventKind::Paused => 20,
            EventKind::Resumed => 21,
            EventKind::At { .. } => 22,
            EventKind::Cell { .. } => 23,
            EventKind::LockMade { .. } => 24,
            EventKind::QueueMade { .. } => 26,
            EventKind::Blocked { .. } => 27,
            EventKind::Unblocked => 28,
            EventKind::LockGaveUp { .. } => 25,
        }
    }
}

fn put_num(out: &mut Vec<u8>, n: Num) {
    match n {
        Num::Int(v) => {
            out.push(0);
            put_ivarint(out, v);
        }
        Num::Float(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn put_item(out: &mut Vec<u8>, item: &Item) {
    match item {
        Item::Num(n) => put_num(out, *n),
        Item::Text(t) => {
            out.push(2);
            put_str(out, t);
        }
    }
}

fn get_item(r: &mut Reader<'_>) -> Result<Item, DecodeError> {
    match r.u8()? {
        0 => Ok(Item::Num(Num::Int(r.ivarint()?))),
        1 => Ok(Item::Num(Num::Float(r.f64()?))),
        2 => Ok(Item::Text(r.string()?)),
        t => Err(DecodeError::UnknownTag(t)),
    }
}

fn get_num(r: &mut Reader<'_>) -> Result<Num, DecodeError> {
    match r.u8()? {
        0 => Ok(Num::Int(r.ivarint()?)),
        1 => Ok(Num::Float(r.f64()?)),
        t => Err(DecodeError::UnknownTag(t)),
    }
}

fn put_opt_i32(out: &mut Vec<u8>, v: Option<i32>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_ivarint(out, v as i128);
        }
    }
}

fn get_opt_i32(r: &mut Reader<'_>) -> Result<Option<i32>, DecodeError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(r.i32()?)),
        t => Err(DecodeError::UnknownTag(t)),
    }
}

fn put_store(out: &mut Vec<u8>, id: StoreId) {
    put_uvarint(out, id.worker as u128);
    put_uvarint(out, id.seq as u128);
}

fn get_store(r: &mut Reader<'_>) -> Result<StoreId, DecodeError> {
    Ok(StoreId {
        worker: r.u16()?,
        seq: r.u32()?,
    })
}

fn access_code(a: Access) -> u8 {
    match a {
        Access::Read => 0,
        Access::Write => 1,
    }
}

/// Appends one frame for `kind` at time `t_ns` to `out`.
pub fn encode(out: &mut Vec<u8>, t_ns: u64, kind: &EventKind) {
    let start = out.len();
    // Reserve two bytes for the length (enough for MAX_FRAME); fixed up below.
    out.extend_from_slice(&[0, 0]);
    out.push(kind.tag());
    put_uvarint(out, t_ns as u128);
    match kind {
        EventKind::Spawned { method } => put_str(out, method),
        EventKind::Started
        | EventKind::LockRecovered
        | EventKind::Paused
        | EventKind::Resumed
        | EventKind::Unblocked => {}
        EventKind::Blocked { on } => put_str(out, on),
        EventKind::Phase { name } => put_str(out, name),
        EventKind::Output { stream, text } => {
            out.push(matches!(stream, Stream::Stderr) as u8);
            put_str(out, text);
        }
        EventKind::QueuePut { queue, value } => {
            put_uvarint(out, *queue as u128);
            put_item(out, value);
        }
        EventKind::QueueGet { queue, from, value } => {
            put_uvarint(out, *queue as u128);
            put_uvarint(out, *from as u128);
            put_item(out, value);
        }
        EventKind::TaskStart {
            task,
            call,
            first,
            count,
        } => {
            put_uvarint(out, *task as u128);
            put_str(out, call);
            put_ivarint(out, *first as i128);
            put_uvarint(out, *count as u128);
        }
        EventKind::TaskEnd { task, ok, error } => {
            put_uvarint(out, *task as u128);
            out.push(*ok as u8);
            put_str(out, error.as_deref().unwrap_or(""));
        }
        EventKind::Read {
            cell,
            index,
            value,
            from,
        } => {
            put_uvarint(out, *cell as u128);
            put_uvarint(out, *index as u128);
            put_num(out, *value);
            put_store(out, *from);
        }
        EventKind::Write {
            cell,
            index,
            old,
            new,
            seq,
            from,
            replaced,
        } => {
            put_uvarint(out, *cell as u128);
            put_uvarint(out, *index as u128);
            put_num(out, *old);
            put_num(out, *new);
            put_uvarint(out, *seq as u128);
            put_store(out, *from);
            put_store(out, *replaced);
        }
        EventKind::Gate { access } => out.push(access_code(*access)),
        EventKind::LockRequested { lock } | EventKind::LockGaveUp { lock } => {
            put_uvarint(out, *lock as u128)
        }
        EventKind::LockAcquired {
            lock,
            wait_ns,
            contended,
        } => {
            put_uvarint(out, *lock as u128);
            put_uvarint(out, *wait_ns as u128);
            out.push(*contended as u8);
        }
        EventKind::LockReleased { lock, hold_ns } => {
            put_uvarint(out, *lock as u128);
            put_uvarint(out, *hold_ns as u128);
        }
        EventKind::Result {
            label,
            value,
            elapsed_ns,
        } => {
            put_str(out, label);
            put_num(out, *value);
            put_uvarint(out, *elapsed_ns as u128);
        }
        EventKind::Error { message } => put_str(out, message),
        EventKind::Exit { code, signal } => {
            put_opt_i32(out, *code);
            put_opt_i32(out, *signal);
        }
        EventKind::Dropped { count } => put_uvarint(out, *count as u128),
        EventKind::At { line } => put_uvarint(out, *line as u128),
        EventKind::Cell {
            cell: id,
            name,
            what,
            at,
        }
        | EventKind::LockMade {
            lock: id,
            name,
            what,
            at,
        }
        | EventKind::QueueMade {
            queue: id,
            name,
            what,
            at,
        } => {
            put_uvarint(out, *id as u128);
            put_str(out, name);
            put_str(out, what);
            put_str(out, at);
        }
    }
    let len = out.len() - start - 2;
    // Frames are bounded by MAX_STR-sized fields; anything larger is cut to an error frame.
    if len >= MAX_FRAME {
        out.truncate(start);
        encode(out, t_ns, &EventKind::Dropped { count: 1 });
        return;
    }
    out[start] = (len & 0xff) as u8;
    out[start + 1] = (len >> 8) as u8;
}

fn decode_body(body: &[u8]) -> Result<(u64, EventKind), DecodeError> {
    let mut r = Reader::new(body);
    let tag = r.u8()?;
    let t = r.u64()?;
    let kind = match tag {
        1 => EventKind::Spawned {
            method: r.string()?,
        },
        2 => EventKind::Started,
        3 => EventKind::Phase { name: r.string()? },
        4 => {
            let stream = if r.u8()? == 0 {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            EventKind::Output {
                stream,
                text: r.string()?,
            }
        }
        5 => EventKind::QueuePut {
            queue: r.u16()?,
            value: get_item(&mut r)?,
        },
        6 => EventKind::QueueGet {
            queue: r.u16()?,
            from: r.u16()?,
            value: get_item(&mut r)?,
        },
        7 => EventKind::TaskStart {
            task: r.u32()?,
            call: r.string()?,
            first: r.i64()?,
            count: r.u32()?,
        },
        8 => {
            let task = r.u32()?;
            let ok = r.u8()? != 0;
            let e = r.string()?;
            EventKind::TaskEnd {
                task,
                ok,
                error: (!e.is_empty()).then_some(e),
            }
        }
        9 => EventKind::Read {
            cell: r.u16()?,
            index: r.u32()?,
            value: get_num(&mut r)?,
            from: get_store(&mut r)?,
        },
        10 => EventKind::Write {
            cell: r.u16()?,
            index: r.u32()?,
            old: get_num(&mut r)?,
            new: get_num(&mut r)?,
            seq: r.u32()?,
            from: get_store(&mut r)?,
            replaced: get_store(&mut r)?,
        },
        11 => EventKind::Gate {
            access: match r.u8()? {
                0 => Access::Read,
                1 => Access::Write,
                t => return Err(DecodeError::UnknownTag(t)),
            },
        },
        12 => EventKind::LockRequested { lock: r.u16()? },
        13 => EventKind::LockAcquired {
            lock: r.u16()?,
            wait_ns: r.u64()?,
            contended: r.u8()? != 0,
        },
        14 => EventKind::LockReleased {
            lock: r.u16()?,
            hold_ns: r.u64()?,
        },
        15 => EventKind::LockRecovered,
        16 => EventKind::Result {
            label: r.string()?,
            value: get_num(&mut r)?,
            elapsed_ns: r.u64()?,
        },
        17 => EventKind::Error {
            message: r.string()?,
        },
        18 => EventKind::Exit {
            code: get_opt_i32(&mut r)?,
            signal: get_opt_i32(&mut r)?,
        },
        19 => EventKind::Dropped { count: r.u64()? },
        20 => EventKind::Paused,
        21 => EventKind::Resumed,
        22 => EventKind::At { line: r.u32()? },
        23 => EventKind::Cell {
            cell: r.u16()?,
            name: r.string()?,
            what: r.string()?,
            at: r.string()?,
        },
        25 => EventKind::LockGaveUp { lock: r.u16()? },
        24 => EventKind::LockMade {
            lock: r.u16()?,
            name: r.string()?,
            what: r.string()?,
            at: r.string()?,
        },
        27 => EventKind::Blocked { on: r.string()? },
        28 => EventKind::Unblocked,
        26 => EventKind::QueueMade {
            queue: r.u16()?,
            name: r.string()?,
            what: r.string()?,
            at: r.string()?,
        },
        t => return Err(DecodeError::UnknownTag(t)),
    };
    if r.remaining() != 0 {
        // Trailing bytes: a newer minor writer or garbage. Either way this frame is not ours.
        return Err(DecodeError::UnknownTag(tag));
    }
    Ok((t, kind))
}

/// Incremental decoder for one event stream: feed it bytes as they arrive, take events out.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
    pos: usize,
    header_seen: bool,
    /// Frames skipped because they did not parse.
    pub dropped: u64,
    broken: bool,
}

/// What the decoder produced next.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    Event(u64, EventKind),
    /// A frame was skipped (counted in `dropped`).
    Skipped(DecodeError),
    /// The stream cannot be resynchronised; everything after this is lost.
    Broken(DecodeError),
}

impl Decoder {
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes fed but not yet turned into events (a partial frame at end of stream is lost).
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn next_event(&mut self) -> Option<Decoded> {
        if self.broken {
            return None;
        }
        let avail = &self.buf[self.pos..];
        if !self.header_seen {
            if avail.len() < STREAM_HEADER.len() {
                return None;
            }
            if avail[..STREAM_HEADER.len()] != STREAM_HEADER {
                self.broken = true;
                return Some(Decoded::Broken(DecodeError::BadHeader));
            }
            self.pos += STREAM_HEADER.len();
            self.header_seen = true;
            return self.next_event();
        }
        if avail.len() < 2 {
            return None;
        }
        let len = avail[0] as usize | (avail[1] as usize) << 8;
        if len >= MAX_FRAME || len == 0 {
            self.broken = true;
            self.dropped += 1;
            return Some(Decoded::Broken(DecodeError::FrameTooLong(len)));
        }
        if avail.len() < 2 + len {
            return None;
        }
        let body = &avail[2..2 + len];
        let out = match decode_body(body) {
            Ok((t, k)) => Decoded::Event(t, k),
            Err(e) => {
                self.dropped += 1;
                Decoded::Skipped(e)
            }
        };
        self.pos += 2 + len;
        Some(out)
    }
}

/// The stages that mean something to the UI and the models; any other phase name is a label
/// only (a scenario's own step, a pool call). On the wire a phase is its name, so any source —
/// a Rust scenario, a recording, a traced Python run — speaks the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The parent starts a run without the lock (the lock scenario's first half).
    Unlocked,
    /// The parent starts a run with the lock.
    Locked,
    /// A worker sleeps (its state, its lane).
    Sleep,
    /// A worker computes (the compare scenario's busy part).
    Compute,
    /// A worker waits in `join()` for a process it started (a traced Python program's; the
    /// names are no Python identifier, so no target function's name is taken for them).
    Join,
    /// Its `join()` returned.
    Joined,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Unlocked,
        Stage::Locked,
        Stage::Sleep,
        Stage::Compute,
        Stage::Join,
        Stage::Joined,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Unlocked => "unlocked",
            Stage::Locked => "locked",
            Stage::Sleep => "sleep",
            Stage::Compute => "compute",
            Stage::Join => "in join()",
            Stage::Joined => "join() returned",
        }
    }

    pub fn of(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    /// A run of the lock scenario starts (without or with the lock).
    pub fn starts_a_run(self) -> bool {
        matches!(self, Stage::Unlocked | Stage::Locked)
    }
}

impl EventKind {
    /// The phase event for a stage.
    pub fn stage(s: Stage) -> EventKind {
        EventKind::Phase {
            name: s.name().into(),
        }
    }

    /// The stage this event enters, if it is a phase with a meaning.
    pub fn stage_of(&self) -> Option<Stage> {
        match self {
            EventKind::Phase { name } => Stage::of(name),
            _ => None,
        }
    }
}

/// A signal's name (`SIGKILL`) for an exit event's number.
pub fn signal_name(sig: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(sig).map_or("unknown signal", |s| s.as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stage_is_its_name_on_the_wire_and_other_names_are_labels() {
        for st in Stage::ALL {
            assert_eq!(Stage::of(st.name()), Some(st));
            assert_eq!(EventKind::stage(st).stage_of(), Some(st));
        }
        let label = EventKind::Phase {
            name: "race window".into(),
        };
        assert_eq!(label.stage_of(), None);
        assert!(Stage::Locked.starts_a_run() && !Stage::Sleep.starts_a_run());
    }

    use super::*;

    fn samples() -> Vec<EventKind> {
        vec![
            EventKind::Spawned {
                method: "fork".into(),
            },
            EventKind::Started,
            EventKind::Phase {
                name: "sleep".into(),
            },
            EventKind::Output {
                stream: Stream::Stderr,
                text: "abc".into(),
            },
            EventKind::QueuePut {
                queue: 0,
                value: Num::Int(4_999_999_666_666_716_666_660_000_000).into(),
            },
            EventKind::QueueGet {
                queue: 258,
                from: 2,
                value: Num::Float(2.5).into(),
            },
            EventKind::QueueGet {
                queue: 0,
                from: 3,
                value: Item::Text("<_CallItem object at 0x7f>".into()),
            },
            EventKind::Blocked {
                on: "tasks.get()".into(),
            },
            EventKind::Unblocked,
            EventKind::QueueMade {
                queue: 257,
                name: "tasks".into(),
                what: "JoinableQueue()".into(),
                at: "mine.py:9".into(),
            },
            EventKind::TaskStart {
                task: 7,
                call: "job".into(),
                first: -4,
                count: 3,
            },
            EventKind::TaskEnd {
                task: 7,
                ok: false,
                error: Some("TypeError".into()),
            },
            EventKind::TaskEnd {
                task: 8,
                ok: true,
                error: None,
            },
            EventKind::Read {
                cell: 1,
                index: 3,
                value: Num::Int(-5),
                from: StoreId { worker: 2, seq: 9 },
            },
            EventKind::Write {
                cell: 0,
                index: 0,
                old: Num::Int(0),
                new: Num::Int(3),
                seq: 70_000,
                from: StoreId::INITIAL,
                replaced: StoreId {
                    worker: 3,
                    seq: u32::MAX,
                },
            },
            EventKind::Gate {
                access: Access::Write,
            },
            EventKind::LockRequested { lock: 0 },
            EventKind::Paused,
            EventKind::Resumed,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 12345,
                contended: true,
            },
            EventKind::LockReleased {
                lock: 0,
                hold_ns: 99,
            },
            EventKind::LockRecovered,
            EventKind::LockGaveUp { lock: 513 },
            EventKind::Result {
                label: "normal".into(),
                value: Num::Int(1),
                elapsed_ns: 5,
            },
            EventKind::Error {
                message: "boom".into(),
            },
            EventKind::Exit {
                code: None,
                signal: Some(9),
            },
            EventKind::Dropped { count: 3 },
            EventKind::Cell {
                cell: 257,
                name: "counter".into(),
                what: "Value('i')".into(),
                at: "mp_lock.py:23".into(),
            },
        ]
    }

    #[test]
    fn every_event_round_trips_even_when_fed_byte_by_byte() {
        let mut bytes = STREAM_HEADER.to_vec();
        for (i, k) in samples().iter().enumerate() {
            encode(&mut bytes, i as u64 * 1000, k);
        }
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in &bytes {
            d.feed(std::slice::from_ref(b));
            while let Some(x) = d.next_event() {
                got.push(x);
            }
        }
        let want: Vec<Decoded> = samples()
            .into_iter()
            .enumerate()
            .map(|(i, k)| Decoded::Event(i as u64 * 1000, k))
            .collect();
        assert_eq!(got, want);
        assert_eq!(d.dropped, 0);
    }

    #[test]
    fn a_corrupt_frame_is_skipped_and_counted() {
        let mut bytes = STREAM_HEADER.to_vec();
        encode(&mut bytes, 1, &EventKind::Started);
        let bad_at = bytes.len();
        encode(&mut bytes, 2, &EventKind::Phase { name: "x".into() });
        bytes[bad_at + 2] = 200; // unknown tag
        encode(&mut bytes, 3, &EventKind::LockRequested { lock: 0 });
        let mut d = Decoder::default();
        d.feed(&bytes);
        let mut events = 0;
        while let Some(x) = d.next_event() {
            if matches!(x, Decoded::Event(..)) {
                events += 1;
            }
        }
        assert_eq!((events, d.dropped), (2, 1));
    }

    #[test]
    fn every_event_reads_back_from_its_json() {
        for (i, kind) in samples().into_iter().enumerate() {
            let e = Envelope {
                kind,
                worker: 3,
                pid: 42,
                t_ns: i as u64,
            };
            let line = serde_json::to_string(&e).expect("json");
            let back: Envelope =
                serde_json::from_str(&line).unwrap_or_else(|err| panic!("{line}: {err}"));
            assert_eq!(back, e, "{line}");
        }
    }

    #[test]
    fn write_event_json_has_the_documented_fields() {
        let e = Envelope {
            kind: EventKind::Write {
                cell: 0,
                index: 0,
                old: Num::Int(1),
                new: Num::Int(4),
                seq: 2,
                from: StoreId { worker: 1, seq: 1 },
                replaced: StoreId { worker: 3, seq: 5 },
            },
            worker: 2,
            pid: 77,
            t_ns: 5,
        };
        let v: serde_json::Value = serde_json::to_value(&e).expect("json");
        assert_eq!(v["type"], "write");
        assert_eq!(
            (v["worker"].as_u64(), v["pid"].as_i64()),
            (Some(2), Some(77))
        );
        assert_eq!(
            (v["old"].as_i64(), v["new"].as_i64(), v["t_ns"].as_u64()),
            (Some(1), Some(4), Some(5))
        );
        assert_eq!(v["seq"], 2);
        assert_eq!(v["from"], serde_json::json!({"worker": 1, "seq": 1}));
        assert_eq!(v["replaced"], serde_json::json!({"worker": 3, "seq": 5}));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        #[test]
        fn decoder_never_panics_on_arbitrary_bytes(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
            with_header in proptest::bool::ANY,
        ) {
            let mut d = Decoder::default();
            if with_header {
                d.feed(&STREAM_HEADER);
            }
            d.feed(&data);
            let mut n = 0;
            while let Some(x) = d.next_event() {
                n += 1;
                if matches!(x, Decoded::Broken(_)) { break; }
                proptest::prop_assert!(n <= data.len() + 1);
            }
        }
    }
}
