//! §1.5 — `Pool(processes=2)`: `map(job, range(10))`, `apply_async(job, (2,)).get()`, a list of
//! `apply_async` calls, and a call with the wrong number of arguments, which comes back as an
//! error result, not a crash.
//!
//! A real pool: the workers share one task queue (any idle worker takes the next task, so who
//! runs what is decided by the race, as in Python) and one result queue back to the parent.
//! `map` is cut into chunks the way Python's `Pool.map` sizes them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::model::tasks::{Death, TaskEntry, TaskLog};
use crate::runtime::codec::{Reader, put_ivarint, put_str, put_uvarint};
use crate::runtime::queue::{
    MAX_MESSAGE, MessageReader, MessageWriter, TASK_RECORD, TaskReader, TaskWriter, queue_pipe,
};
use crate::runtime::shm::{CellSpec, TypeCode};
use crate::runtime::{EventKind, Flow, Num, WorkerCtx};

use super::job::{Job, JobResult};
use super::{Claim, Got, Outcome, RunError, Session, int_in};

/// Most arguments a task record carries.
pub const MAX_ARGS: usize = 4;

#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Worker processes in the pool (default: the number of CPU cores; 1 to 256).
    #[arg(long, allow_negative_numbers = true, value_parser = |s: &str| int_in::<u16>(s, 1, 256))]
    pub processes: Option<u16>,
    /// map(job, range(N)).
    #[arg(long, allow_negative_numbers = true, default_value_t = 10, value_parser = |s: &str| int_in::<u64>(s, 0, 10_000_000))]
    pub map_n: u64,
    /// Items per map task (default: as Python sizes it, ceil(N / (4 × processes))).
    #[arg(long, allow_negative_numbers = true, value_parser = |s: &str| int_in::<u64>(s, 1, 10_000_000))]
    pub chunksize: Option<u64>,
    /// The argument of the single apply_async(job, (X,)).
    #[arg(long, default_value_t = 2, allow_negative_numbers = true,
          value_parser = |s: &str| int_in::<i64>(s, i64::MIN as i128, i64::MAX as i128))]
    pub apply_arg: i64,
    /// How many apply_async(job, (i,)) calls in the list.
    #[arg(long, allow_negative_numbers = true, default_value_t = 10, value_parser = |s: &str| int_in::<u64>(s, 0, 100_000))]
    pub apply_list_n: u64,
    /// How long each call of job(x) takes, in milliseconds (0 to 10000), so the pool's work
    /// can be watched; scaled by --speed.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0, value_parser = |s: &str| int_in::<u64>(s, 0, 10_000))]
    pub task_ms: u64,
    /// Also make this many apply_async(job, (i,)).get() calls one after another, each result
    /// awaited before the next call (round trips; 0 to 1000000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0, value_parser = |s: &str| int_in::<u64>(s, 0, 1_000_000))]
    pub roundtrips: u64,
    /// Arguments of the deliberately wrong call, apply_async(job, (2, 3, 4)) (0 to 4 numbers;
    /// "none" to skip it).
    #[arg(long, allow_negative_numbers = true, default_value = "2,3,4", value_parser = parse_bad_args)]
    pub bad_args: BadArgs,
}

impl Params {
    /// The UI's pace: each task takes a fifth of a second, so the grid fills visibly.
    pub fn for_the_ui(&mut self, given: &dyn Fn(&str) -> bool) {
        if !given("task_ms") {
            self.task_ms = 200;
        }
    }

    pub fn pacing(&self) -> Option<super::Pacing> {
        (self.task_ms > 0).then(|| super::Pacing {
            short: format!("tasks {} ms", self.task_ms),
            long: format!(
                "each task takes {} ms so the pool can be watched (e: --task-ms 0 = tutorial)",
                self.task_ms
            ),
        })
    }
}

#[derive(Debug, Clone)]
pub struct BadArgs(pub Option<Vec<i64>>);

fn parse_bad_args(s: &str) -> Result<BadArgs, String> {
    let s = s.trim();
    if s == "none" {
        return Ok(BadArgs(None));
    }
    if s.is_empty() {
        return Ok(BadArgs(Some(Vec::new())));
    }
    let v: Vec<i64> = s
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<i64>()
                .map_err(|_| format!("{x:?} is not an integer (a comma-separated list of at most {MAX_ARGS}, or none)"))
        })
        .collect::<Result<_, _>>()?;
    if v.len() > MAX_ARGS {
        return Err(format!(
            "{} arguments given, at most {MAX_ARGS} are allowed",
            v.len()
        ));
    }
    Ok(BadArgs(Some(v)))
}

