//! A run as Chrome trace events (the JSON that Perfetto and chrome://tracing open): one process
//! lane per worker, duration slices for lock waits and holds, blocking calls, pool tasks and
//! each worker's life, counter events for the shared value, and instants for lost updates.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::model::lost::{WriteRec, find_lost_updates};
use crate::runtime::{Envelope, EventKind, Num};

#[derive(Debug, Default)]
pub struct ChromeTrace {
    t0: Option<u64>,
    events: Vec<Value>,
    /// Open slices: (pid, what, lock) -> start (lock 0 for what is no lock's).
    open: HashMap<(i32, &'static str, u16), u64>,
    named: std::collections::BTreeSet<i32>,
    /// What each process waits in now, and since when (`blocked` until `unblocked`).
    waits: HashMap<i32, (String, u64)>,
    /// Writes of the counter (cell 0), one list per part of the run (each parent phase).
    writes: Vec<Vec<(i32, WriteRec)>>,
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

impl ChromeTrace {
    fn ts(&mut self, t_ns: u64) -> f64 {
        let t0 = *self.t0.get_or_insert(t_ns);
        us(t_ns.saturating_sub(t0))
    }

    fn begin(&mut self, pid: i32, what: &'static str, t: u64) {
        self.begin_of(pid, what, 0, t);
    }

    fn end(&mut self, pid: i32, what: &'static str, t: u64, args: Value) {
        self.end_of(pid, what, 0, t, args);
    }

    /// A slice of lock `lock`'s (a traced program's locks each have their own: one held
    /// inside another is a slice of its own).
    fn begin_of(&mut self, pid: i32, what: &'static str, lock: u16, t: u64) {
        self.open.insert((pid, what, lock), t);
    }

    fn end_of(&mut self, pid: i32, what: &'static str, lock: u16, t: u64, args: Value) {
        if let Some(start) = self.open.remove(&(pid, what, lock)) {
            let ts = self.ts(start);
            let name = if lock == 0 {
                what.to_string()
            } else {
                format!("{what} {lock}")
            };
            self.events.push(json!({
                "name": name, "cat": "mpviz", "ph": "X", "pid": pid, "tid": pid,
                "ts": ts, "dur": us(t.saturating_sub(start)), "args": args
            }));
        }
    }

    pub fn observe(&mut self, e: &Envelope) {
        let ts = self.ts(e.t_ns);
        if self.named.insert(e.pid) {
            let name = if e.worker == 0 {
                "parent".to_string()
            } else {
                format!("worker {}", e.worker)
            };
            self.events.push(
                json!({"name": "process_name", "ph": "M", "pid": e.pid, "args": {"name": name}}),
            );
            self.events.push(json!({"name": "process_sort_index", "ph": "M", "pid": e.pid, "args": {"sort_index": e.worker}}));
        }
        match &e.kind {
            EventKind::Started => self.begin(e.pid, "alive", e.t_ns),
            EventKind::Exit { code, signal } => {
                let mut open: Vec<_> = (self.open.keys())
                    .filter(|k| k.0 == e.pid && k.1 != "alive" && k.1 != "task")
                    .copied()
                    .collect();
                open.sort_unstable();
                for (_, what, lock) in open {
                    self.end_of(e.pid, what, lock, e.t_ns, json!({"ended_by": "exit"}));
                }
                self.end(
                    e.pid,
                    "alive",
                    e.t_ns,
                    json!({"code": code, "signal": signal}),
                );
            }
            EventKind::LockRequested { lock } => {
                self.begin_of(e.pid, "wait for lock", *lock, e.t_ns)
            }
            EventKind::LockAcquired {
                lock, contended, ..
            } => {
                let args = json!({"contended": contended});
                self.end_of(e.pid, "wait for lock", *lock, e.t_ns, args);
                self.begin_of(e.pid, "hold lock", *lock, e.t_ns);
            }
            EventKind::LockReleased { lock, .. } => {
                self.end_of(e.pid, "hold lock", *lock, e.t_ns, json!({}))
            }
            EventKind::Blocked { on } => {
                self.waits.insert(e.pid, (on.clone(), e.t_ns));
            }
            EventKind::Unblocked => {
                if let Some((on, start)) = self.waits.remove(&e.pid) {
                    let ts = self.ts(start);
                    self.events.push(json!({
                        "name": format!("in {on}"), "cat": "mpviz", "ph": "X", "pid": e.pid,
                        "tid": e.pid, "ts": ts, "dur": us(e.t_ns.saturating_sub(start)),
                        "args": {"on": on}
                    }));
                }
            }
            EventKind::TaskStart { task, .. } => {
                self.begin(e.pid, "task", e.t_ns);
                self.events.push(json!({"name": format!("task {task}"), "ph": "i", "s": "t", "pid": e.pid, "tid": e.pid, "ts": ts}));
            }
            EventKind::TaskEnd { task, ok, error } => {
                self.end(
                    e.pid,
                    "task",
                    e.t_ns,
                    json!({"task": task, "ok": ok, "error": error}),
                );
            }
            EventKind::Phase { name } if e.worker == 0 => {
                self.writes.push(Vec::new());
                self.events.push(json!({"name": name, "ph": "i", "s": "g", "pid": e.pid, "tid": e.pid, "ts": ts}));
            }
            EventKind::Write {
                cell, index, new, ..
            } => {
                let value = match new {
                    Num::Int(v) => json!(*v as f64),
                    Num::Float(v) => json!(v),
                };
                self.events.push(json!({
                    "name": format!("cell {cell}[{index}]"), "ph": "C", "pid": 0, "ts": ts,
                    "args": {"value": value}
                }));
                if let Some(w) = WriteRec::of_counter(e) {
                    if self.writes.is_empty() {
                        self.writes.push(Vec::new());
                    }
                    if let Some(part) = self.writes.last_mut() {
                        part.push((e.pid, w));
                    }
                }
            }
            _ => {}
        }
    }

    /// The trace as JSON (`{"traceEvents": [...]}`), with lost updates marked.
    pub fn finish(mut self) -> String {
        for mut part in std::mem::take(&mut self.writes) {
            part.sort_by_key(|(_, w)| w.t_ns);
            let recs: Vec<WriteRec> = part.iter().map(|(_, w)| *w).collect();
            for l in find_lost_updates(&recs) {
                let pid = part
                    .iter()
                    .find(|(_, w)| *w == l.lost)
                    .map_or(0, |(p, _)| *p);
                let ts = self.ts(l.lost.t_ns);
                self.events.push(json!({
                    "name": "lost update", "ph": "i", "s": "p", "pid": pid, "tid": pid, "ts": ts,
                    "args": {"old": l.lost.old as f64, "new": l.lost.new as f64,
                             "overwritten_by_worker": l.overwritten_by.worker}
                }));
            }
        }
        self.events.push(
            json!({"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "shared memory"}}),
        );
        json!({"traceEvents": self.events, "displayTimeUnit": "ms"}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(worker: u16, t_ns: u64, kind: EventKind) -> Envelope {
        Envelope::of(worker, t_ns, kind)
    }

    #[test]
    fn a_blocking_call_is_a_slice_named_as_the_program_calls_it() {
        let mut t = ChromeTrace::default();
        let blocked = EventKind::Blocked {
            on: "tasks.get()".into(),
        };
        t.observe(&ev(2, 1_000, blocked));
        t.observe(&ev(2, 5_000, EventKind::Unblocked));
        let json: Value = serde_json::from_str(&t.finish()).expect("json");
        let slice = json["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["name"] == "in tasks.get()")
            .cloned()
            .expect("the wait's slice");
        assert_eq!(
            (slice["ts"].as_f64(), slice["dur"].as_f64()),
            (Some(0.0), Some(4.0))
        );
    }

    #[test]
    fn a_lock_held_inside_another_is_a_slice_of_its_own() {
        let mut t = ChromeTrace::default();
        t.observe(&ev(1, 1_000, EventKind::Started));
        for (at, lock) in [(2_000, 257), (3_000, 258)] {
            t.observe(&ev(1, at, EventKind::LockRequested { lock }));
            let took = EventKind::LockAcquired {
                lock,
                wait_ns: 0,
                contended: false,
            };
            t.observe(&ev(1, at, took));
        }
        let release = |lock, hold_ns| EventKind::LockReleased { lock, hold_ns };
        t.observe(&ev(1, 4_000, release(258, 1_000)));
        t.observe(&ev(1, 6_000, release(257, 4_000)));
        let out: Value = serde_json::from_str(&t.finish()).expect("json");
        let holds: Vec<(String, f64)> = out["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| {
                e["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("hold lock"))
            })
            .map(|e| {
                (
                    e["name"].as_str().unwrap_or("").to_string(),
                    e["dur"].as_f64().unwrap_or(0.0),
                )
            })
            .collect();
        assert_eq!(
            holds,
            [
                ("hold lock 258".to_string(), 1.0),
                ("hold lock 257".to_string(), 4.0)
            ]
        );
    }

    #[test]
    fn lock_waits_and_holds_become_slices_with_the_expected_phases() {
        let mut t = ChromeTrace::default();
        t.observe(&ev(1, 1_000, EventKind::Started));
        t.observe(&ev(1, 2_000, EventKind::LockRequested { lock: 0 }));
        t.observe(&ev(
            1,
            5_000,
            EventKind::LockAcquired {
                lock: 0,
                wait_ns: 3_000,
                contended: true,
            },
        ));
        let write = EventKind::Write {
            cell: 0,
            index: 0,
            old: Num::Int(0),
            new: Num::Int(1),
            seq: 1,
            from: crate::runtime::StoreId::INITIAL,
            replaced: crate::runtime::StoreId::INITIAL,
        };
        t.observe(&ev(1, 6_000, write));
        t.observe(&ev(
            1,
            9_000,
            EventKind::LockReleased {
                lock: 0,
                hold_ns: 4_000,
            },
        ));
        t.observe(&ev(
            1,
            10_000,
            EventKind::Exit {
                code: Some(0),
                signal: None,
            },
        ));
        let v: Value = serde_json::from_str(&t.finish()).expect("valid JSON");
        let evs = v["traceEvents"].as_array().expect("events");
        let phases: std::collections::BTreeSet<&str> =
            evs.iter().filter_map(|e| e["ph"].as_str()).collect();
        assert!(
            ["M", "X", "C"].iter().all(|p| phases.contains(p)),
            "{phases:?}"
        );
        let wait = evs
            .iter()
            .find(|e| e["name"] == "wait for lock")
            .expect("wait slice");
        assert_eq!(
            (wait["ts"].as_f64(), wait["dur"].as_f64()),
            (Some(1.0), Some(3.0))
        );
        assert!(
            evs.iter()
                .any(|e| e["name"] == "hold lock" && e["dur"].as_f64() == Some(4.0))
        );
    }
}
