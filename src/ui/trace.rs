//! The shared counter drawn as its writers left it: one point per write, in the writer's glyph
//! and colour, lost updates crossed out; and the lock's lanes (holding, waiting, running) per
//! worker over time, with the reason a worker is blocked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::panel;
use super::theme::{Theme, glyph};
use crate::app::trace::{Lane, LockTimeline, TraceRun};
use crate::model::lost::WriteRec;
use crate::report::count;

pub struct TracePlot<'a> {
    pub run: &'a TraceRun,
    pub theme: &'a Theme,
    /// The exact total the run should reach, when known.
    pub target: Option<i128>,
    /// How many writes the run will make, when known (spreads the points over the width).
    pub writes: Option<usize>,
    /// What the value is called, when it has a name (a traced program's `v`, `array[2]`).
    pub label: Option<String>,
}

/// Glyph that marks a lost update.
pub const LOST: char = '✗';

impl Widget for TracePlot<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let run = self.run;
        let mode = match crate::runtime::Stage::of(&run.mode) {
            Some(crate::runtime::Stage::Locked) => "with the lock",
            Some(crate::runtime::Stage::Unlocked) => "without the lock",
            _ => self.label.as_deref().unwrap_or("value"),
        };
        let lost = run.lost.len();
        let (now, expected) = run.now_and_expected();
        let title = Line::from(vec![
            Span::styled(format!(" {mode}: "), t.title),
            Span::styled(
                if run.is_float() {
                    format!("{} of {} ", run.say(now), run.say(expected))
                } else {
                    // Exact, whatever the size: not through a float.
                    format!("{} of {} ", run.actual(), run.expected_so_far())
                },
                t.text,
            ),
            if lost > 0 {
                Span::styled(format!("— {lost} lost "), t.bad)
            } else {
                Span::styled("— exact ", t.good)
            },
        ]);
        let block = panel(title, t);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height < 3 || inner.width < 12 {
            return;
        }
        let top = (self.target.unwrap_or(0) as f64)
            .max(expected)
            .max(now)
            .max(1.0);
        let top_label = run.say(top);
        let label_w = top_label.chars().count() as u16 + 1;
        // The latest lost update in words, under the plot, when there is room for it.
        let caption = run.lost.last().filter(|_| inner.height >= 6);
        let plot_h = inner.height - 1 - u16::from(caption.is_some());
        let plot = Rect::new(inner.x + label_w, inner.y, inner.width - label_w, plot_h);
        buf.set_string(
            inner.x,
            plot.y,
            format!("{top_label:>w$}", w = label_w as usize - 1),
            t.dim,
        );
        buf.set_string(
            inner.x,
            plot.bottom() - 1,
            format!("{:>w$}", 0, w = label_w as usize - 1),
            t.dim,
        );
        for y in plot.y..plot.bottom() {
            buf.set_string(plot.x, y, "│", t.border);
        }
        let n = run.writes.len().max(self.writes.unwrap_or(0)).max(1);
        let cols = plot.width.saturating_sub(1) as usize;
        // The lost writes in time order, looked up by binary search: the writes are in time
        // order too, so whether a column holds a lost one is a search, not a scan of its writes.
        let mut lost: Vec<&WriteRec> = run.lost.iter().map(|l| &l.lost).collect();
        lost.sort_by_key(|w| w.t_ns);
        let is_lost = |w: &WriteRec| lost.binary_search_by_key(&w.t_ns, |l| l.t_ns).is_ok();
        // With more writes than columns, each column shows its last write, or a lost one if it
        // holds any: the cost of a frame stays bounded by the plot's width, not the run's length.
        let mut draw = |x: usize, w: &WriteRec, is_lost: bool| {
            let frac = run.numbers(w).1.clamp(0.0, top) / top;
            let y = plot.bottom() - 1 - ((plot.height - 1) as f64 * frac).round() as u16;
            let (ch, style) = if is_lost {
                (LOST, t.bad)
            } else {
                (glyph(w.worker), t.worker(w.worker))
            };
            buf.set_string(plot.x + 1 + x as u16, y, ch.to_string(), style);
        };
        if n <= cols {
            for (i, w) in run.writes.iter().enumerate() {
                draw(i * cols / n, w, is_lost(w));
            }
        } else {
            for x in 0..cols {
                let (from, to) = (x * n / cols, ((x + 1) * n / cols).min(run.writes.len()));
                if from >= to {
                    break;
                }
                let span = &run.writes[from..to];
                let (t_from, t_to) = (span[0].t_ns, span[span.len() - 1].t_ns);
                let marked = lost[..lost.partition_point(|l| l.t_ns <= t_to)]
                    .last()
                    .copied()
                    .filter(|l| l.t_ns >= t_from);
                if let Some(w) = marked.or(span.last()) {
                    draw(x, w, marked.is_some());
                }
            }
        }
        if let Some(l) = caption {
            let (a, b) = (l.lost, l.overwritten_by);
            let ((a_old, a_new), (b_old, b_new)) = (run.say_write(&a), run.say_write(&b));
            let both = if l.same_read {
                format!(" (both read {a_old})")
            } else {
                String::new()
            };
            // The longest wording that fits the panel, never a cut one.
            let line = |lost: &str, by: &str, both: &str| {
                Line::from(vec![
                    Span::styled(lost.to_string(), t.bad),
                    Span::styled(
                        format!("{}{} {a_old}→{a_new}", glyph(a.worker), a.worker),
                        t.worker(a.worker),
                    ),
                    Span::styled(by.to_string(), t.dim),
                    Span::styled(
                        format!("{}{} {b_old}→{b_new}", glyph(b.worker), b.worker),
                        t.worker(b.worker),
                    ),
                    Span::styled(both.to_string(), t.dim),
                ])
            };
            let lost = format!("{LOST} lost: ");
            let short = format!("{LOST} ");
            let caption = [
                line(&lost, ", overwritten by ", &both),
                line(&short, " lost to ", &both),
                line(&short, " lost to ", ""),
                line(&short, "→✗ by ", ""),
            ]
            .into_iter()
            .find(|l| l.width() <= inner.width as usize)
            .unwrap_or_else(|| line(&short, "→✗ by ", ""));
            caption.render(Rect::new(inner.x, inner.bottom() - 2, inner.width, 1), buf);
        }
        // Legend: which glyph is which worker, and what the cross means.
        let mut legend = vec![Span::styled("writers: ", t.dim)];
        for wk in &run.workers {
            legend.push(Span::styled(
                format!("{}{} ", glyph(*wk), wk),
                t.worker(*wk),
            ));
        }
        legend.push(Span::styled(format!(" {LOST} lost update"), t.bad));
        Line::from(legend).render(Rect::new(inner.x, inner.bottom() - 1, inner.width, 1), buf);
    }
}

