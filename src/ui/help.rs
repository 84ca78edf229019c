//! The help overlay: every key, and what every colour and symbol on screen means.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::theme::{GLYPHS, Theme};
use super::{centered, overlay};

pub struct Help<'a> {
    pub theme: &'a Theme,
}

pub const KEYS: [(&str, &str); 18] = [
    ("1-6, ↑↓, enter, click", "pick and start a scenario"),
    ("esc", "stop the run, back to the scenarios"),
    ("r", "restart the scenario"),
    (
        "space / p",
        "pause / resume the workers (SIGSTOP / SIGCONT)",
    ),
    ("+ / -", "faster / slower (scales the scenario's intervals)"),
    (
        "m",
        "step mode (manual scheduling): workers wait before each read and write",
    ),
    (
        "s",
        "save the screen as an SVG picture in the current directory",
    ),
    ("1-9 (step mode)", "let worker N do its next read or write"),
    (
        "c",
        "the tutorial's Python, current line marked (always shown when wide)",
    ),
    (
        "e",
        "edit the scenario's parameters (workers, steps, deltas, lock, pool size...)",
    ),
    ("t", "next theme: default, light, high-contrast, monochrome"),
    ("[ / ]", "sample the CPU less / more often"),
    (
        "← → home end",
        "replay: back / forward 1 s (shift: 10 s), start, end",
    ),
    ("? / F1", "this help"),
    (
        "q / ctrl-c",
        "quit (workers are killed, the segment removed)",
    ),
    ("", ""),
    (
        "CPU bars",
        "green < 40% ≤ yellow < 80% ≤ red; glyphs = workers on that core now",
    ),
    (
        "cores over time",
        "the core a worker ran on at each sample: migrations show",
    ),
];

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let inner = overlay(centered(area, 96, 28), buf, " Help — keys and symbols ", t);
        let mut lines: Vec<Line> = KEYS
            .iter()
            .map(|(k, what)| {
                Line::from(vec![
                    Span::styled(format!("{k:>22}  "), t.key),
                    Span::styled(*what, t.text),
                ])
            })
            .collect();
        lines.push(Line::from(vec![
            Span::styled(format!("{:>22}  ", "workers"), t.key),
            Span::styled(
                format!(
                    "each has a colour and a glyph: {}",
                    GLYPHS
                        .iter()
                        .map(char::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                t.text,
            ),
        ]));
        lines.push(Line::from(vec![
            Span::styled(format!("{:>22}  ", "value trace"), t.key),
            Span::styled(
                "a point per write, in its writer's glyph; ✗ lost update",
                t.text,
            ),
        ]));
        lines.push(Line::from(vec![
            Span::styled(format!("{:>22}  ", "lock lanes"), t.key),
            Span::styled(
                "█ holds the lock  ░ waits for it  ─ runs  · sleeps  ┆ at a step gate",
                t.text,
            ),
        ]));
        lines.push(Line::from(vec![
            Span::styled(format!("{:>22}  ", "pool grid"), t.key),
            Span::styled(
                "a cell per task in its worker's glyph; … running, ✗ failed",
                t.text,
            ),
        ]));
        lines.push(Line::raw(""));
        lines.push(Line::styled("press esc or ? to close", t.dim));
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(inner, buf);
    }
}
