//! A recorded run played back ends on the same screen as the run did live.

use mpviz::app::{App, Ended, Msg};
use mpviz::replay::parse;
use mpviz::source::replay::Player;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn screen(app: &App) -> String {
    let area = Rect::new(0, 0, 120, 40);
    let mut buf = Buffer::empty(area);
    mpviz::ui::render(app, area, &mut buf);
    mpviz::export::to_text(&buf)
}

#[test]
fn replay_reproduces_the_live_final_screen() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mpviz"))
        .args([
            "run",
            "lock",
            "--race-window-ms",
            "20",
            "--speed",
            "4",
            "--json",
        ])
        .output()
        .expect("run mpviz");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rec = parse(&text).expect("a valid recording");

    // Live: the UI receives the events in the order they arrived, then the summary.
    let mut live = App::new(std::time::Duration::from_millis(250), 0);
    live.update(Msg::Resize(120, 40));
    // The run as `mpviz lock --race-window-ms 20 --speed 4` opens it: the recording says the
    // same of it.
    let defaults = mpviz::scenario::default_params("lock").expect("lock");
    let mut flags = mpviz::scenario::flags::to_flags(&defaults);
    for f in &mut flags {
        match f.name {
            "--race-window-ms" => f.value = "20".into(),
            "--speed" => f.value = "4".into(),
            _ => {}
        }
    }
    let params = mpviz::scenario::flags::from_flags("lock", &flags).expect("parameters");
    assert_eq!(rec.about, params.about());
    live.open_run(mpviz::scenario::index_of("lock").expect("lock"), params);
    let mut summary = None;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        if v["type"] == "summary" {
            summary = Some(v);
        } else {
            live.update(Msg::Event(serde_json::from_value(v).expect("event")));
        }
    }
    let s = summary.expect("a summary");
    let problems = s["problems"].as_array().map(|a| {
        a.iter()
            .filter_map(|p| p.as_str().map(String::from))
            .collect()
    });
    live.update(Msg::RunEnded(Ok(Ended {
        ok: s["ok"].as_bool().unwrap_or(false),
        problems: problems.unwrap_or_default(),
        claims: serde_json::from_value(s["claims"].clone()).unwrap_or_default(),
        text: String::new(),
        details: s.clone(),
    })));

    // Replay: the player's clock, to the end.
    let mut replayed = App::new(std::time::Duration::from_millis(250), 0);
    replayed.update(Msg::Resize(120, 40));
    let mut p = Player::new(rec);
    p.open(&mut replayed);
    p.to_end(&mut replayed);

    assert_eq!(screen(&replayed), screen(&live));
    assert!(screen(&replayed).contains("with the lock: 20 of 20"));
}

/// Every file `run --json` writes replays, 128-bit sums included: the README's own example
/// (`queue --n 10000000`) and compare at its default size.
#[test]
fn every_scenario_recorded_with_json_replays_to_its_summary() {
    for args in [
        &["run", "queue", "--n", "10000000", "--json"][..],
        &["run", "compare", "--json"],
        &["run", "process", "--json"],
        &["run", "pool", "--json"],
        &["run", "shared", "--json"],
        &["run", "lock", "--interval-ms", "5", "--json"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mpviz"))
            .args(args)
            .output()
            .expect("run mpviz");
        assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let rec = parse(&text).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let events = text.lines().count() - 1;
        assert_eq!(
            rec.events.len(),
            events,
            "{args:?}: every event is read back"
        );
        let summary = rec.summary.clone().expect("a summary");
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        app.update(Msg::Resize(120, 40));
        let mut p = Player::new(rec);
        p.open(&mut app);
        p.to_end(&mut app);
        let end = app
            .run
            .as_ref()
            .and_then(|r| r.ended.clone())
            .expect("ended");
        let end = end.expect("a summary, not a failure");
        assert_eq!(end.details, summary, "{args:?}: the same summary");
        assert_eq!(end.ok, summary["ok"].as_bool().unwrap_or(false));
    }
}

/// A traced Python program's recording (`mpviz python --json`) replays as the program's
/// screen, not a scenario's: its script in the header, its processes by what they run, its
/// values by the names the program gives them, the lanes of who took the lock.
#[test]
fn a_python_recording_replays_as_the_program() {
    if std::process::Command::new("python3")
        .arg("-c")
        .arg("")
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!("no python3 here: skipped");
        return;
    }
    let ticks = format!("{}/tests/python/ticks.py", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mpviz"))
        .args(["python", "--json", &ticks])
        .output()
        .expect("run mpviz");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rec = parse(&text).expect("a valid recording");
    let about = rec.about.clone();
    assert!(about.is_program(), "a Python program's recording");
    assert!(
        about.code.text.contains("def job(v, n, l=None):"),
        "its source, from its file"
    );
    let mut replayed = App::new(std::time::Duration::from_millis(250), 0);
    replayed.update(Msg::Resize(120, 40));
    let mut p = Player::new(rec);
    p.open(&mut replayed);
    p.to_end(&mut replayed);
    let shown = screen(&replayed);
    for part in [
        "mpviz python",
        "ticks.py",
        "__main__",
        "job()",
        "┌ v: ",
        "┌ v #2: 160 of 160",
        "Lock() at ticks.py:18: 80 acquisitions",
    ] {
        assert!(shown.contains(part), "{part:?} in:\n{shown}");
    }
    assert!(
        !shown.contains("v.value += "),
        "no scenario's roles:\n{shown}"
    );
}
