//! Golden-style checks of what a user reads on each panel, rendered into ratatui's
//! `TestBackend` at 80x24 and 160x48, from state fed by the same events the runtime sends.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::{App, Msg, Screen};
use crate::monitor::{ProcSample, Sample};
use crate::runtime::{Envelope, EventKind, Num, StoreId};

fn screen_text(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| super::draw(f, app)).expect("draw");
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ev(worker: u16, t_ms: u64, kind: EventKind) -> Msg {
    Msg::Event(Envelope {
        kind,
        worker,
        pid: 1000 + worker as i32,
        t_ns: t_ms * 1_000_000,
    })
}

/// A write of the counter by `worker` (its store `seq`): the value it read from store `from`,
/// what it stored, and the store it replaced (stores as (worker, seq); (0, 0) is the initial
/// value).
fn write(
    worker: u16,
    t_ms: u64,
    (old, new): (i128, i128),
    seq: u32,
    from: (u16, u32),
    replaced: (u16, u32),
) -> Msg {
    let id = |(worker, seq)| StoreId { worker, seq };
    ev(
        worker,
        t_ms,
        EventKind::Write {
            cell: 0,
            index: 0,
            old: Num::Int(old),
            new: Num::Int(new),
            seq,
            from: id(from),
            replaced: id(replaced),
        },
    )
}

/// The lock scenario after an unlocked run with one lost update and a locked run under way.
fn lock_app(w: u16, h: u16) -> App {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(w, h));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(
        ratatui::crossterm::event::KeyCode::Char('6'),
    )));
    assert_eq!(app.screen, Screen::Run);
    let msgs = vec![
        ev(
            0,
            0,
            EventKind::Phase {
                name: "unlocked".into(),
            },
        ),
        ev(
            1,
            1,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ),
        ev(
            2,
            1,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ),
        ev(1, 2, EventKind::Started),
        ev(2, 2, EventKind::Started),
        // Both read 0; worker 1 writes 1, worker 2 then writes 3: worker 1's update is lost.
        write(1, 100, (0, 1), 1, (0, 0), (0, 0)),
        write(2, 101, (0, 3), 1, (0, 0), (1, 1)),
        write(1, 200, (3, 4), 2, (2, 1), (2, 1)),
        write(2, 201, (4, 7), 2, (1, 2), (1, 2)),
        ev(
            1,
            300,
            EventKind::Exit {
                code: Some(0),
                signal: None,
            },
        ),
        ev(
            2,
            300,
            EventKind::Exit {
                code: Some(0),
                signal: None,
            },
        ),
        ev(
            0,
            301,
            EventKind::Phase {
                name: "locked".into(),
            },
        ),
        ev(
            3,
            302,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ),
        ev(
            4,
            302,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ),
        ev(3, 303, EventKind::LockRequested { lock: 0 }),
        ev(
            3,
            303,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 0,
                contended: false,
            },
        ),
        ev(4, 304, EventKind::LockRequested { lock: 0 }),
        write(3, 400, (0, 1), 1, (0, 0), (0, 0)),
        write(3, 500, (1, 2), 2, (3, 1), (3, 1)),
    ];
    for m in msgs {
        app.update(m);
    }
    app.update(Msg::Sample(Sample {
        cores: vec![37.5, 100.0],
        procs: vec![ProcSample {
            pid: 1003,
            cpu_pct: 99.0,
            cores: vec![1],
            state: 'R',
        }],
    }));
    app
}

#[test]
fn lock_screen_shows_bars_lost_update_and_lanes_at_both_sizes() {
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen_text(&lock_app(w, h), w, h);
        // A bar for each core, with its load.
        assert!(
            text.contains("  0 [") && text.contains("37.5%"),
            "{w}x{h}:\n{text}"
        );
        assert!(
            text.contains("  1 [") && text.contains("100.0%"),
            "{w}x{h}:\n{text}"
        );
        // The worker running on core 1 is shown there by its glyph.
        assert!(
            text.lines()
                .any(|l| l.contains("  1 [") && l.contains("■3")),
            "{w}x{h}:\n{text}"
        );
        // The unlocked run: 7 of 8, one lost update marked with a cross.
        assert!(
            text.contains("without the lock: 7 of 8 — 1 lost"),
            "{w}x{h}:\n{text}"
        );
        assert!(
            text.contains('✗'),
            "{w}x{h}: the lost update is marked\n{text}"
        );
        // The lock lanes: worker 3 holds, worker 4 waits, and why.
        assert!(text.contains('█') && text.contains('░'), "{w}x{h}:\n{text}");
        assert!(text.contains("worker 4 waits"), "{w}x{h}:\n{text}");
        // The workers table names states in words.
        assert!(
            text.contains("holding lock") && text.contains("waiting for lock"),
            "{w}x{h}:\n{text}"
        );
    }
}

