//! A traced program's panel, chosen from what its events show, with no knowledge of the
//! script: a trace per shared value it writes, the lock lanes once a lock is taken, the
//! pool's tasks, the queue's items — and, while it shows none of these, each process's life
//! and what it printed.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::panel;
use super::theme::{Theme, glyph};
use super::trace::{LockLanes, TracePlot};
use crate::app::RunState;
use crate::app::trace::WaitsFor;
use crate::runtime::event::Stream;

/// The narrowest a value's trace is drawn beside another.
const PLOT_W: u16 = 38;
/// The lowest a value's trace is drawn.
const PLOT_H: u16 = 6;

pub struct ProgramPanel<'a> {
    pub run: &'a RunState,
    pub theme: &'a Theme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Values,
    Pool,
    /// The queue of this number.
    Queue(u16),
    /// The lock of `RunState::lock_timelines` at this place.
    Lock(usize),
    Lives,
}

impl ProgramPanel<'_> {
    /// The parts this run's events call for, each with the height it asks for and the least
    /// it can be drawn in (the first takes what the others leave).
    fn parts(&self) -> Vec<(Part, u16, u16)> {
        let run = self.run;
        let mut parts = Vec::new();
        if !run.trace.runs.is_empty() {
            parts.push((Part::Values, PLOT_H, 3));
        }
        if !run.pool.log.tasks.is_empty() {
            let h = (run.pool.log.tasks.len() as u16 + 5).clamp(5, 10);
            parts.push((Part::Pool, h, 3));
        }
        // A panel per queue that had an item put on it; with several, each a little lower.
        let queues: Vec<(u16, usize)> = run
            .queues
            .of
            .iter()
            .map(|(id, q)| (*id, q.items.len()))
            .filter(|&(_, n)| n > 0)
            .collect();
        let most = if queues.len() > 1 { 6 } else { 9 };
        for &(id, n) in &queues {
            parts.push((Part::Queue(id), (n as u16 + 3).clamp(4, most), 3));
        }
        // A lane panel per lock that was taken; with several, each a little lower.
        let taken: Vec<(usize, u16)> = run
            .lock_timelines()
            .enumerate()
            .map(|(i, l)| (i, l.users().len() as u16))
            .filter(|&(_, users)| users > 0)
            .collect();
        for &(i, users) in &taken {
            let h = if taken.len() == 1 {
                2 * users + 2
            } else {
                users + 3
            };
            // Every user's lane, or not drawn at all (a lane left out would go unsaid).
            let least = (users + 2).min(9);
            parts.push((Part::Lock(i), h.clamp(4, 9), least));
        }
        if parts.is_empty() {
            parts.push((Part::Lives, 3, 3));
        }
        parts
    }
}

impl Widget for ProgramPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (run, t) = (self.run, self.theme);
        // A deadlock is said first, above whatever else there is.
        let mut area = area;
        if let Some(ring) = run.deadlock() {
            let h = (ring.len() as u16 + 3).min(area.height);
            let [top, rest] =
                Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(area);
            deadlock(run, &ring, top, buf, t);
            area = rest;
        }
        let parts = self.parts();
        // The first keeps what it asks for at least; each other part then gets its height
        // while there is room (one squeezed below its least is left out); the first has the
        // rest.
        let mut left = area.height.saturating_sub(parts[0].1);
        let mut heights: Vec<u16> = parts
            .iter()
            .enumerate()
            .map(|(i, &(_, want, least))| {
                let h = want.min(left);
                if i == 0 || h < least {
                    return 0;
                }
                left -= h;
                h
            })
            .collect();
        heights[0] = area.height - heights[1..].iter().sum::<u16>();
        if parts[0].0 != Part::Values {
            // Lanes, tasks or items gain nothing from rows past their own: what is left is
            // shared among the parts shown, not given to the first.
            let extra = heights[0].saturating_sub(parts[0].1);
            let shown: Vec<usize> = (0..parts.len()).filter(|&i| heights[i] > 0).collect();
            if extra > 0 && shown.len() > 1 {
                heights[0] -= extra;
                let n = shown.len() as u16;
                for (k, &i) in shown.iter().enumerate() {
                    heights[i] += extra / n + u16::from((k as u16) < extra % n);
                }
            }
        }
        let mut y = area.y;
        let mut unshown = Vec::new();
        for (&(part, ..), &h) in parts.iter().zip(heights.iter()) {
            let a = Rect::new(area.x, y, area.width, h);
            y += h;
            if h == 0 {
                unshown.push(part_name(run, part));
                continue;
            }
            match part {
                Part::Values => values(run, a, buf, t),
                Part::Pool => pool(run, a, buf, t),
                Part::Queue(id) => queue(run, id, a, buf, t),
                Part::Lock(i) => {
                    if let Some(lock) = run.lock_timelines().nth(i) {
                        LockLanes {
                            lock,
                            theme: t,
                            now_ns: run.now_ns,
                            users_only: true,
                            name: run.cells.lock_label(lock.lock),
                        }
                        .render(a, buf)
                    }
                }
                Part::Lives => lives(run, a, buf, t),
            }
        }
        if !unshown.is_empty() {
            // Said on the bottom border: what a taller window would show.
            let note = format!(" no room for {} ", unshown.join(", "));
            let y = area.bottom().saturating_sub(1);
            let w = note.chars().count() as u16;
            let x = area.right().saturating_sub(w + 1).max(area.x + 1);
            buf.set_stringn(x, y, note, area.width.saturating_sub(2) as usize, t.accent);
        }
    }
}

