//! The UI's state: what the screens show, changed only by messages (keys, mouse, runtime
//! events, sampler readings, ticks). `update` does no I/O: it returns a `Command` for the event
//! loop to carry out (start a run, pause the workers, change the speed, ...).

pub mod cpu;
pub mod form;
pub mod help;
pub mod layout;
pub mod trace;
pub mod views;
pub mod workers;

use std::collections::VecDeque;
use std::time::Duration;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use crate::model::about::About;
use crate::model::pause::Pauses;
use crate::monitor::Sample;
use crate::runtime::control::{MAX_PERMILLE, MIN_PERMILLE};
use crate::runtime::{Envelope, EventKind, Stage};
use crate::scenario::{self, Params};

use cpu::CpuState;
use trace::{LockTimeline, ValueTrace};
use views::{CompareView, Lives, PoolView, ProcessView, Queues, SharedCell, SharedView};
use workers::WorkersState;

/// Everything that can change the UI's state.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Time passes (CLOCK_MONOTONIC ns): running clocks and durations move on between events.
    Tick(u64),
    Event(Envelope),
    Sample(Sample),
    /// The run finished (its summary) or failed (a message).
    RunEnded(Result<Ended, String>),
    /// Something to tell the user in the footer.
    Notice(String),
    /// Where a replay's clock stands.
    Replay(ReplayStatus),
    /// What the run's source can be steered to do.
    Steering(crate::source::Steering),
}

/// What the event loop must do for the UI.
#[derive(Debug, Clone)]
pub enum Command {
    /// Start scenario `ALL[i]` with these parameters (ending any run first).
    Start(usize, Box<Params>),
    /// End the current run (kill its workers) and go back to the picker.
    Stop,
    Pause(bool),
    Speed(u32),
    Step(bool),
    Release(u16),
    Refresh(Duration),
    /// Save the current screen as a picture.
    Screenshot,
    /// Keep the theme, refresh and speed (and the start method) in the config file.
    SaveSettings,
    /// Run the same program again (a traced Python run).
    Restart,
    /// Replay only: move the clock by this many milliseconds (negative: back).
    Seek(i64),
    Quit,
}

/// A replay's clock, for the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayStatus {
    pub clock_ns: u64,
    pub duration_ns: u64,
    pub playing: bool,
    pub speed: f64,
}

/// How a run ended, as the UI shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub ok: bool,
    pub problems: Vec<String>,
    pub claims: Vec<crate::scenario::Claim>,
    pub text: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Picker,
    Run,
}

/// Speeds the `+` and `-` keys step through (how many times faster than the tutorial).
pub const SPEEDS: [f64; 9] = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 25.0, 100.0];

/// Lines of recent events kept for the log.
const LOG_LINES: usize = 200;

/// Puts `item` into `q` in time order, the oldest dropped once `cap` are kept: a worker's
/// printed lines come through another stream than its events and may arrive after later ones.
pub fn insert_by_time<T>(q: &mut VecDeque<T>, cap: usize, item: T, t: impl Fn(&T) -> u64) {
    if q.len() == cap {
        q.pop_front();
    }
    let at = q.len() - q.iter().rev().take_while(|x| t(x) > t(&item)).count();
    q.insert(at, item);
}

/// State of one scenario run on screen.
#[derive(Debug, Clone)]
pub struct RunState {
    /// What the run is: its title, code, panel and the figures it is measured against.
    pub about: About,
    pub t0: Option<u64>,
    pub now_ns: u64,
    /// When the workers were stopped: the clocks shown leave it out.
    pub pauses: Pauses,
    /// The parent's current phase (`unlocked`, `map(job, range(10))`, ...).
    pub phase: String,
    /// Workers spawned in the current phase, in order (worker k of a step script).
    pub phase_workers: Vec<u16>,
    pub workers: WorkersState,
    pub trace: ValueTrace,
    /// A scenario's one lock (lock 0).
    pub lock: LockTimeline,
    /// A traced program's locks, by the numbers the probe gave them, from when each was made
    /// or first taken.
    pub locks: trace::Locks,
    pub process: ProcessView,
    /// The shared cells' names (a scenario's from its parameters, a program's as it makes them).
    pub cells: crate::model::names::CellNames,
    /// Every process's life and output (a traced program's screen).
    pub lives: Lives,
    /// Each queue's items (a scenario's one queue is number 0).
    pub queues: Queues,
    pub pool: PoolView,
    pub compare: CompareView,
    pub shared: SharedView,
    /// The newest events worth a line in the log.
    pub log: VecDeque<Envelope>,
    pub events: u64,
    pub ended: Option<Result<Ended, String>>,
    /// What the run does now, as a code-pane marker key (`write`, `map(job, range(10))`, ...).
    pub activity: String,
    /// The source line a process said it is at most recently (a traced program), from 1.
    pub line: Option<u32>,
}

