//! The help overlay: every key, and what every colour and symbol on screen means (the text
//! and its layout are `app::help`'s), scrolled to where the app says.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::theme::Theme;
use super::{centered, overlay};
use crate::app::help;

pub struct Help<'a> {
    pub theme: &'a Theme,
    pub scroll: usize,
}

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let (w, h) = help::overlay_size((area.width, area.height));
        let inner = overlay(centered(area, w, h), buf, " Help — keys and symbols ", t);
        let all = help::lines(inner.width);
        let kw = help::key_width(inner.width);
        let rows = inner.height.saturating_sub(1) as usize;
        let first = self.scroll.min(all.len().saturating_sub(rows));
        let mut lines: Vec<Line> = all
            .iter()
            .skip(first)
            .take(rows)
            .map(|l| {
                Line::from(vec![
                    Span::styled(format!("{:>kw$}  ", l.key), t.key),
                    Span::styled(l.text.clone(), t.text),
                ])
            })
            .collect();
        lines.resize(rows, Line::raw(""));
        let last = (first + rows).min(all.len());
        let hint = if all.len() > rows {
            format!(
                "lines {}-{last} of {}: ↑↓ PgUp PgDn scroll · esc or ? closes",
                first + 1,
                all.len()
            )
        } else {
            "esc or ? closes".to_string()
        };
        lines.push(Line::styled(hint, t.dim));
        Paragraph::new(lines).render(inner, buf);
    }
}