/// One unit of pool work.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    Stop,
    /// job(x) for x in start..start+count.
    Map {
        task: u32,
        start: i64,
        count: u32,
    },
    /// job(*args).
    Apply {
        task: u32,
        args: Vec<i64>,
    },
}

impl Task {
    pub fn encode(&self) -> [u8; TASK_RECORD] {
        let mut r = [0u8; TASK_RECORD];
        match self {
            Task::Stop => {}
            Task::Map { task, start, count } => {
                r[0..4].copy_from_slice(&task.to_le_bytes());
                r[4] = 1;
                r[8..16].copy_from_slice(&start.to_le_bytes());
                r[16..20].copy_from_slice(&count.to_le_bytes());
            }
            Task::Apply { task, args } => {
                r[0..4].copy_from_slice(&task.to_le_bytes());
                r[4] = 2;
                r[5] = args.len().min(MAX_ARGS) as u8;
                for (i, a) in args.iter().take(MAX_ARGS).enumerate() {
                    r[24 + 8 * i..32 + 8 * i].copy_from_slice(&a.to_le_bytes());
                }
            }
        }
        r
    }

    pub fn decode(r: &[u8; TASK_RECORD]) -> Option<Task> {
        let u32_at = |o: usize| u32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
        let i64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&r[o..o + 8]);
            i64::from_le_bytes(b)
        };
        match r[4] {
            0 => Some(Task::Stop),
            1 => Some(Task::Map {
                task: u32_at(0),
                start: i64_at(8),
                count: u32_at(16),
            }),
            2 if (r[5] as usize) <= MAX_ARGS => Some(Task::Apply {
                task: u32_at(0),
                args: (0..r[5] as usize).map(|i| i64_at(24 + 8 * i)).collect(),
            }),
            _ => None,
        }
    }
}

/// The tutorial's pool function: `def job(x): return x*x`.
pub fn job(args: &[i64]) -> Result<i128, String> {
    match args {
        [x] => Ok(*x as i128 * *x as i128),
        [] => Err("TypeError: job() missing 1 required positional argument: 'x'".into()),
        more => Err(format!(
            "TypeError: job() takes 1 positional argument but {} were given",
            more.len()
        )),
    }
}

/// A result message: task id, then either values from `index` on, or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutput {
    Values {
        task: u32,
        index: u32,
        values: Vec<i128>,
    },
    Error {
        task: u32,
        message: String,
    },
    /// All `count` values of a map task were stored in the shared result array.
    Stored {
        task: u32,
        count: u32,
    },
}

fn encode_stored(task: u32, count: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(12);
    put_uvarint(&mut m, task as u128);
    m.push(2);
    put_uvarint(&mut m, count as u128);
    m
}

fn encode_values(task: u32, index: u32, values: &[i128]) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + values.len() * 4);
    put_uvarint(&mut m, task as u128);
    m.push(1);
    put_uvarint(&mut m, index as u128);
    put_uvarint(&mut m, values.len() as u128);
    for v in values {
        put_ivarint(&mut m, *v);
    }
    m
}

fn decode_output(m: &[u8]) -> Option<TaskOutput> {
    let mut r = Reader::new(m);
    let task = r.u32().ok()?;
    match r.u8().ok()? {
        1 => {
            let index = r.u32().ok()?;
            let n = r.u32().ok()? as usize;
            let mut values = Vec::with_capacity(n.min(4096));
            for _ in 0..n {
                values.push(r.ivarint().ok()?);
            }
            Some(TaskOutput::Values {
                task,
                index,
                values,
            })
        }
        0 => Some(TaskOutput::Error {
            task,
            message: r.string().ok()?,
        }),
        2 => Some(TaskOutput::Stored {
            task,
            count: r.u32().ok()?,
        }),
        _ => None,
    }
}

/// Values per result message, small enough that any 128-bit values fit one atomic write.
const VALUES_PER_MESSAGE: usize = (MAX_MESSAGE - 32) / 19;

