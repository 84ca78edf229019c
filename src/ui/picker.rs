//! The scenario picker: the six tutorial sections, what each shows, and how to start one.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::panel;
use super::theme::Theme;
use crate::app::App;
use crate::scenario::ALL;

/// First screen row of the scenario list (inside the border, after the intro lines).
const LIST_TOP: u16 = 5;
/// Screen rows per scenario entry.
const ROWS_PER_ENTRY: u16 = 2;

/// The scenario under screen row `y`, for mouse clicks.
pub fn row_at(size: (u16, u16), y: u16) -> Option<usize> {
    if size.0 < super::MIN_SIZE.0 || size.1 < super::MIN_SIZE.1 || y < LIST_TOP {
        return None;
    }
    let i = ((y - LIST_TOP) / ROWS_PER_ENTRY) as usize;
    (i < ALL.len()).then_some(i)
}

pub struct Picker<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for Picker<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let block = panel(" mpviz — multiprocessing made visible ", t);
        let inner = block.inner(area);
        block.render(area, buf);
        let mut lines = vec![
            Line::styled(
                "Python's multiprocessing tutorial, re-enacted with real processes.",
                t.text,
            ),
            Line::styled(
                "Threads share one interpreter; processes get a core each: watch the CPU bars.",
                t.dim,
            ),
            Line::raw(""),
            Line::styled("  #  section  scenario", t.dim),
        ];
        for (i, s) in ALL.iter().enumerate() {
            let sel = i == self.app.selected;
            let style = if sel { t.selected } else { t.text };
            lines.push(Line::from(vec![
                Span::styled(if sel { " ▶ " } else { "   " }, t.accent),
                Span::styled(
                    format!("{}  §{}   {:<8} {}", i + 1, s.section, s.name, s.title),
                    style,
                ),
            ]));
            lines.push(Line::styled(format!("      watch: {}", s.watch), t.dim));
        }
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled(" ↑↓/1-6", t.key),
            Span::styled(" choose  ", t.dim),
            Span::styled("enter", t.key),
            Span::styled(" start  ", t.dim),
            Span::styled("e", t.key),
            Span::styled(" parameters  ", t.dim),
            Span::styled("?", t.key),
            Span::styled(" help  ", t.dim),
            Span::styled("t", t.key),
            Span::styled(format!(" theme ({})  ", t.name), t.dim),
            Span::styled("q", t.key),
            Span::styled(" quit", t.dim),
        ]));
        // What the last key did, or what is wrong with the config file, wrapped below.
        if let Some(n) = &self.app.notice {
            lines.push(Line::raw(""));
            let width = inner.width.saturating_sub(2).max(1) as usize;
            lines.extend(
                crate::app::help::wrap(n, width)
                    .into_iter()
                    .map(|l| Line::styled(format!(" {l}"), t.accent)),
            );
        }
        // No wrapping: each entry keeps its two rows, so mouse clicks map to entries.
        Paragraph::new(lines).render(inner, buf);
    }
}
