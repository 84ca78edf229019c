//! Widgets only: every screen drawn from the app state into a ratatui `Buffer`. The live
//! terminal, exported pictures and the tests all draw through `draw`.

pub mod code;
pub mod cpu;
pub mod form;
pub mod help;
pub mod picker;
pub mod program;
pub mod theme;
pub mod trace;
pub mod views;
pub mod workers;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use crate::app::workers::WorkerState;
use crate::app::{App, RunState, Screen, layout};
use crate::model::about::Subject;
use theme::{THEMES, Theme};

/// The smallest terminal the screens are laid out for.
pub use crate::app::layout::MIN_SIZE;

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// Draws the whole screen into `buf` (used by the terminal and by tests).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &THEMES[app.theme % THEMES.len()];
    // A theme with a background of its own paints it under everything first.
    if let Some(bg) = theme.bg {
        buf.set_style(
            area,
            Style::new()
                .bg(bg)
                .fg(theme.text.fg.unwrap_or(Color::Reset)),
        );
    }
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(area, buf, theme);
        return;
    }
    match (&app.screen, &app.run) {
        (Screen::Run, Some(run)) => run_screen(app, run, area, buf, theme),
        _ => picker::Picker { app, theme }.render(area, buf),
    }
    if let Some(f) = &app.form {
        form::FormView { form: f, theme }.render(area, buf);
    }
    if app.help {
        help::Help {
            theme,
            scroll: app.help_scroll,
        }
        .render(area, buf);
    }
}

fn too_small(area: Rect, buf: &mut Buffer, theme: &Theme) {
    let msg = vec![
        Line::styled("terminal too small", theme.bad),
        Line::raw(format!(
            "{}x{} here; mpviz needs {}x{}",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        )),
        Line::styled("enlarge the window, or press q to quit", theme.dim),
    ];
    Paragraph::new(msg)
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// A bordered block with a title, in the theme's colours.
pub fn panel<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(title.into().style(theme.title))
}

fn header(app: &App, run: &RunState, theme: &Theme) -> Line<'static> {
    let state = match &run.ended {
        None if app.paused => Span::styled(" PAUSED ", theme.bad),
        None => Span::styled(" running ", theme.good),
        // A program of the user's makes no claims to check.
        Some(Ok(e)) if e.ok && run.is_program() => Span::styled(" done ", theme.good),
        Some(Ok(e)) if e.ok && e.claims.iter().all(|c| c.holds) => {
            Span::styled(" done: as the tutorial says ", theme.good)
        }
        Some(Ok(e)) if e.ok => Span::styled(
            format!(
                " done: {} of {} claims hold here ",
                e.claims.iter().filter(|c| c.holds).count(),
                e.claims.len()
            ),
            theme.bad,
        ),
        Some(Ok(_)) => Span::styled(" done, with problems ", theme.bad),
        Some(Err(_)) => Span::styled(" failed ", theme.bad),
    };
    let elapsed = run.elapsed_s();
    let paused = run.paused_s();
    let state = match app.replay {
        Some(r) => Span::styled(
            format!(
                " REPLAY {} {:.1}/{:.1} s ←→ ",
                if r.playing { "▶" } else { "⏸" },
                r.clock_ns as f64 / 1e9,
                r.duration_ns as f64 / 1e9
            ),
            theme.accent,
        ),
        None => state,
    };
    let wide = app.size.0 >= 120;
    let mut spans = vec![Span::styled(" mpviz ", theme.accent)];
    match &run.about.subject {
        Subject::Program { script } => {
            spans.push(Span::styled(format!("python {script} "), theme.title))
        }
        Subject::Scenario { section, title } => {
            spans.push(Span::styled(
                format!("§{section} {} ", run.name()),
                theme.title,
            ));
            if wide {
                spans.push(Span::styled(format!("— {title} "), theme.text));
            }
        }
    }
    spans.push(state);
    // A replay's clock is the one clock (the run's own time would be a second, different one).
    if app.replay.is_none() {
        spans.push(Span::styled(format!(" {elapsed:.1} s"), theme.dim));
    }
    if paused >= 0.05 && app.replay.is_none() {
        spans.push(Span::styled(format!(" (paused {paused:.1} s)"), theme.dim));
    }
    spans.push(Span::styled(
        format!("  ×{}", fmt_speed(app.speed())),
        theme.dim,
    ));
    if app.step {
        // The keys that do something now: the workers waiting at a gate, by their numbers.
        // In the workers' order, whatever order their rows were made in.
        let mut at_gate: Vec<_> = run
            .workers
            .rows
            .iter()
            .filter_map(|w| match w.state {
                WorkerState::AtGate(a) => Some((w.id, a)),
                _ => None,
            })
            .collect();
        at_gate.sort_by_key(|&(id, _)| id);
        let waiting: Vec<String> = at_gate
            .iter()
            .map(|&(id, a)| {
                let access = if a == crate::runtime::Access::Read {
                    "r"
                } else {
                    "w"
                };
                format!("{id}{access}")
            })
            .collect();
        let text = if waiting.is_empty() {
            "  STEP: no worker at a gate yet".to_string()
        } else {
            format!("  STEP: press {}", waiting.join(" "))
        };
        spans.push(Span::styled(text, theme.accent));
    }
    if !run.phase.is_empty() {
        spans.push(Span::styled(format!("  {}", run.phase), theme.dim));
    }
    // Where the UI plays the scenario at its own pace, say so while there is room.
    if let Some(pace) = &run.about.pace {
        let used: usize = spans.iter().map(|s| s.width()).sum();
        if used + pace.chars().count() + 2 <= app.size.0 as usize {
            spans.push(Span::styled(format!("  {pace}"), theme.accent));
        }
    }
    Line::from(spans)
}