#[test]
fn picker_lists_every_scenario_and_a_small_terminal_gets_a_notice() {
    let app = App::new(std::time::Duration::from_millis(250), 0);
    let text = screen_text(&app, 80, 24);
    for s in crate::scenario::ALL {
        assert!(
            text.contains(s.name) && text.contains(&format!("§{}", s.section)),
            "{text}"
        );
    }
    let small = screen_text(&app, 40, 10);
    assert!(small.contains("terminal too small"), "{small}");
    let tiny = screen_text(&app, 1, 1);
    assert_eq!(tiny.chars().count(), 1);
}

#[test]
fn help_lists_keys_and_symbols() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(160, 48));
    start(&mut app, '?');
    let text = screen_text(&app, 160, 48);
    for needle in [
        "pause / resume",
        "step mode",
        "lost update",
        "holds the lock",
        "theme",
        "each has a number",
        "esc or ? closes",
    ] {
        assert!(text.contains(needle), "help lacks {needle:?}:\n{text}");
    }
    assert!(!text.contains("scroll ·"), "it all fits at 160x48:\n{text}");
}

#[test]
fn help_scrolls_to_its_end_at_80x24_and_wraps_under_its_own_text() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(80, 24));
    start(&mut app, '?');
    let first = screen_text(&app, 80, 24);
    assert!(
        first.contains("PgDn scroll") && first.contains("esc or ? closes"),
        "{first}"
    );
    assert!(
        !first.contains("each has a number"),
        "the end needs a scroll:\n{first}"
    );
    for _ in 0..100 {
        app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Down,
        )));
    }
    let end = screen_text(&app, 80, 24);
    assert!(
        end.contains("each has a number") && end.contains("esc or ? closes"),
        "{end}"
    );
    // A wrapped entry goes on under its own text, not at the border.
    let col = |needle: &str| {
        first
            .lines()
            .find_map(|l| l.find(needle).map(|b| l[..b].chars().count()))
    };
    assert!(col("pause / resume").is_some());
    assert_eq!(col("pause / resume"), col("time is left out"), "{first}");
    // One key up shows the line before the end: the scroll stopped at the end.
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(
        ratatui::crossterm::event::KeyCode::Up,
    )));
    assert_ne!(screen_text(&app, 80, 24), end);
}

#[test]
fn every_theme_renders_and_monochrome_keeps_the_glyphs() {
    for theme in 0..super::theme::THEMES.len() {
        let mut app = lock_app(80, 24);
        app.theme = theme;
        let text = screen_text(&app, 80, 24);
        assert!(
            text.contains('●') && text.contains('▲'),
            "theme {theme}:\n{text}"
        );
    }
}

fn start(app: &mut App, key: char) {
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(
        ratatui::crossterm::event::KeyCode::Char(key),
    )));
}

