//! The scenario's own panel (value trace and lock lanes, queue, pool grid, compare table,
//! shared cells, the child's output) and the event log.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::panel;
use super::theme::{Theme, glyph};
use super::trace::{LockLanes, TracePlot};
use crate::app::{App, RunState};
use crate::model::about::Panel;
use crate::model::tasks::TaskCall;
use crate::scenario::shared;

pub struct ScenarioPanel<'a> {
    pub app: &'a App,
    pub run: &'a RunState,
    pub theme: &'a Theme,
}

impl Widget for ScenarioPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (run, t) = (self.run, self.theme);
        // A finished run with problems says so above everything else, wrapped so that the
        // reason is read whole (up to a third of the panel; the run's own view keeps the rest).
        let said = match &run.ended {
            Some(Err(msg)) => Some((" run failed ", std::slice::from_ref(msg))),
            Some(Ok(e)) if !e.problems.is_empty() => Some((" problems ", &e.problems[..])),
            _ => None,
        };
        let area = match said {
            Some((title, texts)) => {
                let width = area.width.saturating_sub(2).max(1) as usize;
                let lines: Vec<Line> = texts
                    .iter()
                    .flat_map(|p| crate::app::help::wrap(p, width))
                    .map(|l| Line::styled(l, t.bad))
                    .collect();
                let h = (lines.len() as u16 + 2).min((area.height / 3).max(3));
                let [top, rest] =
                    Layout::vertical([Constraint::Length(h), Constraint::Min(3)]).areas(area);
                Paragraph::new(lines)
                    .block(panel(title, t))
                    .render(top, buf);
                rest
            }
            None => area,
        };
        match &run.about.panel {
            // Chosen from what the program does.
            Panel::Program => super::program::ProgramPanel { run, theme: t }.render(area, buf),
            Panel::Lock { .. } => lock_view(run, area, buf, t),
            Panel::Queue { exact } => queue_view(run, *exact, area, buf, t),
            Panel::Pool { apply_arg } => pool_view(run, *apply_arg, area, buf, t),
            Panel::Compare => compare_view(run, area, buf, t),
            Panel::Shared { writes } => shared_view(run, *writes, area, buf, t),
            Panel::Process { args } => process_view(run, *args, area, buf, t),
        }
    }
}

/// A run of the counter, scaled to the exact total and the number of writes it will reach.
fn lock_plot<'a>(r: &'a crate::app::trace::TraceRun, panel: &Panel, t: &'a Theme) -> TracePlot<'a> {
    let locked = crate::runtime::Stage::of(&r.mode) == Some(crate::runtime::Stage::Locked);
    let target = panel.lock_target(locked);
    TracePlot {
        run: r,
        theme: t,
        target: target.map(|g| g.total),
        writes: target.map(|g| g.writes),
        label: None,
    }
}

fn lock_view(run: &RunState, area: Rect, buf: &mut Buffer, t: &Theme) {
    let lanes_h = (run.lock.lanes.len() as u16 + run.lock.waiting.len() as u16 + 3).clamp(4, 9);
    // Once the run is over, what to notice: the tutorial's claims beside this run's figures,
    // between the plots and the lanes — or in the lanes' place where the screen is short.
    let claims = claim_lines(run, t);
    let inner_w = area.width.saturating_sub(2).max(1) as usize;
    let claims_h = if claims.is_empty() {
        0
    } else {
        claims
            .iter()
            .map(|l| l.width().div_ceil(inner_w) as u16)
            .sum::<u16>()
            + 2
    };
    let (plots, lanes, notes) = if claims_h == 0 {
        let [p, l] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(lanes_h)]).areas(area);
        (p, Some(l), None)
    } else if area.height >= 6 + lanes_h + claims_h {
        let [p, n, l] = Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(claims_h),
            Constraint::Length(lanes_h),
        ])
        .areas(area);
        (p, Some(l), Some(n))
    } else {
        let [p, n] = Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(claims_h.min(area.height.saturating_sub(6))),
        ])
        .areas(area);
        (p, None, Some(n))
    };
    if let Some(n) = notes {
        Paragraph::new(claims)
            .wrap(Wrap { trim: false })
            .block(panel(" What to notice ", t))
            .render(n, buf);
    }
    let plot = |r| lock_plot(r, &run.about.panel, t);

    match run.trace.runs.as_slice() {
        [] => Paragraph::new("waiting for the first write…")
            .block(panel(" value ", t))
            .render(plots, buf),
        [one] => plot(one).render(plots, buf),
        [.., a, b] => {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(plots);
            plot(a).render(l, buf);
            plot(b).render(r, buf);
        }
    }
    if let Some(lanes) = lanes {
        LockLanes {
            lock: &run.lock,
            theme: t,
            now_ns: run.now_ns,
            users_only: false,
            name: None,
        }
        .render(lanes, buf);
    }
}

