//! The live terminal UI: one event loop selecting over keyboard and mouse input, the sampler,
//! the running scenario's events and a frame timer. Input becomes messages for `App::update`;
//! the commands it returns are carried out here (start, pause, speed, step, quit).

pub mod term;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, never, select, tick};
use ratatui::crossterm::event::{self, Event};

use crate::app::{App, Command, Msg};
use crate::monitor::Sampler;
use crate::runtime::{RuntimeOptions, StartMethod};
use crate::source::replay::Player;
use crate::source::scenario::Driver;
use crate::source::{Feed, Sink, Source};
use term::TerminalGuard;

/// How the UI starts.
#[derive(Debug, Clone)]
pub struct UiOptions {
    /// Open this scenario at once (index into `scenario::ALL`).
    pub scenario: Option<usize>,
    pub theme: usize,
    pub refresh: Duration,
    pub method: StartMethod,
    /// Play this recording instead of running workers.
    pub replay: Option<crate::replay::Recording>,
    /// Record the session as an asciicast to this file.
    pub record: Option<std::path::PathBuf>,
    /// Parameters to open `scenario` with (instead of its defaults for watching).
    pub params: Option<crate::scenario::Params>,
    /// The speed to start at (`app::permille_of`).
    pub speed_permille: u32,
    /// The config file `S` writes (none with `--no-config`).
    pub config: Option<std::path::PathBuf>,
    /// What was wrong with the config file, shown at start.
    pub notices: Vec<String>,
    /// Trace this Python program instead of running a scenario.
    pub python: Option<crate::python::PythonRun>,
}

/// Frames per second at most; a frame is drawn only when something changed.
pub const FRAME: Duration = Duration::from_millis(33);
/// How often a live run's screen is redrawn when no event or sample changed it: its clocks
/// show tenths of a second.
pub const CLOCK_STEP: Duration = Duration::from_millis(100);
/// With this set in the environment, `!` makes the UI panic: a hidden trigger for the tests
/// that check a crash still restores the terminal and leaves no worker or segment behind.
pub const TEST_PANIC_ENV: &str = "MPVIZ_TEST_PANIC";

/// Runtime events applied per loop turn before drawing again, so a flood cannot starve input.
const EVENT_BATCH: usize = 20_000;

fn spawn_input(stop: Arc<AtomicBool>) -> std::io::Result<Receiver<Msg>> {
    let (tx, rx) = crossbeam_channel::bounded(256);
    std::thread::Builder::new().spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            // Poll with a timeout so the thread notices the UI closing.
            match event::poll(Duration::from_secs(1)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let msg = match event::read() {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    })?;
    Ok(rx)
}

/// Ticks every `interval` (no faster than sysinfo can measure a load).
pub fn sample_clock(interval: Duration) -> Receiver<Instant> {
    tick(interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL))
}

struct Session {
    app: App,
    /// Where the run's events come from: a scenario's workers or a recording.
    source: Option<Box<dyn Source>>,
    /// The CPU sampler, run by this loop on its own clock (no thread of its own: a wake-up
    /// per refresh is most of what sampling costs).
    sampler: Sampler,
    sample_clock: Receiver<Instant>,
    method: StartMethod,
    /// Where `S` keeps the settings.
    config: Option<std::path::PathBuf>,
}

impl Session {
    /// Attaches a source: the app learns what it can steer.
    fn attach(&mut self, source: Box<dyn Source>) {
        self.app.update(Msg::Steering(source.steering()));
        self.source = Some(source);
    }

    /// Applies one item of the source's feed; a live run's source that has ended is let go
    /// (its thread has finished: the join is immediate).
    fn apply(&mut self, f: Feed) {
        let ended = matches!(f, Feed::Ended(_));
        self.app.feed(f);
        if ended && self.source.as_ref().is_some_and(|s| !s.steering().again) {
            self.source = None;
        }
    }

    /// What the source has due now, up to `budget` items.
    fn pull(&mut self, now: Instant, budget: usize) -> bool {
        let Some(src) = self.source.as_mut() else {
            return false;
        };
        let mut got: Vec<Feed> = Vec::new();
        let any = src.due(now, budget, &mut got);
        for f in got {
            self.apply(f);
        }
        self.status();
        any
    }