/// The worker: takes tasks from the shared task queue (fd 5) until told to stop, runs them and
/// puts results on the result queue (fd 6).
pub fn work(ctx: &mut WorkerCtx, task_ms: u64) -> JobResult {
    let mut tasks = TaskReader::new(ctx.take_extra(0)?);
    let mut results = MessageWriter::new(ctx.take_extra(1)?);
    let put = |results: &mut MessageWriter, m: &[u8]| {
        results.put(m).map_err(|e| format!("result queue: {e}"))
    };
    ctx.emit(EventKind::Phase {
        name: "idle".into(),
    });
    loop {
        // Before blocking on the task queue, hand over what is gathered: the parent may be
        // waiting for exactly these results.
        results.flush().map_err(|e| format!("result queue: {e}"))?;
        ctx.flush();
        let Some(rec) = tasks.get().map_err(|e| format!("task queue: {e}"))? else {
            return Ok(Flow::Go);
        };
        if ctx.stopping() {
            return Ok(Flow::Stop);
        }
        match Task::decode(&rec) {
            None => return Err("a task record could not be read".into()),
            Some(Task::Stop) => return Ok(Flow::Go),
            Some(Task::Map { task, start, count }) => {
                ctx.emit(EventKind::TaskStart {
                    task,
                    call: "job".into(),
                    first: start,
                    count,
                });
                // Announce the task at once: if this worker dies in it, the parent knows which.
                ctx.flush();
                if task_ms == 0 && ctx.segment().is_ok() {
                    // The parent made a shared result array: each value goes straight to its
                    // place in it (index x for job(x)), and only "done" crosses the pipe.
                    store_squares(ctx.segment()?, start, count)?;
                    put(&mut results, &encode_stored(task, count))?;
                    ctx.emit(EventKind::TaskEnd {
                        task,
                        ok: true,
                        error: None,
                    });
                    continue;
                }
                let mut buf = Vec::with_capacity(VALUES_PER_MESSAGE);
                let mut index = 0u32;
                for k in 0..count {
                    if task_ms > 0 && ctx.sleep(Duration::from_millis(task_ms)) == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                    let x = start + k as i64;
                    buf.push(x as i128 * x as i128);
                    if buf.len() == VALUES_PER_MESSAGE {
                        put(&mut results, &encode_values(task, index, &buf))?;
                        index += buf.len() as u32;
                        buf.clear();
                    }
                }
                if !buf.is_empty() || count == 0 {
                    put(&mut results, &encode_values(task, index, &buf))?;
                }
                ctx.emit(EventKind::TaskEnd {
                    task,
                    ok: true,
                    error: None,
                });
            }
            Some(Task::Apply { task, args }) => {
                let first = args.first().copied().unwrap_or(0);
                let call = format!("job{}", fmt_args(&args));
                ctx.emit(EventKind::TaskStart {
                    task,
                    call,
                    first,
                    count: 1,
                });
                ctx.flush();
                if task_ms > 0 && ctx.sleep(Duration::from_millis(task_ms)) == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                match job(&args) {
                    Ok(v) => {
                        put(&mut results, &encode_values(task, 0, &[v]))?;
                        ctx.emit(EventKind::TaskEnd {
                            task,
                            ok: true,
                            error: None,
                        });
                    }
                    Err(message) => {
                        let mut m = Vec::new();
                        put_uvarint(&mut m, task as u128);
                        m.push(0);
                        put_str(&mut m, &message);
                        put(&mut results, &m)?;
                        ctx.emit(EventKind::TaskEnd {
                            task,
                            ok: false,
                            error: Some(message),
                        });
                    }
                }
            }
        }
    }
}

/// `job(x)` for `count` values from `start`, written to the shared result array at index x.
fn store_squares(seg: &crate::runtime::shm::Segment, start: i64, count: u32) -> Result<(), String> {
    let from = usize::try_from(start).map_err(|_| "a negative index")?;
    let slots = seg
        .words(0)
        .and_then(|w| w.get(from..from + count as usize))
        .ok_or("the shared result array is too small")?;
    for (x, slot) in (start..).zip(slots) {
        let v = x
            .checked_mul(x)
            .ok_or("a result does not fit the result array")?;
        slot.store(v as u64, Ordering::Release);
    }
    Ok(())
}

/// Python's default chunk size for `Pool.map`.
pub fn python_chunksize(len: u64, processes: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    let (q, r) = (len / (processes * 4), len % (processes * 4));
    q + u64::from(r > 0)
}

#[derive(Debug, Serialize)]
struct TaskRecord {
    task: u32,
    #[serde(flatten)]
    entry: TaskEntry,
}

#[derive(Debug, Serialize)]
struct CallError {
    call: String,
    error: String,
}

#[derive(Debug, Serialize)]
struct Details {
    processes: u16,
    chunksize: u64,
    map: Vec<Num>,
    apply_async: Option<Num>,
    apply_async_list: Vec<Num>,
    errors: Vec<CallError>,
    tasks: Vec<TaskRecord>,
    tasks_per_worker: BTreeMap<u16, u32>,
}

