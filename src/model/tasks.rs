//! Which worker ran which task of a pool, from the `task_start` / `task_end` events and the
//! workers' exits: the pool's summary and the UI's task grid both keep one.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::runtime::{Envelope, EventKind};

/// Which worker ran which task, from the `task_start` / `task_end` events (the parent's
/// summary and the UI's pool view both keep it).
#[derive(Debug, Clone, Default)]
pub struct TaskLog {
    pub tasks: BTreeMap<u32, TaskEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskEntry {
    pub call: String,
    pub first: i64,
    pub count: u32,
    pub worker: u16,
    #[serde(skip)]
    pub ended: bool,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TaskEntry {
    /// What it runs.
    pub fn what(&self) -> TaskCall<'_> {
        TaskCall::of(&self.call, self.first, self.count)
    }

    /// `None` while the task runs, then whether it succeeded.
    pub fn outcome(&self) -> Option<bool> {
        self.ended.then_some(self.ok)
    }
}

/// What a task runs, as its `task_start` says it: a `map` chunk's `call` is its function's bare
/// name (applied to `count` integers from `first`); any other task's is the call itself
/// (`job(2)`, `abs(x) for x in [5, -1, 9]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskCall<'a> {
    Chunk {
        function: &'a str,
        first: i64,
        count: u32,
    },
    Call(&'a str),
}

impl<'a> TaskCall<'a> {
    pub fn of(call: &'a str, first: i64, count: u32) -> TaskCall<'a> {
        if call.contains('(') {
            TaskCall::Call(call)
        } else {
            TaskCall::Chunk {
                function: call,
                first,
                count,
            }
        }
    }
}

/// A pool worker's death, in words, and the task it took with it (if it was running one).
#[derive(Debug, Clone, PartialEq)]
pub struct Death {
    pub message: String,
    pub task: Option<u32>,
}

impl TaskLog {
    /// Records a task event. A worker's death ends the task it was running as lost (an
    /// error), and is returned.
    pub fn observe(&mut self, e: &Envelope) -> Option<Death> {
        match &e.kind {
            EventKind::TaskStart {
                task,
                call,
                first,
                count,
            } => {
                let (call, first, count) = (call.clone(), *first, *count);
                let entry = TaskEntry {
                    call,
                    first,
                    count,
                    worker: e.worker,
                    ended: false,
                    ok: false,
                    error: None,
                };
                self.tasks.insert(*task, entry);
            }
            EventKind::TaskEnd { task, ok, error } => {
                if let Some(t) = self.tasks.get_mut(task) {
                    (t.ended, t.ok, t.error) = (true, *ok, error.clone());
                }
            }
            EventKind::Exit { code, signal } if *code != Some(0) => {
                let how = match (code, signal) {
                    (_, Some(sig)) => {
                        format!("was killed by {}", crate::runtime::event::signal_name(*sig))
                    }
                    (Some(c), _) => format!("exited with code {c}"),
                    _ => "ended".into(),
                };
                let running = self
                    .tasks
                    .iter_mut()
                    .find(|(_, t)| t.worker == e.worker && !t.ended);
                let (task, what) = match running {
                    Some((task, t)) => {
                        (t.ended, t.ok) = (true, false);
                        t.error = Some(format!("lost: worker {} {how}", e.worker));
                        (
                            Some(*task),
                            format!("while running task {task} ({}); its result is lost", t.call),
                        )
                    }
                    // It may have taken a task off the queue an instant before it died.
                    None => (
                        None,
                        "between tasks; a task it had just taken may be lost".into(),
                    ),
                };
                return Some(Death {
                    message: format!("pool worker {} (pid {}) {how} {what}", e.worker, e.pid),
                    task,
                });
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_a_chunk_of_a_map_or_a_call_of_its_own() {
        assert_eq!(
            TaskCall::of("job", 4, 2),
            TaskCall::Chunk {
                function: "job",
                first: 4,
                count: 2
            }
        );
        assert_eq!(TaskCall::of("job(2)", 0, 1), TaskCall::Call("job(2)"));
        let listed = "abs(x) for x in [5, -1, 9]";
        assert_eq!(TaskCall::of(listed, 0, 3), TaskCall::Call(listed));
    }
}
