//! The handle a front end on another thread uses to steer a run: pause and resume the workers
//! (SIGSTOP / SIGCONT, so the CPU bars really drop), scale their intervals, switch step gates
//! and release one worker at a gate, or cancel the whole run. The runtime registers every
//! worker here as it starts it; settings made before a worker starts apply to it too.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

use super::control::{Control, ControlSender, MAX_PERMILLE, MIN_PERMILLE};
use super::event::EventKind;

/// A child process that is signalled only while it is certainly still ours (not yet reaped, so
/// its pid cannot have been reused).
#[derive(Debug)]
pub(crate) struct Proc {
    pid: Pid,
    reaped: Mutex<bool>,
}

impl Proc {
    pub(crate) fn new(pid: Pid) -> Self {
        Self {
            pid,
            reaped: Mutex::new(false),
        }
    }

    pub(crate) fn signal(&self, sig: Signal) -> bool {
        let reaped = self.reaped.lock().unwrap_or_else(|e| e.into_inner());
        !*reaped && kill(self.pid, sig).is_ok()
    }

    /// Waits for the process to end, then reaps it; returns its exit event.
    pub(crate) fn reap(&self) -> EventKind {
        // Wait without reaping first, so `signal` never targets a recycled pid.
        while let Err(nix::errno::Errno::EINTR) = waitid(
            Id::Pid(self.pid),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {}
        let mut reaped = self.reaped.lock().unwrap_or_else(|e| e.into_inner());
        let status = loop {
            match waitpid(self.pid, None) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other,
            }
        };
        *reaped = true;
        match status {
            Ok(WaitStatus::Exited(_, code)) => EventKind::Exit {
                code: Some(code),
                signal: None,
            },
            Ok(WaitStatus::Signaled(_, sig, _)) => EventKind::Exit {
                code: None,
                signal: Some(sig as i32),
            },
            Ok(_) | Err(_) => EventKind::Exit {
                code: None,
                signal: None,
            },
        }
    }
}

/// The parent's link to one worker: its process and its control pipe.
#[derive(Debug)]
pub struct WorkerHandle {
    pub id: u16,
    pub pid: i32,
    /// When the parent asked for it (CLOCK_MONOTONIC ns).
    pub spawned_ns: u64,
    pub(crate) proc: Proc,
    pub(crate) control: ControlSender,
}

impl WorkerHandle {
    pub fn send(&self, msg: Control) -> bool {
        self.control.send(msg).is_ok()
    }

    pub fn signal(&self, sig: Signal) -> bool {
        self.proc.signal(sig)
    }
}

/// Shared steering of one run.
#[derive(Debug)]
pub struct Hub {
    cancel: AtomicBool,
    paused: AtomicBool,
    speed_permille: AtomicU32,
    gates: AtomicBool,
    workers: Mutex<Vec<Arc<WorkerHandle>>>,
    /// Every pause and resume so far, as (paused, when): the runtime turns them into events.
    pause_log: Mutex<Vec<(bool, u64)>>,
    /// Length of `pause_log`, read without its lock on the event path.
    pause_count: AtomicU64,
}

impl Hub {
    pub fn new(speed_permille: u32, gates: bool) -> Arc<Hub> {
        Arc::new(Hub {
            cancel: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            speed_permille: AtomicU32::new(speed_permille.clamp(MIN_PERMILLE, MAX_PERMILLE)),
            gates: AtomicBool::new(gates),
            workers: Mutex::new(Vec::new()),
            pause_log: Mutex::new(Vec::new()),
            pause_count: AtomicU64::new(0),
        })
    }

    fn list(&self) -> MutexGuard<'_, Vec<Arc<WorkerHandle>>> {
        self.workers.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add(&self, w: Arc<WorkerHandle>) {
        if self.paused() {
            w.signal(Signal::SIGSTOP);
        }
        self.list().push(w);
    }

    /// Ends the run: the runtime's wait loops return `Interrupted`, and dropping the runtime
    /// kills and reaps the workers.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        self.set_paused(false);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) every worker, and notes when: the moment is
    /// read before the signals go, so every event stamped after a resume comes after it.
    pub fn set_paused(&self, on: bool) {
        let mut log = self.pause_log.lock().unwrap_or_else(|e| e.into_inner());
        if self.paused.swap(on, Ordering::SeqCst) == on {
            return;
        }
        log.push((on, super::clock::now_ns()));
        self.pause_count.store(log.len() as u64, Ordering::Release);
        drop(log);
        let sig = if on { Signal::SIGSTOP } else { Signal::SIGCONT };
        for w in self.list().iter() {
            w.signal(sig);
        }
    }

    /// The pauses and resumes after the first `seen`, as (paused, when).
    pub fn pauses_since(&self, seen: usize) -> Vec<(bool, u64)> {
        if self.pause_count.load(Ordering::Acquire) as usize <= seen {
            return Vec::new();
        }
        let log = self.pause_log.lock().unwrap_or_else(|e| e.into_inner());
        log.get(seen..).map(<[_]>::to_vec).unwrap_or_default()
    }

    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Interval scale in permille (1000 = as the scenario says, 2000 = half speed).
    pub fn set_speed(&self, permille: u32) {
        let p = permille.clamp(MIN_PERMILLE, MAX_PERMILLE);
        self.speed_permille.store(p, Ordering::SeqCst);
        self.broadcast(Control::Speed { permille: p });
    }

    pub fn speed(&self) -> u32 {
        self.speed_permille.load(Ordering::Relaxed)
    }

    /// Step mode: workers hold before each shared read and write until released.
    pub fn set_gates(&self, on: bool) {
        self.gates.store(on, Ordering::SeqCst);
        self.broadcast(Control::Gates(on));
    }

    pub fn gates(&self) -> bool {
        self.gates.load(Ordering::Relaxed)
    }

    /// Lets worker `id` pass its gate once.
    pub fn release(&self, id: u16) -> bool {
        self.list()
            .iter()
            .find(|w| w.id == id)
            .is_some_and(|w| w.send(Control::Release))
    }

    pub fn broadcast(&self, msg: Control) {
        for w in self.list().iter() {
            w.send(msg);
        }
    }

    /// Pids of the workers started so far.
    pub fn pids(&self) -> Vec<(u16, i32)> {
        self.list().iter().map(|w| (w.id, w.pid)).collect()
    }
}
