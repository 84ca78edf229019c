//! Pictures made without a terminal: a scenario runs headless, its events drive the same app
//! state and widgets as the live UI, and at a chosen moment the screen is written as SVG, HTML,
//! text or ANSI. The live UI's `s` key uses `save` here too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::select;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::{App, Command, Msg};
use crate::export::{self, Format, Picture};
use crate::monitor::Monitor;
use crate::runtime::RuntimeOptions;
use crate::scenario::{self, Params, RunError};
use crate::source::scenario::Driver;
use crate::source::{Feed, Sink, Source};
use crate::ui::theme::THEMES;

/// A moment of a run worth a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Moment {
    /// The first update lost to a race (lock, without the lock).
    FirstLostUpdate,
    /// The lock passes from one worker to another.
    LockHandover,
    /// Workers wait in a ring for each other's locks (a traced program's deadlock).
    Deadlock,
    /// The run has finished.
    Done,
}

impl Moment {
    /// The moment as the command line names it (clap's own name for the value).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map_or_else(|| format!("{self:?}"), |v| v.get_name().to_string())
    }

    /// What makes the moment come, for a run that ended without it.
    fn hint(self, scenario: &str) -> &'static str {
        match (self, scenario) {
            (Moment::FirstLostUpdate, "lock") => {
                " (a race window, --race-window-ms 30, makes lost updates likely)"
            }
            (Moment::FirstLostUpdate, "python") => {
                " (this run of the program lost no update: races are rare where it sleeps between \
                 writes; take it again, or at `done`)"
            }
            (Moment::FirstLostUpdate, _) => " (only the lock scenario loses updates)",
            (Moment::LockHandover, "lock") => " (the lock passes hands in --mode locked or both)",
            (Moment::LockHandover, "python") => " (this program's lock never changed hands)",
            (Moment::LockHandover, _) => " (only the lock scenario has a lock handover)",
            (Moment::Deadlock, "python") => " (this program never deadlocked)",
            (Moment::Deadlock, _) => {
                " (a scenario's one lock cannot deadlock; a Python program can: `snapshot python \
                 SCRIPT`)"
            }
            (Moment::Done, _) => "",
        }
    }

    fn reached(self, app: &App) -> bool {
        let Some(run) = &app.run else { return false };
        match self {
            Moment::FirstLostUpdate => run.trace.runs.iter().any(|r| !r.lost.is_empty()),
            Moment::LockHandover => run.lock_timelines().any(|l| l.handovers() > 0),
            Moment::Deadlock => run.deadlock().is_some(),
            Moment::Done => run.ended.is_some(),
        }
    }
}

/// Draws the app's current screen into a buffer of `size`.
pub fn frame(app: &App, size: (u16, u16)) -> Buffer {
    let area = Rect::new(0, 0, size.0, size.1);
    let mut buf = Buffer::empty(area);
    crate::ui::render(app, area, &mut buf);
    buf
}

/// Writes the app's screen to `path` in `format` (or the one its extension names).
pub fn save(
    app: &App,
    size: (u16, u16),
    path: &Path,
    format: Option<Format>,
) -> std::io::Result<()> {
    let format = format
        .or_else(|| Format::from_path(path))
        .unwrap_or(Format::Svg);
    let theme = &THEMES[app.theme % THEMES.len()];
    let title = app
        .run
        .as_ref()
        .map_or("mpviz".to_string(), |r| r.about.picture_title());
    let pic = Picture {
        title,
        frame: true,
        light: theme.name == "light",
    };
    export::files::write_whole(
        path,
        export::render(&frame(app, size), format, &pic).as_bytes(),
    )
}

/// A file name for a screenshot taken now: `mpviz-lock-1764170000.svg`.
pub fn screenshot_name(app: &App) -> PathBuf {
    let name = app.run.as_ref().map_or("picker", |r| r.name());
    PathBuf::from(format!(
        "mpviz-{name}-{}.svg",
        crate::runtime::sys::local_time_stamp()
    ))
}

/// When a picture is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Seconds after the start.
    At(f64),
    When(Moment),
}

impl Trigger {
    fn due(self, app: &App, elapsed: f64) -> bool {
        match self {
            Trigger::At(at) => elapsed >= at,
            Trigger::When(m) => m.reached(app),
        }
    }
}

