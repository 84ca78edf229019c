//! Recorded runs played back: `mpviz run ... --json > run.jsonl` keeps every event; `replay`
//! feeds them to the same app state and screens as a live run, on a clock of its own that can
//! be paused, sped up and moved back and forth. No worker is involved.

use std::path::Path;

use crate::app::Ended;
use crate::model::about::About;
use crate::runtime::Envelope;
use crate::scenario::{self, Params};

/// A recording: its events in time order and its summary.
#[derive(Debug, Clone)]
pub struct Recording {
    /// What the recorded run was: a scenario with the parameters its summary gives, or a
    /// traced Python program (`mpviz python --json`).
    pub about: About,
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
    if let Some(about) = python_run(summary.as_ref(), &events) {
        return Ok(Recording {
            about,
            events,
            summary,
        });
    }
    let name = summary
        .as_ref()
        .and_then(|s| s["scenario"].as_str().map(str::to_string))
        .or_else(|| guess_scenario(&events))
        .ok_or("cannot tell which scenario was recorded (no summary line)")?;
    scenario::index_of(&name)
        .ok_or_else(|| format!("unknown scenario {name:?} in the recording"))?;
    let params = recorded_params(&name, summary.as_ref())?;
    Ok(Recording {
        about: params.about(),
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

/// A traced Python program's recording (its summary says so, or, cut short before it, its
/// processes were started by Python): the program, and its source — the tutorial's own when it
/// is one of them, else the script's file if it is still there (a recording holds no source).
fn python_run(summary: Option<&serde_json::Value>, events: &[Envelope]) -> Option<About> {
    use crate::runtime::EventKind as K;
    let said = summary.is_some_and(|s| s["source"] == "python");
    let seen = events
        .iter()
        .any(|e| matches!(&e.kind, K::Spawned { method } if method == "python"));
    if !(said || seen) {
        return None;
    }
    let script = summary
        .and_then(|s| s["script"].as_str())
        .unwrap_or("a Python program")
        .to_string();
    let tutorial = std::path::Path::new(&script)
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.strip_prefix("mp_"))
        .map(crate::scenario::code::python)
        .filter(|c| !c.is_empty() && script.starts_with("assets/python/"));
    let code = match tutorial {
        Some(c) => c.to_string(),
        None => crate::export::files::read_text(Path::new(&script), 1 << 20, "a script")
            .unwrap_or_default(),
    };
    Some(About::program(&script, code))
}

fn guess_scenario(events: &[Envelope]) -> Option<String> {
    use crate::runtime::EventKind as K;
    events.iter().find_map(|e| match &e.kind {
        K::LockRequested { .. } | K::Gate { .. } => Some("lock".into()),
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
pub fn ended(summary: &serde_json::Value) -> Ended {
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::app::{App, Msg};
    use crate::source::replay::Player;

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
        assert_eq!((rec.events.len(), rec.about.scenario), (5, Some(5)));
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
        // The screen measures the replayed run against the recorded run's figures: three
        // workers adding 2, 5 and 7 four times each.
        let about = parse(&rec).expect("parses").about;
        let target = crate::model::about::Target {
            total: 56,
            writes: 12,
        };
        assert_eq!(about.panel.lock_target(false), Some(target));
        assert_eq!(about.panel.lock_target(true), Some(target));
        assert_eq!(about.role(2, "unlocked", false), "v.value += 7");
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
