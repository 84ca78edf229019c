//! The tutorial's sections as scenarios: what each one's workers do, what the parent does, and
//! what the user must be able to check at the end.
//!
//! Every scenario runs through a `Session`, which wraps the runtime, passes every event to an
//! observer (the headless printer, later the UI) and keeps the tallies every summary shares:
//! per-worker event counts, start latencies, exits and dropped events.

pub mod code;
pub mod compare;
pub mod flags;
pub mod job;
pub mod lock;
pub mod pool;
pub mod process;
pub mod queue;
pub mod shared;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use crate::runtime::{Envelope, EventKind, Next, Runtime, RuntimeError, RuntimeOptions};

/// One line of `mpviz list`, and the picker's entry later.
pub struct Info {
    pub name: &'static str,
    pub section: &'static str,
    pub title: &'static str,
    pub watch: &'static str,
}

/// Where the scenario called `name` stands in `ALL` (the picker's order).
pub fn index_of(name: &str) -> Option<usize> {
    ALL.iter().position(|i| i.name == name)
}

pub const ALL: [Info; 6] = [
    Info {
        name: "process",
        section: "1.2",
        title: "start and join one process",
        watch: "a child gets its own pid, runs job(1, 2), prints, exits and is joined",
    },
    Info {
        name: "queue",
        section: "1.3",
        title: "results through a queue",
        watch: "two workers put their sums on a queue; the parent gets both and adds them",
    },
    Info {
        name: "compare",
        section: "1.4",
        title: "normal vs threads vs processes",
        watch: "one core busy, then two; processes take about half the time of normal",
    },
    Info {
        name: "pool",
        section: "1.5",
        title: "a process pool: map and apply_async",
        watch: "which worker ran which task; results come back in order; a bad call is an error",
    },
    Info {
        name: "shared",
        section: "1.6",
        title: "shared Value and Array",
        watch: "typed cells in one shared segment change as the workers write them",
    },
    Info {
        name: "lock",
        section: "1.7",
        title: "a shared counter without and with a lock",
        watch: "without the lock writes interleave and updates get lost; with it the sum is exact",
    },
];

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The user's request cannot be carried out (exit code 2).
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl RunError {
    pub fn is_interrupt(&self) -> bool {
        matches!(self, RunError::Runtime(RuntimeError::Interrupted))
    }
}

/// What `Session::next_or` found.
pub enum Got<T> {
    Event(Envelope),
    Other(T),
    /// The other channel is closed.
    Closed,
    Timeout,
}

/// One worker's line in every summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerReport {
    pub worker: u16,
    pub pid: i32,
    pub events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<i32>,
    #[serde(skip)]
    spawned_ns: u64,
    #[serde(skip)]
    exited: bool,
}

impl WorkerReport {
    /// How the worker ended, in words, if it ended badly.
    pub fn failure(&self) -> Option<String> {
        match (self.exit_code, self.exit_signal) {
            (Some(0), _) => None,
            (Some(c), _) => Some(format!(
                "worker {} (pid {}) exited with code {c}",
                self.worker, self.pid
            )),
            (None, Some(s)) => Some(format!(
                "worker {} (pid {}) was killed by signal {s} ({})",
                self.worker,
                self.pid,
                signal_name(s)
            )),
            (None, None) if self.exited => Some(format!(
                "worker {} (pid {}) ended in an unknown way",
                self.worker, self.pid
            )),
            (None, None) => Some(format!(
                "worker {} (pid {}) did not exit",
                self.worker, self.pid
            )),
        }
    }
}

pub use crate::runtime::event::signal_name;

/// Start latency across a run's workers (spawn request to the worker's first event).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpawnReport {
    pub method: &'static str,
    pub workers: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

/// What a scenario's parent side produced, before the shared parts are added.
pub struct Outcome {
    /// The scenario's own summary fields (flattened into the JSON summary).
    pub details: serde_json::Value,
    /// The readable account of the results.
    pub text: String,
    /// Results that are not what the tutorial says they should be.
    pub problems: Vec<String>,
    /// The tutorial's claims about this section, each beside what was measured.
    pub claims: Vec<Claim>,
}

