//! The screen as an HTML page: a `<pre>` with one `<span>` per run of cells of one style.

use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

use super::palette::{defaults, hex, rgb};
use super::{Picture, escape, runs};

/// CSS for a run: colours (reversed when asked), weight, slant, decoration.
pub fn css(r: &super::Run, light: bool) -> String {
    let (dfg, dbg) = defaults(light);
    let mut fg = rgb(r.fg).unwrap_or(dfg);
    let mut bg = rgb(r.bg);
    if r.modifier.contains(Modifier::REVERSED) {
        let old_fg = fg;
        fg = bg.unwrap_or(dbg);
        bg = Some(old_fg);
    }
    let mut css = format!("color:{}", hex(fg));
    if let Some(b) = bg {
        css.push_str(&format!(";background:{}", hex(b)));
    }
    if r.modifier.contains(Modifier::BOLD) {
        css.push_str(";font-weight:bold");
    }
    if r.modifier.contains(Modifier::DIM) {
        css.push_str(";opacity:0.7");
    }
    if r.modifier.contains(Modifier::ITALIC) {
        css.push_str(";font-style:italic");
    }
    if r.modifier.contains(Modifier::UNDERLINED) {
        css.push_str(";text-decoration:underline");
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
