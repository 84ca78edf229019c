//! The headless front end's output: a readable account of a run as it happens, like the
//! tutorial's prints, or one JSON object per event and a final summary (`--json`).

use std::io::Write;

use crate::model::tasks::TaskCall;
use crate::runtime::event::Stream;
use crate::runtime::{Access, Envelope, EventKind};
use crate::scenario::{Summary, signal_name};

/// Prints each event as one JSON line.
pub fn json_line(out: &mut impl Write, e: &Envelope) -> std::io::Result<()> {
    match serde_json::to_string(e) {
        Ok(s) => writeln!(out, "{s}"),
        Err(_) => Ok(()),
    }
}

/// Whether an event gets a line of its own (`text_line` gives `None` for the rest).
pub fn is_logged(e: &Envelope) -> bool {
    match &e.kind {
        EventKind::Phase { .. } => e.worker == 0,
        EventKind::TaskEnd { ok: true, .. }
        | EventKind::LockRequested { .. }
        | EventKind::Blocked { .. }
        | EventKind::Unblocked => false,
        _ => true,
    }
}

/// `n` and its noun, singular or plural: "1 acquisition", "3 acquisitions".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A readable line for an event, or `None` for events too fine-grained to print; shared cells
/// are named from `cells` (`Array('i')[3]`, not `cell 2[3]`).
pub fn text_line(e: &Envelope, t0: u64, cells: &crate::model::names::CellNames) -> Option<String> {
    let cell_name = |c: u16, i: u32| cells.of(c, i);
    let lock_name = |l: u16| cells.lock_label(l).unwrap_or_else(|| "the lock".into());
    let queue_name = |q: u16| cells.queue_var(q);
    let who = if e.worker == 0 {
        "parent".to_string()
    } else {
        format!("worker {}", e.worker)
    };
    let ms = |ns: u64| ns as f64 / 1e6;
    let what = match &e.kind {
        EventKind::Spawned { method } => format!("pid {} starting ({method})", e.pid),
        EventKind::Started => "running".into(),
        EventKind::Phase { name } if e.worker == 0 => return Some(format!("-- {name} --")),
        // Where a process is and what it waits in: its row's state says so, not the log.
        EventKind::Phase { .. }
        | EventKind::At { .. }
        | EventKind::Blocked { .. }
        | EventKind::Unblocked => return None,
        EventKind::Cell { name, what, at, .. }
        | EventKind::LockMade { name, what, at, .. }
        | EventKind::QueueMade { name, what, at, .. } => {
            if name.is_empty() {
                format!("makes {what} at {at}")
            } else {
                format!("makes {name} = {what} at {at}")
            }
        }
        EventKind::Output {
            stream: Stream::Stdout,
            text,
        } => format!("| {text}"),
        EventKind::Output {
            stream: Stream::Stderr,
            text,
        } => format!("! {text}"),
        EventKind::QueuePut { queue, value } => format!("{}.put({value})", queue_name(*queue)),
        EventKind::QueueGet { queue, from, value } => {
            format!(
                "{}.get() -> {value} (put by worker {from})",
                queue_name(*queue)
            )
        }
        EventKind::TaskStart {
            task,
            call,
            first,
            count,
        } => match TaskCall::of(call, *first, *count) {
            TaskCall::Call(call) => format!("task {task}: {call}"),
            TaskCall::Chunk {
                function,
                first,
                count,
            } => format!(
                "task {task}: {function}(x) for x in {first}..{}",
                first + count as i64
            ),
        },
        EventKind::TaskEnd {
            task,
            ok: false,
            error,
        } => {
            format!(
                "task {task} failed: {}",
                error.as_deref().unwrap_or("error")
            )
        }
        EventKind::TaskEnd { .. } => return None,
        EventKind::Read {
            cell, index, value, ..
        } => format!("reads  {} = {value}", cell_name(*cell, *index)),
        EventKind::Write {
            cell,
            index,
            old,
            new,
            ..
        } => {
            format!("writes {} {old} -> {new}", cell_name(*cell, *index))
        }
        EventKind::Gate { access } => format!(
            "waits at the gate before its {}",
            if *access == Access::Read {
                "read"
            } else {
                "write"
            }
        ),
        EventKind::LockRequested { .. } => return None,
        EventKind::LockAcquired {
            lock,
            wait_ns,
            contended,
        } => format!(
            "holds {}{}",
            lock_name(*lock),
            if *contended {
                format!(" (waited {:.1} ms)", ms(*wait_ns))
            } else {
                String::new()
            }
        ),
        EventKind::LockReleased { lock, hold_ns } => {
            format!(
                "releases {} (held {:.1} ms)",
                lock_name(*lock),
                ms(*hold_ns)
            )
        }
        EventKind::LockRecovered => "recovered the lock from an owner that died holding it".into(),
        EventKind::LockGaveUp { lock } => format!("gives up waiting for {}", lock_name(*lock)),
        EventKind::Result {
            label,
            value,
            elapsed_ns,
        } => {
            format!("{label} -> {value} ({:.3} s)", *elapsed_ns as f64 / 1e9)
        }
        EventKind::Error { message } => format!("error: {message}"),
        EventKind::Exit { code: Some(c), .. } => format!("exited with code {c}"),
        EventKind::Exit {
            signal: Some(s), ..
        } => {
            format!("was killed by signal {s} ({})", signal_name(*s))
        }
        // A traced thread's end, or a process that closed its connection before it said how
        // it ended (killed, most likely: the summary counts those).
        EventKind::Exit { .. } => "ended without an exit code".into(),
        EventKind::Dropped { count } => format!("{count} events were lost"),
        EventKind::Paused => "stops every worker (SIGSTOP): paused".into(),
        EventKind::Resumed => "lets the workers go on (SIGCONT)".into(),
    };
    Some(format!(
        "{:>9.1} ms  {who:<9} {what}",
        ms(e.t_ns.saturating_sub(t0))
    ))
}