impl Outcome {
    /// An outcome with the scenario's typed summary fields.
    pub fn new(details: &impl Serialize, text: String, problems: Vec<String>) -> Self {
        Outcome {
            details: serde_json::to_value(details).unwrap_or_default(),
            text,
            problems,
            claims: Vec::new(),
        }
    }

    pub fn with_claims(mut self, claims: Vec<Claim>) -> Self {
        self.claims = claims;
        self
    }
}

/// One thing the tutorial says about its section, checked against this run: a timing claim
/// can fail on a busy machine without the run being wrong, so claims are reported beside the
/// problems, not among them.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Claim {
    /// What the tutorial says, in plain words.
    pub claim: String,
    /// What this run measured, in plain words.
    pub measured: String,
    pub holds: bool,
}

/// The final summary of a run: `{"type":"summary", ...}` in JSON.
#[derive(Debug, Serialize)]
pub struct Summary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub scenario: &'static str,
    /// The run's parameters as command-line flags (so a replay uses the same ones).
    pub params: std::collections::BTreeMap<&'static str, String>,
    pub ok: bool,
    pub problems: Vec<String>,
    pub start_method: &'static str,
    pub spawn: SpawnReport,
    pub workers: Vec<WorkerReport>,
    pub dropped_events: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub swept_segments: Vec<String>,
    /// The tutorial's claims, each beside what was measured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
    #[serde(flatten)]
    pub details: serde_json::Value,
    #[serde(skip)]
    pub text: String,
}

/// A running scenario: the runtime, the observer that sees every event, and the tallies.
pub struct Session<'o> {
    pub rt: Runtime,
    observer: &'o mut dyn FnMut(&Envelope),
    workers: BTreeMap<u16, WorkerReport>,
    /// Worker ids are per runtime; scenarios that run several parts renumber through this.
    dropped: u64,
    swept: Vec<String>,
    method: &'static str,
    /// When the workers were stopped (the UI's pause): left out of the times a scenario
    /// measures.
    pub pauses: crate::model::pause::Pauses,
}

impl<'o> Session<'o> {
    pub fn new(
        opts: RuntimeOptions,
        observer: &'o mut dyn FnMut(&Envelope),
    ) -> Result<Self, RunError> {
        let mut rt = Runtime::new(opts)?;
        let swept = std::mem::take(&mut rt.swept);
        Ok(Session {
            method: rt.method().name(),
            rt,
            observer,
            workers: BTreeMap::new(),
            dropped: 0,
            swept,
            pauses: Default::default(),
        })
    }

    /// Shows an event to the observer and counts it in the tallies.
    fn deliver(&mut self, e: &Envelope) {
        self.pauses.observe(e);
        (self.observer)(e);
        self.tally(e);
    }

    fn tally(&mut self, e: &Envelope) {
        if e.worker == 0 {
            return;
        }
        let w = self
            .workers
            .entry(e.worker)
            .or_insert_with(|| WorkerReport {
                worker: e.worker,
                pid: e.pid,
                ..Default::default()
            });
        w.events += 1;
        match e.kind {
            EventKind::Spawned { .. } => w.spawned_ns = e.t_ns,
            EventKind::Started if w.start_latency_ms.is_none() && w.spawned_ns > 0 => {
                w.start_latency_ms = Some(e.t_ns.saturating_sub(w.spawned_ns) as f64 / 1e6);
            }
            EventKind::Exit { code, signal } => {
                w.exit_code = code;
                w.exit_signal = signal;
                w.exited = true;
            }
            EventKind::Dropped { count } => self.dropped += count,
            _ => {}
        }
    }

