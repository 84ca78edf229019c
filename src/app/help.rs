//! What the help overlay says — every key, and what every colour and symbol means — laid out
//! for a width: each entry's text wraps under itself (a hanging indent), never back to column
//! 0. The app keeps the scroll position; `ui::help` draws the lines.

use crate::ui::theme::GLYPHS;

/// Keys and symbols, as (what to press or look at, what it does or means).
pub fn entries() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = [
        ("1-6 ↑↓ enter click", "pick and start a scenario"),
        ("esc", "close a worker's details; else stop the run, back to the scenarios"),
        ("click a worker", "its details: pid, role, state, CPU, core and its own recent events (again: close)"),
        ("↑ ↓ (a run)", "scroll the workers list when it has more workers than rows"),
        ("r", "restart the scenario (a replay: from the start)"),
        ("space / p", "pause / resume the workers (SIGSTOP / SIGCONT); paused time is left out of every time shown"),
        ("+ / -", "faster / slower (scales the scenario's intervals)"),
        ("m", "step mode (you are the scheduler): workers wait before each read and write"),
        ("1-9 (step mode)", "let that worker (its number on screen) do its next read or write"),
        ("s", "save the screen as an SVG picture in the current directory"),
        ("c", "the tutorial's Python, current line marked (always shown when wide)"),
        ("e", "edit the scenario's parameters, checked as the command line checks them"),
        ("t", "next theme: default, light, high-contrast, monochrome"),
        ("[ / ]", "sample the CPU less / more often"),
        ("S", "keep the theme, CPU refresh and speed in the config file (read at every start)"),
        ("← → home end", "replay: back / forward 1 s (shift: 10 s), start, end"),
        ("? / F1", "this help (↑↓ PgUp PgDn scroll it)"),
        ("q / F10 / ctrl-c", "quit (workers are killed, the segment removed)"),
        ("mouse wheel", "scrolls the panel under it: the help, the workers, the events"),
        ("CPU bars", "green < 40% ≤ yellow < 80% ≤ red; glyphs = workers on that core now"),
        ("cores over time", "the core a worker ran on at each sample, so migrations show; * several at once (threads)"),
        ("value trace", "a point per write, in its writer's glyph; ✗ a lost update"),
        ("lock lanes", "█ holds the lock  ░ waits for it  ─ runs  · sleeps  ┆ at a step gate"),
        ("pool grid", "a cell per task in its worker's glyph; … running, ✗ failed"),
        ("✓ / ✗ claims", "at the end: the tutorial's claim, and whether it held in this run"),
    ]
    .into_iter()
    .map(|(k, t)| (k, t.to_string()))
    .collect();
    let glyphs: Vec<String> = GLYPHS.iter().map(char::to_string).collect();
    v.push((
        "workers",
        format!(
            "each has a number, a colour and a glyph: {}",
            glyphs.join(" ")
        ),
    ));
    v
}

/// One line of the laid-out help: the key column (empty on a continuation) and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpLine {
    pub key: &'static str,
    pub text: String,
}

/// Width of the key column for a screen `width` wide.
pub fn key_width(width: u16) -> usize {
    let widest = entries()
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    widest.min((width as usize / 4).max(6))
}

/// The help laid out for an inner width of `width` cells.
pub fn lines(width: u16) -> Vec<HelpLine> {
    let kw = key_width(width);
    let tw = (width as usize).saturating_sub(kw + 2).max(10);
    let mut out = Vec::new();
    for (key, text) in entries() {
        for (i, part) in wrap(&text, tw).into_iter().enumerate() {
            out.push(HelpLine {
                key: if i == 0 { key } else { "" },
                text: part,
            });
        }
    }
    out
}

/// Greedy word wrap to `width` characters; a word longer than the width is cut.
/// `text` broken at spaces into lines of at most `width` characters (a longer word is cut).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let (cl, wl) = (cur.chars().count(), word.chars().count());
        if cl > 0 && cl + 1 + wl > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
        while cur.chars().count() > width {
            let head: String = cur.chars().take(width).collect();
            cur = cur.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// The overlay on a screen of `size`: its outer width and height, centred by the drawing.
pub fn overlay_size(size: (u16, u16)) -> (u16, u16) {
    (size.0.min(120), size.1.min(40))
}

/// Inside the overlay's border: the text's width, and its rows (one is kept for the line
/// that says how to scroll and close).
pub fn text_area(size: (u16, u16)) -> (u16, u16) {
    let (w, h) = overlay_size(size);
    (w.saturating_sub(2), h.saturating_sub(3))
}

/// The furthest the help scrolls on a screen of `size`.
pub fn max_scroll(size: (u16, u16)) -> usize {
    let (w, rows) = text_area(size);
    lines(w).len().saturating_sub(rows as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_text_hangs_under_itself_and_nothing_is_lost() {
        for w in [40u16, 78, 94] {
            let ls = lines(w);
            let kw = key_width(w);
            assert!(
                ls.iter()
                    .all(|l| l.text.chars().count() + kw + 2 <= w as usize)
            );
            let words: usize = entries().iter().map(|(_, t)| t.split(' ').count()).sum();
            let shown: usize = ls.iter().map(|l| l.text.split(' ').count()).sum();
            assert_eq!(words, shown, "at width {w}");
        }
    }
}
