//! Colours and glyphs. Meaning never depends on colour alone: every worker also has its own
//! glyph, and states have words. `NO_COLOR` selects the monochrome theme.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub name: &'static str,
    /// The background the theme paints under everything (`None`: the terminal's own, taken
    /// to be dark). A light theme must paint its own: black text on a dark terminal's
    /// background is unreadable.
    pub bg: Option<Color>,
    pub workers: [Color; 8],
    pub text: Style,
    pub dim: Style,
    pub accent: Style,
    pub border: Style,
    pub title: Style,
    pub bar_low: Color,
    pub bar_mid: Color,
    pub bar_high: Color,
    pub good: Style,
    pub bad: Style,
    pub selected: Style,
    pub key: Style,
    pub mono: bool,
}

/// One glyph per worker, so writers differ without colour too.
pub const GLYPHS: [char; 8] = ['●', '▲', '■', '◆', '★', '✚', '▼', '◉'];

pub fn glyph(worker: u16) -> char {
    GLYPHS[(worker.max(1) as usize - 1) % GLYPHS.len()]
}

impl Theme {
    pub fn worker(&self, worker: u16) -> Style {
        if self.mono {
            return Style::default().add_modifier(Modifier::BOLD);
        }
        Style::default().fg(self.workers[(worker.max(1) as usize - 1) % self.workers.len()])
    }

    pub fn bar(&self, pct: f32) -> Style {
        if self.mono {
            return Style::default();
        }
        Style::default().fg(match pct {
            p if p >= 80.0 => self.bar_high,
            p if p >= 40.0 => self.bar_mid,
            _ => self.bar_low,
        })
    }
}

const DEFAULT: Theme = Theme {
    name: "default",
    bg: None,
    workers: [
        Color::Cyan,
        Color::LightMagenta,
        Color::Yellow,
        Color::Green,
        Color::LightBlue,
        Color::LightRed,
        Color::White,
        Color::LightGreen,
    ],
    text: Style::new(),
    // Grey 248 rather than colour 8: dark grey is below 4.5:1 on a dark background, and
    // washes out on a projector.
    dim: Style::new().fg(Color::Indexed(248)),
    accent: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    border: Style::new().fg(Color::DarkGray),
    title: Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
    bar_low: Color::Green,
    bar_mid: Color::Yellow,
    bar_high: Color::LightRed,
    good: Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
    bad: Style::new()
        .fg(Color::LightRed)
        .add_modifier(Modifier::BOLD),
    selected: Style::new().fg(Color::Black).bg(Color::Cyan),
    key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    mono: false,
};

const LIGHT: Theme = Theme {
    name: "light",
    bg: Some(Color::Rgb(0xff, 0xff, 0xff)),
    workers: [
        Color::Blue,
        Color::Magenta,
        Color::Rgb(160, 100, 0),
        Color::Rgb(0, 120, 0),
        Color::Rgb(0, 100, 160),
        Color::Red,
        Color::Black,
        Color::Rgb(90, 90, 0),
    ],
    text: Style::new().fg(Color::Black),
    dim: Style::new().fg(Color::Indexed(240)),
    accent: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
    border: Style::new().fg(Color::Indexed(244)),
    title: Style::new().fg(Color::Black).add_modifier(Modifier::BOLD),
    bar_low: Color::Rgb(0, 130, 0),
    bar_mid: Color::Rgb(150, 95, 0),
    bar_high: Color::Red,
    good: Style::new()
        .fg(Color::Rgb(0, 130, 0))
        .add_modifier(Modifier::BOLD),
    bad: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    selected: Style::new().fg(Color::White).bg(Color::Blue),
    key: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
    mono: false,
};

