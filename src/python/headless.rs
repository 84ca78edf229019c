//! A traced Python run without a terminal: its events as `mpviz run` prints them (JSON lines
//! or text), then its summary, and the Chrome trace if asked for. The same for `mpviz python
//! SCRIPT` and `mpviz run SCENARIO --engine python`.

use std::io::Write;
use std::path::PathBuf;

use super::{Control, PythonRun, PythonSummary};
use crate::report;
use crate::runtime::Envelope;
use crate::scenario::RunError;

/// How the output is written.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub json: bool,
    /// Chrome trace events, written at the end (checked writable before the run).
    pub trace_out: Option<PathBuf>,
}

/// How the run went: the script's own exit code, or mpviz's (1: the output could not be
/// written).
pub enum Outcome {
    Exited(i32),
    OutputFailed(String),
}

/// The one-paragraph text summary.
pub fn summary_text(s: &PythonSummary) -> String {
    format!(
        "\n== python {} ==\n{} processes{}, {} reads, {} writes, {} lost updates, {} lock \
         acquisitions ({} contended), exit code {}{}{}\n",
        s.script,
        s.processes,
        match s.threads {
            0 => String::new(),
            1 => " and 1 thread".into(),
            n => format!(" and {n} threads"),
        },
        s.reads,
        s.writes,
        s.lost_updates,
        s.lock_acquisitions,
        s.lock_contended,
        s.exit_code,
        if s.dropped_events > 0 {
            format!(", {} events dropped", s.dropped_events)
        } else {
            String::new()
        },
        match s.unsaid_ends {
            0 => String::new(),
            n => format!(
                "\n{} ended without saying how (killed?): what {} had not sent yet is lost",
                crate::report::count(n, "process", "processes"),
                if n == 1 { "it" } else { "they" }
            ),
        }
    )
}

/// Says once on stderr (stdout is the run's events) when the program deadlocks: it will not end
/// by itself, and a script waiting for it would wait for good.
#[derive(Default)]
struct DeadlockWatch {
    locks: crate::app::trace::Locks,
    names: crate::model::names::CellNames,
    said: bool,
}

impl DeadlockWatch {
    fn observe(&mut self, e: &Envelope) -> Option<String> {
        use crate::runtime::EventKind;
        if self.said || matches!(e.kind, EventKind::Read { .. } | EventKind::Write { .. }) {
            // (A read or a write changes no one's wait: left out of the hot path.)
            return None;
        }
        self.names.learn(&e.kind);
        self.locks.on_event(e, &Default::default());
        if !matches!(e.kind, EventKind::LockRequested { .. }) {
            return None;
        }
        let ring = crate::app::trace::deadlock(self.locks.of.values())?;
        self.said = true;
        let lock = |l: u16| {
            self.names
                .lock_label(l)
                .unwrap_or_else(|| format!("lock {l}"))
        };
        let steps: Vec<String> = ring
            .iter()
            .map(|w| {
                let holder = if w.holder == w.worker {
                    "itself".to_string()
                } else {
                    format!("worker {}", w.holder)
                };
                format!(
                    "worker {} waits for {}, held by {holder}",
                    w.worker,
                    lock(w.lock)
                )
            })
            .collect();
        Some(format!(
            "deadlock: {}; the program cannot go on (Ctrl-C ends it)",
            steps.join("; ")
        ))
    }
}

/// Runs `what` under the probe, printing as it goes.
pub fn run(what: &PythonRun, control: &Control, out: &Output) -> Result<Outcome, RunError> {
    if let Some(path) = &out.trace_out {
        crate::export::files::check_writable(path).map_err(|e| {
            RunError::Usage(format!(
                "--trace-out {}: cannot write there: {e}",
                path.display()
            ))
        })?;
    }
    let mut printer = report::Printer::new(out.json, Default::default(), out.trace_out.is_some());
    let mut watch = DeadlockWatch::default();
    let mut observer = |e: &Envelope| {
        printer.observe(e);
        if let Some(line) = watch.observe(e) {
            eprintln!("mpviz: {line}");
        }
    };
    let result = super::run(what, control, &mut observer);
    if let Some(e) = printer.error.take() {
        return Ok(Outcome::OutputFailed(format!(
            "cannot write the output ({e}); the run was stopped and cleaned up"
        )));
    }
    let summary = result?;
    let stdout = std::io::stdout();
    let mut o = stdout.lock();
    let written = if out.json {
        writeln!(o, "{}", serde_json::to_string(&summary).unwrap_or_default())
    } else {
        write!(o, "{}", summary_text(&summary))
    }
    .and_then(|()| o.flush());
    if let Err(e) = written {
        return Ok(Outcome::OutputFailed(format!(
            "cannot write the output ({e}); the run was stopped and cleaned up"
        )));
    }
    if let (Some(t), Some(path)) = (printer.trace, &out.trace_out)
        && let Err(e) = crate::export::files::write_whole(path, t.finish().as_bytes())
    {
        return Ok(Outcome::OutputFailed(format!(
            "cannot write the trace {}: {e}",
            path.display()
        )));
    }
    Ok(Outcome::Exited(summary.exit_code))
}

/// Scenario `name`'s program as the tutorial wrote it (carried in the binary), to run under
/// the probe.
pub fn tutorial(
    name: &str,
    python: PathBuf,
    start_method: Option<String>,
) -> Result<PythonRun, RunError> {
    let text = crate::scenario::code::python(name);
    if text.is_empty() {
        return Err(RunError::Usage(format!("no Python program for {name:?}")));
    }
    Ok(PythonRun {
        python,
        script: PathBuf::from(format!("assets/python/mp_{name}.py")),
        args: Vec::new(),
        embedded: Some(text),
        start_method,
    })
}
