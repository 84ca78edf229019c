//! What a run is, as its screen tells it: made once by the run's source — from a Rust
//! scenario's parameters, a recording's summary, or a traced program's script — so that no
//! widget reads a scenario's parameters. Two runs whose `About` and events are the same look
//! the same, whatever made them.

use crate::model::names::CellNames;
use crate::runtime::Num;

/// A run's description.
#[derive(Debug, Clone, PartialEq)]
pub struct About {
    /// Its short name, for file names: the scenario's (`lock`), or `python` for a program.
    pub name: &'static str,
    /// Where its scenario stands in the picker, if it is one (live or recorded).
    pub scenario: Option<usize>,
    /// What the header and a picture's title call it.
    pub subject: Subject,
    /// The Python the code pane shows.
    pub code: Code,
    /// The panel its events are drawn in, with the figures they are measured against.
    pub panel: Panel,
    /// What each new worker is called.
    pub roles: Roles,
    /// How the UI paces the run unlike the tutorial, in a few words for the header.
    pub pace: Option<String>,
    /// The shared cells named before the run (a program names its own as it makes them).
    pub cells: CellNames,
    /// The shared segment's cells' first values, in cell order (the `shared` scenario).
    pub segment: Vec<Vec<Num>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A section of the tutorial: `§1.7 lock — a shared counter without and with a lock`.
    Scenario {
        section: &'static str,
        title: &'static str,
    },
    /// A program of the user's (or the tutorial's, run as a script): `python mine.py`.
    Program { script: String },
}

/// The code pane's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    /// Where it comes from, for the pane's title (`assets/python/mp_lock.py`, the script).
    pub path: String,
    pub text: String,
}

/// The figures a run is measured against, by the panel that shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    /// §1.2: the child's life; the arguments `job` is given.
    Process { args: (i64, i64) },
    /// §1.3: the sum the parent must end with.
    Queue { exact: i128 },
    /// §1.4: normal, threads and processes side by side.
    Compare,
    /// §1.5: the pool's tasks; the argument of the one `apply_async` call.
    Pool { apply_arg: i64 },
    /// §1.6: the shared segment; writes in all.
    Shared { writes: usize },
    /// §1.7: the counter without and with the lock, each run's exact end and number of writes.
    Lock { unlocked: Target, locked: Target },
    /// A traced program: panels chosen from what it does.
    Program,
}

/// Where a counter must end, and after how many writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub total: i128,
    pub writes: usize,
}

/// What a run's workers are called as they are spawned.
#[derive(Debug, Clone, PartialEq)]
pub enum Roles {
    /// The k-th worker a phase spawns is `names[k % len]` (`v.value += 1`, `writer +2`).
    Cycle(Vec<String>),
    /// Each is called by the parent's phase when it is spawned (compare's `threads`).
    Phase,
    /// A traced program: its own process `__main__`, the others by what they run once they
    /// say (`job()`), threads as threads.
    Program,
}

impl About {
    /// A traced program: `script` as given, `code` its source.
    pub fn program(script: &str, code: String) -> About {
        About {
            name: "python",
            scenario: None,
            subject: Subject::Program {
                script: script.to_string(),
            },
            code: Code {
                path: script.to_string(),
                text: code,
            },
            panel: Panel::Program,
            roles: Roles::Program,
            pace: None,
            cells: CellNames::default(),
            segment: Vec::new(),
        }
    }

    /// A traced program's screen, not a scenario's.
    pub fn is_program(&self) -> bool {
        self.panel == Panel::Program
    }

    /// The script of a traced program.
    pub fn script(&self) -> Option<&str> {
        match &self.subject {
            Subject::Program { script } => Some(script),
            Subject::Scenario { .. } => None,
        }
    }

    /// A picture's title: `mpviz — §1.7 lock: …`, `mpviz — python mine.py`.
    pub fn picture_title(&self) -> String {
        match &self.subject {
            Subject::Scenario { section, title } => {
                format!("mpviz — §{section} {}: {title}", self.name)
            }
            Subject::Program { script } => format!("mpviz — python {script}"),
        }
    }

    /// The name of the `k`-th worker spawned in a phase (`phase`: the parent's phase).
    pub fn role(&self, k: usize, phase: &str, first: bool) -> String {
        match &self.roles {
            Roles::Cycle(names) if names.is_empty() => String::new(),
            Roles::Cycle(names) => names[k % names.len()].clone(),
            Roles::Phase => phase.to_string(),
            Roles::Program if first => "__main__".into(),
            Roles::Program => "python".into(),
        }
    }
}

impl Panel {
    /// A counter's target in the lock lesson, for the run made in `locked` mode or not.
    pub fn lock_target(&self, locked: bool) -> Option<Target> {
        match self {
            Panel::Lock {
                unlocked,
                locked: l,
            } => Some(if locked { *l } else { *unlocked }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_named_in_turn_by_their_phase_or_by_the_program() {
        let mut a = About::program("mine.py", String::new());
        assert!(a.is_program());
        assert_eq!(a.role(0, "", true), "__main__");
        assert_eq!(a.role(3, "", false), "python");
        a.roles = Roles::Cycle(vec!["v.value += 1".into(), "v.value += 3".into()]);
        assert_eq!(a.role(2, "locked", false), "v.value += 1");
        assert_eq!(a.role(3, "locked", false), "v.value += 3");
        a.roles = Roles::Phase;
        assert_eq!(a.role(1, "threads", false), "threads");
        assert_eq!(a.picture_title(), "mpviz — python mine.py");
    }
}