    /// A recording's clock, for the header.
    fn status(&mut self) {
        if let Some(st) = self.source.as_ref().and_then(|s| s.status()) {
            self.app.update(Msg::Replay(st));
        }
    }

    /// A command aimed at the run, if the source carries it out.
    fn steer(&mut self, cmd: &Command) -> bool {
        let Some(src) = self.source.as_mut() else {
            return false;
        };
        let mut got: Vec<Feed> = Vec::new();
        let done = src.steer(cmd, &mut got);
        for f in got {
            self.apply(f);
        }
        self.status();
        done
    }

    fn execute(&mut self, cmd: Command) {
        if self.steer(&cmd) {
            return;
        }
        match cmd {
            Command::Seek(_)
            | Command::Pause(_)
            | Command::Speed(_)
            | Command::Step(_)
            | Command::Release(_) => {}
            Command::Start(_, params) => {
                self.source = None; // cancels and cleans up the previous run first
                let opts = RuntimeOptions {
                    method: self.method,
                    speed_permille: self.app.speed_permille,
                    gates: self.app.step,
                    ..RuntimeOptions::default()
                };
                self.attach(Box::new(Driver::start(*params, opts)));
            }
            Command::Stop => self.source = None,
            Command::Refresh(d) => self.sample_clock = sample_clock(d),
            Command::Screenshot => {
                let path = crate::snapshot::screenshot_name(&self.app);
                let msg = match crate::snapshot::save(&self.app, self.app.size, &path, None) {
                    Ok(()) => format!("saved {}", path.display()),
                    Err(e) => format!("could not save {}: {e}", path.display()),
                };
                self.app.update(Msg::Notice(msg));
            }
            Command::SaveSettings => {
                let msg = self.save_settings();
                self.app.update(Msg::Notice(msg));
            }
            // Only a source that can run its program again does (a Python run).
            Command::Restart | Command::Quit => {}
        }
    }

    /// Writes the settings in use to the config file; says what happened.
    fn save_settings(&self) -> String {
        let Some(path) = &self.config else {
            return "no config file to write (--no-config, or no HOME): give --config FILE".into();
        };
        let settings = crate::config::Settings {
            theme: crate::ui::theme::THEMES
                .get(self.app.theme)
                .map(|t| t.name.to_string()),
            refresh_ms: Some(self.app.refresh.as_millis() as u64),
            speed: Some(self.app.speed()),
            start_method: Some(match self.method {
                StartMethod::Fork => crate::cli::MethodArg::Fork,
                StartMethod::Reexec => crate::cli::MethodArg::Reexec,
            }),
        };
        match crate::config::save(path, &settings) {
            Ok(()) => format!(
                "settings kept in {} (theme {}, CPU every {} ms, speed ×{})",
                path.display(),
                settings.theme.as_deref().unwrap_or("default"),
                self.app.refresh.as_millis(),
                self.app.speed()
            ),
            Err(e) => format!("could not write {}: {e}", path.display()),
        }
    }

    fn update(&mut self, msg: Msg) {
        if let Some(cmd) = self.app.update(msg) {
            self.execute(cmd);
        }
    }
}