#[test]
fn queue_pool_compare_and_shared_panels_say_what_happened() {
    for (w, h) in [(80, 24), (160, 48)] {
        // queue: a put in flight and one got
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        app.update(Msg::Resize(w, h));
        start(&mut app, '2');
        app.update(ev(
            1,
            1,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ));
        app.update(ev(
            1,
            2,
            EventKind::QueuePut {
                queue: 0,
                value: Num::Int(249_833_583_000).into(),
            },
        ));
        app.update(ev(
            2,
            3,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ));
        app.update(ev(
            2,
            4,
            EventKind::QueuePut {
                queue: 0,
                value: Num::Int(249_833_583_000).into(),
            },
        ));
        app.update(ev(
            0,
            5,
            EventKind::QueueGet {
                queue: 0,
                from: 1,
                value: Num::Int(249_833_583_000).into(),
            },
        ));
        let text = screen_text(&app, w, h);
        assert!(text.contains("2 put, 1 in flight"), "{w}x{h}:\n{text}");
        assert!(
            text.contains("q.put(249833583000)") && text.contains("in the queue"),
            "{w}x{h}:\n{text}"
        );

        // pool: tasks by worker, the failed call as an error
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        app.update(Msg::Resize(w, h));
        start(&mut app, '4');
        for (task, worker) in [(0, 1), (1, 2)] {
            app.update(ev(
                worker,
                1,
                EventKind::Spawned {
                    method: "reexec".into(),
                },
            ));
            let call = "job".to_string();
            app.update(ev(
                worker,
                2,
                EventKind::TaskStart {
                    task,
                    call,
                    first: 2 * task as i64,
                    count: 2,
                },
            ));
            app.update(ev(
                worker,
                3,
                EventKind::TaskEnd {
                    task,
                    ok: true,
                    error: None,
                },
            ));
        }
        let error =
            Some("TypeError: job() takes 1 positional argument but 3 were given".to_string());
        app.update(ev(
            1,
            4,
            EventKind::TaskStart {
                task: 2,
                call: "job(2, 3, 4)".into(),
                first: 2,
                count: 1,
            },
        ));
        app.update(ev(
            1,
            5,
            EventKind::TaskEnd {
                task: 2,
                ok: false,
                error,
            },
        ));
        let text = screen_text(&app, w, h);
        assert!(text.contains("tasks: ●▲✗"), "{w}x{h}:\n{text}");
        assert!(text.contains("TypeError"), "{w}x{h}:\n{text}");

        // compare: a variant's row with the CPU it used
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        app.update(Msg::Resize(w, h));
        start(&mut app, '3');
        app.update(ev(
            0,
            0,
            EventKind::Phase {
                name: "normal".into(),
            },
        ));
        app.update(ev(
            1,
            1,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ));
        app.update(Msg::Sample(Sample {
            cores: vec![100.0, 0.0],
            procs: vec![],
        }));
        let text = screen_text(&app, w, h);
        assert!(
            text.contains("normal") && text.contains("100.0%"),
            "{w}x{h}:\n{text}"
        );

        // shared: the typed cells with their last writer
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        app.update(Msg::Resize(w, h));
        start(&mut app, '5');
        app.update(ev(
            2,
            1,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ));
        app.update(ev(
            2,
            2,
            EventKind::Write {
                cell: 1,
                index: 0,
                old: Num::Float(3.5),
                new: Num::Float(5.5),
                seq: 1,
                from: StoreId::INITIAL,
                replaced: StoreId::INITIAL,
            },
        ));
        let text = screen_text(&app, w, h);
        assert!(
            text.contains("Value('i')") && text.contains("Array('i')"),
            "{w}x{h}:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.contains("Value('d')") && l.contains("5.5") && l.contains("▲2")),
            "{w}x{h}:\n{text}"
        );
    }
}

#[test]
fn a_click_selects_then_starts_a_scenario() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(80, 24));
    let text = screen_text(&app, 80, 24);
    let row = text
        .lines()
        .position(|l| l.contains("queue "))
        .expect("queue row") as u16;
    let click = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    });
    assert!(app.update(click).is_none(), "the first click selects");
    assert_eq!(app.selected, 1);
    let click = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    });
    assert!(matches!(
        app.update(click),
        Some(crate::app::Command::Start(1, _))
    ));
    assert_eq!(app.screen, Screen::Run);
}

#[test]
fn every_screen_renders_at_any_size_without_panicking() {
    let mut apps = vec![App::new(std::time::Duration::from_millis(250), 0)];
    for key in ['1', '2', '3', '4', '5'] {
        let mut a = App::new(std::time::Duration::from_millis(250), 0);
        start(&mut a, key);
        apps.push(a);
    }
    apps.push(lock_app(80, 24));
    let mut with_help = lock_app(80, 24);
    with_help.help = true;
    apps.push(with_help);
    let mut with_form = lock_app(80, 24);
    start(&mut with_form, 'e');
    apps.push(with_form);
    for app in &apps {
        for (w, h) in [
            (1, 1),
            (2, 50),
            (79, 23),
            (80, 24),
            (81, 25),
            (120, 40),
            (200, 60),
            (500, 200),
        ] {
            let mut a = app.clone();
            a.update(Msg::Resize(w, h));
            let _ = screen_text(&a, w, h);
        }
    }
}

#[test]
fn the_clock_leaves_a_pause_out_and_says_how_long_it_was() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(100, 30));
    start(&mut app, '6');
    app.update(ev(1, 0, EventKind::Started));
    app.update(ev(0, 300, EventKind::Paused));
    app.update(ev(0, 6_300, EventKind::Resumed));
    app.update(ev(1, 6_800, EventKind::LockRequested { lock: 0 }));
    let text = screen_text(&app, 100, 30);
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.contains(" 0.8 s") && header.contains("(paused 6.0 s)"),
        "{header}"
    );
}

