//! A scenario running on its own thread for the UI: its events (and finally its end) arrive on
//! one channel, in order; the hub steers it. Dropping the driver cancels the run and waits for
//! the runtime to kill and reap its workers and remove its segment.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, bounded};

use crate::app::Ended;
use crate::runtime::{Envelope, Hub, RuntimeOptions};
use crate::scenario::{self, Params};

#[derive(Debug)]
pub enum DriverMsg {
    Event(Envelope),
    Ended(Result<Ended, String>),
}

pub struct Driver {
    pub rx: Receiver<DriverMsg>,
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
            let send = |mut m: DriverMsg| {
                // Back-pressure while the UI keeps up; give up once the run is cancelled.
                loop {
                    match tx.send_timeout(m, Duration::from_millis(50)) {
                        Ok(()) => return,
                        Err(SendTimeoutError::Timeout(back)) if !h.cancelled() => m = back,
                        Err(_) => return,
                    }
                }
            };
            let mut observer = |e: &Envelope| send(DriverMsg::Event(e.clone()));
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
            send(DriverMsg::Ended(end));
        });
        // A run whose thread cannot start ends at once, with the reason, like any failed run.
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                let _ = failed.try_send(DriverMsg::Ended(Err(format!(
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