/// The closing account of a run in text.
pub fn summary_text(s: &Summary) -> String {
    let mut t = String::new();
    t.push_str(&format!("\n== {} ==\n", s.scenario));
    t.push_str(&s.text);
    t.push_str(&format!(
        "start ({}): {} workers, median {:.2} ms from spawn to first event (min {:.2}, max {:.2})\n",
        s.start_method, s.spawn.workers, s.spawn.median_ms, s.spawn.min_ms, s.spawn.max_ms
    ));
    t.push_str(&format!("events dropped: {}\n", s.dropped_events));
    for c in &s.claims {
        t.push_str(&format!(
            "{} claim: {}; here: {}\n",
            if c.holds { "✓" } else { "✗" },
            c.claim,
            c.measured
        ));
    }
    if !s.swept_segments.is_empty() {
        t.push_str(&format!(
            "removed {} stale segment(s) of earlier runs: {}\n",
            s.swept_segments.len(),
            s.swept_segments.join(", ")
        ));
    }
    if s.problems.is_empty() {
        t.push_str("ok\n");
    } else {
        for p in &s.problems {
            t.push_str(&format!("PROBLEM: {p}\n"));
        }
    }
    t
}

/// Prints a headless run's events as they arrive (JSON lines or text) and collects its Chrome
/// trace if one is asked for. A write that fails (the reader went away, a full disk) is kept
/// and stops the run, cleanly: there is no one left to show it to.
pub struct Printer {
    json: bool,
    t0: u64,
    cells: crate::model::names::CellNames,
    pub trace: Option<crate::export::trace::ChromeTrace>,
    pub error: Option<std::io::Error>,
}

impl Printer {
    pub fn new(json: bool, cells: crate::model::names::CellNames, trace: bool) -> Printer {
        Printer {
            json,
            t0: crate::runtime::clock::now_ns(),
            cells,
            trace: trace.then(crate::export::trace::ChromeTrace::default),
            error: None,
        }
    }

    pub fn observe(&mut self, e: &Envelope) {
        if let Some(t) = self.trace.as_mut() {
            t.observe(e);
        }
        self.cells.learn(&e.kind);
        if self.error.is_some() {
            return;
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let written = if self.json {
            json_line(&mut out, e)
        } else {
            match text_line(e, self.t0, &self.cells) {
                Some(line) => writeln!(out, "{line}"),
                None => Ok(()),
            }
        };
        if let Err(err) = written {
            self.error = Some(err);
            crate::runtime::spawn::interrupt_flag()
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}
