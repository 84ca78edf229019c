//! What a run's shared cells and locks are called: a scenario's named by its parameters, a
//! traced program's learnt from its `cell` and `lock_made` events.

/// A shared cell's name, and whether elements are named by index.
#[derive(Debug, Clone, PartialEq)]
pub struct CellName {
    pub name: String,
    pub array: bool,
}

/// The shared cells' names, by cell number: a scenario's from its parameters, a traced
/// program's learnt from its `cell` events — and a traced program's locks', from its
/// `lock_made` events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellNames {
    cells: std::collections::BTreeMap<u16, CellName>,
    /// By lock: its name (as a cell's is made), what it is and where it was made.
    locks: Made,
    /// By queue, as by lock.
    queues: Made,
}

/// Objects a program made, by number: (name, what it is, where it was made).
type Made = std::collections::BTreeMap<u16, (String, String, String)>;

/// Keeps what a `lock_made` or `queue_made` says of object `id`, its name made unique among
/// the others of its kind.
fn made(of: &mut Made, id: u16, name: &str, what: &str, at: &str) {
    let others = of.iter().filter(|(o, _)| **o != id).map(|(_, n)| &n.0);
    let name = unique_name(others, name, what, at);
    of.insert(id, (name, what.to_string(), at.to_string()));
}

/// A made object as a screen names it: what it is and its name (`Lock la`), its name alone
/// where that says what it is (`lock`), or what it is and where it was made for one its line
/// gives no name (`Lock() at mine.py:7`).
fn label((name, what, at): &(String, String, String)) -> String {
    let kind = what.trim_end_matches("()");
    let base = name.split(" #").next().unwrap_or(name);
    if name.contains('@') {
        // Two made on one line (`a, b = Queue(), Queue()`) stay two: `… #2`.
        let again = name.rfind(" #").map_or("", |i| &name[i..]);
        format!("{what} at {at}{again}")
    } else if base.eq_ignore_ascii_case(kind) {
        name.clone()
    } else {
        format!("{kind} {name}")
    }
}

impl From<Vec<CellName>> for CellNames {
    /// Names in cell order (cell 0 first).
    fn from(names: Vec<CellName>) -> Self {
        CellNames {
            cells: (0..).zip(names).collect(),
            locks: Default::default(),
            queues: Default::default(),
        }
    }
}

/// What a made object is called: its variable's name, or else what it is and where it was
/// made; a second of the same name (made again, by a function called twice) is `v #2`.
fn unique_name<'a>(
    others: impl Iterator<Item = &'a String>,
    name: &str,
    what: &str,
    at: &str,
) -> String {
    let name = if name.is_empty() {
        format!("{what}@{at}")
    } else {
        name.to_string()
    };
    let same = others
        .filter(|n| n.split(" #").next() == Some(name.as_str()))
        .count();
    if same > 0 {
        format!("{name} #{}", same + 1)
    } else {
        name
    }
}

impl CellNames {
    /// `Array('i')[3]`, `Value('d')`, `v`, or `cell 2[3]` for a cell without a name.
    pub fn of(&self, cell: u16, index: u32) -> String {
        match self.cells.get(&cell) {
            Some(n) if n.array => format!("{}[{index}]", n.name),
            Some(n) => n.name.clone(),
            None => format!("cell {cell}[{index}]"),
        }
    }

    /// The name, if the cell has one.
    pub fn known(&self, cell: u16, index: u32) -> Option<String> {
        self.cells.contains_key(&cell).then(|| self.of(cell, index))
    }

    /// The names in cell order.
    pub fn iter(&self) -> impl Iterator<Item = &CellName> {
        self.cells.values()
    }

    /// A traced program's lock's name (`l`, `Lock()@mine.py:7`), if its `lock_made` said.
    pub fn lock(&self, lock: u16) -> Option<&str> {
        self.locks.get(&lock).map(|l| l.0.as_str())
    }

    /// A traced program's lock as a screen names it: `Lock la`, `RLock v.get_lock()`, or
    /// `Lock() at mine.py:7` for one its line gives no name — and `lock` alone for a `Lock`
    /// its program calls `lock` (not `Lock lock`).
    pub fn lock_label(&self, lock: u16) -> Option<String> {
        self.locks.get(&lock).map(label)
    }

