//! Recorded runs played back: `mpviz run ... --json > run.jsonl` keeps every event; `replay`
//! feeds them to the same app state and screens as a live run, on a clock of its own that can
//! be paused, sped up and moved back and forth. No worker is involved.

use std::path::Path;
use std::time::Instant;

use crate::app::{App, Ended, Msg};
use crate::runtime::Envelope;
use crate::scenario::{self, Params};

/// A recording: its events in time order and its summary.
#[derive(Debug, Clone)]
pub struct Recording {
    pub scenario: usize,
    pub params: Params,
    pub events: Vec<Envelope>,
    pub summary: Option<serde_json::Value>,
}

/// Reads a JSON-lines recording. Lines that are not events (the summary, blank lines) are
/// recognised; anything else is an error naming the line.
pub fn parse(text: &str) -> Result<Recording, String> {
    let mut events = Vec::new();
    let mut summary = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        beyond_64_bits_as_text(&mut v);
        if v["type"] == "summary" {
            summary = Some(v);
            continue;
        }
        let e: Envelope = serde_json::from_value(v)
            .map_err(|e| format!("line {}: not an mpviz event: {e}", n + 1))?;
        events.push(e);
    }
    if events.is_empty() {
        return Err("no events in the recording".into());
    }
    // Events of different workers were printed as they arrived; play them in time order.
    events.sort_by_key(|e| e.t_ns);
    let name = summary
        .as_ref()
        .and_then(|s| s["scenario"].as_str().map(str::to_string))
        .or_else(|| guess_scenario(&events))
        .ok_or("cannot tell which scenario was recorded (no summary line)")?;
    let scenario = scenario::index_of(&name)
        .ok_or_else(|| format!("unknown scenario {name:?} in the recording"))?;
    let params = recorded_params(&name, summary.as_ref())?;
    Ok(Recording {
        scenario,
        params,
        events,
        summary,
    })
}

/// Integers beyond 64 bits (a queue's or compare's 128-bit sums) as their digits: serde's
/// buffering of tagged and flattened types cannot carry them as numbers, and `Num` reads the
/// digits back exactly.
fn beyond_64_bits_as_text(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.as_i64().is_none() && n.as_u64().is_none() => {
            let text = n.to_string();
            if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                *v = serde_json::Value::String(text);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(beyond_64_bits_as_text),
        serde_json::Value::Object(o) => o.values_mut().for_each(beyond_64_bits_as_text),
        _ => {}
    }
}

/// The parameters the recorded run used (from its summary), or the scenario's defaults.
fn recorded_params(name: &str, summary: Option<&serde_json::Value>) -> Result<Params, String> {
    let defaults = scenario::default_params(name).ok_or("no parameters for the scenario")?;
    let Some(given) = summary.and_then(|s| s["params"].as_object()) else {
        return Ok(defaults);
    };
    let mut flags = scenario::flags::to_flags(&defaults);
    for f in &mut flags {
        if let Some(v) = given.get(f.name).and_then(|v| v.as_str()) {
            f.value = v.to_string();
        }
    }
    scenario::flags::from_flags(name, &flags).map_err(|e| format!("the recorded parameters: {e}"))
}

fn guess_scenario(events: &[Envelope]) -> Option<String> {
    use crate::runtime::EventKind as K;
    events.iter().find_map(|e| match &e.kind {
        K::LockRequested | K::Gate { .. } => Some("lock".into()),
        K::TaskStart { .. } => Some("pool".into()),
        K::QueuePut { .. } => Some("queue".into()),
        _ => None,
    })
}

/// Largest recording `replay` reads (a run of millions of events is well under it).
pub const MAX_RECORDING: u64 = 1 << 30;