/// The child's life, stage by stage, each with its time once it has happened.
fn process_view(run: &RunState, (a, b): (i64, i64), area: Rect, buf: &mut Buffer, t: &Theme) {
    let v = &run.process;
    let t0 = v.spawned_ns.unwrap_or(0);
    let at = |ns: Option<u64>| match ns {
        Some(ns) => Span::styled(
            format!("{:>8.1} ms  ", ns.saturating_sub(t0) as f64 / 1e6),
            t.dim,
        ),
        None => Span::styled(format!("{:>11}  ", "…"), t.dim),
    };
    let stage = |done: bool, text: String| Span::styled(text, if done { t.text } else { t.dim });
    let child = v.child_pid.map_or("…".to_string(), |c| c.to_string());
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{:>11}  ", ""), t.dim),
            Span::styled(
                format!(
                    "parent, pid {}: p1 = mp.Process(target=job, args=({a}, {b}))",
                    v.parent_pid.map_or("…".into(), |p| p.to_string())
                ),
                t.text,
            ),
        ]),
        Line::from(vec![
            at(v.spawned_ns),
            stage(
                v.spawned_ns.is_some(),
                format!(
                    "p1.start(): the OS starts a new process, pid {child} ({})",
                    v.method
                ),
            ),
        ]),
        Line::from(vec![
            at(v.started_ns),
            stage(
                v.started_ns.is_some(),
                format!("child {child} runs job({a}, {b})"),
            ),
        ]),
    ];
    if v.printed.is_empty() {
        lines.push(Line::from(vec![
            at(None),
            stage(false, "child prints".into()),
        ]));
    }
    for (ns, text) in &v.printed {
        lines.push(Line::from(vec![
            at(Some(*ns)),
            Span::styled(format!("child prints: {text}"), t.accent),
        ]));
    }
    let (exit_ns, exit_text) = match v.exited {
        Some((ns, Some(c), _)) => (Some(ns), format!("child exits with code {c}")),
        Some((ns, _, Some(s))) => (Some(ns), format!("child is killed by signal {s}")),
        Some((ns, _, _)) => (Some(ns), "child exits".to_string()),
        None => (None, "child exits".to_string()),
    };
    lines.push(Line::from(vec![
        at(exit_ns),
        stage(exit_ns.is_some(), exit_text),
    ]));
    lines.push(Line::from(vec![
        at(exit_ns),
        stage(
            exit_ns.is_some(),
            format!(
                "p1.join() returns: the parent reaped {child}{}",
                v.exited
                    .and_then(|(_, c, _)| c)
                    .map_or(String::new(), |c| format!(", p1.exitcode = {c}"))
            ),
        ),
    ]));
    lines.push(Line::raw(""));
    lines.extend(claim_lines(run, t));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(panel(" Process: start → run → print → exit → join ", t))
        .render(area, buf);
}

/// One item of queue `q`: who put it and what, and who took it (`●1 q.put(5)  taken by ▲2 ✓`).
pub fn queue_item(it: &crate::app::views::QueueItem, q: &str, t: &Theme) -> Line<'static> {
    let mut spans = vec![
        Span::styled(format!("{}{} ", glyph(it.from), it.from), t.worker(it.from)),
        Span::styled(format!("{q}.put({})  ", it.value), t.text),
    ];
    match it.got_by {
        // A scenario's parent, which gets every item, is worker 0.
        Some(0) => spans.push(Span::styled("taken by the parent ✓", t.good)),
        Some(w) => {
            spans.push(Span::styled("taken by ", t.good));
            spans.push(Span::styled(format!("{}{w}", glyph(w)), t.worker(w)));
            spans.push(Span::styled(" ✓", t.good));
        }
        None => spans.push(Span::styled("in the queue", t.accent)),
    }
    Line::from(spans)
}