pub fn fmt_speed(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

fn footer(app: &App, theme: &Theme) -> Line<'static> {
    if let Some(n) = &app.notice {
        return Line::styled(format!(" {n}"), theme.accent);
    }
    let running = app.run.as_ref().is_some_and(|r| r.running());
    // Most needed first; only keys that do something here; what does not fit the width is
    // left out (help lists every key).
    // Built from what the run's source can be steered to do.
    let can = app.steering;
    let mut keys: Vec<(&str, &str)> = vec![("q", "quit"), ("?", "help")];
    match app.replay.filter(|_| can.seek) {
        Some(r) => keys.extend([
            ("space", if r.playing { "pause" } else { "play" }),
            ("←/→", "±1 s"),
            ("home/end", "jump"),
        ]),
        None if running && can.pause => {
            keys.push(("space", if app.paused { "resume" } else { "pause" }));
        }
        None => {}
    }
    if can.speed {
        keys.push(("+/-", "speed"));
    }
    if can.step {
        keys.push(("m", if app.step { "step off" } else { "step" }));
    }
    keys.push(("s", "save"));
    if can.edit {
        keys.push(("e", "edit"));
    }
    keys.push((
        "r",
        if can.seek {
            "from the start"
        } else {
            "restart"
        },
    ));
    if !can.seek {
        keys.push(("esc", "back"));
    }
    keys.extend([("c", "code"), ("t", "theme")]);
    let mut spans = Vec::new();
    let mut used = 0;
    for (k, what) in keys {
        let w = k.chars().count() + what.chars().count() + 3;
        if used + w > app.size.0 as usize {
            break;
        }
        used += w;
        spans.push(Span::styled(format!(" {k}"), theme.key));
        spans.push(Span::styled(format!(" {what} "), theme.dim));
    }
    Line::from(spans)
}

fn run_screen(app: &App, run: &RunState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let p = layout::run_panels(
        (area.width, area.height),
        app.cpu.cores.len(),
        run.workers.rows.len(),
    );
    header(app, run, theme).render(p.header, buf);
    footer(app, theme).render(p.footer, buf);
    cpu_and_workers(app, run, (p.cpu, p.workers), buf, theme);
    // A picked worker's details take the events' place (or, narrow, the scenario's).
    let picked = app
        .picked
        .and_then(|id| run.workers.rows.iter().find(|r| r.id == id));
    if let Some(row) = picked {
        views::WorkerDetails {
            run,
            row,
            scroll: app.log_scroll,
            theme,
        }
        .render(p.details(), buf);
    }
    if let Some(log) = p.log.filter(|_| picked.is_none()) {
        views::LogPanel {
            run,
            scroll: app.log_scroll,
            theme,
        }
        .render(log, buf);
    }
    if p.log.is_some() || picked.is_none() {
        // Narrow screens show the code instead of the scenario's panel while `c` is on.
        if app.code && p.code.is_none() {
            code::CodePane { run, theme }.render(p.view, buf);
        } else {
            views::ScenarioPanel { app, run, theme }.render(p.view, buf);
        }
    }
    if let Some(c) = p.code {
        code::CodePane { run, theme }.render(c, buf);
    }
}

fn cpu_and_workers(
    app: &App,
    run: &RunState,
    (c, w): (Rect, Rect),
    buf: &mut Buffer,
    theme: &Theme,
) {
    cpu::CpuPanel {
        cpu: &app.cpu,
        theme,
        replay: app.replay.is_some(),
    }
    .render(c, buf);
    workers::WorkersPanel {
        workers: &run.workers,
        first: app.workers_first(),
        picked: app.picked,
        theme,
    }
    .render(w, buf);
}

/// Clears `area` and draws a bordered box there (for overlays).
pub fn overlay(area: Rect, buf: &mut Buffer, title: &str, theme: &Theme) -> Rect {
    Clear.render(area, buf);
    let base = theme.bg.map_or(Style::default(), |bg| Style::new().bg(bg));
    let block = panel(title, theme).style(base);
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// A rectangle of `w` x `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests;