/// The pictures to take of one run, in order.
#[derive(Debug, Clone)]
pub struct Shot {
    pub shots: Vec<(Trigger, PathBuf)>,
    pub format: Option<Format>,
    pub size: (u16, u16),
    pub theme: usize,
    pub runtime: RuntimeOptions,
    /// Also record the screen as an asciicast, a frame every 100 ms while it changes.
    pub record: Option<PathBuf>,
}

/// Frames of a headless run written to an asciicast.
struct Recorder {
    cast: crate::export::cast::Cast,
    last: String,
    at: Instant,
}

impl Recorder {
    fn frame(&mut self, app: &App, size: (u16, u16), force: bool) -> Result<(), RunError> {
        if !force && self.at.elapsed() < Duration::from_millis(100) {
            return Ok(());
        }
        self.at = Instant::now();
        let out = crate::export::cast::frame_output(&frame(app, size));
        if out != self.last {
            self.cast
                .output(out.as_bytes())
                .map_err(|e| RunError::Failed(format!("recording: {e}")))?;
            self.last = out;
        }
        Ok(())
    }
}

/// Longest a snapshot waits for its moment.
const PATIENCE: Duration = Duration::from_secs(300);

/// What a snapshot runs: a scenario on mpviz's workers, or a Python program under the probe.
#[derive(Debug, Clone)]
pub enum Subject {
    Scenario(Params),
    Python(crate::python::PythonRun),
}

/// Runs `subject` headless and writes each picture at the moment `shot` asks for.
pub fn take(subject: Subject, shot: &Shot) -> Result<(), RunError> {
    let refresh = Duration::from_millis(250);
    let mut app = App::new(refresh, shot.theme);
    app.update(Msg::Resize(shot.size.0, shot.size.1));
    let source: Box<dyn Source> = match subject {
        Subject::Scenario(params) => {
            let index = scenario::index_of(params.name())
                .ok_or_else(|| RunError::Usage("unknown scenario".into()))?;
            app.open_run(index, params.clone());
            Box::new(Driver::start(params, shot.runtime.clone()))
        }
        Subject::Python(what) => {
            what.check()?;
            // Its screen is opened by the first item of its feed.
            Box::new(crate::source::python::PythonSource::start(
                what,
                shot.runtime.speed_permille,
                false,
            ))
        }
    };
    let monitor = Monitor::start(refresh).map_err(|e| {
        RunError::Failed(format!(
            "cannot start the CPU sampler thread: {e} (is `ulimit -u` too low?)"
        ))
    })?;
    // The footer offers what this source can do, as in the UI.
    app.update(Msg::Steering(source.steering()));
    let mut source = Some(source);
    let mut recorder = match &shot.record {
        Some(path) => Some(Recorder {
            cast: crate::export::cast::Cast::create(path, shot.size.0, shot.size.1, "mpviz")
                .map_err(|e| RunError::Failed(format!("cannot write {}: {e}", path.display())))?,
            last: String::new(),
            at: Instant::now(),
        }),
        None => None,
    };
    let start = Instant::now();
    let mut pending = shot.shots.iter();
    let mut next = pending.next();
    // Set while the run is held at its moment until the CPU bars have a first sample.
    let mut frozen = false;
    while let Some((trigger, path)) = next {
        let elapsed = start.elapsed().as_secs_f64();
        if frozen || trigger.due(&app, elapsed) {
            if app.cpu.samples > 0 {
                save(&app, shot.size, path, shot.format).map_err(|e| {
                    RunError::Failed(format!("cannot write {}: {e}", path.display()))
                })?;
                // A reader that has gone (a closed pipe) is no reason to stop taking pictures.
                let _ = std::io::Write::write_fmt(
                    &mut std::io::stdout(),
                    format_args!("wrote {}\n", path.display()),
                );
                next = pending.next();
                if frozen {
                    frozen = false;
                    if let Some(d) = source.as_mut() {
                        d.steer(&Command::Pause(false), &mut app);
                    }
                }
                continue;
            }
            // The moment came before the first CPU sample: hold the workers (and stop reading
            // their events) so the picture shows this moment, not a later one.
            if !frozen {
                frozen = true;
                if let Some(d) = source.as_mut() {
                    d.steer(&Command::Pause(true), &mut app);
                }
            }
        }
        if start.elapsed() > PATIENCE {
            let moment = match trigger {
                Trigger::When(m) => m.name(),
                Trigger::At(s) => format!("{s} s"),
            };
            return Err(RunError::Failed(format!(
                "{moment} did not come within {} s",
                PATIENCE.as_secs()
            )));
        }
        let ended = app.run.as_ref().is_some_and(|r| r.ended.is_some());
        if ended && matches!(trigger, Trigger::When(_)) && !trigger.due(&app, elapsed) {
            let (moment, hint) = match trigger {
                Trigger::When(m) => (m.name(), m.hint(app.run.as_ref().map_or("", |r| r.name()))),
                Trigger::At(_) => ("the moment".to_string(), ""),
            };
            return Err(RunError::Failed(format!(
                "the run ended before {moment}; {} was not written{hint}",
                path.display()
            )));
        }
        let rx = source
            .as_ref()
            .filter(|_| !frozen)
            .and_then(|d| d.arrivals());
        let never = crossbeam_channel::never();
        select! {
            recv(rx.as_ref().unwrap_or(&never)) -> m => match m {
                Ok(f) => {
                    let ended = matches!(f, Feed::Ended(_));
                    app.feed(f);
                    if ended {
                        source = None;
                    }
                }
                Err(_) => source = None,
            },
            recv(monitor.samples) -> s => if let Ok(s) = s {
                app.update(Msg::Sample(s));
                                monitor.watch(app.live_pids());
            },
            default(Duration::from_millis(20)) => {},
        }
        if crate::runtime::spawn::interrupted() {
            return Err(crate::runtime::RuntimeError::Interrupted.into());
        }
        app.update(Msg::Tick(crate::runtime::clock::now_ns()));
        if let Some(r) = recorder.as_mut() {
            r.frame(&app, shot.size, false)?;
        }
    }
    if let Some(mut r) = recorder {
        r.frame(&app, shot.size, true)?;
        r.cast
            .flush()
            .map_err(|e| RunError::Failed(format!("recording: {e}")))?;
    }
    // Stop the run if it still goes on: nothing of it is left behind.
    drop(source);
    Ok(())
}

