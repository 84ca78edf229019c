//! What a worker process can be asked to do, and the dispatcher its entry point calls.
//!
//! The parent sends a `Job` as JSON in the worker's handshake; the worker runs the matching
//! scenario function. A job's error becomes an `error` event and exit code 1; a clean stop
//! requested by the parent exits with 0.

use serde::{Deserialize, Serialize};

use crate::runtime::{EventKind, Flow, Num, StoreId, WorkerCtx};

use super::{compare, lock, pool, process, shared};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// §1.2: `job(a, b)` prints and returns.
    Greet {
        a: i64,
        b: i64,
        #[serde(default)]
        pace_ms: u64,
    },
    /// §1.3 and §1.4: sum(i + i² + i³ for i < n), put on the queue.
    SumPowers(compare::SumJob),
    /// §1.5: a pool worker serving tasks until told to stop.
    PoolWorker { task_ms: u64 },
    /// §1.6: writes the shared Values and Array.
    SharedWriter(shared::WriterJob),
    /// §1.7: adds its delta to the shared counter.
    Counter(lock::CounterJob),
    /// Benchmarks: start and leave at once.
    Noop,
    /// Benchmarks: send `count` write events as fast as possible.
    Flood { count: u64 },
    /// Benchmarks: put `count` items on the queue (fd 5) as fast as possible.
    QueueFlood { count: u64 },
    /// Benchmarks: `count` increments of the shared counter, each under the lock.
    LockedIncrements { count: u64 },
    /// Benchmarks: `count` unlocked writes of the shared counter, with or without their events.
    TracedWrites { count: u64, traced: bool },
    /// Benchmarks: send back each record read from pipe 0 on pipe 1 until end of file (the
    /// machine's floor for a round trip between two processes).
    Echo,
}

impl Job {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Result of a job function: `Ok(Flow::Stop)` when the parent asked it to stop early.
pub type JobResult = Result<Flow, String>;

/// The worker entry point's dispatcher (`runtime::worker::Dispatch`).
pub fn dispatch(ctx: &mut WorkerCtx, job: serde_json::Value) -> i32 {
    let job: Job = match serde_json::from_value(job) {
        Ok(j) => j,
        Err(e) => {
            ctx.emit(EventKind::Error {
                message: format!("unknown job: {e}"),
            });
            return 2;
        }
    };
    let result = match job {
        Job::Greet { a, b, pace_ms } => process::work(ctx, a, b, pace_ms),
        Job::SumPowers(j) => compare::work(ctx, &j),
        Job::PoolWorker { task_ms } => pool::work(ctx, task_ms),
        Job::SharedWriter(j) => shared::work(ctx, &j),
        Job::Counter(j) => lock::work(ctx, &j),
        Job::Noop => Ok(Flow::Go),
        Job::Flood { count } => flood(ctx, count),
        Job::QueueFlood { count } => queue_flood(ctx, count),
        Job::LockedIncrements { count } => locked_increments(ctx, count),
        Job::TracedWrites { count, traced } => traced_writes(ctx, count, traced),
        Job::Echo => echo(ctx),
    };
    match result {
        Ok(_) => 0,
        Err(message) => {
            ctx.emit(EventKind::Error { message });
            ctx.flush();
            1
        }
    }
}

fn flood(ctx: &mut WorkerCtx, count: u64) -> JobResult {
    for i in 0..count {
        let (old, new) = (Num::Int(i as i128), Num::Int(i as i128 + 1));
        ctx.emit(EventKind::Write {
            cell: 0,
            index: 0,
            old,
            new,
            seq: i as u32 + 1,
            from: StoreId {
                worker: ctx.id,
                seq: i as u32,
            },
            replaced: StoreId {
                worker: ctx.id,
                seq: i as u32,
            },
        });
    }
    Ok(Flow::Go)
}

fn queue_flood(ctx: &mut WorkerCtx, count: u64) -> JobResult {
    let mut q = crate::runtime::queue::MessageWriter::new(ctx.take_extra(0)?);
    for i in 0..count {
        let id = ctx.id;
        q.put_with(compare::QUEUE_MESSAGE_MAX, |m| {
            compare::put_queue_message(m, id, i as u128)
        })
        .map_err(|e| format!("queue put failed: {e}"))?;
    }
    q.flush().map_err(|e| format!("queue put failed: {e}"))?;
    Ok(Flow::Go)
}

fn echo(ctx: &mut WorkerCtx) -> JobResult {
    use std::io::{Read, Write};
    let (mut input, mut output) = (ctx.take_extra(0)?, ctx.take_extra(1)?);
    ctx.flush();
    let mut rec = [0u8; 64];
    while input.read_exact(&mut rec).is_ok() {
        output
            .write_all(&rec)
            .map_err(|e| format!("echo failed: {e}"))?;
    }
    Ok(Flow::Go)
}

/// The locked increment as the lock scenario does it (with its lock events), in a tight loop;
/// reports the time it took as a `result`.
fn locked_increments(ctx: &mut WorkerCtx, count: u64) -> JobResult {
    let t0 = crate::runtime::clock::now_ns();
    for _ in 0..count {
        let held = crate::runtime::lock::acquire(ctx)?;
        let seg = ctx.segment()?;
        let old = seg.load(0, 0).ok_or("the counter is missing")?;
        let new = match old {
            Num::Int(v) => Num::Int(v + 1),
            Num::Float(v) => Num::Float(v + 1.0),
        };
        seg.store(0, 0, new);
        crate::runtime::lock::release(ctx, held)?;
    }
    let elapsed_ns = crate::runtime::clock::now_ns() - t0;
    ctx.emit(EventKind::Result {
        label: "locked increments".into(),
        value: Num::Int(count as i128),
        elapsed_ns,
    });
    Ok(Flow::Go)
}

/// Shared-value writes as the scenarios make them, with the `write` event or without, timed in
/// the worker (what tracing costs a worker per write).
fn traced_writes(ctx: &mut WorkerCtx, count: u64, traced: bool) -> JobResult {
    let t0 = crate::runtime::clock::now_ns();
    let worker = ctx.id;
    for seq in 1..=count as u32 {
        let (seg, events) = ctx.parts()?;
        let (old, from) = seg.load_tagged(0, 0).ok_or("the counter is missing")?;
        let new = match old {
            Num::Int(v) => Num::Int(v + 1),
            Num::Float(v) => Num::Float(v + 1.0),
        };
        let (new, replaced) = seg
            .swap(0, 0, new, StoreId { worker, seq })
            .ok_or("the counter is missing")?;
        if traced {
            events.emit(&EventKind::Write {
                cell: 0,
                index: 0,
                old,
                new,
                seq,
                from,
                replaced,
            });
        }
    }
    let elapsed_ns = crate::runtime::clock::now_ns() - t0;
    let label = if traced { "traced" } else { "untraced" };
    ctx.emit(EventKind::Result {
        label: label.into(),
        value: Num::Int(count as i128),
        elapsed_ns,
    });
    Ok(Flow::Go)
}
