//! A real CPython program traced by the probe, as a source: `python::run` on a thread of its
//! own, its events handed on as they arrive, pause as SIGSTOP / SIGCONT of the program's
//! processes, speed as the factor the probe multiplies `time.sleep` by, step mode as the
//! probe's gates before each shared read and write, and `r` running it again (with the same
//! speed and step mode). Dropping it ends the program (SIGTERM, then SIGKILL)
//! and waits until every process of it is reaped and its run directory removed.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, bounded};

use super::{Feed, Sink, Source, Steering};
use crate::app::{Command, Ended};
use crate::model::about::About;
use crate::python::{Control, PythonRun};
use crate::runtime::clock::now_ns;
use crate::runtime::{Envelope, EventKind};

pub struct PythonSource {
    what: PythonRun,
    rx: Receiver<Feed>,
    control: Arc<Control>,
    thread: Option<JoinHandle<()>>,
    /// The run's thread has finished and its feed is all taken: nothing more arrives.
    drained: bool,
    /// Speed (interval permille) and step mode, kept for the next run.
    permille: u32,
    gates: bool,
}

impl PythonSource {
    /// What the screen says of the program: its name and its source.
    pub fn about(what: &PythonRun) -> About {
        // The tutorial's program is carried in mpviz; a user's is read from its file.
        let code = match what.embedded {
            Some(text) => text.to_string(),
            None => crate::export::files::read_text(&what.script, 1 << 20, "a script")
                .unwrap_or_default(),
        };
        About::program(&what.script.display().to_string(), code)
    }

    /// Starts the program (its screen is opened by the first item of the feed), its sleeps
    /// scaled by `permille` / 1000 and, with `gates`, in step mode.
    pub fn start(what: PythonRun, permille: u32, gates: bool) -> PythonSource {
        let (tx, rx) = bounded(1 << 13);
        let control = Arc::new(Control::default());
        control.steer.set_interval(permille as f64 / 1000.0);
        control.steer.set_gates(gates);
        let _ = tx.send(Feed::Open(Box::new(Self::about(&what))));
        let (c, run, failed) = (control.clone(), what.clone(), tx.clone());
        let thread = std::thread::Builder::new().spawn(move || {
            let send = |mut m: Feed| loop {
                // Back-pressure while the UI keeps up; give up once the run is ended.
                match tx.send_timeout(m, Duration::from_millis(50)) {
                    Ok(()) => return,
                    Err(SendTimeoutError::Timeout(back)) if !c.is_cancelled() => m = back,
                    Err(_) => return,
                }
            };
            let mut observer = |e: &Envelope| send(Feed::Event(e.clone()));
            let end = match crate::python::run(&run, &c, &mut observer) {
                Ok(s) => Ok(Ended {
                    ok: s.ok,
                    problems: if s.ok {
                        Vec::new()
                    } else {
                        vec![format!("the program exited with code {}", s.exit_code)]
                    },
                    claims: Vec::new(),
                    text: String::new(),
                    details: serde_json::to_value(&s).unwrap_or_default(),
                }),
                Err(e) => Err(e.to_string()),
            };
            send(Feed::Ended(end));
        });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                let _ = failed.try_send(Feed::Ended(Err(format!(
                    "cannot start the run's thread: {e} (is `ulimit -u` too low?)"
                ))));
                None
            }
        };
        PythonSource {
            what,
            rx,
            control,
            thread,
            drained: false,
            permille,
            gates,
        }
    }

    fn stop(&mut self) {
        self.control.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for PythonSource {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Source for PythonSource {
    fn steering(&self) -> Steering {
        Steering::PYTHON
    }

    fn arrivals(&self) -> Option<Receiver<Feed>> {
        (!self.drained).then(|| self.rx.clone())
    }

    fn drained(&mut self) -> bool {
        self.drained = true;
        true
    }

    fn due(&mut self, _now: Instant, budget: usize, sink: &mut dyn Sink) -> bool {
        let mut any = false;
        for f in self.rx.try_iter().take(budget) {
            sink.feed(f);
            any = true;
        }
        any
    }

    fn steer(&mut self, cmd: &Command, sink: &mut dyn Sink) -> bool {
        match cmd {
            Command::Pause(on) => {
                if self.control.pause(*on) {
                    // The stopped time is left out of every time shown, as for workers.
                    let kind = if *on {
                        EventKind::Paused
                    } else {
                        EventKind::Resumed
                    };
                    sink.feed(Feed::Event(Envelope {
                        kind,
                        worker: 0,
                        pid: std::process::id() as i32,
                        t_ns: now_ns(),
                    }));
                }
            }
            Command::Speed(p) => {
                self.permille = *p;
                self.control.steer.set_interval(*p as f64 / 1000.0);
            }
            Command::Step(on) => {
                self.gates = *on;
                self.control.steer.set_gates(*on);
            }
            Command::Release(id) => {
                self.control.steer.release(*id);
            }
            Command::Restart => {
                self.stop();
                *self = PythonSource::start(self.what.clone(), self.permille, self.gates);
            }
            _ => return false,
        }
        true
    }
}