/// One run of a demo tape.
#[derive(Debug, Clone, PartialEq)]
pub struct TapeRun {
    /// `mpviz run` arguments: the scenario and its parameters.
    pub args: Vec<String>,
    pub size: (u16, u16),
    pub theme: Option<String>,
    /// Who runs it: mpviz's workers, or CPython running the scenario's program.
    pub engine: crate::cli::Engine,
    pub shots: Vec<(Trigger, PathBuf)>,
}

/// Parses a demo tape: `run SCENARIO [PARAMS]` starts a run (`run python SCRIPT [ARGS]` a
/// program of one's own under the probe); `size WxH` and `theme NAME` set its screen; `engine
/// python` runs the scenario's own program under the probe; `shot MOMENT|SECONDS FILE` takes a
/// picture; `#` starts a comment.
pub fn parse_tape(text: &str) -> Result<Vec<TapeRun>, String> {
    let mut runs: Vec<TapeRun> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |msg: String| format!("line {}: {msg}", n + 1);
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        if verb == "run" {
            if rest.is_empty() {
                return Err(at("run needs a scenario".into()));
            }
            runs.push(TapeRun {
                args: rest.iter().map(|s| s.to_string()).collect(),
                size: (120, 40),
                theme: None,
                engine: crate::cli::Engine::Rust,
                shots: Vec::new(),
            });
            continue;
        }
        let run = runs
            .last_mut()
            .ok_or_else(|| at(format!("{verb} before any run")))?;
        match (verb, rest.as_slice()) {
            ("size", [s]) => run.size = crate::cli::parse_size(s).map_err(at)?,
            ("theme", [t]) => run.theme = Some(t.to_string()),
            ("engine", [e]) => {
                run.engine = <crate::cli::Engine as clap::ValueEnum>::from_str(e, true)
                    .map_err(|_| at(format!("unknown engine {e:?} (rust, python)")))?;
            }
            ("shot", [when, file]) => {
                let trigger = match when.parse::<f64>() {
                    Ok(secs) if (0.0..=600.0).contains(&secs) => Trigger::At(secs),
                    Ok(secs) => return Err(at(format!("{secs} s is not between 0 and 600"))),
                    Err(_) => Trigger::When(
                        <Moment as clap::ValueEnum>::from_str(when, true).map_err(|_| {
                            at(format!(
                                "unknown moment {when:?} (first-lost-update, lock-handover, deadlock, done)"
                            ))
                        })?,
                    ),
                };
                run.shots.push((trigger, PathBuf::from(file)));
            }
            _ => return Err(at(format!("cannot read {line:?}"))),
        }
    }
    Ok(runs)
}
