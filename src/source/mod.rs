//! Where a run's events come from, behind one interface: a Rust scenario run by real worker
//! processes (`scenario`), a recording played on a clock of its own (`replay`) — and next a
//! traced Python program. A source produces one stream of `Feed` (open a run, its events, its
//! end) and says what it can be steered to do, so the UI offers only the keys that work. The
//! event loops (the terminal UI, `snapshot`, the UI benchmark) apply the feed the same way.

pub mod python;
pub mod replay;
pub mod scenario;

use std::time::Instant;

use crossbeam_channel::Receiver;

use crate::app::{App, Command, Ended, Msg, ReplayStatus};
use crate::model::about::About;
use crate::runtime::Envelope;

/// One item of a source's stream.
#[derive(Debug, Clone)]
pub enum Feed {
    /// A run starts (again): the screen is made anew for it, as the run is described.
    Open(Box<About>),
    Event(Envelope),
    /// The run is over: its summary, or why it failed.
    Ended(Result<Ended, String>),
}

/// Where feed goes: the app itself, or a list to apply later.
pub trait Sink {
    fn feed(&mut self, f: Feed);
}

impl Sink for App {
    fn feed(&mut self, f: Feed) {
        match f {
            Feed::Open(about) => self.open(*about),
            Feed::Event(e) => {
                self.update(Msg::Event(e));
            }
            Feed::Ended(r) => {
                self.update(Msg::RunEnded(r));
            }
        }
    }
}

impl Sink for Vec<Feed> {
    fn feed(&mut self, f: Feed) {
        self.push(f);
    }
}

/// What a source can be steered to do (the footer and the keys offer only these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steering {
    /// Stop and go on (SIGSTOP / SIGCONT of processes, or a player's clock).
    pub pause: bool,
    /// Faster and slower.
    pub speed: bool,
    /// Step gates before each shared read and write.
    pub step: bool,
    /// Its parameters can be edited and the run made again.
    pub edit: bool,
    /// Its clock can be moved back and forth (a recording).
    pub seek: bool,
    /// It runs (or plays) itself again on `r`, and so outlives the run's end.
    pub again: bool,
}

impl Steering {
    /// Live worker processes of a Rust scenario.
    pub const LIVE: Steering = Steering {
        pause: true,
        speed: true,
        step: true,
        edit: true,
        seek: false,
        again: false,
    };
    /// A traced Python program: its processes can be stopped and continued, its sleeps made
    /// faster or slower, and held at gates before shared reads and writes; its parameters are
    /// its own.
    pub const PYTHON: Steering = Steering {
        pause: true,
        speed: true,
        step: true,
        edit: false,
        seek: false,
        again: true,
    };
    /// A recording: played as it was, on a clock that moves.
    pub const RECORDING: Steering = Steering {
        pause: true,
        speed: true,
        step: false,
        edit: false,
        seek: true,
        again: true,
    };
}

impl Default for Steering {
    fn default() -> Self {
        Steering::LIVE
    }
}

/// A run's source of events.
pub trait Source {
    fn steering(&self) -> Steering;
    /// The channel its feed arrives on, to wait on with the UI's other inputs (none: it moves
    /// only when `due` is asked, on the frame clock).
    fn arrivals(&self) -> Option<Receiver<Feed>>;
    /// Hands `sink` what is due at `now`, at most `budget` items; whether there was any.
    fn due(&mut self, now: Instant, budget: usize, sink: &mut dyn Sink) -> bool;
    /// Carries out a command aimed at the run (pause, speed, step, release, seek, restart);
    /// false if this source does not do it (a live run is restarted by starting a new one).
    fn steer(&mut self, cmd: &Command, sink: &mut dyn Sink) -> bool;
    /// Its arrivals channel has closed (everything on it was taken): whether the source stays,
    /// silent, to be steered again (a Python run that `r` starts anew) or is let go.
    fn drained(&mut self) -> bool {
        false
    }
    /// A recording's clock, for the header.
    fn status(&self) -> Option<ReplayStatus> {
        None
    }
}
