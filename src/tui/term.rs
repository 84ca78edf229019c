//! The terminal's raw mode, alternate screen and mouse capture, entered by a guard and restored
//! by its `Drop` and by the panic hook, so the terminal comes back however the UI ends.

use std::io::stdout;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;

pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

fn leave() {
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
}

impl TerminalGuard {
    pub fn enter() -> std::io::Result<TerminalGuard> {
        // ratatui::init installs a hook that restores the terminal before the panic message;
        // ours adds mouse capture to what is undone. The hook does not exit: unwinding goes on,
        // so the run's guard still kills the workers and removes the segment.
        let terminal = ratatui::try_init()?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(stdout(), DisableMouseCapture);
            previous(info);
        }));
        execute!(stdout(), EnableMouseCapture)?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        leave();
    }
}