fn queue_view(run: &RunState, exact: i128, area: Rect, buf: &mut Buffer, t: &Theme) {
    let empty = crate::app::views::QueueView::default();
    let q = run.queues.of.get(&0).unwrap_or(&empty);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} put, {} in flight, ", q.items.len(), q.in_flight()),
            t.text,
        ),
        Span::styled(format!("parent's sum so far {}", q.sum()), t.accent),
        Span::styled(format!(" of exactly {exact}"), t.dim),
    ])];
    if let Some(Ok(_)) = &run.ended {
        let ok = q.sum() == exact;
        lines.push(Line::styled(
            format!(
                "print(res1 + res2) → {}   {}",
                q.sum(),
                if ok {
                    "exact ✓"
                } else {
                    "NOT the exact value"
                }
            ),
            if ok { t.good } else { t.bad },
        ));
    }
    lines.push(Line::raw(""));
    // The newest items that fit (a recording may hold a hundred thousand).
    let room = area.height.saturating_sub(6) as usize;
    for it in q.items.iter().skip(q.items.len().saturating_sub(room)) {
        lines.push(queue_item(it, "q", t));
    }
    lines.push(Line::raw(""));
    lines.extend(claim_lines(run, t));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(panel(" Queue ", t))
        .render(area, buf);
}

/// The pool's task grid, who ran how many, and its newest `rows` tasks.
pub fn pool_tasks(run: &RunState, rows: usize, t: &Theme) -> Vec<Line<'static>> {
    let pool = &run.pool;
    // The grid: one cell per task, in the colour and glyph of the worker that ran it.
    let mut grid = vec![Span::styled("tasks: ", t.dim)];
    let tasks = &pool.log.tasks;
    for task in tasks.values() {
        let (ch, style) = match task.outcome() {
            Some(false) => ('✗', t.bad),
            None => ('…', t.worker(task.worker)),
            Some(true) => (glyph(task.worker), t.worker(task.worker)),
        };
        grid.push(Span::styled(ch.to_string(), style));
    }
    let mut lines = vec![Line::from(grid)];
    let mut per: std::collections::BTreeMap<u16, u32> = Default::default();
    for task in tasks.values() {
        *per.entry(task.worker).or_default() += 1;
    }
    let mut who = vec![Span::styled("ran by: ", t.dim)];
    for (w, n) in per {
        who.push(Span::styled(
            format!(
                "{}{} {}  ",
                glyph(w),
                w,
                crate::report::count(n as u64, "task", "tasks")
            ),
            t.worker(w),
        ));
    }
    lines.push(Line::from(who));
    lines.push(Line::raw(""));
    // Numbered in the order they were given (a traced pool's own numbers are job << 16 | index).
    let skip = tasks.len().saturating_sub(rows);
    for (id, task) in tasks.values().enumerate().skip(skip) {
        let what = match task.what() {
            TaskCall::Call(call) => call.to_string(),
            TaskCall::Chunk {
                function,
                first,
                count,
            } => format!(
                "{function}(x) for x in range({first}, {}) — chunk of {count}",
                first + count as i64
            ),
        };
        let mut spans = vec![
            Span::styled(
                format!("{}{} ", glyph(task.worker), task.worker),
                t.worker(task.worker),
            ),
            Span::styled(format!("task {id:>3}: {what}"), t.text),
        ];
        if let Some(err) = &task.error {
            spans.push(Span::styled(format!("  → {err}"), t.bad));
        }
        lines.push(Line::from(spans));
    }
    lines
}

fn pool_view(run: &RunState, arg: i64, area: Rect, buf: &mut Buffer, t: &Theme) {
    let pool = &run.pool;
    let block = panel(format!(" Pool — {} ", pool.phase), t);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines = pool_tasks(run, inner.height.saturating_sub(8) as usize, t);
    if let Some(Ok(e)) = &run.ended {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("map → {}", short_list(&e.details["map"])),
            t.good,
        ));
        lines.push(Line::styled(
            format!(
                "apply_async(job, ({arg},)).get() → {}",
                e.details["apply_async"]
            ),
            t.good,
        ));
        lines.push(Line::styled(
            format!(
                "[r.get() for r in multi_res] → {}",
                short_list(&e.details["apply_async_list"])
            ),
            t.good,
        ));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// The tutorial's claims once the run has ended, each marked as it held or not here, with
