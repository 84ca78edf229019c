//! The workers table: pid, role, state, CPU, the core each runs on now and a lane of the cores
//! it ran on, so migrations show, and how many events it sent.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::panel;
use super::theme::{Theme, glyph};
use crate::app::workers::{SEVERAL, WorkerState, WorkersState};

pub struct WorkersPanel<'a> {
    pub workers: &'a WorkersState,
    /// The first row shown (the app's scroll position).
    pub first: usize,
    /// The worker picked with a click (its row is highlighted).
    pub picked: Option<u16>,
    pub theme: &'a Theme,
}

/// Width of the role column; a longer role ends in an ellipsis, never silently cut.
const ROLE_W: u16 = 14;

/// `s` in at most `w` cells: cut with a `…` when it is longer.
pub fn ellipsis(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
    out.push('…');
    out
}

const CORE_DIGITS: [char; 10] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

impl Widget for WorkersPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let all = self.workers.rows.len();
        let live = self.workers.rows.iter().filter(|r| r.state.alive()).count();
        let fit = area.height.saturating_sub(3) as usize;
        let first = self.first.min(all.saturating_sub(fit));
        let hidden = all.saturating_sub(fit);
        let title = if hidden == 0 {
            format!(" Workers: {live} live, {all} in all ")
        } else {
            format!(
                " Workers: {live} live, {all} in all · {}-{} shown, ↑↓ for the other {hidden} ",
                first + 1,
                (first + fit).min(all)
            )
        };
        // The lane of past cores needs room; narrow panels drop it.
        // Fixed columns take 64 cells; the lane gets what is left, up to 15, or is dropped.
        let lane_w = area.width.saturating_sub(2 + 64).min(15);
        let with_lane = lane_w >= 6;
        let mut names = vec!["W", "PID", "ROLE", "STATE", "CPU%", "CORE"];
        if with_lane {
            names.push(if lane_w >= 15 {
                "CORES OVER TIME"
            } else {
                "PAST CORES"
            });
        }
        names.push("EVENTS");
        // What the STATE column is left with (its Min(16) takes the rest): a long state, such
        // as the call a process waits in, is cut with a `…`, not clipped.
        let fixed = 4 + 7 + ROLE_W + 5 + 4 + 7 + if with_lane { lane_w } else { 0 };
        let gaps = names.len() as u16 - 1;
        let state_w = area.width.saturating_sub(2 + fixed + gaps).max(16) as usize;
        let header = Row::new(names).style(t.dim);
        let rows = self.workers.rows.iter().skip(first).take(fit).map(|r| {
            let st = match r.state {
                WorkerState::Exited { code: Some(0), .. } => t.dim,
                WorkerState::Exited { .. } => t.bad,
                WorkerState::HoldingLock => t.good,
                WorkerState::WaitingLock
                | WorkerState::Waiting(_)
                | WorkerState::Stopped
                | WorkerState::AtGate(_) => t.accent,
                _ => t.text,
            };
            let lane: String = r
                .lane
                .iter()
                .skip(r.lane.len().saturating_sub(lane_w as usize))
                .map(|c| match *c {
                    SEVERAL => '*',
                    c => CORE_DIGITS.get(c as usize).copied().unwrap_or('+'),
                })
                .collect();
            let mut cells = vec![
                Cell::from(Span::styled(
                    format!("{}{}", glyph(r.id), r.id),
                    t.worker(r.id),
                )),
                Cell::from(r.pid.to_string()),
                Cell::from(ellipsis(&r.role, ROLE_W as usize)),
                Cell::from(Span::styled(ellipsis(&r.state.label(), state_w), st)),
                Cell::from(format!("{:5.1}", r.cpu_pct)),
                Cell::from(match r.cores.as_slice() {
                    [] => "-".to_string(),
                    cs => cs.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
                }),
            ];
            if with_lane {
                cells.push(Cell::from(Line::from(Span::styled(lane, t.worker(r.id)))));
            }
            cells.push(Cell::from(r.events.to_string()));
            let row = Row::new(cells);
            if self.picked == Some(r.id) {
                row.style(t.selected)
            } else {
                row
            }
        });
        let mut widths = vec![
            Constraint::Length(4),
            Constraint::Length(7),
            Constraint::Length(ROLE_W),
            Constraint::Min(16),
            Constraint::Length(5),
            Constraint::Length(4),
        ];
        if with_lane {
            widths.push(Constraint::Length(lane_w));
        }
        widths.push(Constraint::Length(7));
        Table::new(rows, widths)
            .header(header)
            .block(panel(title, t))
            .render(area, buf);
    }
}
