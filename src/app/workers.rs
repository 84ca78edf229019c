//! The workers table: who each worker is, what it is doing, and where it runs.

use std::collections::VecDeque;

use crate::monitor::Sample;
use crate::runtime::{Access, Envelope, EventKind};
use crate::scenario::signal_name;

/// How many past cores a worker's lane remembers.
pub const LANE: usize = 24;

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerState {
    Starting,
    Running,
    Sleeping,
    WaitingLock,
    HoldingLock,
    /// In `join()`, waiting for a process it started.
    Joining,
    /// In a blocking call (`ev.wait()`, `tasks.get()`), as its line writes it.
    Waiting(String),
    AtGate(Access),
    Stopped,
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
    },
}

impl WorkerState {
    pub fn label(&self) -> String {
        match self {
            WorkerState::Starting => "starting".into(),
            WorkerState::Running => "running".into(),
            WorkerState::Sleeping => "sleeping".into(),
            WorkerState::WaitingLock => "waiting for lock".into(),
            WorkerState::HoldingLock => "holding lock".into(),
            WorkerState::Joining => "in join()".into(),
            WorkerState::Waiting(on) => format!("in {on}"),
            WorkerState::AtGate(Access::Read) => "at gate: read".into(),
            WorkerState::AtGate(Access::Write) => "at gate: write".into(),
            WorkerState::Stopped => "paused (SIGSTOP)".into(),
            WorkerState::Exited { code: Some(c), .. } => format!("exited {c}"),
            WorkerState::Exited {
                signal: Some(s), ..
            } => format!("killed {}", signal_name(*s)),
            WorkerState::Exited { .. } => "exited".into(),
        }
    }

    pub fn alive(&self) -> bool {
        !matches!(self, WorkerState::Exited { .. })
    }
}

#[derive(Debug, Clone)]
pub struct WorkerRow {
    pub id: u16,
    pub pid: i32,
    pub role: String,
    pub state: WorkerState,
    /// The state before a SIGSTOP, restored on SIGCONT.
    before_stop: Option<WorkerState>,
    pub cpu_pct: f32,
    /// The cores it is on now (several for a process whose threads run at once).
    pub cores: Vec<u32>,
    /// Cores it was seen on, oldest first (one entry per sample while alive).
    pub lane: VecDeque<u32>,
    pub events: u64,
    /// The line of the program's source it said it is at (a traced program's processes).
    pub line: Option<u32>,
}

#[derive(Debug, Default, Clone)]
pub struct WorkersState {
    pub rows: Vec<WorkerRow>,
}

impl WorkersState {
    pub fn get_mut(&mut self, id: u16) -> Option<&mut WorkerRow> {
        self.rows.iter_mut().find(|r| r.id == id)
    }

    pub fn worker_of(&self, pid: i32) -> Option<u16> {
        self.rows
            .iter()
            .find(|r| r.pid == pid && r.state.alive())
            .map(|r| r.id)
    }

    pub fn live_pids(&self) -> Vec<i32> {
        self.rows
            .iter()
            .filter(|r| r.state.alive())
            .map(|r| r.pid)
            .collect()
    }

    /// Applies an event; `role` names a newly spawned worker.
    pub fn on_event(&mut self, e: &Envelope, role: impl FnOnce() -> String) {
        if e.worker == 0 {
            return;
        }
        if let EventKind::Spawned { .. } = e.kind {
            self.rows.push(WorkerRow {
                id: e.worker,
                pid: e.pid,
                role: role(),
                state: WorkerState::Starting,
                before_stop: None,
                cpu_pct: 0.0,
                cores: Vec::new(),
                lane: VecDeque::with_capacity(LANE),
                events: 0,
                line: None,
            });
        }
        let Some(r) = self.get_mut(e.worker) else {
            return;
        };
        r.events += 1;
        if let EventKind::At { line } = e.kind {
            r.line = Some(line);
        }
        // What it was doing, paused or not (a paused worker's events change what it will be
        // doing once it goes on).
        let was = match (&r.state, &r.before_stop) {
            (WorkerState::Stopped, Some(b)) => b,
            (s, _) => s,
        };
        let next = match &e.kind {
            EventKind::Started => Some(WorkerState::Running),
            EventKind::Phase { .. } if e.kind.stage_of() == Some(crate::runtime::Stage::Sleep) => {
                Some(WorkerState::Sleeping)
            }
            EventKind::Phase { .. } if e.kind.stage_of() == Some(crate::runtime::Stage::Join) => {
                Some(WorkerState::Joining)
            }
            EventKind::Phase { .. }
            | EventKind::Read { .. }
            | EventKind::Write { .. }
            | EventKind::TaskStart { .. }
            | EventKind::QueuePut { .. } => Some(if *was == WorkerState::HoldingLock {
                WorkerState::HoldingLock
            } else {
                WorkerState::Running
            }),
            EventKind::Blocked { on } => Some(WorkerState::Waiting(on.clone())),
            // Running again — or still holding the lock a Condition's wait took back.
            EventKind::Unblocked if matches!(was, WorkerState::Waiting(_)) => {
                Some(WorkerState::Running)
            }
            EventKind::LockRequested { .. } => Some(WorkerState::WaitingLock),
            EventKind::LockAcquired { .. } | EventKind::LockRecovered => {
                Some(WorkerState::HoldingLock)
            }
            EventKind::LockReleased { .. } | EventKind::LockGaveUp { .. } => {
                Some(WorkerState::Running)
            }
            EventKind::Gate { access } => Some(WorkerState::AtGate(*access)),
            EventKind::Exit { code, signal } => Some(WorkerState::Exited {
                code: *code,
                signal: *signal,
            }),
            _ => None,
        };
        if let Some(n) = next {
            if r.state == WorkerState::Stopped && n.alive() {
                r.before_stop = Some(n);
            } else {
                r.state = n;
            }
        }
    }

