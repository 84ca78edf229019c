//! The run screen's panel sizes, worked out from the screen and the run alone, so the state
//! (how far a list may scroll) and the drawing agree on them.

/// The smallest screen mpviz draws on; below it, a notice and only `q` acts.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Screens this wide or wider put the panels in two columns.
pub const WIDE: u16 = 140;

/// Height of the CPU panel for `cores` cores on a screen of `size`.
pub fn cpu_height(size: (u16, u16), cores: usize) -> u16 {
    let h = (cores.max(1) as u16 + 2).min(10);
    if size.0 >= WIDE { h } else { h.min(6) }
}

/// Height of the workers panel for `rows` workers: its rows, a header and the border, within
/// what the screen leaves the other panels.
pub fn workers_height(size: (u16, u16), rows: usize) -> u16 {
    let want = (rows as u16).saturating_add(3).max(4);
    if size.0 >= WIDE {
        want.min(size.1 / 3).max(4)
    } else {
        want.min(7)
    }
}

/// How many workers the panel shows at once.
pub fn workers_fit(size: (u16, u16), rows: usize) -> usize {
    workers_height(size, rows).saturating_sub(3) as usize
}

use ratatui::layout::{Constraint, Layout, Rect};

/// Where each panel of the run screen is, for a screen of `size` with `cores` CPU rows and
/// `rows` workers: the drawing and the mouse (what is under a click or the wheel) both use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPanels {
    pub header: Rect,
    pub cpu: Rect,
    pub workers: Rect,
    /// The events (on wide screens; narrow ones have no room for them beside the scenario).
    pub log: Option<Rect>,
    /// The scenario's own panel (on narrow screens also where `c` shows the code).
    pub view: Rect,
    /// The code pane beside the view (wide screens).
    pub code: Option<Rect>,
    pub footer: Rect,
}

impl RunPanels {
    /// Where a picked worker's details go: in place of the events where they are shown, else
    /// in place of the scenario's panel.
    pub fn details(&self) -> Rect {
        self.log.unwrap_or(self.view)
    }
}

pub fn run_panels(size: (u16, u16), cores: usize, rows: usize) -> RunPanels {
    let area = Rect::new(0, 0, size.0, size.1);
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(1),
    ])
    .areas(area);
    let cpu_h = cpu_height(size, cores);
    let workers_h = workers_height(size, rows);
    if size.0 >= WIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(body);
        let [cpu, workers, log] = Layout::vertical([
            Constraint::Length(cpu_h),
            Constraint::Length(workers_h),
            Constraint::Min(3),
        ])
        .areas(left);
        let [view, code] =
            Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(right);
        RunPanels {
            header,
            cpu,
            workers,
            log: Some(log),
            view,
            code: Some(code),
            footer,
        }
    } else {
        let [cpu, workers, view] = Layout::vertical([
            Constraint::Length(cpu_h),
            Constraint::Length(workers_h),
            Constraint::Min(8),
        ])
        .areas(body);
        RunPanels {
            header,
            cpu,
            workers,
            log: None,
            view,
            code: None,
            footer,
        }
    }
}

/// Whether the cell at (`column`, `row`) is inside `r`.
pub fn contains(r: Rect, column: u16, row: u16) -> bool {
    r.contains(ratatui::layout::Position::new(column, row))
}