#[test]
fn step_keys_are_the_numbers_on_screen_in_the_second_run() {
    use crate::app::Command;
    use crate::app::trace::Lane;
    use crate::runtime::Access;
    let key = |app: &mut App, c: char| {
        app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Char(c),
        )))
    };
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(100, 30));
    start(&mut app, '6');
    assert!(matches!(key(&mut app, 'm'), Some(Command::Step(true))));
    let spawned = || EventKind::Spawned {
        method: "reexec".into(),
    };
    let locked = EventKind::Phase {
        name: "locked".into(),
    };
    app.update(ev(0, 1, locked));
    app.update(ev(3, 2, spawned()));
    app.update(ev(4, 3, spawned()));
    app.update(ev(
        3,
        4,
        EventKind::Gate {
            access: Access::Read,
        },
    ));
    let run = app.run.as_ref().expect("run");
    assert_eq!(run.lock.lane_at(3, 4_000_000), Some(Lane::AtGate));
    let header = screen_text(&app, 100, 30);
    assert!(
        header
            .lines()
            .next()
            .is_some_and(|l| l.contains("STEP: press 3r")),
        "{header}"
    );
    assert!(matches!(key(&mut app, '3'), Some(Command::Release(3))));
    // Worker 4 is not waiting, and there is no worker 1 in this run: a word, not a release.
    assert!(key(&mut app, '4').is_none());
    assert!(
        app.notice
            .as_deref()
            .is_some_and(|n| n.contains("not at a gate"))
    );
    assert!(key(&mut app, '1').is_none());
}

#[test]
fn a_replay_offers_only_what_works_and_shows_one_clock() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(120, 30));
    start(&mut app, '6');
    app.update(ev(1, 900, EventKind::Started));
    app.update(Msg::Tick(1_700_000_000));
    app.notice = None; // the start's word on the UI's pace
    // What a recording's source says of itself when it is attached.
    app.update(Msg::Steering(crate::source::Steering::RECORDING));
    app.update(Msg::Replay(crate::app::ReplayStatus {
        clock_ns: 1_000_000_000,
        duration_ns: 2_600_000_000,
        playing: true,
        speed: 1.0,
    }));
    let text = screen_text(&app, 120, 30);
    let (header, footer) = (
        text.lines().next().unwrap_or(""),
        text.lines().last().unwrap_or(""),
    );
    assert!(
        header.contains("1.0/2.6 s") && header.matches(" s ").count() == 1,
        "{header}"
    );
    assert!(
        footer.contains("←/→") && footer.contains("pause"),
        "{footer}"
    );
    assert!(
        !footer.contains(" m ") && !footer.contains(" e "),
        "{footer}"
    );
    // The keys that would do nothing say so instead.
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(
        ratatui::crossterm::event::KeyCode::Char('m'),
    )));
    assert!(!app.step && app.notice.is_some());
}

#[test]
fn every_worker_is_reachable_and_the_panel_says_how_many_are_hidden() {
    let key = |app: &mut App, c| {
        app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(c)));
    };
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(80, 24));
    start(&mut app, '4');
    for w in 1..=8 {
        app.update(ev(
            w,
            w as u64,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ));
    }
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("1-4 shown, ↑↓ for the other 4"), "{text}");
    assert!(text.contains("●1") && !text.contains("◉8"), "{text}");
    for _ in 0..10 {
        key(&mut app, ratatui::crossterm::event::KeyCode::Down);
    }
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("5-8 shown") && text.contains("◉8"), "{text}");
    key(&mut app, ratatui::crossterm::event::KeyCode::Up);
    assert!(screen_text(&app, 80, 24).contains("4-7 shown"));
    // At 160x48 all eight fit, and nothing says any are hidden.
    app.update(Msg::Resize(160, 48));
    let text = screen_text(&app, 160, 48);
    assert!(
        text.contains("◉8") && text.contains("●1") && !text.contains("shown,"),
        "{text}"
    );
    // A long role ends in an ellipsis rather than silently.
    assert_eq!(
        crate::ui::workers::ellipsis("job(q), n=1000000000", 14),
        "job(q), n=100…"
    );
}

