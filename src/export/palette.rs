//! Terminal colours as RGB, for the picture formats: the 16 ANSI colours as a typical terminal
//! shows them, the 256-colour cube and greys, and what `Reset` means on a dark or light screen.

use ratatui::style::Color;

/// A colour as red, green and blue.
pub type Rgb = (u8, u8, u8);

const ANSI16: [Rgb; 16] = [
    (0x1e, 0x1e, 0x1e), // black
    (0xcd, 0x31, 0x31), // red
    (0x0d, 0xbc, 0x79), // green
    (0xe5, 0xe5, 0x10), // yellow
    (0x24, 0x72, 0xc8), // blue
    (0xbc, 0x3f, 0xbc), // magenta
    (0x11, 0xa8, 0xcd), // cyan
    (0xcc, 0xcc, 0xcc), // gray (white)
    (0x76, 0x76, 0x76), // dark gray (bright black)
    (0xf1, 0x4c, 0x4c), // light red
    (0x23, 0xd1, 0x8b), // light green
    (0xf5, 0xf5, 0x43), // light yellow
    (0x3b, 0x8e, 0xea), // light blue
    (0xd6, 0x70, 0xd6), // light magenta
    (0x29, 0xb8, 0xdb), // light cyan
    (0xff, 0xff, 0xff), // white (bright white)
];

/// Default foreground and background of the picture.
pub fn defaults(light: bool) -> ((u8, u8, u8), (u8, u8, u8)) {
    if light {
        ((0x1e, 0x1e, 0x1e), (0xff, 0xff, 0xff))
    } else {
        ((0xd4, 0xd4, 0xd4), (0x1e, 0x1e, 0x1e))
    }
}

fn indexed(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[i as usize],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
    }
}

/// The ANSI index (0-15) of a named colour.
pub fn ansi_index(c: Color) -> Option<u8> {
    Some(match c {
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Reset | Color::Rgb(..) | Color::Indexed(_) => return None,
    })
}

/// The RGB of `c`; `None` for `Reset` (the default colour applies).
pub fn rgb(c: Color) -> Option<(u8, u8, u8)> {
    match c {
        Color::Reset => None,
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i) => Some(indexed(i)),
        named => ansi_index(named).map(|i| ANSI16[i as usize]),
    }
}

pub fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The colours a run is drawn in: its foreground (the default where it has none) and its
/// background (none: the page's), swapped when the run is reversed.
pub fn resolve(r: &super::Run, light: bool) -> (Rgb, Option<Rgb>) {
    let (dfg, dbg) = defaults(light);
    let fg = rgb(r.fg).unwrap_or(dfg);
    let bg = rgb(r.bg);
    if r.modifier.contains(ratatui::style::Modifier::REVERSED) {
        (bg.unwrap_or(dbg), Some(fg))
    } else {
        (fg, bg)
    }
}

/// Text attributes as CSS declarations and as SVG attributes.
pub const ATTRIBUTES: [(ratatui::style::Modifier, &str, &str); 4] = [
    (
        ratatui::style::Modifier::BOLD,
        "font-weight:bold",
        "font-weight=\"bold\"",
    ),
    (
        ratatui::style::Modifier::DIM,
        "opacity:0.7",
        "fill-opacity=\"0.7\"",
    ),
    (
        ratatui::style::Modifier::ITALIC,
        "font-style:italic",
        "font-style=\"italic\"",
    ),
    (
        ratatui::style::Modifier::UNDERLINED,
        "text-decoration:underline",
        "text-decoration=\"underline\"",
    ),
];