impl RunState {
    /// Workers waiting in a ring for locks each other hold, if any (see `trace::deadlock`).
    pub fn deadlock(&self) -> Option<Vec<trace::WaitsFor>> {
        trace::deadlock(self.lock_timelines())
    }

    /// Every lock's timeline: a scenario's one lock, then a program's by number.
    pub fn lock_timelines(&self) -> impl Iterator<Item = &LockTimeline> {
        std::iter::once(&self.lock).chain(self.locks.of.values())
    }

    pub fn new(about: About) -> Self {
        let shared = SharedView::new(
            about
                .segment
                .iter()
                .zip(about.cells.iter())
                .map(|(values, n)| SharedCell {
                    name: n.name.clone(),
                    values: values.clone(),
                    last_writer: None,
                    writes: 0,
                })
                .collect(),
        );
        // A program's writes are traced one trace per value; a scenario's one per run.
        let trace = if about.is_program() {
            ValueTrace::by_cell()
        } else {
            ValueTrace::default()
        };
        RunState {
            cells: about.cells.clone(),
            about,
            t0: None,
            now_ns: 0,
            pauses: Pauses::default(),
            phase: String::new(),
            phase_workers: Vec::new(),
            workers: WorkersState::default(),
            trace,
            lock: LockTimeline::default(),
            locks: Default::default(),
            process: ProcessView::default(),
            lives: Lives::default(),
            queues: Queues::default(),
            pool: PoolView::default(),
            compare: CompareView::default(),
            shared,
            log: VecDeque::with_capacity(LOG_LINES),
            events: 0,
            ended: None,
            activity: String::new(),
            line: None,
        }
    }

