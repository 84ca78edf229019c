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
    pub theme: &'a Theme,
}

const CORE_DIGITS: [char; 10] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

impl Widget for WorkersPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let live = self.workers.rows.iter().filter(|r| r.state.alive()).count();
        let title = format!(
            " Workers: {} live, {} in all ",
            live,
            self.workers.rows.len()
        );
        // The lane of past cores needs room; narrow panels drop it.
        // Fixed columns take 64 cells; the lane gets what is left, up to 15, or is dropped.
        let lane_w = area.width.saturating_sub(2 + 64).min(15);
        let with_lane = lane_w >= 6;
        let mut names = vec!["W", "PID", "ROLE", "STATE", "CPU%", "CORE"];
        if with_lane {
            names.push("CORES OVER TIME");
        }
        names.push("EVENTS");
        let header = Row::new(names).style(t.dim);
        // Show the newest workers when there are more than fit.
        let fit = area.height.saturating_sub(3) as usize;
        let skip = self.workers.rows.len().saturating_sub(fit);
        let rows = self.workers.rows.iter().skip(skip).map(|r| {
            let st = match r.state {
                WorkerState::Exited { code: Some(0), .. } => t.dim,
                WorkerState::Exited { .. } => t.bad,
                WorkerState::HoldingLock => t.good,
                WorkerState::WaitingLock | WorkerState::Stopped | WorkerState::AtGate(_) => {
                    t.accent
                }
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
                Cell::from(r.role.clone()),
                Cell::from(Span::styled(r.state.label(), st)),
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
            Row::new(cells)
        });
        let mut widths = vec![
            Constraint::Length(4),
            Constraint::Length(7),
            Constraint::Length(14),
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