    /// A traced program's queue's name (`tasks`, `Queue()@mine.py:9`), if its `queue_made`
    /// said.
    pub fn queue(&self, queue: u16) -> Option<&str> {
        self.queues.get(&queue).map(|q| q.0.as_str())
    }

    /// What queue `queue` is (`JoinableQueue()`), if its `queue_made` said.
    pub fn queue_what(&self, queue: u16) -> Option<&str> {
        self.queues.get(&queue).map(|q| q.1.as_str())
    }

    /// What a line of the program calls queue `queue` (`tasks` in `tasks.put(3)`), or `q`, as
    /// the tutorial calls one, where its line gives it no name.
    pub fn queue_var(&self, queue: u16) -> &str {
        self.queue(queue)
            .filter(|n| !n.contains('@'))
            .unwrap_or("q")
    }

    /// A traced program's queue as a screen names it, as a lock is: `JoinableQueue tasks`,
    /// `Queue() at mine.py:9`, `queue`.
    pub fn queue_label(&self, queue: u16) -> Option<String> {
        self.queues.get(&queue).map(label)
    }

    /// Learns a cell's name from a `cell` event, or a lock's from a `lock_made` event: its
    /// variable's, or else what it is and where it was made.
    pub fn learn(&mut self, e: &crate::runtime::EventKind) {
        use crate::runtime::EventKind;
        match e {
            EventKind::Cell {
                cell,
                name,
                what,
                at,
            } => {
                let others = self
                    .cells
                    .iter()
                    .filter(|(c, _)| *c != cell)
                    .map(|(_, n)| &n.name);
                let name = unique_name(others, name, what, at);
                let array = what.starts_with("Array") || what.starts_with("RawArray");
                self.cells.insert(*cell, CellName { name, array });
            }
            EventKind::LockMade {
                lock: id,
                name,
                what,
                at,
            } => made(&mut self.locks, *id, name, what, at),
            EventKind::QueueMade {
                queue: id,
                name,
                what,
                at,
            } => made(&mut self.queues, *id, name, what, at),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_programs_cells_are_named_as_it_names_them() {
        use crate::runtime::EventKind;
        let made = |cell, name: &str, what: &str| EventKind::Cell {
            cell,
            name: name.into(),
            what: what.into(),
            at: "mine.py:3".into(),
        };
        let mut names = CellNames::default();
        assert_eq!(names.of(257, 0), "cell 257[0]");
        assert_eq!(names.known(257, 0), None);
        names.learn(&made(257, "v", "Value('i')"));
        names.learn(&made(258, "v", "Value('i')"));
        names.learn(&made(259, "", "Array('i', 4)"));
        assert_eq!(names.of(257, 0), "v");
        assert_eq!(names.of(258, 0), "v #2", "made again elsewhere");
        assert_eq!(names.of(259, 2), "Array('i', 4)@mine.py:3[2]");
        assert_eq!(names.known(257, 0).as_deref(), Some("v"));
        let lock = |lock, name: &str| EventKind::LockMade {
            lock,
            name: name.into(),
            what: "Lock()".into(),
            at: "mine.py:5".into(),
        };
        names.learn(&lock(257, "l"));
        names.learn(&lock(258, "l"));
        names.learn(&lock(259, ""));
        assert_eq!(names.lock(257), Some("l"));
        assert_eq!(
            names.lock(258),
            Some("l #2"),
            "a lock's name is its own, not a cell's"
        );
        assert_eq!(names.lock(259), Some("Lock()@mine.py:5"));
        assert_eq!(names.lock(260), None);
        assert_eq!(names.lock_label(257).as_deref(), Some("Lock l"));
        assert_eq!(
            names.lock_label(259).as_deref(),
            Some("Lock() at mine.py:5")
        );
        assert_eq!(names.of(257, 0), "v", "cells and locks are numbered apart");
        // A lock called what it is is not named twice.
        names.learn(&lock(260, "lock"));
        names.learn(&lock(261, "lock"));
        assert_eq!(names.lock_label(260).as_deref(), Some("lock"));
        assert_eq!(names.lock_label(261).as_deref(), Some("lock #2"));
        names.learn(&lock(262, ""));
        assert_eq!(
            names.lock_label(262).as_deref(),
            Some("Lock() at mine.py:5 #2"),
            "made on the same line as another"
        );
    }
}
