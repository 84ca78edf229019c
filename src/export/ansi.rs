//! The screen as ANSI escape sequences (SGR colours and attributes), for `cat` in a terminal.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::runs;

fn color(c: Color, fg: bool) -> String {
    let base = if fg { 30 } else { 40 };
    match c {
        Color::Reset => format!("{}", base + 9),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", base + 8),
        Color::Indexed(i) => format!("{};5;{i}", base + 8),
        named => {
            let i = super::palette::ansi_index(named).unwrap_or(7);
            if i < 8 {
                format!("{}", base + i)
            } else {
                format!("{}", base + 60 + i - 8)
            }
        }
    }
}

pub fn to_ansi(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in buf.area.top()..buf.area.bottom() {
        for r in runs(buf, y) {
            let mut sgr = vec!["0".to_string(), color(r.fg, true), color(r.bg, false)];
            for (m, code) in [
                (Modifier::BOLD, "1"),
                (Modifier::DIM, "2"),
                (Modifier::ITALIC, "3"),
                (Modifier::UNDERLINED, "4"),
                (Modifier::REVERSED, "7"),
                (Modifier::CROSSED_OUT, "9"),
            ] {
                if r.modifier.contains(m) {
                    sgr.push(code.into());
                }
            }
            s.push_str(&format!("\u{1b}[{}m{}", sgr.join(";"), r.text));
        }
        s.push_str("\u{1b}[0m\n");
    }
    s
}
