//! The terminal's raw mode, alternate screen and mouse capture, entered by a guard and restored
//! by its `Drop` and by the panic hook, so the terminal comes back however the UI ends. What is
//! drawn can be recorded as an asciicast on the way to the terminal.

use std::io::{Stdout, stdout};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, enable_raw_mode};

use std::sync::{Arc, Mutex};

use crate::export::cast::{Cast, SharedCast, Tee};

pub type Term = Terminal<CrosstermBackend<Tee<Stdout>>>;

pub struct TerminalGuard {
    pub terminal: Term,
    cast: SharedCast,
}

fn leave() {
    let _ = execute!(stdout(), DisableMouseCapture);
    let _ = ratatui::try_restore();
    let _ = execute!(stdout(), Show);
}

impl TerminalGuard {
    /// Enters the UI's terminal mode; `cast` records every frame drawn.
    pub fn enter(cast: Option<Cast>) -> std::io::Result<TerminalGuard> {
        // The hook restores the terminal before the panic message and does not exit:
        // unwinding goes on, so the run's guard still kills the workers and removes the segment.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            leave();
            previous(info);
        }));
        enable_raw_mode()?;
        execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        let cast: SharedCast = Arc::new(Mutex::new(cast));
        // A fixed viewport, resized when the terminal says it changed: the default one asks the
        // terminal for its size before every frame (an open of /dev/tty and an ioctl each).
        let (w, h) = crossterm::terminal::size()?;
        let terminal = Terminal::with_options(
            CrosstermBackend::new(Tee::new(stdout(), cast.clone())),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
            },
        )?;
        Ok(TerminalGuard { terminal, cast })
    }

    /// Follows a resize of the terminal (and notes it in the recording, if there is one).
    pub fn resized(&mut self, w: u16, h: u16) {
        let _ = self.terminal.resize(ratatui::layout::Rect::new(0, 0, w, h));
        if let Ok(mut g) = self.cast.lock()
            && let Some(c) = g.as_mut()
        {
            let _ = c.resize(w, h);
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        if let Ok(mut g) = self.cast.lock()
            && let Some(c) = g.as_mut()
        {
            let _ = c.flush();
        }
        leave();
    }
}
