//! The screen as an HTML page: a `<pre>` with one `<span>` per run of cells of one style.

use ratatui::buffer::Buffer;

use super::palette::{ATTRIBUTES, defaults, hex, resolve};
use super::{Picture, escape, runs};

/// CSS for a run: colours (reversed when asked), weight, slant, decoration.
pub fn css(r: &super::Run, light: bool) -> String {
    let (fg, bg) = resolve(r, light);
    let mut css = format!("color:{}", hex(fg));
    if let Some(b) = bg {
        css.push_str(&format!(";background:{}", hex(b)));
    }
    for (m, decl, _) in ATTRIBUTES {
        if r.modifier.contains(m) {
            css.push(';');
            css.push_str(decl);
        }
    }
    css
}

pub fn to_html(buf: &Buffer, pic: &Picture) -> String {
    let (fg, bg) = defaults(pic.light);
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"margin:0;background:{}\">\n<pre style=\"margin:0;padding:12px;\
         font-family:'DejaVu Sans Mono','Menlo','Consolas','Liberation Mono',monospace;\
         font-size:14px;line-height:1.2;color:{};background:{}\">",
        escape(&pic.title),
        hex(bg),
        hex(fg),
        hex(bg)
    );
    for y in buf.area.top()..buf.area.bottom() {
        for r in runs(buf, y) {
            s.push_str(&format!(
                "<span style=\"{}\">{}</span>",
                css(&r, pic.light),
                escape(&r.text)
            ));
        }
        s.push('\n');
    }
    s.push_str("</pre>\n</body></html>\n");
    s
}
