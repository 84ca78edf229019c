//! Pictures of a screen for documentation: a ratatui `Buffer` (drawn by the same widgets as the
//! live UI) written as plain text, ANSI escapes, HTML or SVG.

pub mod ansi;
pub mod cast;
pub mod files;
pub mod html;
pub mod palette;
pub mod svg;
pub mod trace;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

/// Picture formats, chosen by file extension or `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Svg,
    Html,
    Txt,
    Ans,
}

impl Format {
    /// The format a file name asks for (`shot.svg` → SVG).
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(Format::Svg),
            "html" | "htm" => Some(Format::Html),
            "txt" | "text" => Some(Format::Txt),
            "ans" | "ansi" => Some(Format::Ans),
            _ => None,
        }
    }
}

/// Options of a picture.
#[derive(Debug, Clone)]
pub struct Picture {
    pub title: String,
    /// Draw a window frame with the title around the screen (SVG).
    pub frame: bool,
    /// The theme's background is light (for the colours `Reset` stands for).
    pub light: bool,
}

/// A run of cells with the same style on one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub col: u16,
    /// Width in cells.
    pub width: u16,
    pub text: String,
    pub fg: Color,
    pub bg: Color,
    pub modifier: Modifier,
}

/// The visible cells of row `y`, grouped into runs of one style. Wide characters count two
/// cells; the cell a wide character covers is not repeated.
pub fn runs(buf: &Buffer, y: u16) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let area = buf.area;
    let mut x = area.x;
    while x < area.right() {
        let cell = &buf[(x, y)];
        let sym = if cell.symbol().is_empty() {
            " "
        } else {
            cell.symbol()
        };
        let w = (sym.width() as u16).max(1);
        match out.last_mut() {
            Some(r) if r.fg == cell.fg && r.bg == cell.bg && r.modifier == cell.modifier => {
                r.text.push_str(sym);
                r.width += w;
            }
            _ => out.push(Run {
                col: x - area.x,
                width: w,
                text: sym.to_string(),
                fg: cell.fg,
                bg: cell.bg,
                modifier: cell.modifier,
            }),
        }
        x += w;
    }
    out
}

/// The screen as plain text: one line per row, every cell's symbol.
pub fn to_text(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in buf.area.top()..buf.area.bottom() {
        for r in runs(buf, y) {
            s.push_str(&r.text);
        }
        s.push('\n');
    }
    s
}

/// Renders `buf` in `format`.
pub fn render(buf: &Buffer, format: Format, pic: &Picture) -> String {
    match format {
        Format::Txt => to_text(buf),
        Format::Ans => ansi::to_ansi(buf),
        Format::Html => html::to_html(buf, pic),
        Format::Svg => svg::to_svg(buf, pic),
    }
}

/// Escapes text for XML and HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests;