/// Reads a recording file. Only a regular file is opened, and opened without blocking (a FIFO
/// would block the open, where no signal can end the wait), and one larger than
/// `MAX_RECORDING` is refused before it is read.
pub fn load(path: &Path) -> Result<Recording, String> {
    let text = crate::export::files::read_text(path, MAX_RECORDING, "a recording")
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The recording's end as the UI shows a finished run.
fn ended(summary: &serde_json::Value) -> Ended {
    Ended {
        ok: summary["ok"].as_bool().unwrap_or(false),
        problems: summary["problems"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        claims: serde_json::from_value(summary["claims"].clone()).unwrap_or_default(),
        text: String::new(),
        details: summary.clone(),
    }
}

/// Plays a recording into an app on a virtual clock.
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
        }
    }

    /// Plays or pauses. Play at the end starts again from the beginning, as a media player
    /// does.
    pub fn play(&mut self, app: &mut App, on: bool) {
        if on && self.clock_ns >= self.duration_ns() {
            self.seek(app, 0);
        }
        self.playing = on;
        self.last_turn = None;
    }

    /// From the start, playing.
    pub fn restart(&mut self, app: &mut App) {
        self.seek(app, 0);
        self.play(app, true);
    }

    /// Moves the clock on by the wall time since the last turn (scaled by the speed): the
    /// frame clock calls it at `now`.
    pub fn turn(&mut self, app: &mut App, now: Instant) {
        let wall = self
            .last_turn
            .filter(|_| self.playing)
            .map_or(0, |t| now.saturating_duration_since(t).as_nanos() as u64);
        self.last_turn = self.playing.then_some(now);
        self.advance(app, wall);
    }

    fn t0(&self) -> u64 {
        self.rec.events.first().map_or(0, |e| e.t_ns)
    }

    pub fn duration_ns(&self) -> u64 {
        self.rec.events.last().map_or(0, |e| e.t_ns) - self.t0()
    }

    /// Starts the app's run screen for this recording.
    pub fn open(&mut self, app: &mut App) {
        app.open_run(self.rec.scenario, self.rec.params.clone());
        self.pos = 0;
    }

    /// Applies every event up to the clock; the summary once the end is reached.
    pub fn catch_up(&mut self, app: &mut App) {
        let until = self.t0() + self.clock_ns;
        while let Some(e) = self.rec.events.get(self.pos).filter(|e| e.t_ns <= until) {
            app.update(Msg::Event(e.clone()));
            self.pos += 1;
        }
        let done = self.pos == self.rec.events.len();
        let shown = app.run.as_ref().is_some_and(|r| r.ended.is_some());
        if done && !shown {
            if let Some(s) = &self.rec.summary {
                app.update(Msg::RunEnded(Ok(ended(s))));
            }
            self.playing = false;
        }
    }

    /// Moves the clock on by `wall_ns` of real time (scaled by the speed).
    pub fn advance(&mut self, app: &mut App, wall_ns: u64) {
        if self.playing {
            self.clock_ns =
                (self.clock_ns + (wall_ns as f64 * self.speed) as u64).min(self.duration_ns());
        }
        self.catch_up(app);
    }

    /// Jumps to `clock_ns`; going back rebuilds the screen from the start.
    pub fn seek(&mut self, app: &mut App, clock_ns: u64) {
        let target = clock_ns.min(self.duration_ns());
        if target < self.clock_ns || target == 0 {
            self.open(app);
        }
        self.clock_ns = target;
        self.catch_up(app);
    }

    /// Plays everything at once (for pictures and tests).
    pub fn to_end(&mut self, app: &mut App) {
        let end = self.duration_ns();
        self.seek(app, end);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const REC: &str = r#"{"type":"phase","name":"unlocked","worker":0,"pid":1,"t_ns":100}
{"type":"spawned","method":"reexec","worker":1,"pid":7,"t_ns":110}
{"type":"write","cell":0,"index":0,"old":0,"new":1,"seq":1,"from":{"worker":0,"seq":0},"replaced":{"worker":0,"seq":0},"worker":1,"pid":7,"t_ns":300}
{"type":"spawned","method":"reexec","worker":2,"pid":8,"t_ns":120}
{"type":"write","cell":0,"index":0,"old":0,"new":3,"seq":1,"from":{"worker":0,"seq":0},"replaced":{"worker":1,"seq":1},"worker":2,"pid":8,"t_ns":400}
{"type":"summary","scenario":"lock","ok":true,"problems":[],"dropped_events":0}
"#;

    #[test]
    fn a_recording_plays_forward_and_back() {
        let rec = parse(REC).expect("parses");
        assert_eq!((rec.events.len(), rec.scenario), (5, 5));
        assert!(
            rec.events.windows(2).all(|w| w[0].t_ns <= w[1].t_ns),
            "sorted by time"
        );
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        let mut p = Player::new(rec);
        p.open(&mut app);
        p.seek(&mut app, 250);
        assert_eq!(
            app.run.as_ref().map(|r| r.trace.runs[0].writes.len()),
            Some(1)
        );
        p.to_end(&mut app);
        let run = app.run.as_ref().expect("run");
        assert_eq!(run.trace.runs[0].lost.len(), 1);
        assert!(run.ended.is_some());
        p.seek(&mut app, 0);
        assert_eq!(app.run.as_ref().map(|r| r.trace.runs.len()), Some(1));
        assert_eq!(
            app.run.as_ref().map(|r| r.trace.runs[0].writes.len()),
            Some(0)
        );
    }

    #[test]
    fn a_pause_is_no_time_played_and_play_at_the_end_starts_again() {
        let rec = parse(REC).expect("parses");
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        let mut p = Player::new(rec);
        p.open(&mut app);
        let t = Instant::now();
        p.turn(&mut app, t);
        p.turn(&mut app, t + Duration::from_nanos(50));
        assert_eq!(p.clock_ns, 50);
        p.play(&mut app, false);
        p.turn(&mut app, t + Duration::from_secs(6));
        p.play(&mut app, true);
        // The first turn after a resume starts the count; six seconds paused are not played.
        p.turn(&mut app, t + Duration::from_secs(6));
        p.turn(
            &mut app,
            t + Duration::from_secs(6) + Duration::from_nanos(100),
        );
        assert_eq!(p.clock_ns, 150);
        p.to_end(&mut app);
        assert!(!p.playing);
        // Home, then play: from the beginning, not a jump to the end.
        p.seek(&mut app, 0);
        p.play(&mut app, true);
        p.turn(&mut app, t + Duration::from_secs(60));
        p.turn(
            &mut app,
            t + Duration::from_secs(60) + Duration::from_nanos(10),
        );
        assert_eq!(p.clock_ns, 10);
        // Play at the end replays from the start.
        p.to_end(&mut app);
        p.play(&mut app, true);
        assert_eq!((p.clock_ns, p.playing), (0, true));
    }

    #[test]
    fn the_recorded_parameters_are_used() {
        let rec = REC.replace(
            r#""scenario":"lock","#,
            r#""scenario":"lock","params":{"--deltas":"2,5,7","--steps":"4"},"#,
        );
        match parse(&rec).expect("parses").params {
            Params::Lock(p) => assert_eq!((p.deltas.0, p.steps), (vec![2, 5, 7], Some(4))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_refused_with_its_line() {
        assert!(parse("{\"type\":\"write\"}\n").is_err_and(|e| e.contains("line 1")));
        assert!(parse("not json").is_err_and(|e| e.contains("line 1")));
        assert!(parse("").is_err());
    }

    /// Plays a parsed recording through the screens to its end and back (what `mpviz replay`
    /// does with it).
    fn play(rec: Recording) {
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        app.update(Msg::Resize(100, 30));
        let mut p = Player::new(rec);
        p.open(&mut app);
        p.to_end(&mut app);
        let area = ratatui::layout::Rect::new(0, 0, 100, 30);
        crate::ui::render(&app, area, &mut ratatui::buffer::Buffer::empty(area));
        p.seek(&mut app, 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1500))]
        /// Any text: an error or a recording, never a panic.
        #[test]
        fn the_reader_survives_any_text(text in "\\PC{0,400}") {
            if let Ok(rec) = parse(&text) {
                play(rec);
            }
        }

        /// A real recording cut, spliced and bent: lines dropped or repeated, a character
        /// replaced, numbers made huge or negative. Whatever parses plays without a panic.
        #[test]
        fn a_damaged_recording_is_refused_or_played(
            cut in 0usize..1000,
            drop_line in 0usize..8,
            repeat_line in 0usize..8,
            at in 0usize..1000,
            ch in proptest::char::any(),
            number in proptest::sample::select(vec![
                "0", "-1", "18446744073709551615", "1e308", "340282366920938463463374607431768211456",
                "-170141183460469231731687303715884105728", "65535", "65536", "\"x\"", "null",
            ]),
        ) {
            let lines: Vec<&str> = REC.lines().collect();
            let mut text: String = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop_line)
                .flat_map(|(i, l)| std::iter::repeat_n(*l, if i == repeat_line { 2 } else { 1 }))
                .collect::<Vec<_>>()
                .join("\n");
            // A number somewhere swapped for an extreme or a non-number.
            let digits: Vec<usize> = text.match_indices(|c: char| c.is_ascii_digit()).map(|(i, _)| i).collect();
            if !digits.is_empty() {
                let i = digits[at % digits.len()];
                let end = text[i..].find(|c: char| !c.is_ascii_digit()).map_or(text.len(), |e| i + e);
                text.replace_range(i..end, number);
            }
            // One character replaced, then the text cut short.
            let chars: Vec<char> = text.chars().collect();
            let k = at % chars.len().max(1);
            let mut bent: String = chars.iter().enumerate().map(|(j, c)| if j == k { ch } else { *c }).collect();
            let keep = cut.max(bent.len() * 3 / 4).min(bent.len());
            let keep = (0..=keep).rev().find(|c| bent.is_char_boundary(*c)).unwrap_or(0);
            bent.truncate(keep);
            if let Ok(rec) = parse(&bent) {
                play(rec);
            }
            if let Ok(rec) = parse(&text) {
                play(rec);
            }
        }
    }
}