/// For projectors: saturated colours, bold text, no dim grey that washes out.
const HIGH_CONTRAST: Theme = Theme {
    name: "high-contrast",
    bg: None,
    workers: [
        Color::LightCyan,
        Color::LightMagenta,
        Color::LightYellow,
        Color::LightGreen,
        Color::LightBlue,
        Color::LightRed,
        Color::White,
        Color::Yellow,
    ],
    text: Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
    dim: Style::new().fg(Color::White),
    accent: Style::new()
        .fg(Color::LightYellow)
        .add_modifier(Modifier::BOLD),
    border: Style::new().fg(Color::White),
    title: Style::new()
        .fg(Color::LightYellow)
        .add_modifier(Modifier::BOLD),
    bar_low: Color::LightGreen,
    bar_mid: Color::LightYellow,
    bar_high: Color::LightRed,
    good: Style::new()
        .fg(Color::LightGreen)
        .add_modifier(Modifier::BOLD),
    bad: Style::new()
        .fg(Color::LightRed)
        .add_modifier(Modifier::BOLD),
    selected: Style::new().fg(Color::Black).bg(Color::LightYellow),
    key: Style::new()
        .fg(Color::LightYellow)
        .add_modifier(Modifier::BOLD),
    mono: false,
};

const MONOCHROME: Theme = Theme {
    name: "monochrome",
    bg: None,
    workers: [Color::Reset; 8],
    text: Style::new(),
    dim: Style::new(),
    accent: Style::new().add_modifier(Modifier::BOLD),
    border: Style::new(),
    title: Style::new().add_modifier(Modifier::BOLD),
    bar_low: Color::Reset,
    bar_mid: Color::Reset,
    bar_high: Color::Reset,
    good: Style::new().add_modifier(Modifier::BOLD),
    bad: Style::new()
        .add_modifier(Modifier::BOLD)
        .add_modifier(Modifier::UNDERLINED),
    selected: Style::new().add_modifier(Modifier::REVERSED),
    key: Style::new().add_modifier(Modifier::BOLD),
    mono: true,
};

pub const THEMES: [Theme; 4] = [DEFAULT, LIGHT, HIGH_CONTRAST, MONOCHROME];

/// The theme index for a name; `NO_COLOR` (set and non-empty) forces monochrome.
pub fn pick(name: Option<&str>, no_color: bool) -> Option<usize> {
    if no_color {
        return Some(3);
    }
    match name {
        None => Some(0),
        Some(n) => THEMES.iter().position(|t| t.name == n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_and_names_are_checked() {
        assert_eq!(pick(Some("light"), true), Some(3));
        assert_eq!(pick(Some("high-contrast"), false), Some(2));
        assert_eq!(pick(None, false), Some(0));
        assert_eq!(pick(Some("neon"), false), None);
        assert!(THEMES[3].mono && THEMES[3].worker(1).fg.is_none());
    }

    /// WCAG's relative luminance of an sRGB colour.
    fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
        let lin = |c: u8| {
            let c = c as f64 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// Every text style of every coloured theme meets WCAG AA (4.5:1) against the background
    /// it is drawn on (the theme's own, or a dark terminal's as the pictures draw it), with
    /// the colours a terminal shows for the named ones (`export::palette`).
    #[test]
    fn every_text_style_meets_wcag_aa_on_its_background() {
        use crate::export::palette::{defaults, rgb};
        let mut failures = Vec::new();
        for t in THEMES.iter().filter(|t| !t.mono) {
            let light = t.bg.is_some();
            let (dfg, dbg) = defaults(light);
            let page = t.bg.and_then(rgb).unwrap_or(dbg);
            let mut styles: Vec<(String, Style)> = [
                ("text", t.text),
                ("dim", t.dim),
                ("accent", t.accent),
                ("title", t.title),
                ("good", t.good),
                ("bad", t.bad),
                ("selected", t.selected),
                ("key", t.key),
            ]
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect();
            for (i, c) in t.workers.iter().enumerate() {
                styles.push((format!("worker {}", i + 1), Style::new().fg(*c)));
            }
            for (n, c) in [
                ("bar low", t.bar_low),
                ("bar mid", t.bar_mid),
                ("bar high", t.bar_high),
            ] {
                styles.push((n.to_string(), Style::new().fg(c)));
            }
            for (name, s) in styles {
                let fg = s.fg.and_then(rgb).unwrap_or(dfg);
                let bg = s.bg.and_then(rgb).unwrap_or(page);
                let c = contrast(fg, bg);
                if c < 4.5 {
                    failures.push(format!("{} {name}: {c:.2}:1", t.name));
                }
            }
        }
        assert!(failures.is_empty(), "below 4.5:1: {failures:#?}");
    }
}
