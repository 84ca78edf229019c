//! Steering running workers: the parent's side writes small fixed-size messages to each
//! worker's control pipe; the worker's side (a thread per worker) applies them to a
//! `ControlState` that the worker's job consults at every sleep, gate and loop check.
//!
//! Messages: stop cleanly, scale intervals (slow motion and fast forward), switch step gates
//! on or off, and release one gate. End of file on the pipe means the parent is gone: the
//! worker leaves at once (see `worker.rs`).

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Size of every control message on the wire.
pub const MSG_LEN: usize = 8;

/// One instruction from the parent to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Finish at the next safe point and exit with code 0.
    Stop,
    /// Multiply every interval by `permille / 1000` (2000 = half speed, 500 = double).
    Speed { permille: u32 },
    /// Hold before each shared read and write until released (`true`), or run free.
    Gates(bool),
    /// Let the worker pass one gate.
    Release,
}

impl Control {
    pub fn encode(self) -> [u8; MSG_LEN] {
        let (tag, arg): (u8, u32) = match self {
            Control::Stop => (1, 0),
            Control::Speed { permille } => (2, permille),
            Control::Gates(on) => (3, on as u32),
            Control::Release => (4, 0),
        };
        let mut m = [0u8; MSG_LEN];
        m[0] = tag;
        m[4..8].copy_from_slice(&arg.to_le_bytes());
        m
    }

    pub fn decode(m: &[u8; MSG_LEN]) -> Option<Self> {
        let arg = u32::from_le_bytes([m[4], m[5], m[6], m[7]]);
        match m[0] {
            1 => Some(Control::Stop),
            2 => Some(Control::Speed {
                permille: arg.clamp(MIN_PERMILLE, MAX_PERMILLE),
            }),
            3 => Some(Control::Gates(arg != 0)),
            4 => Some(Control::Release),
            _ => None,
        }
    }
}

/// Fastest and slowest interval scaling a worker accepts (×0.01 to ×100).
pub const MIN_PERMILLE: u32 = 10;
pub const MAX_PERMILLE: u32 = 100_000;

/// Whether the job should go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    Stop,
}

#[derive(Debug)]
struct Inner {
    speed_permille: u32,
    gates: bool,
    credits: u32,
}

/// The worker's view of what the parent asked for.
pub struct ControlState {
    inner: Mutex<Inner>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Default for ControlState {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                speed_permille: 1000,
                gates: false,
                credits: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }
}

impl ControlState {
    pub fn new(speed_permille: u32, gates: bool) -> Self {
        let s = Self::default();
        {
            let mut i = s.lock();
            i.speed_permille = speed_permille.clamp(MIN_PERMILLE, MAX_PERMILLE);
            i.gates = gates;
        }
        s
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked; the data is plain numbers.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn apply(&self, msg: Control) {
        let mut i = self.lock();
        match msg {
            Control::Stop => self.stop.store(true, Ordering::SeqCst),
            Control::Speed { permille } => i.speed_permille = permille,
            Control::Gates(on) => {
                i.gates = on;
                if !on {
                    i.credits = 0;
                }
            }
            Control::Release => i.credits = i.credits.saturating_add(1),
        }
        drop(i);
        self.changed.notify_all();
    }

    /// Cheap check for compute loops.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn gates_on(&self) -> bool {
        self.lock().gates
    }

    /// Sleeps for `base` scaled by the current speed; a speed change takes effect at once,
    /// a stop ends the sleep early.
    pub fn sleep(&self, base: Duration) -> Flow {
        let mut left_base = base.as_secs_f64();
        let mut i = self.lock();
        while left_base > 0.0 {
            if self.stopping() {
                return Flow::Stop;
            }
            let scale = i.speed_permille as f64 / 1000.0;
            let wall = Duration::from_secs_f64(left_base * scale);
            let t0 = Instant::now();
            let (g, _) = self
                .changed
                .wait_timeout(i, wall)
                .unwrap_or_else(|e| e.into_inner());
            i = g;
            left_base -= t0.elapsed().as_secs_f64() / scale;
        }
        if self.stopping() {
            Flow::Stop
        } else {
            Flow::Go
        }
    }

    /// Returns at once when gates are off; otherwise waits for one release.
    /// `on_wait` runs once, before blocking, so the worker can announce that it waits.
    pub fn pass_gate(&self, on_wait: impl FnOnce()) -> Flow {
        let mut i = self.lock();
        if !i.gates {
            return Flow::Go;
        }
        drop(i);
        on_wait();
        i = self.lock();
        loop {
            if self.stopping() {
                return Flow::Stop;
            }
            if !i.gates {
                return Flow::Go;
            }
            if i.credits > 0 {
                i.credits -= 1;
                return Flow::Go;
            }
            i = self.changed.wait(i).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The parent's end of one worker's control pipe.
#[derive(Debug)]
pub struct ControlSender {
    pipe: Mutex<File>,
}

impl ControlSender {
    pub fn new(pipe: File) -> Self {
        Self {
            pipe: Mutex::new(pipe),
        }
    }

    /// Sends `msg`; an error means the worker is gone, which the caller learns from its exit.
    pub fn send(&self, msg: Control) -> std::io::Result<()> {
        let mut p = self.pipe.lock().unwrap_or_else(|e| e.into_inner());
        p.write_all(&msg.encode())
    }

    pub fn send_raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut p = self.pipe.lock().unwrap_or_else(|e| e.into_inner());
        p.write_all(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn messages_round_trip_and_unknown_tags_are_refused() {
        for m in [
            Control::Stop,
            Control::Speed { permille: 2500 },
            Control::Gates(true),
            Control::Release,
        ] {
            assert_eq!(Control::decode(&m.encode()), Some(m));
        }
        assert_eq!(Control::decode(&[9, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn a_gate_holds_until_released() {
        let s = Arc::new(ControlState::new(1000, true));
        let (tx, rx) = std::sync::mpsc::channel();
        let s2 = s.clone();
        let h = std::thread::spawn(move || s2.pass_gate(|| tx.send(()).expect("send")));
        rx.recv().expect("worker announced the wait");
        s.apply(Control::Release);
        assert_eq!(h.join().expect("join"), Flow::Go);
    }

    #[test]
    fn stop_ends_a_long_sleep() {
        let s = Arc::new(ControlState::default());
        let s2 = s.clone();
        let h = std::thread::spawn(move || s2.sleep(Duration::from_secs(3600)));
        s.apply(Control::Stop);
        assert_eq!(h.join().expect("join"), Flow::Stop);
    }
}
