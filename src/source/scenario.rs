//! A Rust scenario run by real worker processes, on its own thread: its events (and finally its
//! end) arrive on one channel, in order; the hub steers the workers. Dropping the driver
//! cancels the run and waits for the runtime to kill and reap its workers and remove its
//! segment.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, bounded};

use super::{Feed, Sink, Source, Steering};
use crate::app::{Command, Ended};
use crate::runtime::{Envelope, Hub, RuntimeOptions};
use crate::scenario::{self, Params};

pub struct Driver {
    pub rx: Receiver<Feed>,
    pub hub: Arc<Hub>,
    thread: Option<JoinHandle<()>>,
}

impl Driver {
    pub fn start(params: Params, mut opts: RuntimeOptions) -> Driver {
        let hub = Hub::new(opts.speed_permille, opts.gates);
        opts.hub = Some(hub.clone());
        let (tx, rx) = bounded(1 << 13);
        let h = hub.clone();
        let failed = tx.clone();
        let thread = std::thread::Builder::new().spawn(move || {
            let send = |mut m: Feed| {
                // Back-pressure while the UI keeps up; give up once the run is cancelled.
                loop {
                    match tx.send_timeout(m, Duration::from_millis(50)) {
                        Ok(()) => return,
                        Err(SendTimeoutError::Timeout(back)) if !h.cancelled() => m = back,
                        Err(_) => return,
                    }
                }
            };
            let mut observer = |e: &Envelope| send(Feed::Event(e.clone()));
            let result = scenario::run(&params, opts, &mut observer);
            let end = match result {
                Ok(s) => Ok(Ended {
                    ok: s.ok,
                    problems: s.problems,
                    claims: s.claims,
                    text: s.text,
                    details: s.details,
                }),
                Err(e) => Err(e.to_string()),
            };
            send(Feed::Ended(end));
        });
        // A run whose thread cannot start ends at once, with the reason, like any failed run.
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                let _ = failed.try_send(Feed::Ended(Err(format!(
                    "cannot start the run's thread: {e} (is `ulimit -u` too low?)"
                ))));
                None
            }
        };
        Driver { rx, hub, thread }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.hub.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Source for Driver {
    fn steering(&self) -> Steering {
        Steering::LIVE
    }

    fn arrivals(&self) -> Option<Receiver<Feed>> {
        Some(self.rx.clone())
    }

    fn due(&mut self, _now: std::time::Instant, budget: usize, sink: &mut dyn Sink) -> bool {
        let mut any = false;
        for f in self.rx.try_iter().take(budget) {
            sink.feed(f);
            any = true;
        }
        any
    }

    fn steer(&mut self, cmd: &Command, _sink: &mut dyn Sink) -> bool {
        match cmd {
            Command::Pause(on) => self.hub.set_paused(*on),
            Command::Speed(p) => self.hub.set_speed(*p),
            Command::Step(on) => self.hub.set_gates(*on),
            Command::Release(id) => {
                self.hub.release(*id);
            }
            _ => return false,
        }
        true
    }
}