#[test]
fn process_shows_the_childs_life_once_and_events_in_time_order() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(160, 48));
    start(&mut app, '1');
    app.update(ev(
        0,
        0,
        EventKind::Phase {
            name: "p1.start()".into(),
        },
    ));
    app.update(ev(
        1,
        1,
        EventKind::Spawned {
            method: "reexec".into(),
        },
    ));
    // The printed line arrives before the event stamped earlier (another pipe).
    app.update(ev(
        1,
        5,
        EventKind::Output {
            stream: crate::runtime::event::Stream::Stdout,
            text: "abc".into(),
        },
    ));
    app.update(ev(1, 3, EventKind::Started));
    app.update(ev(
        1,
        7,
        EventKind::Exit {
            code: Some(0),
            signal: None,
        },
    ));
    let text = screen_text(&app, 160, 48);
    assert_eq!(
        text.matches("Events (").count(),
        1,
        "one events list:\n{text}"
    );
    for stage in [
        "p1.start()",
        "runs job(1, 2)",
        "child prints: abc",
        "exits with code 0",
        "p1.join() returns",
    ] {
        assert!(text.contains(stage), "{stage:?} missing:\n{text}");
    }
    let running = text.find("running").expect("the started line");
    let abc = text.find("| abc").expect("the printed line");
    assert!(running < abc, "time order:\n{text}");
}

#[test]
fn the_pool_panel_prints_the_call_that_was_made() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(100, 30));
    let Some(crate::scenario::Params::Pool(mut p)) = crate::scenario::default_params("pool") else {
        panic!("pool");
    };
    p.apply_arg = 7;
    app.open_run(3, crate::scenario::Params::Pool(p));
    app.update(Msg::RunEnded(Ok(crate::app::Ended {
        ok: true,
        problems: Vec::new(),
        claims: Vec::new(),
        text: String::new(),
        details: serde_json::json!({"map": [0, 1], "apply_async": 49, "apply_async_list": []}),
    })));
    let text = screen_text(&app, 100, 30);
    assert!(text.contains("apply_async(job, (7,)).get() → 49"), "{text}");
}

#[test]
fn theme_and_sampling_keys_say_what_they_changed() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    start(&mut app, 't');
    assert!(
        app.notice
            .as_deref()
            .is_some_and(|n| n.starts_with("theme: light")),
        "{:?}",
        app.notice
    );
    start(&mut app, '[');
    assert!(
        app.notice
            .as_deref()
            .is_some_and(|n| n.contains("every 500 ms")),
        "{:?}",
        app.notice
    );
    // The light theme paints its own background: its black text is never on a dark one.
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    term.draw(|f| super::draw(f, &app)).expect("draw");
    let buf = term.backend().buffer();
    let reset = ratatui::style::Color::Reset;
    assert!(
        buf.content().iter().all(|c| c.bg != reset),
        "no cell is left on the terminal's own background"
    );
}

#[test]
fn small_things_a_user_meets() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    // While the screen is too small, a key starts nothing nobody could see.
    app.update(Msg::Resize(60, 20));
    assert!(
        app.update(Msg::Key(KeyEvent::from(KeyCode::Char('6'))))
            .is_none()
    );
    assert_eq!(app.screen, Screen::Picker);
    app.update(Msg::Resize(80, 24));
    start(&mut app, '6');
    assert_eq!(app.screen, Screen::Run);
    // Backspace is not esc.
    app.update(Msg::Key(KeyEvent::from(KeyCode::Backspace)));
    assert_eq!(app.screen, Screen::Run);
    // A screenshot is named with the local date and time.
    let name = crate::snapshot::screenshot_name(&app).display().to_string();
    let stamp = name
        .strip_prefix("mpviz-lock-")
        .and_then(|s| s.strip_suffix(".svg"))
        .unwrap_or_default();
    assert_eq!(stamp.len(), "2026-12-02_16-05-09".len(), "{name}");
    assert!(
        stamp.chars().nth(4) == Some('-') && stamp.chars().nth(10) == Some('_'),
        "{name}"
    );
    // The editor says what the selected field means.
    start(&mut app, 'e');
    for _ in 0..4 {
        app.update(Msg::Key(KeyEvent::from(KeyCode::Down)));
    }
    let text = screen_text(&app, 80, 24);
    assert!(
        text.contains("between reading the value and writing"),
        "{text}"
    );
}

#[test]
fn the_wheel_scrolls_and_f10_quits() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
    let wheel = |kind| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 10,
            modifiers: KeyModifiers::NONE,
        })
    };
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(80, 24));
    start(&mut app, '?');
    app.update(wheel(MouseEventKind::ScrollDown));
    assert_eq!(app.help_scroll, 1);
    app.update(wheel(MouseEventKind::ScrollUp));
    assert_eq!(app.help_scroll, 0);
    start(&mut app, '?');
    start(&mut app, '4');
    for w in 1..=8 {
        app.update(ev(
            w,
            w as u64,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ));
    }
    app.update(wheel(MouseEventKind::ScrollDown));
    assert_eq!(app.workers_first(), 1);
    assert!(matches!(
        app.update(Msg::Key(KeyEvent::from(KeyCode::F(10)))),
        Some(crate::app::Command::Quit)
    ));
}

