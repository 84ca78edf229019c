//! Lock contention from the event stream alone, as `perf lock` reports it: acquisitions,
//! contended acquisitions, owner changes, and wait and hold times (min / avg / max / total) per
//! worker, with the time the workers were stopped left out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::pause::Pauses;
use crate::runtime::{Envelope, EventKind};

/// Minimum, average, maximum and total of a set of durations, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub count: u64,
    pub min_ns: u64,
    pub avg_ns: u64,
    pub max_ns: u64,
    pub total_ns: u64,
}

impl Spread {
    pub fn add(&mut self, ns: u64) {
        self.min_ns = if self.count == 0 {
            ns
        } else {
            self.min_ns.min(ns)
        };
        self.max_ns = self.max_ns.max(ns);
        self.total_ns = self.total_ns.saturating_add(ns);
        self.count += 1;
        self.avg_ns = self.total_ns / self.count;
    }
}

/// One worker's share of the lock.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkerLockStats {
    pub worker: u16,
    pub acquisitions: u64,
    pub contended: u64,
    pub recovered: u64,
    pub wait: Spread,
    pub hold: Spread,
}

/// Contention figures for a run, built from the event stream alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LockStats {
    pub acquisitions: u64,
    pub contended: u64,
    pub owner_changes: u64,
    pub recovered: u64,
    pub workers: Vec<WorkerLockStats>,
    #[serde(skip)]
    per_worker: BTreeMap<u16, WorkerLockStats>,
    #[serde(skip)]
    acquired_at: Vec<(u64, u16)>,
    /// When the workers were stopped: left out of waits and holds that span it.
    #[serde(skip)]
    pub pauses: Pauses,
}

impl LockStats {
    pub fn observe(&mut self, e: &Envelope) {
        if e.worker == 0 {
            self.pauses.observe(e);
            return;
        }
        let w = self
            .per_worker
            .entry(e.worker)
            .or_insert_with(|| WorkerLockStats {
                worker: e.worker,
                ..Default::default()
            });
        match e.kind {
            EventKind::LockAcquired {
                wait_ns, contended, ..
            } => {
                w.acquisitions += 1;
                w.contended += contended as u64;
                w.wait.add(self.pauses.active(e.t_ns, wait_ns));
                self.acquired_at.push((e.t_ns, e.worker));
            }
            EventKind::LockReleased { hold_ns, .. } => {
                w.hold.add(self.pauses.active(e.t_ns, hold_ns))
            }
            EventKind::LockRecovered => w.recovered += 1,
            _ => {}
        }
    }

    /// Totals, with owner changes counted in time order (events of different workers arrive
    /// through different pipes, so arrival order is not acquisition order).
    pub fn finish(mut self) -> LockStats {
        self.per_worker
            .retain(|_, w| w.acquisitions > 0 || w.recovered > 0);
        self.acquired_at.sort_unstable();
        self.owner_changes = self
            .acquired_at
            .windows(2)
            .filter(|p| p[0].1 != p[1].1)
            .count() as u64;
        self.workers = self.per_worker.values().cloned().collect();
        self.acquisitions = self.workers.iter().map(|w| w.acquisitions).sum();
        self.contended = self.workers.iter().map(|w| w.contended).sum();
        self.recovered = self.workers.iter().map(|w| w.recovered).sum();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_is_left_out_of_waits_and_holds() {
        let mut s = LockStats::default();
        s.observe(&ev(
            1,
            100,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 0,
                contended: false,
            },
        ));
        s.observe(&ev(0, 200, EventKind::Paused));
        s.observe(&ev(0, 6_200, EventKind::Resumed));
        // Held from 100 to 6300 by the worker's clock: 6000 of it stopped.
        s.observe(&ev(
            1,
            6_300,
            EventKind::LockReleased {
                lock: 0,
                hold_ns: 6_200,
            },
        ));
        s.observe(&ev(
            2,
            6_400,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 6_350,
                contended: true,
            },
        ));
        let s = s.finish();
        assert_eq!(s.workers[0].hold.total_ns, 200);
        assert_eq!(s.workers[1].wait.total_ns, 350);
    }

    fn ev(worker: u16, t_ns: u64, kind: EventKind) -> Envelope {
        Envelope::of(worker, t_ns, kind)
    }

    #[test]
    fn stats_count_owner_changes_in_time_order() {
        let mut s = LockStats::default();
        // Arrival order differs from acquisition order.
        s.observe(&ev(
            2,
            30,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 20,
                contended: true,
            },
        ));
        s.observe(&ev(
            1,
            10,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 0,
                contended: false,
            },
        ));
        s.observe(&ev(
            1,
            20,
            EventKind::LockReleased {
                lock: 0,
                hold_ns: 10,
            },
        ));
        s.observe(&ev(
            1,
            40,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 5,
                contended: true,
            },
        ));
        let s = s.finish();
        assert_eq!((s.acquisitions, s.contended, s.owner_changes), (3, 2, 2));
        assert_eq!(s.workers.len(), 2, "the parent's events are no worker's");
        let w1 = &s.workers[0];
        assert_eq!((w1.wait.min_ns, w1.wait.max_ns, w1.wait.avg_ns), (0, 5, 2));
        assert_eq!(w1.hold.total_ns, 10);
    }
}
