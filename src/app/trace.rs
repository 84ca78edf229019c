//! The shared value's history (every write, by writer) and the lock's timeline, built from the
//! event stream of the `lock` scenario (and the `shared` scenario's writes).

use std::collections::BTreeMap;

use crate::model::lock::LockStats;
use crate::model::lost::{LostUpdate, WriteRec, find_lost_updates};
use crate::model::pause::Pauses;
use crate::runtime::Stage;
use crate::runtime::{Envelope, EventKind};

/// Writes beyond which lost updates are no longer recomputed live (the analysis is quadratic
/// in the worst case); the run's summary still has them.
const LIVE_ANALYSIS_LIMIT: usize = 2000;

/// One run of the counter: without or with the lock.
#[derive(Debug, Clone, Default)]
pub struct TraceRun {
    pub mode: String,
    /// The shared cell it follows (the counter, 0, in the scenarios), and its element (an
    /// Array's, in a traced program).
    pub cell: u16,
    pub index: u32,
    /// The writes in time order (after `settle`; arrivals are appended).
    pub writes: Vec<WriteRec>,
    pub lost: Vec<LostUpdate>,
    /// Workers in the order they first wrote (for glyphs and colours), by the writes' times:
    /// events of different workers arrive in batches, not in time order.
    pub workers: Vec<u16>,
    /// Each writer's earliest write seen so far.
    first_write: Vec<(u16, u64)>,
    /// Sum of every write's increment, kept as writes arrive (a float Value's in `float_sum`).
    delta_sum: i128,
    float_sum: f64,
    /// Writes arrived out of time order since the last `settle`.
    unsorted: bool,
    /// A float Value's numbers (read, stored) by its writes' (worker, seq): its `WriteRec`s
    /// carry the store names the analysis follows, and 0 for the numbers. Empty for integers.
    floats: std::collections::HashMap<(u16, u32), (f64, f64)>,
}

impl TraceRun {
    /// The value the writes would have reached had none been lost: the value the first of
    /// them found (an Array's element may start anywhere), plus every increment.
    pub fn expected_so_far(&self) -> i128 {
        let initial = self.first_of_all().map_or(0, |w| w.old);
        initial.saturating_add(self.delta_sum)
    }

    /// The write that read the value as it was made (its `from` is the initial store).
    fn first_of_all(&self) -> Option<&WriteRec> {
        self.writes
            .iter()
            .find(|w| w.from == crate::runtime::StoreId::default())
    }

    /// Puts the writes back in time order. Events of different workers arrive through
    /// different pipes, in batches; sorting the few runs they form (an adaptive, stable sort)
    /// replaces inserting each one in place, which moved the whole tail per event.
    pub fn settle(&mut self) {
        if self.unsorted {
            self.writes.sort_by_key(|w| w.t_ns);
            self.unsorted = false;
        }
    }

    /// The value the counter holds now (the latest write).
    pub fn actual(&self) -> i128 {
        self.writes.last().map_or(0, |w| w.new)
    }

    /// Whether it follows a float Value.
    pub fn is_float(&self) -> bool {
        !self.floats.is_empty()
    }

    /// A write's numbers, read and stored, as floats (exact for a float Value's).
    pub fn numbers(&self, w: &WriteRec) -> (f64, f64) {
        self.floats
            .get(&(w.worker, w.seq))
            .copied()
            .unwrap_or((w.old as f64, w.new as f64))
    }

    /// What the value holds now and would hold had nothing been lost, as plotted.
    pub fn now_and_expected(&self) -> (f64, f64) {
        if !self.is_float() {
            return (self.actual() as f64, self.expected_so_far() as f64);
        }
        let initial = self.first_of_all().map_or(0.0, |w| self.numbers(w).0);
        let now = self.writes.last().map_or(0.0, |w| self.numbers(w).1);
        (now, initial + self.float_sum)
    }