/// The parent's side of the pool: submits tasks and collects their results.
struct PoolClient {
    /// Task records go to a feeder thread that writes the task pipe (as Python's pool has a
    /// task-handler thread): submitting never blocks the loop that drains the workers' events,
    /// so a full task pipe cannot deadlock the parent against its own workers.
    tasks: Option<crossbeam_channel::Sender<[u8; TASK_RECORD]>>,
    /// The task pipe, written directly while it has room and nothing waits in the feeder.
    pipe: Arc<TaskWriter>,
    /// Records handed to the feeder and not yet written.
    queued: Arc<AtomicUsize>,
    feeder: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    results: crossbeam_channel::Receiver<TaskOutput>,
    next_task: u32,
    /// Values per task, filled as result messages arrive.
    got: BTreeMap<u32, Result<Vec<Option<i128>>, String>>,
    /// Values still missing per task.
    missing: BTreeMap<u32, u32>,
    /// Values each task gives.
    sizes: BTreeMap<u32, u32>,
    /// Map tasks whose values are in the shared result array.
    stored: std::collections::BTreeSet<u32>,
    log: TaskLog,
    /// What a replacement for a dead worker needs (until the pool closes).
    respawn: Option<Respawn>,
    /// Workers started in all, replacements included.
    started: u16,
    /// Workers that died between tasks, each perhaps with a task taken off the queue.
    unaccounted: u32,
    /// What went wrong, in words, for the summary.
    problems: Vec<String>,
}

/// The job of a pool worker and its ends of the task and result queues, kept to start a
/// replacement when a worker dies (as Python's pool does).
struct Respawn {
    job: serde_json::Value,
    task_r: std::os::fd::OwnedFd,
    res_w: std::os::fd::OwnedFd,
}

type Feeder = (
    crossbeam_channel::Sender<[u8; TASK_RECORD]>,
    std::thread::JoinHandle<std::io::Result<()>>,
);

fn start_feeder(pipe: Arc<TaskWriter>, queued: Arc<AtomicUsize>) -> std::io::Result<Feeder> {
    let (tx, rx) = crossbeam_channel::unbounded::<[u8; TASK_RECORD]>();
    let feeder = std::thread::Builder::new().spawn(move || {
        for rec in rx {
            pipe.put(&rec)?;
            queued.fetch_sub(1, Ordering::AcqRel);
        }
        Ok(())
    })?;
    Ok((tx, feeder))
}

/// A thread of the parent's that could not be started: most likely the process limit.
fn no_thread(what: &str, e: std::io::Error) -> RunError {
    RunError::Failed(format!(
        "cannot start the pool's {what} thread: {e} (is `ulimit -u` too low?)"
    ))
}

impl PoolClient {
    fn put(&mut self, task: &Task) -> Result<(), RunError> {
        self.hand(task)
            .map_err(|e| RunError::Failed(format!("cannot hand the pool a task: {e}")))
    }

