//! The parameter form overlay.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::theme::Theme;
use super::{centered, overlay};
use crate::app::form::Form;

pub struct FormView<'a> {
    pub form: &'a Form,
    pub theme: &'a Theme,
}

impl Widget for FormView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (f, t) = (self.form, self.theme);
        let h = f.fields.len() as u16 + 10;
        let title = format!(" Parameters of {} ", f.name);
        let inner = overlay(centered(area, 76, h), buf, &title, t);
        let mut lines = Vec::new();
        for (i, fl) in f.fields.iter().enumerate() {
            let sel = i == f.selected;
            let value = if fl.value.is_empty() {
                "(default)".to_string()
            } else {
                fl.value.clone()
            };
            let shown = if fl.choices.is_empty() {
                format!("{value}{}", if sel { "▏" } else { "" })
            } else {
                format!("◀ {value} ▶")
            };
            lines.push(Line::from(vec![
                Span::styled(if sel { " ▶ " } else { "   " }, t.accent),
                Span::styled(format!("{:<22}", fl.name), t.key),
                Span::styled(shown, if sel { t.selected } else { t.text }),
            ]));
        }
        lines.push(Line::raw(""));
        // What the selected field means, in the command line's own words.
        if let Some(help) = f
            .fields
            .get(f.selected)
            .and_then(|fl| crate::scenario::flags::help_of(f.name, fl.name))
        {
            lines.push(Line::styled(help, t.text));
        }
        if let Some(e) = &f.error {
            lines.push(Line::styled(e.clone(), t.bad));
        }
        lines.push(Line::styled(
            "↑↓ field · type to edit · ←→ choose · enter apply and restart · esc cancel",
            t.dim,
        ));
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(inner, buf);
    }
}