#[test]
fn why_a_run_failed_is_shown_whole_at_80x24() {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(80, 24));
    let p = crate::scenario::default_params("lock").expect("lock");
    app.open_run(5, p);
    let why = "cannot start the threads that read worker 1: Resource temporarily unavailable \
               (os error 11) (is `ulimit -u` too low?)";
    app.update(Msg::RunEnded(Err(why.into())));
    let text = screen_text(&app, 80, 24);
    let flat: String = text
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("(is `ulimit -u` too low?)"), "{text}");
    assert!(flat.contains("read worker 1"), "{text}");
}

#[test]
fn a_click_on_a_worker_shows_its_details_and_the_wheel_scrolls_the_panel_under_it() {
    use ratatui::crossterm::event::MouseEventKind as K;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent};
    let mouse = |kind, column, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut app = App::new(std::time::Duration::from_millis(250), 0);
        app.update(Msg::Resize(w, h));
        start(&mut app, '6');
        for id in 1..=2 {
            app.update(ev(
                id,
                1,
                EventKind::Spawned {
                    method: "reexec".into(),
                },
            ));
            app.update(ev(id, 2, EventKind::Started));
        }
        for k in 0..40u64 {
            let who = 1 + (k % 2) as u16;
            let seq = k as u32 + 1;
            app.update(write(
                who,
                10 + k,
                (k as i128, k as i128 + 1),
                seq,
                (0, 0),
                (0, 0),
            ));
        }
        // The second worker's row: found on the screen, as a user aims at it.
        let text = screen_text(&app, w, h);
        let row = text
            .lines()
            .position(|l| l.contains("1002"))
            .expect("worker 2's row") as u16;
        app.update(mouse(K::Down(MouseButton::Left), 20, row));
        assert_eq!(app.picked, Some(2), "at {w}x{h}");
        let text = screen_text(&app, w, h);
        assert!(text.contains("worker ▲2"), "{text}");
        assert!(text.contains("pid 1002"), "{text}");
        assert!(text.contains("click it again or esc"), "{text}");
        // Only its own events: worker 1's writes are not among them.
        let details: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains("pid 1002 ·"))
            .collect();
        assert!(details.iter().any(|l| l.contains("worker 2")), "{text}");
        assert!(!details.iter().any(|l| l.contains("worker 1  ")), "{text}");
        // The wheel over the details goes back in its events; over the workers, it scrolls them.
        let inside = text
            .lines()
            .position(|l| l.contains("pid 1002 ·"))
            .expect("details") as u16;
        app.update(mouse(K::ScrollUp, 5, inside + 1));
        assert_eq!(app.log_scroll, 1);
        app.update(mouse(K::ScrollDown, 5, inside + 1));
        assert_eq!(app.log_scroll, 0);
        // Clicked again: closed. Esc closes first, then leaves the run.
        app.update(mouse(K::Down(MouseButton::Left), 20, row));
        assert_eq!(app.picked, None);
        app.update(mouse(K::Down(MouseButton::Left), 20, row));
        app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert_eq!((app.picked, app.screen), (None, Screen::Run));
        app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert_eq!(app.screen, Screen::Picker);
    }
}

/// A traced program's screen, fed `events` (worker, ms, kind) after its processes started.
fn program_screen(events: Vec<(u16, u64, EventKind)>, w: u16, h: u16) -> String {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(w, h));
    app.open(crate::model::about::About::program(
        "mine.py",
        "print('hi')\n".into(),
    ));
    for worker in 1..=3 {
        let spawned = EventKind::Spawned {
            method: "python".into(),
        };
        app.update(ev(worker, worker as u64, spawned));
        app.update(ev(worker, worker as u64, EventKind::Started));
    }
    for (worker, t, kind) in events {
        app.update(ev(worker, t, kind));
    }
    screen_text(&app, w, h)
}

