//! State of the scenario-specific panels: the queue, the pool's task grid, the compare table
//! and the shared segment's cells. Each is fed by events; the run's summary fills in what only
//! the end of a run knows (expected values, speed-ups).

use crate::runtime::{Envelope, EventKind, Item, Num};

/// One child's life as §1.2 shows it: started by the parent, running, printing, exiting,
/// joined. Times are the events' own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessView {
    pub parent_pid: Option<i32>,
    pub child_pid: Option<i32>,
    pub method: String,
    pub spawned_ns: Option<u64>,
    pub started_ns: Option<u64>,
    pub printed: Vec<(u64, String)>,
    /// When the parent reaped it (that is `join()`), with its exit code or signal.
    pub exited: Option<(u64, Option<i32>, Option<i32>)>,
}

impl ProcessView {
    pub fn on_event(&mut self, e: &Envelope) {
        if e.worker == 0 {
            self.parent_pid.get_or_insert(e.pid);
            return;
        }
        match &e.kind {
            EventKind::Spawned { method } => {
                self.child_pid = Some(e.pid);
                self.method = method.clone();
                self.spawned_ns = Some(e.t_ns);
            }
            EventKind::Started => self.started_ns = Some(e.t_ns),
            EventKind::Output { text, .. } => self.printed.push((e.t_ns, text.clone())),
            EventKind::Exit { code, signal } => self.exited = Some((e.t_ns, *code, *signal)),
            _ => {}
        }
    }
}

/// Lines of its output kept per process (the newest).
const PRINTED_KEPT: usize = 64;

/// Every process's life, as a traced program shows it when it does nothing shared: when it
/// started and ended, and what it printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lives {
    pub of: std::collections::BTreeMap<u16, Life>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Life {
    /// Its process id, or for a program thread its thread id.
    pub pid: i32,
    /// A program thread (a worker of its own), not a process.
    pub thread: bool,
    pub started_ns: Option<u64>,
    /// When it ended, with its exit code or signal.
    pub exited: Option<(u64, Option<i32>, Option<i32>)>,
    /// Its newest lines, in time order, with their stream.
    pub printed: std::collections::VecDeque<(u64, crate::runtime::event::Stream, String)>,
    /// Lines it printed in all.
    pub lines: u64,
}

impl Lives {
    pub fn on_event(&mut self, e: &Envelope) {
        if e.worker == 0 {
            return;
        }
        let life = self.of.entry(e.worker).or_default();
        life.pid = e.pid;
        match &e.kind {
            EventKind::Spawned { method } => life.thread = method == "thread",
            EventKind::Started => life.started_ns = Some(e.t_ns),
            EventKind::Output { stream, text } => {
                let line = (e.t_ns, *stream, text.clone());
                super::insert_by_time(&mut life.printed, PRINTED_KEPT, line, |l| l.0);
                life.lines += 1;
            }
            EventKind::Exit { code, signal } => life.exited = Some((e.t_ns, *code, *signal)),
            _ => {}
        }
    }
}

/// An item on its way through the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub from: u16,
    pub value: Item,
    pub put_ns: u64,
    pub got_ns: Option<u64>,
    /// The worker whose get took it.
    pub got_by: Option<u16>,
}

#[derive(Debug, Clone, Default)]
pub struct QueueView {
    pub items: Vec<QueueItem>,
    /// Items not yet taken, by who put them and what (`Num` as its bits): each get finds its
    /// put at once, so a recording of 100 000 gets is not matched in quadratic time.
    waiting: std::collections::HashMap<(u16, NumKey), std::collections::VecDeque<usize>>,
    /// Gets whose put has not arrived yet, by the same key, with when they got it: processes
    /// send their events each on its own stream, so a consumer's get can come before the
    /// producer's put it took.
    early: std::collections::HashMap<(u16, NumKey), std::collections::VecDeque<(u64, u16)>>,
}

/// A queue item's value as a hashable key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NumKey {
    Int(i128),
    Float(u64),
    Text(String),
}

impl From<&Item> for NumKey {
    fn from(n: &Item) -> NumKey {
        match n {
            Item::Num(Num::Int(v)) => NumKey::Int(*v),
            Item::Num(Num::Float(f)) => NumKey::Float(f.to_bits()),
            Item::Text(t) => NumKey::Text(t.clone()),
        }
    }
}