    /// The next event (already shown to the observer), or `None` after `timeout` without one.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Envelope>, RunError> {
        match self.rt.next(timeout)? {
            Next::Event(e) => {
                self.deliver(&e);
                Ok(Some(e))
            }
            Next::Timeout => Ok(None),
        }
    }

    /// The next event or item of `other`, whichever comes first, waiting at most `timeout`.
    pub fn next_or<T>(
        &mut self,
        other: &crossbeam_channel::Receiver<T>,
        timeout: Duration,
    ) -> Result<Got<T>, RunError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.check_interrupt()?;
            if let Some(e) = self.rt.take_ready() {
                self.deliver(&e);
                return Ok(Got::Event(e));
            }
            let slice = Duration::from_millis(50)
                .min(deadline.saturating_duration_since(std::time::Instant::now()));
            let got = crossbeam_channel::select! {
                recv(self.rt.receiver()) -> b => match b {
                    Ok(batch) => {
                        self.rt.absorb(batch);
                        continue;
                    }
                    Err(_) => None,
                },
                recv(other) -> x => Some(x.map_or(Got::Closed, Got::Other)),
                default(slice) => None,
            };
            match got {
                Some(g) => return Ok(g),
                None if std::time::Instant::now() >= deadline => return Ok(Got::Timeout),
                None => {}
            }
        }
    }

    /// Adds a parent event to the stream (it reaches the observer in order with the rest).
    pub fn emit(&mut self, kind: EventKind) {
        self.rt.emit(kind);
    }

    /// An error once a signal, `q` or a restart asked the run to end: every loop of the parent
    /// that can run long calls it (an atomic load, cheap enough for each iteration).
    pub fn check_interrupt(&self) -> Result<(), RunError> {
        if self.rt.interrupted() {
            return Err(RuntimeError::Interrupted.into());
        }
        Ok(())
    }

    /// `d` as the run's speed setting scales it (the `+` / `-` keys, `--speed`).
    pub fn scaled(&self, d: Duration) -> Duration {
        d * self.rt.hub().speed() / 1000
    }

    /// Lets `d` of the run's time pass in the parent, still delivering events and still
    /// interruptible; while the run is paused its time stands still, as the workers' does.
    pub fn wait(&mut self, d: Duration) -> Result<(), RunError> {
        let mut left = d;
        while !left.is_zero() {
            let t = std::time::Instant::now();
            self.next(left.min(Duration::from_millis(50)))?;
            if !self.rt.hub().paused() {
                left = left.saturating_sub(t.elapsed());
            }
        }
        Ok(())
    }

    /// Passes events to `on_event` until every worker has exited.
    pub fn until_all_exited(
        &mut self,
        mut on_event: impl FnMut(&mut Self, &Envelope) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        while self.rt.live() > 0 {
            if let Some(e) = self.next(Duration::from_millis(200))? {
                on_event(self, &e)?;
            }
        }
        Ok(())
    }

    /// Delivers the events still queued (parent events emitted last) without waiting long.
    pub fn drain(&mut self) -> Result<(), RunError> {
        while self.next(Duration::from_millis(1))?.is_some() {}
        Ok(())
    }

    /// Builds the summary from the scenario's outcome and the session's tallies.
    pub fn finish(mut self, scenario: &'static str, outcome: Outcome) -> Result<Summary, RunError> {
        self.drain()?;
        let workers: Vec<WorkerReport> = self.workers.values().cloned().collect();
        let mut problems = outcome.problems;
        problems.extend(workers.iter().filter_map(WorkerReport::failure));
        if self.dropped > 0 {
            problems.push(format!("{} events were dropped", self.dropped));
        }
        let mut lat: Vec<f64> = workers.iter().filter_map(|w| w.start_latency_ms).collect();
        lat.sort_by(f64::total_cmp);
        let spawn = SpawnReport {
            method: self.method,
            workers: lat.len(),
            median_ms: median(&lat),
            min_ms: lat.first().copied().unwrap_or(0.0),
            max_ms: lat.last().copied().unwrap_or(0.0),
        };
        Ok(Summary {
            kind: "summary",
            scenario,
            params: Default::default(),
            ok: problems.is_empty(),
            problems,
            start_method: self.method,
            spawn,
            workers,
            dropped_events: self.dropped,
            swept_segments: std::mem::take(&mut self.swept),
            claims: outcome.claims,
            details: outcome.details,
            text: outcome.text,
        })
    }
}

/// Parses an integer for a command-line parameter and checks it lies in `lo..=hi`, saying so
/// in the error (clap puts the parameter's name in front).
pub fn int_in<T: TryFrom<i128>>(s: &str, lo: i128, hi: i128) -> Result<T, String> {
    let v: i128 = s
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{s:?} is not an integer between {lo} and {hi}"))?;
    if !(lo..=hi).contains(&v) {
        return Err(format!("{v} is not between {lo} and {hi}"));
    }
    T::try_from(v).map_err(|_| format!("{v} is out of range"))
}