    /// Hands a task record to the queue: straight into the pipe when it has room and nothing
    /// is waiting in the feeder (which keeps the order), else to the feeder thread (a hand-over
    /// is one more wake-up per task).
    fn hand(&mut self, task: &Task) -> std::io::Result<()> {
        let rec = task.encode();
        if self.queued.load(Ordering::Acquire) == 0 && self.pipe.try_put(&rec)? {
            return Ok(());
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.tasks.as_ref().is_some_and(|t| t.send(rec).is_ok()) {
            return Ok(());
        }
        // The feeder stopped: its error says why (every worker gone, usually).
        match self.feeder.take().map(|f| f.join()) {
            Some(Ok(Err(e))) => Err(e),
            _ => Err(std::io::Error::other("the task queue is closed")),
        }
    }

    fn submit(&mut self, make: impl FnOnce(u32) -> Task, expected: u32) -> Result<u32, RunError> {
        let id = self.next_task;
        self.next_task += 1;
        self.missing.insert(id, expected);
        self.got.insert(id, Ok(Vec::new()));
        self.sizes.insert(id, expected);
        self.put(&make(id))?;
        Ok(id)
    }

    /// Stops the pool: one stop record per worker ever started (replacements too), then the
    /// feeder ends. No worker is replaced from here on.
    fn close(&mut self) -> Result<(), RunError> {
        self.respawn = None;
        // One stop per worker ever started, the dead included: the live ones may all have taken
        // theirs and gone before the last is written, and a queue nobody reads any more is the
        // end of the pool, not an error.
        let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
        for _ in 0..self.started {
            match self.hand(&Task::Stop) {
                Ok(()) => {}
                Err(e) if gone(&e) => break,
                Err(e) => return Err(RunError::Failed(format!("the task queue failed: {e}"))),
            }
        }
        self.tasks = None;
        match self.feeder.take().map(|f| f.join()) {
            Some(Ok(Err(e))) if !gone(&e) => {
                Err(RunError::Failed(format!("the task queue failed: {e}")))
            }
            _ => Ok(()),
        }
    }

    /// A worker died: its task (if it was running one) is lost, the death is reported, and a
    /// new worker takes its place while the pool is open.
    fn on_death(
        &mut self,
        s: &mut Session<'_>,
        e: &crate::runtime::Envelope,
        death: Death,
    ) -> Result<(), RunError> {
        match death.task {
            Some(id) => self.lose(id, format!("lost: {}", death.message)),
            None => self.unaccounted += 1,
        }
        self.problems.push(death.message);
        if let Some(r) = &self.respawn {
            let fds = vec![r.task_r.try_clone()?, r.res_w.try_clone()?];
            let id = s.rt.spawn(r.job.clone(), fds)?;
            self.started += 1;
            s.emit(EventKind::Phase {
                name: format!("worker {id} replaces worker {}", e.worker),
            });
        }
        Ok(())
    }

    /// Gives task `id` an error result: it will never have values.
    fn lose(&mut self, id: u32, why: String) {
        self.got.insert(id, Err(why));
    }

    fn complete(&self, id: u32) -> bool {
        match self.got.get(&id) {
            Some(Ok(_)) => self.missing.get(&id).is_some_and(|m| *m == 0),
            Some(Err(_)) => true,
            None => false,
        }
    }

    fn accept(&mut self, out: TaskOutput) {
        match out {
            TaskOutput::Values {
                task,
                index,
                values,
            } => {
                if let Some(Ok(slots)) = self.got.get_mut(&task) {
                    // Slots are made when the first values arrive (a task whose values went
                    // to the shared array never needs them).
                    if slots.is_empty() {
                        let size = self.sizes.get(&task).copied().unwrap_or(0);
                        slots.resize(size as usize, None);
                    }
                    let mut filled = 0;
                    for (k, v) in values.into_iter().enumerate() {
                        if let Some(slot) = slots.get_mut(index as usize + k)
                            && slot.replace(v).is_none()
                        {
                            filled += 1;
                        }
                    }
                    if let Some(m) = self.missing.get_mut(&task) {
                        *m = m.saturating_sub(filled);
                    }
                }
            }
            TaskOutput::Error { task, message } => {
                self.got.insert(task, Err(message));
            }
            TaskOutput::Stored { task, count } => {
                if let Some(m) = self.missing.get_mut(&task) {
                    *m = m.saturating_sub(count);
                }
                self.stored.insert(task);
            }
        }
    }

    /// Takes what has already arrived, without waiting: called while submitting, so that a
    /// long submission still shows its tasks running (and hears a worker die) instead of
    /// holding every event back until the last task is out.
    fn pump(&mut self, s: &mut Session<'_>) -> Result<(), RunError> {
        for _ in 0..4096 {
            match s.next_or(&self.results, Duration::ZERO)? {
                Got::Other(out) => self.accept(out),
                Got::Event(e) => {
                    if let Some(death) = self.log.observe(&e) {
                        self.on_death(s, &e, death)?;
                    }
                }
                Got::Closed | Got::Timeout => break,
            }
        }
        Ok(())
    }

    /// Waits until every task in `ids` has its result (`.get()` on each).
    fn wait(&mut self, s: &mut Session<'_>, ids: &[u32]) -> Result<(), RunError> {
        // The tasks still waited for, updated as each result arrives (not rescanned).
        let mut pending: std::collections::BTreeSet<u32> = ids
            .iter()
            .copied()
            .filter(|id| !self.complete(*id))
            .collect();
        while !pending.is_empty() {
            match s.next_or(&self.results, Duration::from_millis(500))? {
                Got::Other(out) => {
                    let task = match &out {
                        TaskOutput::Values { task, .. }
                        | TaskOutput::Error { task, .. }
                        | TaskOutput::Stored { task, .. } => *task,
                    };
                    self.accept(out);
                    if self.complete(task) {
                        pending.remove(&task);
                    }
                }
                Got::Event(e) => {
                    if let Some(death) = self.log.observe(&e) {
                        self.on_death(s, &e, death)?;
                        pending.retain(|id| !self.complete(*id));
                    }
                }
                Got::Closed => {
                    return Err(RunError::Failed(
                        "the result queue closed before every task had its result (a worker died?)"
                            .into(),
                    ));
                }
                Got::Timeout => {
                    if s.rt.live() == 0 {
                        return Err(RunError::Failed("every pool worker has exited".into()));
                    }
                    // A worker that died between tasks may have taken one off the queue. Once
                    // nothing runs and nothing arrives, the tasks never started are the ones
                    // it took (live workers would have taken any still queued).
                    // (A task lost with its worker is ended in the log.)
                    let running = self.log.tasks.values().any(|t| !t.ended);
                    if self.unaccounted > 0 && !running {
                        for id in pending.clone() {
                            if !self.log.tasks.contains_key(&id) {
                                self.lose(id, "taken off the queue by a worker that died".into());
                            }
                        }
                        self.unaccounted = 0;
                        pending.retain(|id| !self.complete(*id));
                    }
                }
            }
        }
        Ok(())
    }

    fn values(&self, id: u32) -> Result<Vec<i128>, String> {
        match self.got.get(&id) {
            Some(Ok(v)) => Ok(v.iter().map(|x| x.unwrap_or(0)).collect()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("no such task".into()),
        }
    }
}

fn fmt_args(args: &[i64]) -> String {
    match args {
        [x] => format!("({x},)"),
        _ => format!(
            "({})",
            args.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn run(s: &mut Session<'_>, p: &Params) -> Result<Outcome, RunError> {
    let processes = p.processes.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(256) as u16)
    });
    let (task_r, task_w) =
        queue_pipe().map_err(|e| RunError::Failed(format!("task queue: {e}")))?;
    let (res_r, res_w) =
        queue_pipe().map_err(|e| RunError::Failed(format!("result queue: {e}")))?;
    s.emit(EventKind::Phase {
        name: format!("Pool(processes={processes})"),
    });
    // map's results go to a shared array, one slot per x, when the tasks are not slowed down
    // for watching: the pipe then carries only "task done" (as memory bandwidth allows,
    // rather than a message per value).
    if p.task_ms == 0 && p.map_n > 0 {
        s.rt.create_segment(&[CellSpec::zeros(TypeCode::I64, p.map_n as u32)])?;
    }
    let job = Job::PoolWorker { task_ms: p.task_ms }.to_json();
    for _ in 0..processes {
        s.rt.spawn(job.clone(), vec![task_r.try_clone()?, res_w.try_clone()?])?;
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    let reader = std::thread::Builder::new()
        .spawn(move || {
            let mut q = MessageReader::new(res_r);
            let mut m = Vec::new();
            while let Ok(true) = q.get_into(&mut m) {
                if let Some(out) = decode_output(&m)
                    && tx.send(out).is_err()
                {
                    break;
                }
            }
        })
        .map_err(|e| no_thread("result", e))?;
    let pipe = Arc::new(
        TaskWriter::new(task_w).map_err(|e| RunError::Failed(format!("task queue: {e}")))?,
    );
    let queued = Arc::new(AtomicUsize::new(0));
    let (tasks, feeder) =
        start_feeder(pipe.clone(), queued.clone()).map_err(|e| no_thread("task feeder", e))?;
    let mut pool = PoolClient {
        tasks: Some(tasks),
        pipe,
        queued,
        feeder: Some(feeder),
        results: rx,
        next_task: 0,
        got: BTreeMap::new(),
        missing: BTreeMap::new(),
        stored: Default::default(),
        sizes: BTreeMap::new(),
        log: TaskLog::default(),
        respawn: Some(Respawn { job, task_r, res_w }),
        started: processes,
        unaccounted: 0,
        problems: Vec::new(),
    };
    let mut text = String::new();

    // res = pool.map(job, range(N))
    let chunksize = p
        .chunksize
        .unwrap_or_else(|| python_chunksize(p.map_n, processes as u64));
    s.emit(EventKind::Phase {
        name: format!("map(job, range({}))", p.map_n),
    });
    let mut chunks = Vec::new();
    let mut start = 0u64;
    while start < p.map_n {
        // Millions of chunks can take seconds to hand out: a Ctrl-C or q is heard meanwhile,
        // and what the workers report is shown as it comes.
        s.check_interrupt()?;
        if chunks.len() % 1024 == 1023 {
            pool.pump(s)?;
        }
        let count = chunksize.min(p.map_n - start).min(u32::MAX as u64) as u32;
        let first = start as i64;
        chunks.push(pool.submit(
            |task| Task::Map {
                task,
                start: first,
                count,
            },
            count,
        )?);
        start += count as u64;
    }
    pool.wait(s, &chunks)?;
    // x*x for x < --map-n (at most 10^7) fits 64 bits: half the memory of 128-bit values.
    let mut map: Vec<i64> = Vec::with_capacity(p.map_n as usize);
    let mut first = 0usize;
    let mut map_whole = true;
    for id in &chunks {
        let size = pool.sizes.get(id).copied().unwrap_or(0) as usize;
        if pool.stored.contains(id) {
            let slots =
                s.rt.segment()
                    .and_then(|seg| seg.words(0))
                    .and_then(|w| w.get(first..first + size))
                    .ok_or_else(|| RunError::Failed("the result array is gone".into()))?;
            map.extend(slots.iter().map(|v| v.load(Ordering::Acquire) as i64));
        } else {
            match pool.values(*id) {
                Ok(values) => map.extend(values.into_iter().map(|v| v as i64)),
                // A chunk lost with its worker: the list is cut short there (and reported).
                Err(_) => map_whole = false,
            }
        }
        first += size;
    }
    text.push_str(&format!(
        "pool.map(job, range({})) -> {}\n",
        p.map_n,
        show_list(&map)
    ));

    // res = pool.apply_async(job, (2,)); res.get()
    s.emit(EventKind::Phase {
        name: format!("apply_async(job, ({},))", p.apply_arg),
    });
    let a = p.apply_arg;
    let one = pool.submit(
        |task| Task::Apply {
            task,
            args: vec![a],
        },
        1,
    )?;
    pool.wait(s, &[one])?;
    let apply_async = pool.values(one).ok().and_then(|v| v.first().copied());
    text.push_str(&format!(
        "pool.apply_async(job, ({a},)).get() -> {}\n",
        apply_async.map_or("error".into(), |v| v.to_string())
    ));

    // multi_res = [pool.apply_async(job, (i,)) for i in range(10)]
    s.emit(EventKind::Phase {
        name: format!(
            "[apply_async(job, (i,)) for i in range({})]",
            p.apply_list_n
        ),
    });
    let mut ids = Vec::new();
    for i in 0..p.apply_list_n as i64 {
        s.check_interrupt()?;
        ids.push(pool.submit(
            |task| Task::Apply {
                task,
                args: vec![i],
            },
            1,
        )?);
    }
    pool.wait(s, &ids)?;
    let list: Vec<i128> = ids
        .iter()
        .filter_map(|id| pool.values(*id).ok().and_then(|v| v.first().copied()))
        .collect();
    text.push_str(&format!(
        "[res.get() for res in multi_res] -> {}\n",
        show_list(&list)
    ));

    // for i in range(N): pool.apply_async(job, (i,)).get()
    let mut roundtrips_ok = true;
    if p.roundtrips > 0 {
        s.emit(EventKind::Phase {
            name: format!("apply_async round trips ({})", p.roundtrips),
        });
        for i in 0..p.roundtrips as i64 {
            s.check_interrupt()?;
            let id = pool.submit(
                |task| Task::Apply {
                    task,
                    args: vec![i],
                },
                1,
            )?;
            pool.wait(s, &[id])?;
            roundtrips_ok &= pool.values(id).ok().and_then(|v| v.first().copied())
                == Some(i as i128 * i as i128);
        }
        text.push_str(&format!(
            "{} apply_async(...).get() round trips\n",
            p.roundtrips
        ));
    }

    // pool.apply_async(job, (2, 3, 4)).get() raises
    let mut errors = Vec::new();
    if let BadArgs(Some(args)) = &p.bad_args {
        let call = format!("apply_async(job, {})", fmt_args(args));
        s.emit(EventKind::Phase { name: call.clone() });
        let args = args.clone();
        let bad = pool.submit(|task| Task::Apply { task, args }, 1)?;
        pool.wait(s, &[bad])?;
        match pool.values(bad) {
            Err(error) => {
                text.push_str(&format!("pool.{call}.get() -> raises {error}\n"));
                errors.push(CallError { call, error });
            }
            Ok(v) => text.push_str(&format!("pool.{call}.get() -> {}\n", show_list(&v))),
        }
    }

    // pool.close(); pool.join()
    s.emit(EventKind::Phase {
        name: "close and join".into(),
    });
    pool.close()?;
    let mut log = std::mem::take(&mut pool.log);
    let deaths = std::mem::take(&mut pool.problems);
    let mut lost = None;
    s.until_all_exited(|_, e| {
        lost = lost.take().or(log.observe(e).map(|d| d.message));
        Ok(())
    })?;
    drop(pool);
    let _ = reader.join();
    // Every worker has exited: none is still to open the result array.
    s.rt.remove_segment();

    let mut problems = deaths;
    if !map_whole {
        problems.push("map's result is incomplete: a chunk was lost with its worker".into());
    } else if !map.iter().zip(0i64..).all(|(v, x)| *v == x * x) || map.len() as u64 != p.map_n {
        problems.push("map results are not job(x) for x in order".into());
    }
    if apply_async != Some(a as i128 * a as i128) {
        problems.push(format!("apply_async(job, ({a},)) gave {apply_async:?}"));
    }
    if !roundtrips_ok {
        problems.push("an apply_async round trip returned a wrong result".into());
    }
    let want_list: Vec<i128> = (0..p.apply_list_n as i128).map(|x| x * x).collect();
    if list != want_list {
        problems.push("the apply_async list is not job(i) in order".into());
    }
    if let BadArgs(Some(args)) = &p.bad_args
        && args.len() != 1
        && errors.is_empty()
    {
        problems.push("the call with the wrong number of arguments did not fail".into());
    }
    problems.extend(lost);
    let map_ok = map_whole
        && map.len() as u64 == p.map_n
        && map.iter().zip(0i64..).all(|(v, x)| *v == x * x);
    let mut claims = vec![
        Claim {
            claim: "map returns job(x) for each x, in order".into(),
            measured: format!(
                "{} results{}",
                map.len(),
                if map_ok {
                    ", in order"
                } else {
                    ", not job(x) in order"
                }
            ),
            holds: map_ok,
        },
        Claim {
            claim: format!("apply_async(job, ({a},)).get() is job({a})"),
            measured: apply_async.map_or("no result".into(), |v| format!("got {v}")),
            holds: apply_async == Some(a as i128 * a as i128),
        },
    ];
    if let BadArgs(Some(args)) = &p.bad_args
        && args.len() != 1
    {
        claims.push(Claim {
            claim: "a call with wrong arguments raises in get()".into(),
            measured: errors
                .first()
                .map_or("it did not fail".into(), |e| e.error.clone()),
            holds: !errors.is_empty(),
        });
    }
    let tasks: Vec<TaskRecord> = log
        .tasks
        .iter()
        .map(|(task, t)| TaskRecord {
            task: *task,
            entry: t.clone(),
        })
        .collect();
    let mut tasks_per_worker = BTreeMap::new();
    for t in &tasks {
        *tasks_per_worker.entry(t.entry.worker).or_insert(0) += 1;
    }
    text.push_str(&format!("chunksize {chunksize}; tasks per worker: "));
    text.push_str(
        &tasks_per_worker
            .iter()
            .map(|(w, n)| format!("worker {w}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    text.push('\n');
    let details = Details {
        processes,
        chunksize,
        map: map.into_iter().map(|v| Num::Int(v as i128)).collect(),
        apply_async: apply_async.map(Num::Int),
        apply_async_list: list.into_iter().map(Num::Int).collect(),
        errors,
        tasks,
        tasks_per_worker,
    };
    Ok(Outcome::new(&details, text, problems).with_claims(claims))
}

/// A list as Python prints one, cut after ten items when it has more than twenty.
pub fn show_list<T: ToString>(v: &[T]) -> String {
    if v.len() <= 20 {
        format!(
            "[{}]",
            v.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
        )
    } else {
        let head: Vec<String> = v[..10].iter().map(T::to_string).collect();
        format!("[{}, ... {} more]", head.join(", "), v.len() - 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunksize_matches_python() {
        // divmod(10, 2*4) = (1, 2) -> 2; divmod(1_000_000, 8) = (125000, 0) -> 125000
        assert_eq!(python_chunksize(10, 2), 2);
        assert_eq!(python_chunksize(1_000_000, 2), 125_000);
        assert_eq!(python_chunksize(0, 2), 0);
        assert_eq!(python_chunksize(3, 4), 1);
    }

    #[test]
    fn tasks_round_trip() {
        for t in [
            Task::Stop,
            Task::Map {
                task: 3,
                start: -5,
                count: 9,
            },
            Task::Apply {
                task: 9,
                args: vec![2, 3, 4],
            },
            Task::Apply {
                task: 1,
                args: vec![],
            },
        ] {
            assert_eq!(Task::decode(&t.encode()), Some(t));
        }
    }

    #[test]
    fn wrong_arity_is_a_type_error_like_python() {
        assert_eq!(job(&[2]), Ok(4));
        assert_eq!(
            job(&[2, 3, 4]),
            Err("TypeError: job() takes 1 positional argument but 3 were given".into())
        );
        assert!(job(&[]).is_err_and(|e| e.contains("missing 1 required")));
    }

    #[test]
    fn result_messages_round_trip_and_fit_a_pipe_write() {
        let values = vec![i128::MAX; VALUES_PER_MESSAGE];
        let m = encode_values(7, 40, &values);
        assert!(m.len() <= MAX_MESSAGE);
        assert_eq!(
            decode_output(&m),
            Some(TaskOutput::Values {
                task: 7,
                index: 40,
                values
            })
        );
    }
}
