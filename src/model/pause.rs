//! When the workers were stopped, from the `paused` / `resumed` events the parent adds to the
//! stream as it sends SIGSTOP and SIGCONT. Every duration shown — the run's clock, compare's
//! times, lock waits and holds — leaves this time out, so a pause in class never changes what
//! a screen claims.

use crate::runtime::{Envelope, EventKind};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pauses {
    /// Stopped intervals in time order; the last may still be open.
    spans: Vec<(u64, Option<u64>)>,
}

impl Pauses {
    pub fn observe(&mut self, e: &Envelope) {
        match e.kind {
            EventKind::Paused if !self.paused() => self.spans.push((e.t_ns, None)),
            EventKind::Resumed => {
                if let Some((start, end @ None)) = self.spans.last_mut() {
                    *end = Some(e.t_ns.max(*start));
                }
            }
            _ => {}
        }
    }

    /// Whether the workers are stopped now.
    pub fn paused(&self) -> bool {
        self.spans.last().is_some_and(|(_, end)| end.is_none())
    }

    /// Stopped time within `[t0, t1]` (an open pause counts up to `t1`).
    pub fn within(&self, t0: u64, t1: u64) -> u64 {
        self.spans
            .iter()
            .map(|(a, b)| {
                let (a, b) = ((*a).max(t0), b.unwrap_or(u64::MAX).min(t1));
                b.saturating_sub(a)
            })
            .sum()
    }

    /// `ns` of work that ended at `end`, without the stopped time in it: a worker's own clock
    /// runs on while it is stopped.
    pub fn active(&self, end: u64, ns: u64) -> u64 {
        ns.saturating_sub(self.within(end.saturating_sub(ns), end))
    }

    /// Stopped time so far, up to `now`.
    pub fn total(&self, now: u64) -> u64 {
        self.within(0, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_time_is_left_out_of_what_spans_it() {
        let mut p = Pauses::default();
        p.observe(&Envelope::of(0, 100, EventKind::Paused));
        assert!(p.paused());
        assert_eq!(p.total(150), 50);
        p.observe(&Envelope::of(0, 160, EventKind::Paused)); // already paused: no new span
        p.observe(&Envelope::of(0, 300, EventKind::Resumed));
        assert!(!p.paused());
        assert_eq!(p.total(1000), 200);
        assert_eq!(p.within(0, 50), 0);
        assert_eq!(p.within(250, 400), 50);
        // A wait of 400 ns that ended at 450 began at 50 and spans the whole pause.
        assert_eq!(p.active(450, 400), 200);
    }
}
