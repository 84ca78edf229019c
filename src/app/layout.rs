//! The run screen's panel sizes, worked out from the screen and the run alone, so the state
//! (how far a list may scroll) and the drawing agree on them.

/// The smallest screen mpviz draws on; below it, a notice and only `q` acts.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Screens this wide or wider put the panels in two columns.
pub const WIDE: u16 = 140;

/// Height of the CPU panel for `cores` cores on a screen of `size`.
pub fn cpu_height(size: (u16, u16), cores: usize) -> u16 {
    let h = (cores.max(1) as u16 + 2).min(10);
    if size.0 >= WIDE { h } else { h.min(6) }
}

/// Height of the workers panel for `rows` workers: its rows, a header and the border, within
/// what the screen leaves the other panels.
pub fn workers_height(size: (u16, u16), rows: usize) -> u16 {
    let want = (rows as u16).saturating_add(3).max(4);
    if size.0 >= WIDE {
        want.min(size.1 / 3).max(4)
    } else {
        want.min(7)
    }
}

/// How many workers the panel shows at once.
pub fn workers_fit(size: (u16, u16), rows: usize) -> usize {
    workers_height(size, rows).saturating_sub(3) as usize
}