    pub fn name(&self) -> &'static str {
        self.about.name
    }

    /// A traced program's screen, not a scenario's.
    pub fn is_program(&self) -> bool {
        self.about.is_program()
    }

    /// What the worker about to be added does, in a few words.
    fn role(&self) -> String {
        self.about.role(
            self.phase_workers.len(),
            &self.phase,
            self.workers.rows.is_empty(),
        )
    }

    pub fn on_event(&mut self, e: &Envelope) {
        self.t0.get_or_insert(e.t_ns);
        self.now_ns = self.now_ns.max(e.t_ns);
        self.pauses.observe(e);
        self.events += 1;
        if let EventKind::At { line } = e.kind {
            self.line = Some(line);
        }
        if e.worker == 0
            && let EventKind::Phase { name } = &e.kind
        {
            self.phase = name.clone();
            self.phase_workers.clear();
        }
        // The role is worked out only for a new worker, not for every event.
        let role = match &e.kind {
            EventKind::Spawned { method } if self.is_program() && method == "thread" => {
                Some("thread".to_string())
            }
            EventKind::Spawned { .. } => Some(self.role()),
            _ => None,
        };
        self.workers.on_event(e, || role.unwrap_or_default());
        // A Python process or thread is named by what it runs, once it says.
        if self.is_program()
            && let EventKind::Phase { name } = &e.kind
            && let Some(r) = self.workers.get_mut(e.worker)
            && (r.role == "python" || r.role == "thread")
        {
            r.role = if r.role == "thread" {
                format!("{name}() thread")
            } else {
                format!("{name}()")
            };
        }
        if matches!(e.kind, EventKind::Spawned { .. }) {
            self.phase_workers.push(e.worker);
        }
        // (A traced program's code pane follows the lines its processes say, not markers.)
        if !self.is_program()
            && let Some(a) = self.activity_of(e)
            && a != self.activity
            && crate::scenario::code::line_for(&self.about.code.text, a).is_some()
        {
            self.activity = a.to_string();
        }
        self.cells.learn(&e.kind);
        self.trace.on_event(e);
        self.lock.on_event(e);
        self.locks.on_event(e, &self.lock.stats.pauses);
        self.process.on_event(e);
        self.lives.on_event(e);
        self.queues.on_event(e);
        self.pool.on_event(e);
        self.compare.on_event(e);
        self.shared.on_event(e);
        // Kept as events and formatted only when drawn: a flood of events costs no strings.
        if crate::report::is_logged(e) {
            insert_by_time(&mut self.log, LOG_LINES, e.clone(), |x| x.t_ns);
        }
    }

    /// The code-pane key an event stands for, if it moves the highlighted line.
    /// (Borrowed: this runs for every event, and most keys are fixed words.)
    fn activity_of<'e>(&self, e: &'e Envelope) -> Option<&'e str> {
        let key = match &e.kind {
            EventKind::Phase { name } if e.worker == 0 => name.as_str(),
            EventKind::Phase { name }
                if matches!(e.kind.stage_of(), Some(Stage::Sleep | Stage::Compute)) =>
            {
                name.as_str()
            }
            EventKind::Write { .. } if Stage::of(&self.phase) == Some(Stage::Locked) => "locked",
            EventKind::Write { .. } => "write",
            EventKind::Spawned { .. } => "spawned",
            EventKind::Started => "started",
            EventKind::QueuePut { .. } => "queue_put",
            EventKind::TaskStart { .. } => "task",
            EventKind::LockAcquired { .. } => "lock_acquired",
            EventKind::LockReleased { .. } => "lock_released",
            EventKind::Exit { .. } => "exit",
            _ => return None,
        };
        Some(key)
    }

    pub fn on_sample(&mut self, s: &Sample) {
        self.workers.on_sample(s);
        self.compare.on_cores(&s.cores);
    }

    pub fn running(&self) -> bool {
        self.ended.is_none()
    }

    /// Seconds the run has been going, without the time its workers were stopped.
    pub fn elapsed_s(&self) -> f64 {
        self.t0.map_or(0.0, |t0| {
            let ns = self.now_ns.saturating_sub(t0);
            self.pauses.active(self.now_ns, ns) as f64 / 1e9
        })
    }

    /// Seconds the workers have been stopped so far.
    pub fn paused_s(&self) -> f64 {
        self.pauses.total(self.now_ns) as f64 / 1e9
    }

    /// Seconds from `start` to `end` without the stopped time.
    pub fn active_s(&self, start: u64, end: u64) -> f64 {
        self.pauses.active(end, end.saturating_sub(start)) as f64 / 1e9
    }
}

/// The tutorial's parameters as the UI plays them (`Params::for_the_ui`).
pub fn visible_defaults(p: Params) -> Params {
    p.for_the_ui(&|_| false)
}

/// A speed factor (2.0 = twice as fast) as the runtime's interval scale, in thousandths.
pub fn permille_of(speed: f64) -> u32 {
    ((1000.0 / speed).round() as u32).clamp(MIN_PERMILLE, MAX_PERMILLE)
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub selected: usize,
    pub help: bool,
    /// First line of the help shown (it scrolls when the screen is too short for it).
    pub help_scroll: usize,
    /// First worker the workers panel shows, once the user scrolled it (until then the panel
    /// follows the live workers).
    pub workers_scroll: Option<usize>,
    /// The worker clicked on, whose details are shown (until clicked again or esc).
    pub picked: Option<u16>,
    /// Lines the events (or the picked worker's) are scrolled back from the newest.
    pub log_scroll: usize,
    pub theme: usize,
    pub cpu: CpuState,
    pub run: Option<RunState>,
    pub paused: bool,
    pub speed_permille: u32,
    pub step: bool,
    /// Show the Python code instead of the scenario panel (narrow screens).
    pub code: bool,
    /// A message for the footer until the next key (e.g. where a screenshot went).
    pub notice: Option<String>,
    /// Set while a recording is played instead of a live run.
    pub replay: Option<ReplayStatus>,
    /// What the run's source can be steered to do: only these keys act and are offered.
    pub steering: crate::source::Steering,
    /// The parameter form, while open.
    pub form: Option<form::Form>,
    /// Parameters chosen in the form, per scenario, used by later starts.
    chosen: Vec<Option<Params>>,
    /// The scenario and parameters of the run this app started and shows (run again, or
    /// edited, it keeps them); none for a program or a recording.
    shown: Option<(usize, Params)>,
    pub refresh: Duration,
    pub size: (u16, u16),
    pub quit: bool,
}

