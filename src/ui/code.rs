//! The code pane: the program's Python. For a traced program, each live process's number
//! marks the line it said it is at (`▶1,3`); for a Rust scenario, the line that matches what
//! the run does now is highlighted. The newest marked line is kept in view.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::panel;
use super::theme::Theme;
use crate::app::RunState;
use crate::scenario::code::{line_for, split_marker};

pub struct CodePane<'a> {
    pub run: &'a RunState,
    pub theme: &'a Theme,
}

/// Width of the marker column: `▶` and up to three process numbers (`▶1,3`), then a space.
const MARK: usize = 6;

/// Each line (from 0) some live process is at, with their numbers.
fn processes_by_line(run: &RunState) -> BTreeMap<usize, Vec<u16>> {
    let mut at: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    for r in run.workers.rows.iter().filter(|r| r.state.alive()) {
        if let Some(l) = r.line.filter(|l| *l > 0) {
            at.entry(l as usize - 1).or_default().push(r.id);
        }
    }
    at
}

/// The marker for the processes on one line, at most `MARK - 1` cells wide.
fn marker(ids: &[u16]) -> String {
    let mut s = String::from("▶");
    for (k, id) in ids.iter().enumerate() {
        let next = if k == 0 {
            id.to_string()
        } else {
            format!(",{id}")
        };
        if s.chars().count() + next.len() > MARK - 1 {
            s.push('+');
            break;
        }
        s.push_str(&next);
    }
    s
}

impl Widget for CodePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let program = self.run.is_program();
        let code = self.run.about.code.text.as_str();
        let title = format!(" {} ", self.run.about.code.path);
        // A traced program says where its processes are; a scenario's line is the one its
        // activity names.
        let marks = processes_by_line(self.run);
        let current = if program {
            self.run
                .line
                .map(|l| (l as usize).saturating_sub(1))
                .filter(|l| marks.contains_key(l))
                .or_else(|| marks.keys().next().copied())
        } else {
            line_for(code, &self.run.activity)
        };
        let block = panel(title, t);
        let inner = block.inner(area);
        block.render(area, buf);
        let h = inner.height as usize;
        let total = code.lines().count();
        // Keep the current line about a third from the top.
        let top = current
            .map_or(0, |c| c.saturating_sub(h / 3))
            .min(total.saturating_sub(h));
        let wide = program;
        let lines: Vec<Line> = code
            .lines()
            .enumerate()
            .skip(top)
            .take(h)
            .map(|(i, l)| {
                let (text, _) = split_marker(l);
                let mark = match marks.get(&i) {
                    Some(ids) => format!("{:<MARK$}", marker(ids)),
                    None if Some(i) == current => "▶ ".to_string(),
                    None if wide => " ".repeat(MARK),
                    None => "  ".to_string(),
                };
                let here = Some(i) == current || marks.contains_key(&i);
                let style = if here { t.selected } else { t.text };
                Line::from(vec![
                    Span::styled(
                        format!("{:>3} ", i + 1),
                        if here { t.accent } else { t.dim },
                    ),
                    Span::styled(mark, t.accent),
                    Span::styled(text.to_string(), style),
                ])
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}