#[test]
fn a_programs_panels_are_chosen_from_what_it_does() {
    use crate::runtime::event::Stream;
    // Nothing shared: each process's life and what it printed.
    let printed = |worker, text: &str| {
        (
            worker,
            10,
            EventKind::Output {
                stream: Stream::Stdout,
                text: text.into(),
            },
        )
    };
    let exit = |worker| {
        (
            worker,
            20,
            EventKind::Exit {
                code: Some(0),
                signal: None,
            },
        )
    };
    let text = program_screen(
        vec![printed(2, "from two"), printed(3, "from three"), exit(2)],
        80,
        24,
    );
    assert!(text.contains("Processes"), "{text}");
    for said in ["| from two", "| from three", "exit code 0 at"] {
        assert!(text.contains(said), "{said:?} missing:\n{text}");
    }
    assert!(!text.contains("Lock:"), "no lock taken, no lanes:\n{text}");
    assert!(!text.contains("waiting for the first write"), "{text}");

    // A queue: its items and who put them, and no value trace.
    let put = |worker, v| {
        (
            worker,
            10,
            EventKind::QueuePut {
                queue: 0,
                value: crate::runtime::Item::Num(Num::Int(v)),
            },
        )
    };
    let text = program_screen(vec![put(2, 41), put(3, 42)], 80, 24);
    assert!(
        text.contains("Queue: 2 put, 0 taken, 2 in the queue"),
        "{text}"
    );
    assert!(
        text.contains("put(41)") && text.contains("put(42)"),
        "{text}"
    );
    assert!(!text.contains("Processes"), "{text}");

    // Two queues, named as the program names them: a panel each, with its own items, and
    // each item taken by whoever got it, whichever stream brought the get first.
    let made = |queue, name: &str, what: &str| {
        (
            1,
            5,
            EventKind::QueueMade {
                queue,
                name: name.into(),
                what: what.into(),
                at: "mine.py:9".into(),
            },
        )
    };
    let on = |queue, worker, t, v| {
        (
            worker,
            t,
            EventKind::QueuePut {
                queue,
                value: crate::runtime::Item::Num(Num::Int(v)),
            },
        )
    };
    let got = |queue, worker, t, from, v| {
        (
            worker,
            t,
            EventKind::QueueGet {
                queue,
                from,
                value: crate::runtime::Item::Num(Num::Int(v)),
            },
        )
    };
    let text = program_screen(
        vec![
            made(257, "tasks", "JoinableQueue()"),
            made(258, "", "Queue()"),
            got(257, 2, 11, 1, 7),
            on(257, 1, 10, 7),
            on(257, 1, 12, 8),
            on(258, 2, 13, 49),
            got(258, 1, 14, 2, 49),
        ],
        80,
        24,
    );
    assert!(
        text.contains("JoinableQueue tasks: 2 put, 1 taken, 1 in the queue"),
        "{text}"
    );
    assert!(
        text.contains("Queue() at mine.py:9: 1 put, 1 taken, 0 in the queue"),
        "{text}"
    );
    assert!(text.contains("tasks.put(7)  taken by ▲2"), "{text}");
    assert!(text.contains("tasks.put(8)  in the queue"), "{text}");
    assert!(text.contains("q.put(49)  taken by ●1"), "{text}");

    // An Array's elements each get a trace; a lock's lanes are those of who took it.
    let element = |worker, t, index, (old, new)| {
        (
            worker,
            t,
            EventKind::Write {
                cell: 257,
                index,
                old: Num::Int(old),
                new: Num::Int(new),
                seq: t as u32,
                from: StoreId::default(),
                replaced: StoreId::default(),
            },
        )
    };
    let text = program_screen(
        vec![
            (2, 5, EventKind::LockRequested { lock: 0 }),
            (
                2,
                5,
                EventKind::LockAcquired {
                    lock: 0,
                    wait_ns: 0,
                    contended: false,
                },
            ),
            element(2, 6, 0, (1, 2)),
            element(2, 7, 1, (5, 9)),
            (
                2,
                8,
                EventKind::LockReleased {
                    lock: 0,
                    hold_ns: 3_000_000,
                },
            ),
        ],
        80,
        24,
    );
    assert!(text.contains("2 of 2"), "element 0, from 1 by +1:\n{text}");
    assert!(text.contains("9 of 9"), "element 1, from 5 by +4:\n{text}");
    assert!(text.contains("Lock: 1 acquisition"), "{text}");
    assert!(text.contains("hold 3.0/3.0/3.0 ms"), "{text}");
    let lanes = &text[text.find("Lock:").expect("lanes")..];
    assert!(
        !lanes.contains("■3"),
        "worker 3 never took the lock:\n{text}"
    );
}