impl App {
    pub fn new(refresh: Duration, theme: usize) -> Self {
        App {
            screen: Screen::Picker,
            selected: scenario::ALL.len() - 1,
            help: false,
            help_scroll: 0,
            workers_scroll: None,
            picked: None,
            log_scroll: 0,
            theme,
            cpu: CpuState::default(),
            run: None,
            paused: false,
            speed_permille: 1000,
            step: false,
            code: false,
            notice: None,
            replay: None,
            steering: crate::source::Steering::LIVE,
            form: None,
            chosen: vec![None; scenario::ALL.len()],
            shown: None,
            refresh,
            size: (80, 24),
            quit: false,
        }
    }

    /// Pids of the run's live workers (what the sampler should watch).
    pub fn live_pids(&self) -> Vec<i32> {
        self.run
            .as_ref()
            .map(|r| r.workers.live_pids())
            .unwrap_or_default()
    }

    /// The first worker the workers panel shows: where the user scrolled it, or else the
    /// first live worker (the finished ones of earlier phases scrolled away), so that the
    /// panel stays full.
    pub fn workers_first(&self) -> usize {
        let Some(run) = &self.run else {
            return 0;
        };
        let rows = &run.workers.rows;
        let first = self
            .workers_scroll
            .unwrap_or_else(|| rows.iter().position(|r| r.state.alive()).unwrap_or(0));
        first.min(self.workers_last_first())
    }

    /// The furthest the workers panel scrolls: its last rows fill it.
    fn workers_last_first(&self) -> usize {
        let rows = self.run.as_ref().map_or(0, |r| r.workers.rows.len());
        rows.saturating_sub(layout::workers_fit(self.size, rows))
    }

    /// Speed as a factor (2.0 = twice as fast as the tutorial).
    pub fn speed(&self) -> f64 {
        1000.0 / self.speed_permille as f64
    }