/// what was measured.
pub fn claim_lines(run: &RunState, t: &Theme) -> Vec<Line<'static>> {
    let Some(Ok(end)) = &run.ended else {
        return Vec::new();
    };
    end.claims
        .iter()
        .map(|c| {
            let (mark, style) = if c.holds {
                ("✓", t.good)
            } else {
                ("✗", t.bad)
            };
            Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::styled(format!("{}: ", c.claim), t.text),
                Span::styled(c.measured.clone(), style),
            ])
        })
        .collect()
}

/// A compare variant as a person reads it: the `threads` row is real threads, which CPython's
/// are not.
fn variant_label(name: &str) -> &str {
    match name {
        "threads" => "threads, no GIL",
        "threads_gil" => "threads + GIL",
        other => other,
    }
}

fn compare_view(run: &RunState, area: Rect, buf: &mut Buffer, t: &Theme) {
    let mut lines = vec![Line::styled(
        format!(
            "{:<15} {:>8} {:>8}  CPU per core, whole machine",
            "variant", "time", "speed-up"
        ),
        t.dim,
    )];
    for r in &run.compare.rows {
        let secs = r
            .seconds
            .or_else(|| Some(run.active_s(r.start_ns, r.end_ns.unwrap_or(run.now_ns))));
        let mut spans = vec![
            Span::styled(format!("{:<15} ", variant_label(&r.name)), t.text),
            Span::styled(format!("{:>7.3}s ", secs.unwrap_or(0.0)), t.text),
            Span::styled(
                r.speedup
                    .map_or("       …".into(), |s| format!("{s:>7.2}×")),
                t.accent,
            ),
            Span::raw("  "),
        ];
        for (i, c) in r.cpu.iter().enumerate() {
            let (a, b) = super::cpu::bar(*c, 14);
            spans.push(Span::styled(format!("{i}"), t.dim));
            spans.push(Span::styled(a, t.bar(*c)));
            spans.push(Span::styled(format!("{b} "), t.text));
        }
        if r.correct == Some(false) {
            spans.push(Span::styled(" WRONG RESULT", t.bad));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    let claims = claim_lines(run, t);
    if claims.is_empty() {
        lines.push(Line::styled(
            "normal: the job twice in one process · threads, no GIL: 2 real threads (not \
             CPython's) · threads + GIL: 2 threads taking turns on one lock, as CPython's do · \
             processes: 2 processes",
            t.dim,
        ));
    }
    lines.extend(claims);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(panel(" Compare ", t))
        .render(area, buf);
}

fn shared_view(run: &RunState, writes: usize, area: Rect, buf: &mut Buffer, t: &Theme) {
    let mut lines = vec![Line::styled(
        "cell                      value(s)                       last writer  writes",
        t.dim,
    )];
    // Once the run is over, each cell beside what all the writes together should give.
    let expected = match &run.ended {
        Some(Ok(e)) => e.details["values"].as_array().cloned().unwrap_or_default(),
        _ => Vec::new(),
    };
    for (i, c) in run.shared.cells.iter().enumerate() {
        let show = |v: &[String]| {
            if v.len() > 1 {
                format!("[{}]", v.join(", "))
            } else {
                v.join(", ")
            }
        };
        let mut vals = show(&c.values.iter().map(|v| v.to_string()).collect::<Vec<_>>());
        let nums = |key: &str| {
            let v = expected.get(i).map(|x| x[key].clone())?;
            serde_json::from_value::<Vec<crate::runtime::Num>>(v).ok()
        };
        if let (Some(finals), Some(want)) = (nums("final"), nums("expected")) {
            // The run's own check: floats within a millionth, integers exactly.
            let exact = finals.len() == want.len()
                && finals
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| shared::close_enough(*a, *b));
            let want: Vec<String> = want.iter().map(|v| v.to_string()).collect();
            if exact {
                vals.push_str(" ✓");
            } else {
                vals.push_str(&format!(" ≠ {}", show(&want)));
            }
        }
        let mut spans = vec![Span::styled(
            format!("{:<25} {:<30} ", c.name, vals),
            t.text,
        )];
        match c.last_writer {
            Some(w) => spans.push(Span::styled(format!("{}{:<11}", glyph(w), w), t.worker(w))),
            None => spans.push(Span::styled(format!("{:<12}", "-"), t.dim)),
        }
        spans.push(Span::styled(format!(" {}", c.writes), t.text));
        lines.push(Line::from(spans));
    }
    let claims = claim_lines(run, t);
    let table_h = (run.shared.cells.len() as u16 + 3 + claims.len() as u16).min(area.height);
    lines.extend(claims);
    let [table, trace] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(area);
    Paragraph::new(lines)
        .block(panel(" Shared segment ", t))
        .render(table, buf);
    // The first Value's writes, by writer, when there is room to draw them.
    if let (Some(r), true) = (run.trace.runs.last(), trace.height >= 6) {
        TracePlot {
            run: r,
            theme: t,
            target: None,
            writes: Some(writes),
            label: None,
        }
        .render(trace, buf);
    }
}

/// The newest lines of the event log.
pub struct LogPanel<'a> {
    pub run: &'a RunState,
    /// Lines scrolled back from the newest (the wheel over the panel; 0 follows the run).
    pub scroll: usize,
    pub theme: &'a Theme,
}