    /// A number of this value as the screen says it: an integer exactly, a float to four
    /// places at most (`18.14`, not `18.139999999999997`).
    pub fn say(&self, x: f64) -> String {
        if self.is_float() {
            let s = format!("{x:.4}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s == "-0" { "0".into() } else { s.to_string() }
        } else {
            format!("{}", x as i128)
        }
    }

    /// A write's read and stored numbers, as the screen says them.
    pub fn say_write(&self, w: &WriteRec) -> (String, String) {
        if self.is_float() {
            let (o, n) = self.numbers(w);
            (self.say(o), self.say(n))
        } else {
            (w.old.to_string(), w.new.to_string())
        }
    }

    /// Whether write `i` (in time order) is one that was lost.
    pub fn is_lost(&self, i: usize) -> bool {
        let w = &self.writes[i];
        self.lost.iter().any(|l| l.lost == *w)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ValueTrace {
    pub runs: Vec<TraceRun>,
    /// One run per shared value (a Python program's Values), instead of one per phase of the
    /// lock scenario's counter.
    by_cell: bool,
}

impl ValueTrace {
    /// A trace that follows every shared value, each in a run of its own.
    pub fn by_cell() -> Self {
        ValueTrace {
            runs: Vec::new(),
            by_cell: true,
        }
    }

    /// Time order for every run (the app calls it on ticks, samples and the run's end).
    pub fn settle(&mut self) {
        for r in &mut self.runs {
            r.settle();
        }
    }

    pub fn on_event(&mut self, e: &Envelope) {
        match &e.kind {
            EventKind::Phase { name }
                if e.worker == 0 && e.kind.stage_of().is_some_and(Stage::starts_a_run) =>
            {
                self.runs.push(TraceRun {
                    mode: name.clone(),
                    ..Default::default()
                });
            }
            EventKind::Write { cell, index, .. } => {
                // A float Value's write: its store names for the analysis, its numbers beside.
                let w = if self.by_cell {
                    WriteRec::of_any_write(e)
                } else {
                    WriteRec::of_counter(e).map(|w| (w, None))
                };
                let Some((w, float)) = w else {
                    return;
                };
                let at = if self.by_cell {
                    match self
                        .runs
                        .iter()
                        .position(|r| (r.cell, r.index) == (*cell, *index))
                    {
                        Some(i) => i,
                        None => {
                            self.runs.push(TraceRun {
                                cell: *cell,
                                index: *index,
                                ..Default::default()
                            });
                            self.runs.len() - 1
                        }
                    }
                } else {
                    if self.runs.is_empty() {
                        self.runs.push(TraceRun::default());
                    }
                    self.runs.len() - 1
                };
                let Some(run) = self.runs.get_mut(at) else {
                    return;
                };
                if let Some((old, new)) = float {
                    run.floats.insert((w.worker, w.seq), (old, new));
                    run.float_sum += new - old;
                }
                run.unsorted |= run.writes.last().is_some_and(|l| l.t_ns > w.t_ns);
                // Saturating: a damaged recording may carry any 128-bit values.
                run.delta_sum = run.delta_sum.saturating_add(w.new.saturating_sub(w.old));
                run.writes.push(w);
                let earlier = match run.first_write.iter_mut().find(|(w, _)| *w == e.worker) {
                    Some((_, t)) if *t <= e.t_ns => false,
                    Some((_, t)) => {
                        *t = e.t_ns;
                        true
                    }
                    None => {
                        run.first_write.push((e.worker, e.t_ns));
                        true
                    }
                };
                if earlier {
                    run.first_write.sort_by_key(|(_, t)| *t);
                    run.workers = run.first_write.iter().map(|(w, _)| *w).collect();
                }
                if run.writes.len() <= LIVE_ANALYSIS_LIMIT {
                    run.settle();
                    run.lost = find_lost_updates(&run.writes);
                }
            }
            _ => {}
        }
    }
}

/// What a worker is doing, for the lock lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Running,
    Sleeping,
    /// Held at a step gate until the user lets it go.
    AtGate,
    Waiting,
    Holding,
    Exited,
}

/// One lock's story: each worker's lane, the holder, the waiters, its figures.
#[derive(Debug, Clone, Default)]
pub struct LockTimeline {
    /// The lock whose steps it follows (0: a scenario's one lock); other locks' steps are not
    /// its, though the rest of every event is (a worker sleeping while it holds this lock).
    pub lock: u16,
    /// Per worker, its state changes in time order.
    pub lanes: BTreeMap<u16, Vec<(u64, Lane)>>,
    pub stats: LockStats,
    pub holder: Option<(u16, u64)>,
    pub waiting: BTreeMap<u16, u64>,
    pub recovered: u32,
    /// Workers in the order they took the lock.
    pub owners: Vec<u16>,
    /// When this lock's first and last steps were (a request, a take, a release, a give-up).
    pub steps: Option<(u64, u64)>,
}

impl LockTimeline {
    /// The timeline of lock `lock`, which knows of the pauses before it was made.
    pub fn of(lock: u16, pauses: Pauses) -> LockTimeline {
        let mut l = LockTimeline {
            lock,
            ..Default::default()
        };
        l.stats.pauses = pauses;
        l
    }

    pub fn on_event(&mut self, e: &Envelope) {
        if e.kind.lock_id().is_some_and(|l| l != self.lock) {
            return;
        }
        self.stats.observe(e);
        if e.worker == 0 {
            if e.kind.stage_of().is_some_and(Stage::starts_a_run) {
                // A new run: its own lanes and figures, the same record of pauses.
                let pauses = std::mem::take(&mut self.stats.pauses);
                *self = LockTimeline::of(self.lock, pauses);
            }
            return;
        }
        if e.kind.lock_id().is_some() {
            let (first, last) = self.steps.get_or_insert((e.t_ns, e.t_ns));
            *first = (*first).min(e.t_ns);
            *last = (*last).max(e.t_ns);
        }
        let lane = match e.kind {
            EventKind::Started => Some(Lane::Running),
            EventKind::Phase { .. } if e.kind.stage_of() == Some(Stage::Sleep) => {
                Some(if self.holder.is_some_and(|(h, _)| h == e.worker) {
                    Lane::Holding
                } else {
                    Lane::Sleeping
                })
            }
            EventKind::Gate { .. } => Some(Lane::AtGate),
            EventKind::LockRequested { .. } => {
                self.waiting.insert(e.worker, e.t_ns);
                Some(Lane::Waiting)
            }
            EventKind::LockAcquired { .. } => {
                self.owners.push(e.worker);
                self.waiting.remove(&e.worker);
                self.holder = Some((e.worker, e.t_ns));
                Some(Lane::Holding)
            }
            EventKind::LockRecovered => {
                self.recovered += 1;
                None
            }
            EventKind::LockGaveUp { .. } => {
                self.waiting.remove(&e.worker);
                Some(Lane::Running)
            }
            EventKind::LockReleased { .. } => {
                // Events of different workers arrive through different pipes: the previous
                // holder's release may come after the next holder's acquisition.
                if self.holder.is_some_and(|(h, _)| h == e.worker) {
                    self.holder = None;
                }
                Some(Lane::Running)
            }
            EventKind::Read { .. } | EventKind::Write { .. } => {
                Some(if self.holder.is_some_and(|(h, _)| h == e.worker) {
                    Lane::Holding
                } else {
                    Lane::Running
                })
            }
            EventKind::Exit { .. } => {
                self.waiting.remove(&e.worker);
                if self.holder.is_some_and(|(h, _)| h == e.worker) {
                    self.holder = None;
                }
                Some(Lane::Exited)
            }
            _ => None,
        };
        if let Some(l) = lane {
            let v = self.lanes.entry(e.worker).or_default();
            if v.last().map(|x| x.1) != Some(l) {
                v.push((e.t_ns, l));
            }
        }
    }

    /// The workers that took the lock or wait for it, by number.
    pub fn users(&self) -> Vec<u16> {
        let mut users: Vec<u16> = self.owners.clone();
        users.extend(self.waiting.keys());
        users.sort_unstable();
        users.dedup();
        users
    }

    /// The time the lanes show, `(from, to)`: the lock's use — from its first step, to now
    /// while it is held or waited for or any process that took it still runs, else to its
    /// last step — so a lock a program takes for 20 ms of a 5 s run fills its lanes. A
    /// timeline with no step yet (the unlocked run) shows its workers from their start.
    pub fn window(&self, now: u64) -> (u64, u64) {
        let Some((first, last)) = self.steps else {
            let start = self
                .lanes
                .values()
                .filter_map(|v| v.first().map(|x| x.0))
                .min();
            return (start.unwrap_or(now).min(now), now);
        };
        let live = |w: &u16| {
            self.lanes
                .get(w)
                .and_then(|v| v.last())
                .is_some_and(|x| x.1 != Lane::Exited)
        };
        let in_use =
            self.holder.is_some() || !self.waiting.is_empty() || self.owners.iter().any(live);
        (first, if in_use { now.max(last) } else { last })
    }

    /// How many times the lock passed from one worker to another.
    pub fn handovers(&self) -> usize {
        self.owners.windows(2).filter(|w| w[0] != w[1]).count()
    }

    /// The state of `worker` at time `t`.
    pub fn lane_at(&self, worker: u16, t: u64) -> Option<Lane> {
        let v = self.lanes.get(&worker)?;
        let i = v.partition_point(|(s, _)| *s <= t);
        (i > 0).then(|| v[i - 1].1)
    }

    /// Milliseconds from `since` to `now`, without the time the workers were stopped.
    fn active_ms(&self, since: u64, now: u64) -> f64 {
        let ns = now.saturating_sub(since);
        self.stats.pauses.active(now, ns) as f64 / 1e6
    }

    /// "worker 2 waits: lock held by worker 1 for 312 ms", one line per waiting worker.
    pub fn why_blocked(&self, now_ns: u64) -> Vec<String> {
        self.waiting
            .iter()
            .map(|(w, since)| match self.holder {
                Some((h, held_since)) => format!(
                    "worker {w} waits ({:.0} ms): lock held by worker {h} for {:.0} ms",
                    self.active_ms(*since, now_ns),
                    self.active_ms(held_since, now_ns)
                ),
                None => format!("worker {w} is about to take the lock"),
            })
            .collect()
    }
}

/// A traced program's locks, each its own timeline, from when it was made or first taken.
#[derive(Debug, Clone, Default)]
pub struct Locks {
    pub of: BTreeMap<u16, LockTimeline>,
}

impl Locks {
    /// Every event goes to every lock's timeline (a sleep while holding it is its); a lock's
    /// first word makes its timeline, which knows of the pauses before (`pauses`).
    pub fn on_event(&mut self, e: &Envelope, pauses: &Pauses) {
        let made = match e.kind {
            EventKind::LockMade { lock, .. } => Some(lock),
            ref k => k.lock_id(),
        };
        if let Some(id) = made.filter(|&l| l != 0) {
            self.of
                .entry(id)
                .or_insert_with(|| LockTimeline::of(id, pauses.clone()));
        }
        for l in self.of.values_mut() {
            l.on_event(e);
        }
    }
}

/// One step of a deadlock: `worker` waits for `lock`, which `holder` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitsFor {
    pub worker: u16,
    pub lock: u16,
    pub holder: u16,
}

/// A ring of workers each waiting for a lock the next one holds (a worker waiting for a Lock
/// it holds itself is a ring of one), if there is one. Exact, not a guess from timing: a
/// process sends all it has buffered before it waits for a lock, so a waiter's holdings are
/// known up to its wait, and no one in a ring can move before another in it does.
pub fn deadlock<'a>(locks: impl Iterator<Item = &'a LockTimeline>) -> Option<Vec<WaitsFor>> {
    let mut waits: BTreeMap<u16, WaitsFor> = BTreeMap::new();
    for l in locks {
        if let Some((holder, _)) = l.holder {
            for &worker in l.waiting.keys() {
                waits.insert(
                    worker,
                    WaitsFor {
                        worker,
                        lock: l.lock,
                        holder,
                    },
                );
            }
        }
    }
    for &start in waits.keys() {
        let mut ring = Vec::new();
        let mut at = start;
        while let Some(&w) = waits.get(&at) {
            if ring.iter().any(|r: &WaitsFor| r.worker == w.worker) {
                break;
            }
            ring.push(w);
            at = w.holder;
            if at == start {
                return Some(ring);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Num, StoreId};

    #[test]
    fn a_ring_of_waits_is_a_deadlock_and_a_chain_is_not() {
        let made = |lock| LockTimeline::of(lock, Pauses::default());
        let (mut la, mut lb) = (made(257), made(258));
        let take = |l: &mut LockTimeline, worker, t| {
            let lock = l.lock;
            l.on_event(&ev(worker, t, EventKind::LockRequested { lock }));
            let took = EventKind::LockAcquired {
                lock,
                wait_ns: 0,
                contended: false,
            };
            l.on_event(&ev(worker, t, took));
        };
        take(&mut la, 2, 10);
        take(&mut lb, 3, 11);
        lb.on_event(&ev(2, 12, EventKind::LockRequested { lock: 258 }));
        assert_eq!(
            deadlock([&la, &lb].into_iter()),
            None,
            "2 waits for 3, who runs"
        );
        la.on_event(&ev(3, 13, EventKind::LockRequested { lock: 257 }));
        let ring = deadlock([&la, &lb].into_iter()).expect("a deadlock");
        // One that gives up (a timeout) breaks the ring.
        let mut la2 = la.clone();
        la2.on_event(&ev(3, 14, EventKind::LockGaveUp { lock: 257 }));
        assert_eq!(deadlock([&la2, &lb].into_iter()), None);
        assert_eq!(la2.lane_at(3, 15), Some(Lane::Running));
        assert_eq!(
            ring,
            [
                WaitsFor {
                    worker: 2,
                    lock: 258,
                    holder: 3
                },
                WaitsFor {
                    worker: 3,
                    lock: 257,
                    holder: 2
                }
            ]
        );
        // A Lock taken again by its holder.
        let mut l = made(259);
        take(&mut l, 4, 20);
        l.on_event(&ev(4, 21, EventKind::LockRequested { lock: 259 }));
        assert_eq!(deadlock([&l].into_iter()).map(|r| r.len()), Some(1));
    }

    fn ev(worker: u16, t_ns: u64, kind: EventKind) -> Envelope {
        Envelope::of(worker, t_ns, kind)
    }

    /// Worker `worker`'s first write of the counter, read from the initial value, replacing
    /// store `replaced`.
    fn write(worker: u16, t: u64, old: i128, new: i128, replaced: StoreId) -> Envelope {
        ev(
            worker,
            t,
            EventKind::Write {
                cell: 0,
                index: 0,
                old: Num::Int(old),
                new: Num::Int(new),
                seq: 1,
                from: StoreId::INITIAL,
                replaced,
            },
        )
    }

    #[test]
    fn out_of_order_writes_are_sorted_and_a_lost_update_is_marked() {
        let mut t = ValueTrace::default();
        t.on_event(&ev(
            0,
            0,
            EventKind::Phase {
                name: "unlocked".into(),
            },
        ));
        // Worker 1 stored first; worker 2's store, from the same read, replaced it.
        t.on_event(&write(2, 20, 0, 3, StoreId { worker: 1, seq: 1 }));
        t.on_event(&write(1, 10, 0, 1, StoreId::INITIAL));
        let run = &t.runs[0];
        assert_eq!(
            run.writes.iter().map(|w| w.new).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert!(run.is_lost(0) && !run.is_lost(1));
        assert_eq!((run.expected_so_far(), run.actual()), (4, 3));
        // Worker 1 wrote first, though its write arrived second: it is the first writer.
        assert_eq!(run.workers, vec![1, 2]);
    }

    #[test]
    fn a_late_release_does_not_end_the_next_holders_hold() {
        let mut l = LockTimeline::default();
        l.on_event(&ev(
            1,
            0,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 0,
                contended: false,
            },
        ));
        l.on_event(&ev(
            2,
            10,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 9,
                contended: true,
            },
        ));
        l.on_event(&ev(
            1,
            9,
            EventKind::LockReleased {
                lock: 0,
                hold_ns: 9,
            },
        ));
        l.on_event(&ev(
            2,
            20,
            EventKind::Phase {
                name: "sleep".into(),
            },
        ));
        assert_eq!(l.holder.map(|h| h.0), Some(2));
        assert_eq!(l.lane_at(2, 25), Some(Lane::Holding));
        assert_eq!(l.handovers(), 1);
    }

    #[test]
    fn the_lanes_show_the_locks_use_not_the_whole_run() {
        const MS: u64 = 1_000_000;
        let mut l = LockTimeline::default();
        for w in [1, 2] {
            l.on_event(&ev(w, 0, EventKind::Started));
        }
        assert_eq!(
            l.window(500 * MS),
            (0, 500 * MS),
            "no step yet: from the start"
        );
        // Worker 2 takes the lock for 10 ms at 1 s, worker 1 never does.
        l.on_event(&ev(2, 1000 * MS, EventKind::LockRequested { lock: 0 }));
        l.on_event(&ev(
            2,
            1000 * MS,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 0,
                contended: false,
            },
        ));
        assert_eq!(l.window(1005 * MS), (1000 * MS, 1005 * MS), "held: to now");
        l.on_event(&ev(
            2,
            1010 * MS,
            EventKind::LockReleased {
                lock: 0,
                hold_ns: 10 * MS,
            },
        ));
        assert_eq!(
            l.window(3000 * MS),
            (1000 * MS, 3000 * MS),
            "its taker still runs: it may take it again"
        );
        l.on_event(&ev(
            2,
            3000 * MS,
            EventKind::Exit {
                code: Some(0),
                signal: None,
            },
        ));
        assert_eq!(
            l.window(5000 * MS),
            (1000 * MS, 1010 * MS),
            "every taker gone: the lock's use, whatever else runs on"
        );
    }

    #[test]
    fn the_timeline_says_who_blocks_whom() {
        let mut l = LockTimeline::default();
        l.on_event(&ev(
            1,
            0,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 0,
                contended: false,
            },
        ));
        l.on_event(&ev(2, 1_000_000, EventKind::LockRequested { lock: 0 }));
        let why = l.why_blocked(313_000_000);
        assert_eq!(
            why,
            vec!["worker 2 waits (312 ms): lock held by worker 1 for 313 ms".to_string()]
        );
        assert_eq!(l.lane_at(2, 2_000_000), Some(Lane::Waiting));
        assert_eq!(l.lane_at(1, 5), Some(Lane::Holding));
    }
}
