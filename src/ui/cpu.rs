//! Per-core CPU bars, htop style, with each core's recent history and the glyphs of the
//! workers running on it right now.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::panel;
use super::theme::{Theme, glyph};
use crate::app::cpu::CpuState;

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub struct CpuPanel<'a> {
    pub cpu: &'a CpuState,
    pub theme: &'a Theme,
    /// A recording is playing: the bars are this machine's now, not the recorded run's.
    pub replay: bool,
}

/// `[|||||||       42.0%]` in `width` cells.
pub fn bar(pct: f32, width: usize) -> (String, String) {
    let label = format!("{pct:5.1}%");
    let inner = width.saturating_sub(2);
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * inner as f32).round() as usize;
    let bar_part = inner.saturating_sub(label.len());
    let bars = filled.min(bar_part);
    (
        format!("[{}", "|".repeat(bars)),
        format!("{}{label}]", " ".repeat(bar_part - bars)),
    )
}

fn spark(history: impl Iterator<Item = f32>) -> String {
    history
        .map(|v| SPARK[((v.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect()
}

impl Widget for CpuPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let title = match (self.replay, self.cpu.samples) {
            (true, _) => " CPU per core of this machine now (a recording has no CPU data) ",
            (false, 0) => " CPU (measuring…) ",
            (false, _) => " CPU per core ",
        };
        let block = panel(title, t);
        let inner = block.inner(area);
        block.render(area, buf);
        let w = inner.width as usize;
        // Bar on the left half (at least 24 cells), history and running workers on the right.
        let bar_w = (w / 2).max(24).min(w.saturating_sub(4));
        for (i, pct) in self.cpu.cores.iter().enumerate() {
            if i as u16 >= inner.height {
                break;
            }
            let (filled, rest) = bar(*pct, bar_w.saturating_sub(4));
            let mut spans = vec![
                Span::styled(format!("{i:>3} "), t.dim),
                Span::styled(filled, t.bar(*pct)),
                Span::styled(rest, t.text),
            ];
            let on: Vec<u16> = self.cpu.on_core.get(i).cloned().unwrap_or_default();
            let mut used = bar_w;
            for wk in on.iter().take(4) {
                spans.push(Span::styled(format!(" {}{wk}", glyph(*wk)), t.worker(*wk)));
                used += 3 + wk.to_string().len();
            }
            let room = w.saturating_sub(used + 2);
            if room > 4 {
                let h = &self.cpu.history[i];
                let skip = h.len().saturating_sub(room);
                spans.push(Span::raw("  "));
                spans.push(Span::styled(
                    spark(h.iter().skip(skip).copied()),
                    t.bar(*pct),
                ));
            }
            Line::from(spans).render(Rect::new(inner.x, inner.y + i as u16, inner.width, 1), buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_in_proportion_and_keep_their_width() {
        let (a, b) = bar(50.0, 30);
        assert_eq!(a.chars().count() + b.chars().count(), 30);
        assert_eq!(a.matches('|').count(), 14);
        assert!(b.ends_with(" 50.0%]"));
        let (a, b) = bar(100.0, 20);
        assert_eq!(format!("{a}{b}").chars().count(), 20);
    }
}