/// The run's recent events as log lines, those of `worker` only when given.
fn log_lines(run: &RunState, worker: Option<u16>) -> Vec<String> {
    let t0 = run.t0.unwrap_or(0);
    let cells = &run.cells;
    run.log
        .iter()
        .filter(|e| worker.is_none_or(|w| e.worker == w))
        .filter_map(|e| crate::report::text_line(e, t0, cells))
        .collect()
}

/// The `rows` lines to show of `lines`, `scroll` back from the newest (clamped), and a word
/// for the title when scrolled back.
fn scrolled(lines: &[String], rows: usize, scroll: usize) -> (&[String], String) {
    let back = scroll.min(lines.len().saturating_sub(rows));
    let end = lines.len() - back;
    let shown = &lines[end.saturating_sub(rows)..end];
    let note = if back > 0 {
        format!("· {back} lines back, wheel down to follow ")
    } else {
        String::new()
    };
    (shown, note)
}

impl Widget for LogPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let lines = log_lines(self.run, None);
        let n = area.height.saturating_sub(2) as usize;
        let (shown, note) = scrolled(&lines, n, self.scroll);
        let block = panel(format!(" Events ({}) {note}", self.run.events), t);
        let inner = block.inner(area);
        block.render(area, buf);
        let lines: Vec<Line> = shown
            .iter()
            .map(|l| Line::styled(l.clone(), t.text))
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

/// One worker picked with a click: who it is, what it does now, and its recent events.
pub struct WorkerDetails<'a> {
    pub run: &'a RunState,
    pub row: &'a crate::app::workers::WorkerRow,
    pub scroll: usize,
    pub theme: &'a Theme,
}

impl Widget for WorkerDetails<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (t, r) = (self.theme, self.row);
        let lines = log_lines(self.run, Some(r.id));
        let n = area.height.saturating_sub(3) as usize;
        let (shown, note) = scrolled(&lines, n, self.scroll);
        let title = Line::from(vec![
            Span::styled(format!(" worker {}{} ", glyph(r.id), r.id), t.worker(r.id)),
            Span::styled(format!("{note}· click it again or esc to close "), t.title),
        ]);
        let block = panel(title, t);
        let inner = block.inner(area);
        block.render(area, buf);
        let cores = match r.cores.as_slice() {
            [] => "-".to_string(),
            cs => cs.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        };
        let mut out = vec![Line::from(vec![
            Span::styled(format!("pid {}", r.pid), t.text),
            Span::styled(format!(" · {} · ", r.role), t.dim),
            Span::styled(r.state.label(), t.accent),
            Span::styled(
                format!(
                    " · CPU {:.1}% on core {cores} · {} events",
                    r.cpu_pct, r.events
                ),
                t.dim,
            ),
        ])];
        if shown.is_empty() {
            out.push(Line::styled(
                "(none of its events is among the run's recent ones)",
                t.dim,
            ));
        }
        out.extend(shown.iter().map(|l| Line::styled(l.clone(), t.text)));
        Paragraph::new(out).render(inner, buf);
    }
}

/// A JSON list as the pool's text report shows one (cut after ten items when long: a map over
/// millions of values must not be formatted whole in every frame).
fn short_list(v: &serde_json::Value) -> String {
    v.as_array().map_or_else(
        || v.to_string(),
        |items| crate::scenario::pool::show_list(items),
    )
}