pub fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A scenario and its parameters, as parsed from the command line (`mpviz run SCENARIO ...`).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Params {
    /// §1.2 start and join one process.
    Process(process::Params),
    /// §1.3 results through a queue.
    Queue(queue::Params),
    /// §1.4 normal vs threads vs processes.
    Compare(compare::Params),
    /// §1.5 a process pool: map and apply_async.
    Pool(pool::Params),
    /// §1.6 shared Value and Array.
    Shared(shared::Params),
    /// §1.7 a shared counter without and with a lock.
    Lock(lock::Params),
}

/// How the UI paces a scenario differently from the tutorial, in a few words for the header
/// and in a sentence that says how to get the tutorial's values back.
#[derive(Debug, Clone, PartialEq)]
pub struct Pacing {
    pub short: String,
    pub long: String,
}

impl Params {
    /// The parameters as the UI plays them: where the tutorial's run is over before an eye
    /// can see it, a pace that can be followed — for every parameter the user did not give
    /// (`given` says which were, by their argument ids).
    pub fn for_the_ui(mut self, given: &dyn Fn(&str) -> bool) -> Params {
        match &mut self {
            Params::Process(p) => p.for_the_ui(given),
            Params::Queue(p) => p.for_the_ui(given),
            Params::Shared(p) => p.for_the_ui(given),
            Params::Compare(p) => p.for_the_ui(given),
            Params::Pool(p) => p.for_the_ui(given),
            Params::Lock(p) => p.for_the_ui(given),
        }
        self
    }

    /// The shared cells by the names the tutorial's program gives them (`Value('i')`,
    /// `Array('i')`, the lock's `v`), in cell order; empty for a scenario without any.
    pub fn cell_names(&self) -> crate::model::names::CellNames {
        let names = match self {
            Params::Shared(p) => p
                .cells()
                .iter()
                .map(|c| crate::model::names::CellName {
                    name: format!(
                        "{}('{}')",
                        if c.array { "Array" } else { "Value" },
                        c.typecode.as_char()
                    ),
                    array: c.array,
                })
                .collect(),
            Params::Lock(_) => vec![crate::model::names::CellName {
                name: "v".into(),
                array: false,
            }],
            _ => Vec::new(),
        };
        names.into()
    }

    /// What the screen says of a run made with these parameters: its title and code, the
    /// figures its panel measures the run against, what its workers are called.
    pub fn about(&self) -> crate::model::about::About {
        use crate::model::about::{About, Code, Panel, Roles, Subject, Target};
        let name = self.name();
        let index = index_of(name);
        let info = &ALL[index.unwrap_or(0)];
        let panel = match self {
            Params::Process(p) => Panel::Process { args: p.args },
            Params::Queue(p) => Panel::Queue {
                exact: compare::exact_sum(p.n) as i128 * p.workers as i128,
            },
            Params::Compare(_) => Panel::Compare,
            Params::Pool(p) => Panel::Pool {
                apply_arg: p.apply_arg,
            },
            Params::Shared(p) => Panel::Shared {
                writes: p.workers as usize * p.steps as usize,
            },
            Params::Lock(p) => {
                let target = |locked| {
                    let steps = p.steps_for(locked);
                    Target {
                        total: p.deltas.0.iter().map(|d| *d as i128 * steps as i128).sum(),
                        writes: steps as usize * p.deltas.0.len(),
                    }
                };
                Panel::Lock {
                    unlocked: target(false),
                    locked: target(true),
                }
            }
        };
        let roles = match self {
            Params::Process(p) => Roles::Cycle(vec![format!("job({}, {})", p.args.0, p.args.1)]),
            Params::Queue(p) => Roles::Cycle(vec![format!("job(q), n={}", p.n)]),
            Params::Compare(_) => Roles::Phase,
            Params::Pool(_) => Roles::Cycle(vec!["pool worker".into()]),
            Params::Shared(p) => Roles::Cycle(
                (1..=p.workers.max(1))
                    .map(|k| format!("writer +{k}"))
                    .collect(),
            ),
            Params::Lock(p) if p.deltas.0.is_empty() => Roles::Cycle(vec!["v.value += 1".into()]),
            Params::Lock(p) => Roles::Cycle(
                p.deltas
                    .0
                    .iter()
                    .map(|d| format!("v.value += {d}"))
                    .collect(),
            ),
        };
        About {
            name,
            scenario: index,
            subject: Subject::Scenario {
                section: info.section,
                title: info.title,
            },
            code: Code {
                path: format!("assets/python/mp_{name}.py"),
                text: code::python(name).to_string(),
            },
            panel,
            roles,
            pace: self.pacing().map(|p| p.short),
            cells: self.cell_names(),
            segment: match self {
                Params::Shared(p) => p.cells().into_iter().map(|c| c.init).collect(),
                _ => Vec::new(),
            },
        }
    }