impl QueueView {
    pub fn on_event(&mut self, e: &Envelope) {
        match &e.kind {
            EventKind::QueuePut { value, .. } => {
                let key = (e.worker, NumKey::from(value));
                let got = self.early.get_mut(&key).and_then(|q| q.pop_front());
                if got.is_none() {
                    self.waiting
                        .entry(key)
                        .or_default()
                        .push_back(self.items.len());
                }
                self.items.push(QueueItem {
                    from: e.worker,
                    value: value.clone(),
                    put_ns: e.t_ns,
                    got_ns: got.map(|g| g.0),
                    got_by: got.map(|g| g.1),
                });
            }
            EventKind::QueueGet { from, value, .. } => {
                let key = (*from, NumKey::from(value));
                match self.waiting.get_mut(&key).and_then(|q| q.pop_front()) {
                    Some(i) => {
                        if let Some(item) = self.items.get_mut(i) {
                            item.got_ns = Some(e.t_ns);
                            item.got_by = Some(e.worker);
                        }
                    }
                    None => self
                        .early
                        .entry(key)
                        .or_default()
                        .push_back((e.t_ns, e.worker)),
                }
            }
            _ => {}
        }
    }

    pub fn in_flight(&self) -> usize {
        self.items.iter().filter(|i| i.got_ns.is_none()).count()
    }

    /// The parent's running sum of what it got.
    pub fn sum(&self) -> i128 {
        self.items
            .iter()
            .filter(|i| i.got_ns.is_some())
            .filter_map(|i| i.value.as_i128())
            .sum()
    }
}

/// Every queue's items, by the number their events carry (a scenario's one queue is 0).
#[derive(Debug, Clone, Default)]
pub struct Queues {
    pub of: std::collections::BTreeMap<u16, QueueView>,
}