/// A part as the note on what is not shown names it.
fn part_name(run: &RunState, part: Part) -> String {
    match part {
        Part::Values => "the values".into(),
        Part::Pool => "the pool".into(),
        Part::Queue(id) => queue_label(run, id),
        Part::Lock(i) => run
            .lock_timelines()
            .nth(i)
            .and_then(|l| run.cells.lock_label(l.lock))
            .unwrap_or_else(|| "the lock".into()),
        Part::Lives => "the processes".into(),
    }
}

/// Who waits for whom, round the ring, and what ends it.
fn deadlock(run: &RunState, ring: &[WaitsFor], area: Rect, buf: &mut Buffer, t: &Theme) {
    let lock = |l: u16| run.cells.lock_label(l).unwrap_or_else(|| "the lock".into());
    let mut lines: Vec<Line> = ring
        .iter()
        .map(|w| {
            let mut spans = vec![
                Span::styled(
                    format!("{}{} ", glyph(w.worker), w.worker),
                    t.worker(w.worker),
                ),
                Span::styled(format!("waits for {}, held by ", lock(w.lock)), t.text),
            ];
            if w.holder == w.worker {
                spans.push(Span::styled("itself", t.bad));
            } else {
                spans.push(Span::styled(
                    format!("{}{}", glyph(w.holder), w.holder),
                    t.worker(w.holder),
                ));
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::styled(
        if ring.len() == 1 {
            "A Lock is not re-entrant (an RLock is): it cannot go on. q ends the program."
        } else {
            "None can go on: each holds what the next one waits for. q ends the program."
        },
        t.dim,
    ));
    let title = if ring.len() == 1 {
        " Deadlock: a worker waits for a lock it holds ".to_string()
    } else {
        format!(
            " Deadlock: {} workers wait for each other's locks ",
            ring.len()
        )
    };
    Paragraph::new(lines)
        .block(panel(title, t).border_style(t.bad))
        .render(area, buf);
}

/// A trace per shared value (each element of an Array its own), as many side by side and
/// above each other as fit, in the order they were first written.
fn values(run: &RunState, area: Rect, buf: &mut Buffer, t: &Theme) {
    let runs = &run.trace.runs;
    let cols = (area.width / PLOT_W).clamp(1, runs.len().clamp(1, 4) as u16);
    let rows = (area.height / PLOT_H)
        .max(1)
        .min(runs.len().div_ceil(cols as usize) as u16);
    let shown = (cols * rows) as usize;
    let row_areas =
        Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows as usize]).split(area);
    for (r, row) in row_areas.iter().enumerate() {
        let in_row: Vec<_> = runs
            .iter()
            .take(shown)
            .skip(r * cols as usize)
            .take(cols as usize)
            .collect();
        if in_row.is_empty() {
            break;
        }
        let cells =
            Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols as usize]).split(*row);
        for (one, &cell) in in_row.into_iter().zip(cells.iter()) {
            TracePlot {
                run: one,
                theme: t,
                target: None,
                writes: None,
                label: run.cells.known(one.cell, one.index),
            }
            .render(cell, buf);
        }
    }
    if runs.len() > shown {
        // Said on the last panel's bottom border: which values are not drawn.
        let note = format!(" +{} more values ", runs.len() - shown);
        let y = area.bottom().saturating_sub(1);
        let x = area.right().saturating_sub(note.chars().count() as u16 + 1);
        buf.set_string(x, y, note, t.dim);
    }
}

