//! The process-shared lock as workers use it.
//!
//! Taking the lock first tries it without blocking, so every acquisition is known to be either
//! free or contended; the wait and hold times travel as events (`lock_acquired` with `wait_ns`,
//! `lock_released` with `hold_ns`), which `model::lock::LockStats` adds up. A lock whose owner
//! died is recovered (EOWNERDEAD → `pthread_mutex_consistent`) and reported with a
//! `lock_recovered` event.

use super::clock::now_ns;
use super::event::EventKind;
use super::sys::LockOutcome;
use super::worker::WorkerCtx;

/// Proof that this worker holds the lock, and since when (when traced).
#[must_use = "release the lock with `release`"]
pub struct Held {
    since_ns: Option<u64>,
}

/// Takes the run's lock, reporting request, wait, contention and recovery. Without tracing
/// only a recovery is reported, and the clock is not read.
pub fn acquire(ctx: &mut WorkerCtx) -> Result<Held, String> {
    let me = ctx.id as u32;
    let (seg, events) = ctx.parts()?;
    let traced = events.tracing();
    let t0 = if traced { now_ns() } else { 0 };
    events.emit_at(t0, &EventKind::LockRequested { lock: 0 });
    let mut contended = false;
    let outcome = match seg.try_lock() {
        Ok(LockOutcome::Busy) => {
            contended = true;
            // Tell the parent we are about to block before we do.
            events.flush();
            seg.lock()
        }
        other => other,
    }
    .map_err(|e| format!("lock failed: {e}"))?;
    seg.set_last_lock_owner(me);
    if outcome == LockOutcome::Recovered {
        events.emit(&EventKind::LockRecovered);
    }
    if !traced {
        return Ok(Held { since_ns: None });
    }
    let t1 = now_ns();
    events.emit_at(
        t1,
        &EventKind::LockAcquired {
            lock: 0,
            wait_ns: t1.saturating_sub(t0),
            contended,
        },
    );
    Ok(Held { since_ns: Some(t1) })
}

/// Releases the lock taken by `acquire`.
pub fn release(ctx: &mut WorkerCtx, held: Held) -> Result<(), String> {
    let (seg, events) = ctx.parts()?;
    seg.unlock().map_err(|e| format!("unlock failed: {e}"))?;
    let Some(since_ns) = held.since_ns else {
        return Ok(());
    };
    let t = now_ns();
    let hold_ns = t.saturating_sub(since_ns);
    // No flush here: the release travels with the worker's next blocking point (a sleep, a gate,
    // a contended lock, its exit), which every scenario reaches at once; a flush per release
    // was a system call per increment.
    events.emit_at(t, &EventKind::LockReleased { lock: 0, hold_ns });
    Ok(())
}