impl Queues {
    pub fn on_event(&mut self, e: &Envelope) {
        if let EventKind::QueuePut { queue, .. } | EventKind::QueueGet { queue, .. } = &e.kind {
            self.of.entry(*queue).or_default().on_event(e);
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PoolView {
    /// Which worker runs or ran which task (the same log the pool's summary is made from).
    pub log: crate::model::tasks::TaskLog,
    pub phase: String,
}

impl PoolView {
    pub fn on_event(&mut self, e: &Envelope) {
        if let EventKind::Phase { name } = &e.kind
            && e.worker == 0
        {
            self.phase = name.clone();
        }
        // A worker that dies in a task shows in the workers table; its report is the parent's.
        self.log.observe(e);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    pub name: String,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// Core loads averaged over the samples taken while the variant ran.
    pub cpu: Vec<f32>,
    cpu_samples: u32,
    pub seconds: Option<f64>,
    pub speedup: Option<f64>,
    pub correct: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct CompareView {
    pub rows: Vec<CompareRow>,
    live: usize,
}

impl CompareView {
    pub fn on_event(&mut self, e: &Envelope) {
        match &e.kind {
            EventKind::Phase { name } if e.worker == 0 => {
                self.rows.push(CompareRow {
                    name: name.clone(),
                    start_ns: e.t_ns,
                    end_ns: None,
                    cpu: Vec::new(),
                    cpu_samples: 0,
                    seconds: None,
                    speedup: None,
                    correct: None,
                });
            }
            EventKind::Spawned { .. } => self.live += 1,
            EventKind::Exit { .. } => {
                self.live = self.live.saturating_sub(1);
                if self.live == 0
                    && let Some(r) = self.rows.last_mut()
                {
                    r.end_ns = Some(e.t_ns);
                }
            }
            _ => {}
        }
    }

    /// Adds a CPU sample to the variant that is running.
    pub fn on_cores(&mut self, cores: &[f32]) {
        let Some(r) = self.rows.last_mut().filter(|r| r.end_ns.is_none()) else {
            return;
        };
        if r.cpu.len() != cores.len() {
            r.cpu = vec![0.0; cores.len()];
            r.cpu_samples = 0;
        }
        let n = r.cpu_samples as f32;
        for (avg, c) in r.cpu.iter_mut().zip(cores) {
            *avg = (*avg * n + c) / (n + 1.0);
        }
        r.cpu_samples += 1;
    }

    /// Fills in times and speed-ups from the summary's `variants`.
    pub fn on_summary(&mut self, details: &serde_json::Value) {
        let Some(vs) = details["variants"].as_array() else {
            return;
        };
        for v in vs {
            if let Some(r) = self.rows.iter_mut().find(|r| v["name"] == r.name.as_str()) {
                r.seconds = v["seconds"].as_f64();
                r.speedup = v["speedup"].as_f64();
                r.correct = v["correct"].as_bool();
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SharedCell {
    pub name: String,
    pub values: Vec<Num>,
    pub last_writer: Option<u16>,
    pub writes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct SharedView {
    pub cells: Vec<SharedCell>,
}

impl SharedView {
    pub fn new(cells: Vec<SharedCell>) -> Self {
        Self { cells }
    }

    pub fn on_event(&mut self, e: &Envelope) {
        if let EventKind::Write {
            cell, index, new, ..
        } = &e.kind
            && let Some(c) = self.cells.get_mut(*cell as usize)
        {
            if let Some(v) = c.values.get_mut(*index as usize) {
                *v = *new;
            }
            c.last_writer = Some(e.worker);
            c.writes += 1;
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_get_finds_its_put_even_among_equal_values() {
        let mut q = QueueView::default();
        for i in 0..1000u64 {
            let v = Num::Int((i % 7) as i128);
            q.on_event(&Envelope::of(
                1 + (i % 2) as u16,
                i,
                EventKind::QueuePut {
                    queue: 0,
                    value: v.into(),
                },
            ));
        }
        for i in 0..1000u64 {
            let v = Num::Int((i % 7) as i128);
            let from = 1 + (i % 2) as u16;
            q.on_event(&Envelope::of(
                0,
                2000 + i,
                EventKind::QueueGet {
                    queue: 0,
                    from,
                    value: v.into(),
                },
            ));
        }
        // Gets that match nothing change nothing.
        q.on_event(&Envelope::of(
            0,
            9999,
            EventKind::QueueGet {
                queue: 0,
                from: 9,
                value: Num::Int(1).into(),
            },
        ));
        assert_eq!(q.in_flight(), 0);
        assert!(
            q.items
                .iter()
                .enumerate()
                .all(|(i, it)| it.got_ns == Some(2000 + i as u64))
        );
    }
    use super::*;

    fn ev(worker: u16, t_ns: u64, kind: EventKind) -> Envelope {
        Envelope::of(worker, t_ns, kind)
    }

    #[test]
    fn queue_items_are_in_flight_until_got() {
        let mut q = QueueView::default();
        q.on_event(&ev(
            1,
            1,
            EventKind::QueuePut {
                queue: 0,
                value: Num::Int(5).into(),
            },
        ));
        q.on_event(&ev(
            2,
            2,
            EventKind::QueuePut {
                queue: 0,
                value: Num::Int(5).into(),
            },
        ));
        assert_eq!(q.in_flight(), 2);
        q.on_event(&ev(
            0,
            3,
            EventKind::QueueGet {
                queue: 0,
                from: 2,
                value: Num::Int(5).into(),
            },
        ));
        assert_eq!((q.in_flight(), q.sum()), (1, 5));
        assert_eq!(q.items[1].got_ns, Some(3));
    }

    #[test]
    fn a_get_that_arrives_before_its_put_is_not_lost() {
        // A consumer's stream can bring its get before the producer's brings the put.
        let mut q = QueueView::default();
        let none = || crate::runtime::Item::Text("None".into());
        q.on_event(&ev(
            3,
            20,
            EventKind::QueueGet {
                queue: 0,
                from: 2,
                value: none(),
            },
        ));
        q.on_event(&ev(
            2,
            10,
            EventKind::QueuePut {
                queue: 0,
                value: none(),
            },
        ));
        q.on_event(&ev(
            3,
            30,
            EventKind::QueuePut {
                queue: 0,
                value: none(),
            },
        ));
        assert_eq!(q.in_flight(), 1, "only the second None is still queued");
        assert_eq!((q.items[0].got_ns, q.items[0].got_by), (Some(20), Some(3)));
        assert_eq!(q.items[1].got_ns, None);
    }

    #[test]
    fn compare_rows_follow_the_parent_phases() {
        let mut c = CompareView::default();
        c.on_event(&ev(
            0,
            0,
            EventKind::Phase {
                name: "normal".into(),
            },
        ));
        c.on_event(&ev(
            1,
            1,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        ));
        c.on_cores(&[100.0, 0.0]);
        c.on_cores(&[50.0, 0.0]);
        c.on_event(&ev(
            1,
            9,
            EventKind::Exit {
                code: Some(0),
                signal: None,
            },
        ));
        assert_eq!(c.rows[0].end_ns, Some(9));
        assert_eq!(c.rows[0].cpu, vec![75.0, 0.0]);
        c.on_summary(&serde_json::json!({"variants": [{"name": "normal", "seconds": 1.5, "speedup": 1.0, "correct": true}]}));
        assert_eq!(c.rows[0].speedup, Some(1.0));
    }
}