pub struct LockLanes<'a> {
    pub lock: &'a LockTimeline,
    pub theme: &'a Theme,
    pub now_ns: u64,
    /// Only the workers that took the lock or wait for it (a traced program's other
    /// processes have no part in it).
    pub users_only: bool,
    /// The lock as the program names it (a traced program's: `Lock la`), for the title.
    pub name: Option<String>,
}

/// Milliseconds as a lane's figures show them: tenths below 10 ms (a hold of 0.2 ms is not 0).
fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn lane_char(l: Option<Lane>) -> char {
    match l {
        Some(Lane::Holding) => '█',
        Some(Lane::Waiting) => '░',
        Some(Lane::Running) => '─',
        Some(Lane::Sleeping) => '·',
        Some(Lane::AtGate) => '┆',
        Some(Lane::Exited) | None => ' ',
    }
}

impl Widget for LockLanes<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let s = self.lock.stats.clone().finish();
        let title = format!(
            " {}: {}, {} contended, {}{} ",
            self.name.as_deref().unwrap_or("Lock"),
            count(s.acquisitions, "acquisition", "acquisitions"),
            s.contended,
            count(s.owner_changes, "owner change", "owner changes"),
            if self.lock.recovered > 0 {
                format!(", {} recovered", self.lock.recovered)
            } else {
                String::new()
            }
        );
        let block = panel(title, t);
        let inner = block.inner(area);
        block.render(area, buf);
        let (start, end) = self.lock.window(self.now_ns);
        let span = end.saturating_sub(start).max(1);
        let mut y = inner.y;
        let lane_w = inner.width.saturating_sub(44) as u64;
        let users = self.lock.users();
        for (w, _) in self.lock.lanes.iter() {
            if y >= inner.bottom() {
                break;
            }
            if self.users_only && users.binary_search(w).is_err() {
                continue;
            }
            let lane: String = (0..lane_w)
                .map(|x| {
                    // In 128 bits: a recording's times can be anything (span × x overflows u64).
                    let at = span as u128 * x as u128 / lane_w.max(1) as u128;
                    lane_char(self.lock.lane_at(*w, start.saturating_add(at as u64)))
                })
                .collect();
            let ws = s.workers.iter().find(|x| x.worker == *w);
            let holding = self.lock.holder.filter(|(h, _)| h == w);
            let stat = ws
                .filter(|x| x.hold.count > 0 || holding.is_none())
                .map_or_else(
                    || {
                        // Its first hold, not over yet: how long so far, not a row of zeros.
                        holding.map_or(String::new(), |(_, since)| {
                            // Without the time the workers were stopped, as every time shown.
                            let now = self.now_ns;
                            let held = self
                                .lock
                                .stats
                                .pauses
                                .active(now, now.saturating_sub(since));
                            format!(" holds it, {} ms so far", ms(held))
                        })
                    },
                    |x| {
                        format!(
                            " wait {}/{}/{} hold {}/{}/{} ms",
                            ms(x.wait.min_ns),
                            ms(x.wait.avg_ns),
                            ms(x.wait.max_ns),
                            ms(x.hold.min_ns),
                            ms(x.hold.avg_ns),
                            ms(x.hold.max_ns)
                        )
                    },
                );
            Line::from(vec![
                Span::styled(format!("{}{:<2}", glyph(*w), w), t.worker(*w)),
                Span::styled(lane, t.worker(*w)),
                Span::styled(stat, t.dim),
            ])
            .render(Rect::new(inner.x, y, inner.width, 1), buf);
            y += 1;
        }
        for why in self.lock.why_blocked(self.now_ns) {
            if y >= inner.bottom() {
                break;
            }
            Line::styled(why, t.accent).render(Rect::new(inner.x, y, inner.width, 1), buf);
            y += 1;
        }
        if y < inner.bottom() {
            Line::from(vec![Span::styled(
                "█ holds  ░ waits  ─ runs  · sleeps  ┆ at a gate   wait, hold: min/avg/max",
                t.dim,
            )])
            .render(Rect::new(inner.x, inner.bottom() - 1, inner.width, 1), buf);
        }
    }
}