#[test]
fn each_lock_of_a_program_has_its_own_lanes_named_as_the_program_names_it() {
    let made = |lock, name: &str| EventKind::LockMade {
        lock,
        name: name.into(),
        what: "Lock()".into(),
        at: "mine.py:4".into(),
    };
    // Worker 2 holds `la` and, inside it, `lb`; worker 3 waits for `lb` only.
    let take = |worker, t, lock, contended| {
        vec![
            (worker, t, EventKind::LockRequested { lock }),
            (
                worker,
                t + 1_000_000,
                EventKind::LockAcquired {
                    lock,
                    wait_ns: 1_000_000,
                    contended,
                },
            ),
        ]
    };
    let mut events = vec![(1, 4, made(257, "la")), (1, 4, made(258, "lb"))];
    events.extend(take(2, 10_000_000, 257, false));
    events.extend(take(2, 20_000_000, 258, false));
    events.push((
        2,
        30_000_000,
        EventKind::LockReleased {
            lock: 258,
            hold_ns: 9_000_000,
        },
    ));
    events.push((
        2,
        31_000_000,
        EventKind::LockReleased {
            lock: 257,
            hold_ns: 20_000_000,
        },
    ));
    events.extend(take(3, 25_000_000, 258, true));
    let text = program_screen(events.clone(), 80, 24);
    let la = text
        .find("Lock la: 1 acquisition, 0 contended")
        .expect(&text);
    let lb = text
        .find("Lock lb: 2 acquisitions, 1 contended")
        .expect(&text);
    assert!(la < lb, "in the order they were made:\n{text}");
    let la_lanes = &text[la..lb];
    assert!(la_lanes.contains("▲2"), "{text}");
    assert!(!la_lanes.contains("■3"), "3 never took la:\n{text}");
    assert!(
        la_lanes.contains("hold 20/20/20 ms"),
        "la's hold is its own, not lb's inside it:\n{text}"
    );
    assert!(text[lb..].contains("■3"), "3 took lb:\n{text}");
    assert!(
        text[lb..].contains("holds it, ") && text[lb..].contains("ms so far"),
        "3's first hold, not over, is timed so far (not zeros):\n{text}"
    );
    assert!(text[lb..].contains("hold 9.0/9.0/9.0 ms"), "{text}");
    // Where both do not fit (a value's trace above them at 80x24), the screen says which is
    // left out.
    events.push((
        2,
        22_000_000,
        EventKind::Write {
            cell: 300,
            index: 0,
            old: Num::Int(0),
            new: Num::Int(1),
            seq: 1,
            from: StoreId::default(),
            replaced: StoreId::default(),
        },
    ));
    let text = program_screen(events, 80, 24);
    assert!(text.contains("Lock la: 1 acquisition"), "{text}");
    assert!(text.contains("no room for Lock lb"), "{text}");
}

#[test]
fn a_float_values_trace_says_its_numbers_and_its_lost_update() {
    let write = |worker, t, (old, new), seq, replaced: StoreId| {
        (
            worker,
            t,
            EventKind::Write {
                cell: 258,
                index: 0,
                old: Num::Float(old),
                new: Num::Float(new),
                seq,
                from: StoreId::default(),
                replaced,
            },
        )
    };
    let made = (
        1,
        4,
        EventKind::Cell {
            cell: 258,
            name: "value2".into(),
            what: "Value('d')".into(),
            at: "mine.py:3".into(),
        },
    );
    // Both read the initial 2.5; the second store replaced the first: its +1 is lost.
    let text = program_screen(
        vec![
            made,
            write(2, 10, (2.5, 3.5), 1, StoreId::default()),
            write(3, 11, (2.5, 4.5), 1, StoreId { worker: 2, seq: 1 }),
        ],
        80,
        24,
    );
    assert!(text.contains("value2: 4.5 of 5.5 — 1 lost"), "{text}");
    assert!(
        text.contains("2.5→3.5"),
        "the lost write in its numbers:\n{text}"
    );
}

#[test]
fn what_a_process_waits_in_is_its_state_cut_to_the_column() {
    let blocked = |on: &str| EventKind::Blocked { on: on.into() };
    let events = || {
        vec![
            (2, 10, blocked("ev.wait()")),
            (3, 11, blocked("self._call_queue.get()")),
        ]
    };
    let narrow = program_screen(events(), 80, 24);
    assert!(narrow.contains("in ev.wait()"), "{narrow}");
    assert!(narrow.contains("in self._call_q…"), "{narrow}");
    let wide = program_screen(events(), 100, 30);
    assert!(wide.contains("in self._call_queue.get()"), "{wide}");
}