/// Runs the UI until the user quits. The terminal is restored and every worker is gone when
/// this returns (or unwinds).
pub fn run(opts: UiOptions) -> std::io::Result<()> {
    let cast = match &opts.record {
        Some(path) => {
            let (w, h) = ratatui::crossterm::terminal::size()?;
            Some(crate::export::cast::Cast::create(path, w, h, "mpviz")?)
        }
        None => None,
    };
    let mut guard = TerminalGuard::enter(cast)?;
    let test_panic = std::env::var_os(TEST_PANIC_ENV).is_some();
    let stop_input = Arc::new(AtomicBool::new(false));
    let input = spawn_input(stop_input.clone()).map_err(|e| {
        std::io::Error::other(format!(
            "cannot start the input thread: {e} (is `ulimit -u` too low?)"
        ))
    })?;
    let mut s = Session {
        app: App::new(opts.refresh, opts.theme),
        source: None,
        sampler: Sampler::new(),
        sample_clock: sample_clock(opts.refresh),
        method: opts.method,
        config: opts.config,
    };
    s.app.speed_permille = opts.speed_permille;
    let size = guard.terminal.size()?;
    s.app.update(Msg::Resize(size.width, size.height));
    if let Some(what) = opts.python {
        s.attach(Box::new(crate::source::python::PythonSource::start(
            what,
            opts.speed_permille,
            false,
        )));
        // Its screen, put first on its feed before it starts: the first frame (a recording's
        // first too) is the program's, not the picker's.
        s.pull(Instant::now(), 1);
    } else if let Some(rec) = opts.replay {
        let mut p = Player::new(rec);
        p.open(&mut s.app);
        p.catch_up(&mut s.app);
        s.attach(Box::new(p));
        s.status();
    } else if let Some(i) = opts.scenario {
        if let Some(p) = opts.params {
            s.app.choose(i, p);
        }
        s.app.selected = i;
        s.update(Msg::Key(event::KeyEvent::from(event::KeyCode::Enter)));
    }
    // A damaged config file is said first thing (and was printed before the UI opened).
    if !opts.notices.is_empty() {
        s.app.notice = Some(opts.notices.join(" · "));
    }
    let frames = tick(FRAME);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    while !s.app.quit {
        // SIGTERM or SIGHUP (the terminal closed): leave as if the user had pressed q.
        if crate::runtime::spawn::interrupted() {
            break;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            guard.terminal.draw(|f| crate::ui::draw(f, &s.app))?;
            dirty = false;
            last_draw = Instant::now();
        }
        let arrivals = s.source.as_ref().and_then(|src| src.arrivals());
        let none = never();
        // The frame clock wakes the loop only while something moves between events (a live
        // run's clocks, a playing replay) or a frame is owed; an idle screen sleeps until the
        // next sample or key.
        let clocked = s
            .source
            .as_ref()
            .is_some_and(|src| src.arrivals().is_none());
        let playing = s
            .source
            .as_ref()
            .and_then(|src| src.status())
            .is_some_and(|st| st.playing);
        let live = !clocked && s.app.live();
        let moving = live || playing;
        let no_frames = never();
        let frame_clock = if moving || dirty { &frames } else { &no_frames };
        select! {
                        recv(input) -> m => match m {
                Ok(m) => {
                    if test_panic && matches!(&m, Msg::Key(k) if k.code == event::KeyCode::Char('!')) {
                        panic!("test-only panic: {TEST_PANIC_ENV} is set and '!' was pressed");
                    }
                    if let Msg::Resize(w, h) = m {
                        guard.resized(w, h);
                    }
                    s.update(m);
                    // Keys get an answer at once, not at the next frame.
                    last_draw = Instant::now() - FRAME;
                    dirty = true;
                }
                Err(_) => break,
            },
            recv(s.sample_clock) -> _ => {
                // A resize that came before the input thread listened for it (at start) is
                // caught here, at the latest one sample later.
                if let Ok((w, h)) = ratatui::crossterm::terminal::size()
                    && (w, h) != s.app.size
                    && w > 0
                    && h > 0
                {
                    guard.resized(w, h);
                    s.update(Msg::Resize(w, h));
                }
                let smp = s.sampler.sample(&s.app.live_pids());
                s.update(Msg::Sample(smp));
                dirty = true;
            },
            recv(arrivals.as_ref().unwrap_or(&none)) -> m => {
                match m {
                    Ok(f) => {
                        s.apply(f);
                        // The rest of a burst at once (bounded, so input is never starved).
                        s.pull(Instant::now(), EVENT_BATCH - 1);
                    }
                    // The run's thread is gone; stop listening to it.
                    Err(_) => {
                        if !s.source.as_mut().is_some_and(|src| src.drained()) {
                            s.source = None;
                        }
                    }
                }
                dirty = true;
            },
            recv(frame_clock) -> _ => {
                if clocked && s.pull(Instant::now(), EVENT_BATCH) {
                    dirty = true;
                } else if live && last_draw.elapsed() >= CLOCK_STEP {
                    // Only a live run needs redrawing between events (its clocks move on, in
                    // tenths of a second: a frame per tenth is enough for them).
                    s.update(Msg::Tick(crate::runtime::clock::now_ns()));
                    dirty = true;
                }
            },
        }
    }
    stop_input.store(true, Ordering::Relaxed);
    // Cancel the run and reap its workers before the terminal comes back.
    s.source = None;
    drop(guard);
    Ok(())
}