    /// A run is going on and not paused: its clocks move between events.
    pub fn live(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.running()) && !self.paused
    }

    /// Parameters for scenario `i`'s later starts (as the form sets them).
    pub fn choose(&mut self, i: usize, params: Params) {
        if let Some(slot) = self.chosen.get_mut(i) {
            *slot = Some(params);
        }
    }

    /// Shows scenario `i` with `params` as a run (the caller starts the run itself).
    pub fn open_run(&mut self, i: usize, params: Params) {
        self.show(RunState::new(params.about()));
        self.shown = Some((i, params));
        self.selected = i;
    }

    /// Opens the run screen for a run a source describes (a traced program, a recording).
    pub fn open(&mut self, about: About) {
        if let Some(i) = about.scenario {
            self.selected = i;
        }
        self.show(RunState::new(about));
        self.shown = None;
    }

    /// The parameters scenario `i` starts (or is edited) with: the form's, else those of its
    /// run on screen, else the tutorial's as the UI plays them.
    fn params_for(&self, i: usize) -> Option<Params> {
        match (&self.chosen[i], &self.shown) {
            (Some(p), _) => Some(p.clone()),
            (None, Some((shown, p))) if *shown == i => Some(p.clone()),
            _ => Some(visible_defaults(scenario::default_params(
                scenario::ALL.get(i)?.name,
            )?)),
        }
    }

    fn show(&mut self, run: RunState) {
        self.screen = Screen::Run;
        self.paused = false;
        self.workers_scroll = None;
        self.picked = None;
        self.log_scroll = 0;
        self.run = Some(run);
    }

    fn start(&mut self, i: usize) -> Option<Command> {
        let params = self.params_for(i)?;
        // Say once, at the start, how the UI's pace differs from the tutorial's and how to
        // get the tutorial's back.
        self.notice = params.pacing().map(|p| p.long);
        self.open_run(i, params.clone());
        Some(Command::Start(i, Box::new(params)))
    }

    pub fn update(&mut self, msg: Msg) -> Option<Command> {
        match msg {
            Msg::Key(k) if k.kind != KeyEventKind::Release => {
                self.notice = None;
                self.on_key(k)
            }
            Msg::Notice(n) => {
                self.notice = Some(n);
                None
            }
            Msg::Steering(s) => {
                self.steering = s;
                None
            }
            Msg::Replay(st) => {
                self.replay = Some(st);
                self.paused = !st.playing;
                None
            }
            Msg::Key(_) => None,
            Msg::Tick(now) => {
                // The clock moves while paused too: the stopped time is counted apart.
                if let Some(r) = self.run.as_mut().filter(|r| r.running()) {
                    r.now_ns = r.now_ns.max(now);
                    r.trace.settle();
                }
                None
            }
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                None
            }
            Msg::Event(e) => {
                if let Some(r) = self.run.as_mut() {
                    r.on_event(&e);
                }
                None
            }
            Msg::Sample(s) => {
                let run = self.run.as_mut();
                match run {
                    Some(r) => {
                        r.trace.settle();
                        r.on_sample(&s);
                        let workers = &r.workers;
                        self.cpu.on_sample(&s, |pid| workers.worker_of(pid));
                    }
                    None => self.cpu.on_sample(&s, |_| None),
                }
                None
            }
            Msg::RunEnded(result) => {
                if let Some(r) = self.run.as_mut() {
                    r.trace.settle();
                    if let Ok(end) = &result {
                        r.compare.on_summary(&end.details);
                    }
                    r.ended = Some(result);
                }
                self.paused = false;
                None
            }
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Option<Command> {
        // The wheel scrolls the help while it is open; on a run, the panel under it.
        let wheel = match m.kind {
            MouseEventKind::ScrollDown => Some(KeyCode::Down),
            MouseEventKind::ScrollUp => Some(KeyCode::Up),
            _ => None,
        };
        if let Some(code) = wheel
            && self.help
        {
            return self.on_key(KeyEvent::from(code));
        }
        if self.form.is_some() || self.help {
            return None;
        }
        if self.screen == Screen::Run {
            return self.on_run_mouse(m, wheel);
        }
        match m.kind {
            MouseEventKind::Down(_) => {
                let i = crate::ui::picker::row_at(self.size, m.row)?;
                if i == self.selected {
                    self.start(i)
                } else {
                    self.selected = i;
                    None
                }
            }
            MouseEventKind::ScrollDown => {
                self.selected = (self.selected + 1).min(scenario::ALL.len() - 1);
                None
            }
            MouseEventKind::ScrollUp => {
                self.selected = self.selected.saturating_sub(1);
                None
            }
            _ => None,
        }
    }

    /// A click on a worker's row picks it (again: lets it go); the wheel scrolls the events
    /// (or the picked worker's) when over them, else the workers list.
    fn on_run_mouse(&mut self, m: MouseEvent, wheel: Option<KeyCode>) -> Option<Command> {
        let run = self.run.as_ref()?;
        let p = layout::run_panels(self.size, self.cpu.cores.len(), run.workers.rows.len());
        let over = |r| layout::contains(r, m.column, m.row);
        let events = if self.picked.is_some() {
            Some(p.details())
        } else {
            p.log
        };
        match (wheel, m.kind) {
            (Some(code), _) if events.is_some_and(over) => {
                self.log_scroll = if code == KeyCode::Up {
                    self.log_scroll.saturating_add(1).min(LOG_LINES)
                } else {
                    self.log_scroll.saturating_sub(1)
                };
                None
            }
            (Some(code), _) if over(p.workers) => self.on_key(KeyEvent::from(code)),
            (None, MouseEventKind::Down(_)) if over(p.workers) => {
                // Below the border and the header row.
                let line = m.row.checked_sub(p.workers.y + 2)? as usize;
                if line >= layout::workers_fit(self.size, run.workers.rows.len()) {
                    return None;
                }
                let id = run.workers.rows.get(self.workers_first() + line)?.id;
                self.picked = if self.picked == Some(id) {
                    None
                } else {
                    Some(id)
                };
                self.log_scroll = 0;
                None
            }
            _ => None,
        }
    }

    fn on_key(&mut self, k: KeyEvent) -> Option<Command> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(k.code, KeyCode::Char('c')) {
            self.quit = true;
            return Some(Command::Quit);
        }
        // Below the smallest screen nothing is drawn but the notice: only quitting acts.
        if self.size.0 < layout::MIN_SIZE.0 || self.size.1 < layout::MIN_SIZE.1 {
            if k.code == KeyCode::Char('q') {
                self.quit = true;
                return Some(Command::Quit);
            }
            return None;
        }
        if self.help {
            let max = help::max_scroll(self.size);
            let page = help::text_area(self.size).1.max(1) as usize;
            match k.code {
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::F(1) | KeyCode::Char('q') => {
                    self.help = false;
                }
                KeyCode::Down | KeyCode::Char('j') => self.help_scroll += 1,
                KeyCode::Up | KeyCode::Char('k') => {
                    self.help_scroll = self.help_scroll.saturating_sub(1)
                }
                KeyCode::PageDown | KeyCode::Char(' ') => self.help_scroll += page,
                KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(page),
                KeyCode::Home => self.help_scroll = 0,
                KeyCode::End => self.help_scroll = max,
                _ => {}
            }
            self.help_scroll = self.help_scroll.min(max);
            return None;
        }
        if let Some(f) = self.form.as_mut() {
            return match f.on_key(k) {
                form::FormOutcome::Editing => None,
                form::FormOutcome::Cancelled => {
                    self.form = None;
                    None
                }
                form::FormOutcome::Applied(p) => {
                    let i = f.scenario;
                    self.form = None;
                    self.chosen[i] = Some(p);
                    self.start(i)
                }
            };
        }
        match k.code {
            KeyCode::Char('?') | KeyCode::F(1) => {
                self.help = true;
                self.help_scroll = 0;
                None
            }
            // F10 quits, as in htop.
            KeyCode::Char('q') | KeyCode::F(10) => {
                self.quit = true;
                Some(Command::Quit)
            }
            KeyCode::Char('t') => {
                let themes = &crate::ui::theme::THEMES;
                self.theme = (self.theme + 1) % themes.len();
                self.notice = Some(format!(
                    "theme: {} (t for the next: {})",
                    themes[self.theme].name,
                    themes[(self.theme + 1) % themes.len()].name
                ));
                None
            }
            KeyCode::Char('e') if self.steering.edit => {
                let i = match (&self.screen, &self.run) {
                    (Screen::Run, Some(r)) => r.about.scenario.unwrap_or(self.selected),
                    _ => self.selected,
                };
                let params = self.params_for(i)?;
                self.form = Some(form::Form::new(i, &params));
                None
            }
            KeyCode::Char('S') => Some(Command::SaveSettings),
            KeyCode::Char('[') => self.set_refresh(self.refresh.as_millis() as u64 * 2),
            KeyCode::Char(']') => self.set_refresh(self.refresh.as_millis() as u64 / 2),
            _ => match self.screen {
                Screen::Picker => self.on_picker_key(k),
                Screen::Run => self.on_run_key(k),
            },
        }
    }

    fn set_refresh(&mut self, ms: u64) -> Option<Command> {
        let before = self.refresh;
        self.refresh = Duration::from_millis(ms.clamp(125, 4000));
        let ms = self.refresh.as_millis();
        self.notice = Some(if self.refresh == before {
            format!("the CPU is sampled every {ms} ms, as often / as rarely as it can be")
        } else {
            format!("the CPU is sampled every {ms} ms ([ less often, ] more often)")
        });
        Some(Command::Refresh(self.refresh))
    }

    fn on_picker_key(&mut self, k: KeyEvent) -> Option<Command> {
        let n = scenario::ALL.len();
        match k.code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = (self.selected + n - 1) % n;
                None
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1) % n;
                None
            }
            KeyCode::Enter => self.start(self.selected),
            KeyCode::Char(c @ '1'..='9') => self.start(c as usize - '1' as usize),
            KeyCode::Esc if self.run.is_some() => {
                self.screen = Screen::Run;
                None
            }
            _ => None,
        }
    }

    fn on_run_key(&mut self, k: KeyEvent) -> Option<Command> {
        let running = self.run.as_ref().is_some_and(RunState::running);
        match k.code {
            // Esc first closes a picked worker's details, then leaves the run.
            KeyCode::Esc if self.picked.is_some() => {
                self.picked = None;
                self.log_scroll = 0;
                None
            }
            KeyCode::Esc => {
                self.screen = Screen::Picker;
                self.paused = false;
                self.step = false;
                running.then_some(Command::Stop)
            }
            // A Python program runs again as it is (its source restarts it).
            KeyCode::Char('r') if self.run.as_ref().is_some_and(|r| r.is_program()) => {
                Some(Command::Restart)
            }
            KeyCode::Char('r') => self.start(self.selected),
            KeyCode::Up | KeyCode::Down | KeyCode::Char('k') | KeyCode::Char('j') => {
                let first = self.workers_first();
                let next = if matches!(k.code, KeyCode::Up | KeyCode::Char('k')) {
                    first.saturating_sub(1)
                } else {
                    first + 1
                };
                self.workers_scroll = Some(next.min(self.workers_last_first()));
                None
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Home | KeyCode::End if self.steering.seek => {
                let step = if k.modifiers.contains(KeyModifiers::SHIFT) {
                    10_000
                } else {
                    1_000
                };
                Some(Command::Seek(match k.code {
                    KeyCode::Left => -step,
                    KeyCode::Right => step,
                    KeyCode::Home => i64::MIN / 2,
                    _ => i64::MAX / 2,
                }))
            }
            KeyCode::Char(' ') | KeyCode::Char('p')
                if self.steering.pause && (running || self.steering.seek) =>
            {
                self.paused = !self.paused;
                Some(Command::Pause(self.paused))
            }
            KeyCode::Char('+') | KeyCode::Char('=') | KeyCode::Char('-') if self.steering.speed => {
                let now = self.speed();
                let faster = k.code != KeyCode::Char('-');
                let next = if faster {
                    SPEEDS
                        .iter()
                        .copied()
                        .find(|s| *s > now + 1e-9)
                        .unwrap_or(now)
                } else {
                    SPEEDS
                        .iter()
                        .rev()
                        .copied()
                        .find(|s| *s < now - 1e-9)
                        .unwrap_or(now)
                };
                self.speed_permille = permille_of(next);
                Some(Command::Speed(self.speed_permille))
            }
            KeyCode::Char(c @ ('m' | 'e'))
                if (c == 'm' && !self.steering.step) || (c == 'e' && !self.steering.edit) =>
            {
                self.notice = Some(if self.steering.seek {
                    "a recording plays as it was recorded: no step mode or edits".into()
                } else if c == 'm' {
                    "this run has no step gates".into()
                } else {
                    "this run's parameters cannot be edited".into()
                });
                None
            }
            KeyCode::Char('m') => {
                self.step = !self.step;
                Some(Command::Step(self.step))
            }
            KeyCode::Char('s') => Some(Command::Screenshot),
            KeyCode::Char('c') => {
                self.code = !self.code;
                None
            }
            // The number is the worker's as the screen shows it (●1, ■3, ...), in every phase.
            KeyCode::Char(c @ '1'..='9') if self.step => {
                let id = c as u16 - '0' as u16;
                match self.run.as_ref()?.workers.rows.iter().find(|w| w.id == id) {
                    Some(w) if matches!(w.state, workers::WorkerState::AtGate(_)) => {
                        Some(Command::Release(id))
                    }
                    Some(w) => {
                        self.notice = Some(format!(
                            "worker {id} is not at a gate ({})",
                            w.state.label()
                        ));
                        None
                    }
                    None => {
                        self.notice = Some(format!("there is no worker {id} in this run"));
                        None
                    }
                }
            }
            _ => None,
        }
    }
}