fn pool(run: &RunState, area: Rect, buf: &mut Buffer, t: &Theme) {
    let tasks = &run.pool.log.tasks;
    let failed = tasks
        .values()
        .filter(|k| k.outcome() == Some(false))
        .count();
    let running = tasks.values().filter(|k| k.outcome().is_none()).count();
    let title = format!(
        " Pool: {}, {running} running{} ",
        crate::report::count(tasks.len() as u64, "task", "tasks"),
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    let block = panel(title, t);
    let inner = block.inner(area);
    block.render(area, buf);
    let lines = super::views::pool_tasks(run, inner.height.saturating_sub(3) as usize, t);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// A queue as the program names it (`JoinableQueue tasks`), or `Queue` for one it did not.
fn queue_label(run: &RunState, id: u16) -> String {
    run.cells.queue_label(id).unwrap_or_else(|| "Queue".into())
}

fn queue(run: &RunState, id: u16, area: Rect, buf: &mut Buffer, t: &Theme) {
    let Some(q) = run.queues.of.get(&id) else {
        return;
    };
    let waiting = q.in_flight();
    // Its items as the program's lines put them (`tasks.put(3)`).
    let name = run.cells.queue_var(id);
    let title = format!(
        " {}: {} put, {} taken, {waiting} in the queue ",
        queue_label(run, id),
        q.items.len(),
        q.items.len() - waiting
    );
    let room = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = q
        .items
        .iter()
        .skip(q.items.len().saturating_sub(room))
        .map(|it| super::views::queue_item(it, name, t))
        .collect();
    Paragraph::new(lines)
        .block(panel(title, t))
        .render(area, buf);
}

/// Each process: when it started and ended, and its newest lines, as many as fit.
fn lives(run: &RunState, area: Rect, buf: &mut Buffer, t: &Theme) {
    let t0 = run.t0.unwrap_or(0);
    let ms = |ns: u64| format!("{:.1} ms", ns.saturating_sub(t0) as f64 / 1e6);
    let lives = &run.lives.of;
    let room = area.height.saturating_sub(2) as usize;
    // As many of each one's newest lines as let every process have its own line.
    let printed_each = (0..=3)
        .rev()
        .find(|&k| {
            lives.len()
                + lives
                    .values()
                    .map(|l| l.printed.len().min(k))
                    .sum::<usize>()
                <= room
        })
        .unwrap_or(0);
    let mut lines = Vec::new();
    for (&w, life) in lives {
        let role = run
            .workers
            .rows
            .iter()
            .find(|r| r.id == w)
            .map_or("", |r| r.role.as_str());
        let mut spans = vec![
            Span::styled(format!("{}{} ", glyph(w), w), t.worker(w)),
            Span::styled(
                format!(
                    "{role}  {} {}",
                    if life.thread { "tid" } else { "pid" },
                    life.pid
                ),
                t.text,
            ),
        ];
        if let Some(s) = life.started_ns {
            spans.push(Span::styled(format!("  started {}", ms(s)), t.dim));
        }
        let ended = match life.exited {
            Some((ns, Some(c), _)) => Some((ns, format!("exit code {c}"), c == 0)),
            Some((ns, _, Some(s))) => Some((ns, format!("killed by signal {s}"), false)),
            Some((ns, None, None)) if life.thread => Some((ns, "ended".to_string(), true)),
            // Its connection closed before it said how it ended: a signal, most likely.
            Some((ns, None, None)) => Some((ns, "ended unsaid (killed?)".to_string(), false)),
            None => None,
        };
        if let Some((ns, what, ok)) = ended {
            spans.push(Span::styled(format!("  {what} at {}", ms(ns)), t.dim));
            if !ok {
                spans.push(Span::styled(" ✗", t.bad));
            }
        }
        if life.lines > 0 {
            spans.push(Span::styled(
                format!(
                    "  {}",
                    crate::report::count(life.lines, "line printed", "lines printed")
                ),
                t.dim,
            ));
        }
        lines.push(Line::from(spans));
        let newest = life.printed.len().saturating_sub(printed_each);
        for (_, stream, text) in life.printed.iter().skip(newest) {
            let (mark, style) = match stream {
                Stream::Stdout => ("|", t.accent),
                Stream::Stderr => ("!", t.bad),
            };
            lines.push(Line::from(vec![
                Span::raw("    "),
                Span::styled(format!("{mark} {text}"), style),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled(
            "waiting for the program's first process…",
            t.dim,
        ));
    }
    let title = if lives.values().any(|l| l.thread) {
        " Processes and threads: their lives and what they print "
    } else {
        " Processes: their lives and what they print "
    };
    Paragraph::new(lines)
        .block(panel(title, t))
        .render(area, buf);
}
