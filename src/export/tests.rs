//! The picture formats against a fixed screen: SVG is XML with every visible character in
//! order, text equals the TestBackend rendering, ANSI and HTML carry the styles.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::*;

fn fixed() -> Buffer {
    let mut b = Buffer::empty(Rect::new(0, 0, 24, 3));
    b.set_string(0, 0, "┌ mpviz <&> ─┐", Style::default().fg(Color::Cyan));
    b.set_string(
        2,
        1,
        "● 1 ✗ lost",
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
    );
    b.set_string(
        0,
        2,
        "wide 你好 end",
        Style::default().bg(Color::Rgb(10, 20, 30)),
    );
    b
}

fn pic() -> Picture {
    Picture {
        title: "lock \"scenario\" & co".into(),
        frame: true,
        light: false,
    }
}

#[test]
fn svg_is_xml_and_holds_every_visible_character_in_order() {
    let buf = fixed();
    let svg = svg::to_svg(&buf, &pic());
    let doc = roxmltree::Document::parse(&svg).expect("valid XML");
    let texts: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("textLength").is_some())
        .filter_map(|n| n.text())
        .collect();
    let visible = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert_eq!(visible(&texts), visible(&to_text(&buf)));
    assert!(svg.contains("&lt;&amp;&gt;"), "escaped");
    assert!(doc.descendants().any(|n| n.has_tag_name("title")));
    assert!(svg.contains("font-weight=\"bold\"") && svg.contains("#0a141e"));
}

#[test]
fn text_equals_the_testbackend_rendering() {
    let buf = fixed();
    let mut term = Terminal::new(TestBackend::new(24, 3)).expect("terminal");
    term.draw(|f| *f.buffer_mut() = buf.clone()).expect("draw");
    let b = term.backend().buffer();
    let mut expected = String::new();
    for y in 0..3 {
        let mut x = 0;
        while x < 24 {
            let sym = b[(x, y)].symbol();
            expected.push_str(sym);
            x += unicode_width::UnicodeWidthStr::width(sym).max(1) as u16;
        }
        expected.push('\n');
    }
    assert_eq!(to_text(&buf), expected);
    assert_eq!(
        to_text(&buf).lines().nth(2),
        Some("wide 你好 end           ")
    );
}

#[test]
fn ansi_and_html_carry_styles() {
    let buf = fixed();
    let ans = ansi::to_ansi(&buf);
    assert!(
        ans.contains("\u{1b}[0;91;49;1m● 1 ✗ lost") || ans.contains(";31;49;1m● 1 ✗ lost"),
        "{ans:?}"
    );
    assert!(ans.contains("48;2;10;20;30"));
    let html = html::to_html(&buf, &pic());
    assert!(html.contains("font-weight:bold") && html.contains("&lt;&amp;&gt;"));
    assert!(html.starts_with("<!DOCTYPE html>"));
}

#[test]
fn formats_come_from_extensions() {
    let f = |p: &str| Format::from_path(std::path::Path::new(p));
    assert_eq!(f("a.svg"), Some(Format::Svg));
    assert_eq!(f("a.HTML"), Some(Format::Html));
    assert_eq!(f("a.txt"), Some(Format::Txt));
    assert_eq!(f("a.ans"), Some(Format::Ans));
    assert_eq!(f("a.png"), None);
}