    /// Applies a sampler reading: CPU, core, and the stopped state that only the kernel knows.
    pub fn on_sample(&mut self, s: &Sample) {
        for p in &s.procs {
            let Some(r) = self
                .rows
                .iter_mut()
                .find(|r| r.pid == p.pid && r.state.alive())
            else {
                continue;
            };
            r.cpu_pct = p.cpu_pct;
            r.cores = p.cores.clone();
            if let Some(c) = lane_entry(&p.cores) {
                if r.lane.len() == LANE {
                    r.lane.pop_front();
                }
                r.lane.push_back(c);
            }
            match (p.state, &r.state) {
                ('T' | 't', WorkerState::Stopped) => {}
                ('T' | 't', _) => {
                    r.before_stop = Some(std::mem::replace(&mut r.state, WorkerState::Stopped))
                }
                (_, WorkerState::Stopped) => {
                    r.state = r.before_stop.take().unwrap_or(WorkerState::Running)
                }
                _ => {}
            }
        }
    }

    /// Counts the changes of a worker's cores in its lane (a migration).
    pub fn migrations(row: &WorkerRow) -> usize {
        row.lane
            .iter()
            .zip(row.lane.iter().skip(1))
            .filter(|(a, b)| a != b)
            .count()
    }
}

/// A lane entry: the core, or `SEVERAL` when its threads were on more than one at once.
pub const SEVERAL: u32 = u32::MAX;

fn lane_entry(cores: &[u32]) -> Option<u32> {
    match cores {
        [] => None,
        [one] => Some(*one),
        _ => Some(SEVERAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ProcSample;

    fn ev(worker: u16, kind: EventKind) -> Envelope {
        Envelope {
            kind,
            worker,
            pid: 100 + worker as i32,
            t_ns: 0,
        }
    }

    #[test]
    fn a_blocking_call_is_the_state_until_it_returns_paused_or_not() {
        let mut w = WorkersState::default();
        let spawned = EventKind::Spawned {
            method: "python".into(),
        };
        w.on_event(&ev(1, spawned), || "waiter()".into());
        let blocked = |on: &str| EventKind::Blocked { on: on.into() };
        w.on_event(&ev(1, blocked("ev.wait()")), String::new);
        assert_eq!(w.rows[0].state.label(), "in ev.wait()");
        w.on_event(&ev(1, EventKind::Unblocked), String::new);
        assert_eq!(w.rows[0].state, WorkerState::Running);
        // A Condition's wait gives its lock back before it returns: still holding it after.
        w.on_event(&ev(1, blocked("cond.wait()")), String::new);
        let acquired = EventKind::LockAcquired {
            lock: 257,
            wait_ns: 5,
            contended: true,
        };
        w.on_event(&ev(1, acquired), String::new);
        w.on_event(&ev(1, EventKind::Unblocked), String::new);
        assert_eq!(w.rows[0].state, WorkerState::HoldingLock);
        // Paused while it waits: it goes on as running once continued, if its call returned.
        w.on_event(&ev(1, blocked("tasks.get()")), String::new);
        let sample = |state| Sample {
            cores: vec![],
            procs: vec![ProcSample {
                pid: 101,
                cpu_pct: 0.0,
                cores: vec![0],
                state,
            }],
        };
        w.on_sample(&sample('T'));
        w.on_event(&ev(1, EventKind::Unblocked), String::new);
        assert_eq!(w.rows[0].state, WorkerState::Stopped);
        w.on_sample(&sample('S'));
        assert_eq!(w.rows[0].state, WorkerState::Running);
    }

    #[test]
    fn states_follow_the_events_and_the_kernel() {
        let mut w = WorkersState::default();
        w.on_event(
            &ev(
                1,
                EventKind::Spawned {
                    method: "reexec".into(),
                },
            ),
            || "adds 1".into(),
        );
        assert_eq!(w.rows[0].state, WorkerState::Starting);
        w.on_event(&ev(1, EventKind::LockRequested { lock: 0 }), String::new);
        assert_eq!(w.rows[0].state.label(), "waiting for lock");
        w.on_event(
            &ev(
                1,
                EventKind::LockAcquired {
                    lock: 0,
                    wait_ns: 1,
                    contended: true,
                },
            ),
            String::new,
        );
        w.on_event(&ev(1, EventKind::Phase { name: "x".into() }), String::new);
        assert_eq!(
            w.rows[0].state,
            WorkerState::HoldingLock,
            "work inside the lock still holds it"
        );
        let stopped = Sample {
            cores: vec![],
            procs: vec![ProcSample {
                pid: 101,
                cpu_pct: 0.0,
                cores: vec![1],
                state: 'T',
            }],
        };
        w.on_sample(&stopped);
        assert_eq!(w.rows[0].state, WorkerState::Stopped);
        let running = Sample {
            cores: vec![],
            procs: vec![ProcSample {
                pid: 101,
                cpu_pct: 5.0,
                cores: vec![0],
                state: 'S',
            }],
        };
        w.on_sample(&running);
        assert_eq!(w.rows[0].state, WorkerState::HoldingLock);
        assert_eq!(WorkersState::migrations(&w.rows[0]), 1);
        w.on_event(
            &ev(
                1,
                EventKind::Exit {
                    code: None,
                    signal: Some(9),
                },
            ),
            String::new,
        );
        assert_eq!(w.rows[0].state.label(), "killed SIGKILL");
        assert!(w.live_pids().is_empty());
    }
}
