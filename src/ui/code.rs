//! The code pane: the scenario's Python, with the line that matches what the run does now
//! highlighted and kept in view.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::panel;
use super::theme::Theme;
use crate::app::RunState;
use crate::scenario::code::{line_for, python, split_marker};

pub struct CodePane<'a> {
    pub run: &'a RunState,
    pub theme: &'a Theme,
}

impl Widget for CodePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let name = self.run.name();
        // A traced program shows its own source (no line is marked yet: the probe does not
        // report lines).
        let (code, current, title) = match &self.run.python {
            Some(py) => (py.code.as_str(), None, format!(" {} ", py.script)),
            None => {
                let code = python(name);
                (
                    code,
                    line_for(code, &self.run.activity),
                    format!(" assets/python/mp_{name}.py "),
                )
            }
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
        let lines: Vec<Line> = code
            .lines()
            .enumerate()
            .skip(top)
            .take(h)
            .map(|(i, l)| {
                let (text, _) = split_marker(l);
                let here = Some(i) == current;
                let style = if here { t.selected } else { t.text };
                Line::from(vec![
                    Span::styled(
                        format!("{:>3} ", i + 1),
                        if here { t.accent } else { t.dim },
                    ),
                    Span::styled(if here { "▶ " } else { "  " }, t.accent),
                    Span::styled(text.to_string(), style),
                ])
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}
