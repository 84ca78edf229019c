//! A recording played back as a source: the same feed as a live run, on a clock of its own
//! that can be paused, sped up and moved back and forth (going back opens the run again and
//! hands on its events up to the new time). No worker is involved.

use std::time::Instant;

use crossbeam_channel::Receiver;

use super::{Feed, Sink, Source, Steering};
use crate::app::{Command, ReplayStatus};
use crate::replay::{Recording, ended};

/// Plays a recording on a virtual clock.
#[derive(Debug, Clone)]
pub struct Player {
    pub rec: Recording,
    /// Events already applied.
    pub pos: usize,
    /// Virtual nanoseconds since the first event.
    pub clock_ns: u64,
    pub playing: bool,
    pub speed: f64,
    /// The wall-clock moment the virtual clock was last moved to, while playing: a pause (or
    /// the time before playing starts) never counts as time played.
    last_turn: Option<Instant>,
    /// The recording's end has been handed on since the last `open`.
    ended_sent: bool,
}

impl Player {
    pub fn new(rec: Recording) -> Self {
        Player {
            rec,
            pos: 0,
            clock_ns: 0,
            playing: true,
            speed: 1.0,
            last_turn: None,
            ended_sent: false,
        }
    }

    /// Plays or pauses. Play at the end starts again from the beginning, as a media player
    /// does.
    pub fn play(&mut self, sink: &mut dyn Sink, on: bool) {
        if on && self.clock_ns >= self.duration_ns() {
            self.seek(sink, 0);
        }
        self.playing = on;
        self.last_turn = None;
    }

    /// From the start, playing.
    pub fn restart(&mut self, sink: &mut dyn Sink) {
        self.seek(sink, 0);
        self.play(sink, true);
    }

    /// Moves the clock on by the wall time since the last turn (scaled by the speed): the
    /// frame clock calls it at `now`.
    pub fn turn(&mut self, sink: &mut dyn Sink, now: Instant) {
        let wall = self
            .last_turn
            .filter(|_| self.playing)
            .map_or(0, |t| now.saturating_duration_since(t).as_nanos() as u64);
        self.last_turn = self.playing.then_some(now);
        self.advance(sink, wall);
    }

    fn t0(&self) -> u64 {
        self.rec.events.first().map_or(0, |e| e.t_ns)
    }

    pub fn duration_ns(&self) -> u64 {
        self.rec.events.last().map_or(0, |e| e.t_ns) - self.t0()
    }

    /// Opens the run screen for this recording, from its first event.
    pub fn open(&mut self, sink: &mut dyn Sink) {
        sink.feed(Feed::Open(Box::new(self.rec.about.clone())));
        self.pos = 0;
        self.ended_sent = false;
    }

    /// Applies every event up to the clock; the summary once the end is reached.
    pub fn catch_up(&mut self, sink: &mut dyn Sink) {
        let until = self.t0() + self.clock_ns;
        while let Some(e) = self.rec.events.get(self.pos).filter(|e| e.t_ns <= until) {
            sink.feed(Feed::Event(e.clone()));
            self.pos += 1;
        }
        let done = self.pos == self.rec.events.len();
        if done && !self.ended_sent {
            if let Some(s) = &self.rec.summary {
                sink.feed(Feed::Ended(Ok(ended(s))));
            }
            self.ended_sent = true;
            self.playing = false;
        }
    }

    /// Moves the clock on by `wall_ns` of real time (scaled by the speed).
    pub fn advance(&mut self, sink: &mut dyn Sink, wall_ns: u64) {
        if self.playing {
            self.clock_ns =
                (self.clock_ns + (wall_ns as f64 * self.speed) as u64).min(self.duration_ns());
        }
        self.catch_up(sink);
    }

    /// Jumps to `clock_ns`; going back rebuilds the screen from the start.
    pub fn seek(&mut self, sink: &mut dyn Sink, clock_ns: u64) {
        let target = clock_ns.min(self.duration_ns());
        if target < self.clock_ns || target == 0 {
            self.open(sink);
        }
        self.clock_ns = target;
        self.catch_up(sink);
    }

    /// Plays everything at once (for pictures and tests).
    pub fn to_end(&mut self, sink: &mut dyn Sink) {
        let end = self.duration_ns();
        self.seek(sink, end);
    }
}

impl Source for Player {
    fn steering(&self) -> Steering {
        Steering::RECORDING
    }

    fn arrivals(&self) -> Option<Receiver<Feed>> {
        None
    }

    fn due(&mut self, now: Instant, _budget: usize, sink: &mut dyn Sink) -> bool {
        if !self.playing {
            return false;
        }
        self.turn(sink, now);
        true
    }

    fn steer(&mut self, cmd: &Command, sink: &mut dyn Sink) -> bool {
        match cmd {
            Command::Start(..) => self.restart(sink),
            Command::Pause(on) => self.play(sink, !on),
            Command::Speed(permille) => self.speed = 1000.0 / *permille as f64,
            Command::Seek(ms) => {
                let to =
                    (self.clock_ns as i128 + *ms as i128 * 1_000_000).clamp(0, u64::MAX as i128);
                self.seek(sink, to as u64);
            }
            Command::Stop => self.play(sink, false),
            _ => return false,
        }
        true
    }

    fn status(&self) -> Option<ReplayStatus> {
        Some(ReplayStatus {
            clock_ns: self.clock_ns,
            duration_ns: self.duration_ns(),
            playing: self.playing,
            speed: self.speed,
        })
    }
}
