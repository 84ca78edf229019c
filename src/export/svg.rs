//! The screen as SVG: backgrounds as rectangles, text as one `<text>` per run of cells placed
//! at its column, a monospace font stack, and an optional window frame with a title.

use ratatui::buffer::Buffer;

use super::palette::{ATTRIBUTES, defaults, hex, resolve};
use super::{Picture, escape, runs};

/// Cell size in pixels (font size 14 in a monospace font is about 8.4 wide).
const CW: f64 = 8.4;
const CH: f64 = 17.0;
const FONT: &str = "'DejaVu Sans Mono','Menlo','Consolas','Liberation Mono',monospace";

pub fn to_svg(buf: &Buffer, pic: &Picture) -> String {
    let (_, dbg) = defaults(pic.light);
    let cols = buf.area.width as f64;
    let rows = buf.area.height as f64;
    let pad = 10.0;
    let bar = if pic.frame { 30.0 } else { 0.0 };
    let w = cols * CW + 2.0 * pad;
    let h = rows * CH + 2.0 * pad + bar;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.1} {h:.1}\" font-family=\"{FONT}\" font-size=\"14\">\n"
    );
    s.push_str(&format!("<title>{}</title>\n", escape(&pic.title)));
    s.push_str(&format!(
        "<rect width=\"100%\" height=\"100%\" rx=\"{}\" fill=\"{}\"/>\n",
        if pic.frame { 8 } else { 0 },
        hex(dbg)
    ));
    if pic.frame {
        s.push_str(&format!(
            "<rect width=\"100%\" height=\"{bar}\" rx=\"8\" fill=\"#3a3a3a\"/>\n"
        ));
        for (i, c) in ["#ff5f56", "#ffbd2e", "#27c93f"].iter().enumerate() {
            s.push_str(&format!(
                "<circle cx=\"{}\" cy=\"15\" r=\"6\" fill=\"{c}\"/>\n",
                18 + i * 20
            ));
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"20\" fill=\"#dddddd\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
            w / 2.0,
            escape(&pic.title)
        ));
    }
    let ox = pad;
    let oy = pad + bar;
    // Backgrounds first, then text on top.
    let mut text = String::new();
    for y in buf.area.top()..buf.area.bottom() {
        let row = (y - buf.area.y) as f64;
        for r in runs(buf, y) {
            let (fg, bg) = resolve(&r, pic.light);
            let x = ox + r.col as f64 * CW;
            if let Some(b) = bg {
                s.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{CH}\" fill=\"{}\"/>\n",
                    oy + row * CH,
                    r.width as f64 * CW,
                    hex(b)
                ));
            }
            if r.text.trim().is_empty() {
                continue;
            }
            let mut attrs = format!("fill=\"{}\"", hex(fg));
            for (m, _, attr) in ATTRIBUTES {
                if r.modifier.contains(m) {
                    attrs.push(' ');
                    attrs.push_str(attr);
                }
            }
            // textLength pins the run to its cells, so fonts of other widths cannot drift.
            text.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" {attrs} textLength=\"{:.1}\" lengthAdjust=\"spacingAndGlyphs\" xml:space=\"preserve\">{}</text>\n",
                oy + row * CH + CH * 0.78,
                r.width as f64 * CW,
                escape(&r.text)
            ));
        }
    }
    s.push_str(&text);
    s.push_str("</svg>\n");
    s
}