    /// How these parameters pace the run differently from the tutorial, if they do.
    pub fn pacing(&self) -> Option<Pacing> {
        match self {
            Params::Process(p) => p.pacing(),
            Params::Queue(p) => p.pacing(),
            Params::Shared(p) => p.pacing(),
            Params::Compare(p) => p.pacing(),
            Params::Pool(p) => p.pacing(),
            Params::Lock(p) => p.pacing(),
        }
    }

    /// What the parser alone cannot check (one parameter against another, a step script
    /// against the run it scripts): the command line, the UI's editor and every run call it,
    /// before anything starts.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Params::Lock(p) => p.check(),
            _ => Ok(()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Params::Process(_) => "process",
            Params::Queue(_) => "queue",
            Params::Compare(_) => "compare",
            Params::Pool(_) => "pool",
            Params::Shared(_) => "shared",
            Params::Lock(_) => "lock",
        }
    }
}

/// The scenario named `name` with the tutorial's parameters (`None` for an unknown name).
pub fn default_params(name: &str) -> Option<Params> {
    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(subcommand)]
        params: Params,
    }
    <Wrapper as clap::Parser>::try_parse_from(["mpviz", name])
        .ok()
        .map(|w| w.params)
}

/// Runs one scenario to its summary, showing every event to `observer`.
pub fn run(
    params: &Params,
    opts: RuntimeOptions,
    observer: &mut dyn FnMut(&Envelope),
) -> Result<Summary, RunError> {
    params.check().map_err(RunError::Usage)?;
    let mut s = Session::new(opts, observer)?;
    let outcome = match params {
        Params::Process(p) => process::run(&mut s, p),
        Params::Queue(p) => queue::run(&mut s, p),
        Params::Compare(p) => compare::run(&mut s, p),
        Params::Pool(p) => pool::run(&mut s, p),
        Params::Shared(p) => shared::run(&mut s, p),
        Params::Lock(p) => lock::run(&mut s, p),
    }?;
    let mut summary = s.finish(params.name(), outcome)?;
    summary.params = flags::to_flags(params)
        .into_iter()
        .map(|f| (f.name, f.value))
        .collect();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_paces_what_the_user_did_not_give_and_run_keeps_the_tutorials_values() {
        let given = |ids: &'static [&'static str]| move |id: &str| ids.contains(&id);
        let Some(Params::Pool(p)) =
            default_params("pool").map(|p| p.for_the_ui(&given(&["processes"])))
        else {
            panic!("pool");
        };
        assert_eq!(p.task_ms, 200, "--processes alone keeps the UI's pace");
        let Some(Params::Pool(p)) =
            default_params("pool").map(|p| p.for_the_ui(&given(&["task_ms"])))
        else {
            panic!("pool");
        };
        assert_eq!(p.task_ms, 0, "a given --task-ms stands");
        // The lock lesson shows lost updates in the UI, and says why.
        let ui = default_params("lock").map(|p| p.for_the_ui(&|_| false));
        let Some(Params::Lock(l)) = &ui else {
            panic!("lock");
        };
        assert_eq!(l.race_window_ms, 30);
        assert!(
            ui.and_then(|p| p.pacing())
                .is_some_and(|p| p.long.contains("30 ms apart"))
        );
        // Headless runs keep the tutorial's values.
        let Some(Params::Lock(l)) = default_params("lock") else {
            panic!("lock");
        };
        assert_eq!(l.race_window_ms, 0);
        assert!(default_params("lock").and_then(|p| p.pacing()).is_none());
    }
}
