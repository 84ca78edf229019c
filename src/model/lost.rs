//! Lost updates, found exactly from the write events.
//!
//! Every write carries three store ids (see `StoreId`): its own, the store its read saw
//! (`from`), and the store it replaced in memory (`replaced`, from the same atomic swap that
//! stored it). `replaced` links give the real store order; `from` links give each value's
//! ancestry — the writes whose increments it contains. The value left in memory contains
//! exactly the writes on its ancestry chain; every other write was lost.
//!
//! Who lost it: walking the stores in memory order, a store whose value does not contain a
//! write that the value it replaced did contain erases that write. A lost write is named as
//! overwritten by the store that erased it for the last time (a write erased, then brought back
//! by a store that had read an older value, then erased again, is named by the last eraser).
//! Timestamps play no part: two racing stores can be stamped in either order.

use std::collections::HashMap;

use serde::Serialize;

use crate::runtime::{Envelope, EventKind, Num, StoreId};

/// A write of the counter as the analysis sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WriteRec {
    pub worker: u16,
    pub t_ns: u64,
    /// The value its read saw, and the store that put it there.
    pub old: i128,
    pub from: StoreId,
    /// The value it stored, as the writer's store number `seq`.
    pub new: i128,
    pub seq: u32,
    /// The store it replaced in memory.
    pub replaced: StoreId,
}

impl WriteRec {
    /// The write of an integer to element 0 of cell 0 (the counter), if `e` is one.
    pub fn of_counter(e: &Envelope) -> Option<WriteRec> {
        match e.kind {
            EventKind::Write {
                cell: 0, index: 0, ..
            } => match Self::of_any_write(e) {
                Some((w, None)) => Some(w),
                _ => None,
            },
            _ => None,
        }
    }

    /// Any shared cell's write, at any element (a Python program's Values and Arrays: the
    /// caller keeps each element apart). The analysis follows store names only, so a write
    /// whose numbers are not both integers (a float Value's) is a record with 0 for them, and
    /// its numbers (read, stored) come beside it.
    pub fn of_any_write(e: &Envelope) -> Option<(WriteRec, Option<(f64, f64)>)> {
        let EventKind::Write {
            old,
            new,
            seq,
            from,
            replaced,
            ..
        } = e.kind
        else {
            return None;
        };
        let (ints, nums) = match (old, new) {
            (Num::Int(o), Num::Int(n)) => ((o, n), None),
            _ => ((0, 0), Some((old.as_f64(), new.as_f64()))),
        };
        let w = WriteRec {
            worker: e.worker,
            t_ns: e.t_ns,
            old: ints.0,
            from,
            new: ints.1,
            seq,
            replaced,
        };
        Some((w, nums))
    }

    pub fn id(&self) -> StoreId {
        StoreId {
            worker: self.worker,
            seq: self.seq,
        }
    }
}

/// An update that the final value does not contain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LostUpdate {
    /// The write whose effect vanished.
    pub lost: WriteRec,
    /// The store that erased it: it replaced a value containing `lost` with one computed from
    /// a value that did not.
    pub overwritten_by: WriteRec,
    /// True when both writes read the same store (the classic lost update).
    pub same_read: bool,
}

/// The writes' relations, by index into the slice given.
struct Stores {
    /// `from` as an index (None: the initial value, or a store not in the slice).
    parent: Vec<Option<usize>>,
    /// Euler-tour interval of each write in the `from` tree: `a` contains `b` (is `b` or one of
    /// its ancestors) exactly when `enter[a] <= enter[b] < leave[a]`.
    enter: Vec<usize>,
    leave: Vec<usize>,
    /// Indices in memory order (each replacing the one before), then any writes whose chain is
    /// broken (events dropped), each broken chain in the order of its links.
    memory: Vec<usize>,
    /// How many of `memory` follow from the initial value unbroken.
    main: usize,
}

impl Stores {
    fn new(writes: &[WriteRec]) -> Stores {
        let n = writes.len();
        let index: HashMap<StoreId, usize> = writes
            .iter()
            .enumerate()
            .map(|(i, w)| (w.id(), i))
            .collect();
        let find = |id: StoreId| {
            (!id.is_initial())
                .then(|| index.get(&id).copied())
                .flatten()
        };
        let parent: Vec<Option<usize>> = writes.iter().map(|w| find(w.from)).collect();
        // The `from` tree: children lists, then an iterative depth-first tour.
        let mut children = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for (i, p) in parent.iter().enumerate() {
            match p {
                Some(p) => children[*p].push(i),
                None => roots.push(i),
            }
        }
        let (mut enter, mut leave) = (vec![0; n], vec![0; n]);
        let mut clock = 0;
        let mut stack: Vec<(usize, bool)> = roots.iter().rev().map(|r| (*r, false)).collect();
        while let Some((i, done)) = stack.pop() {
            if done {
                leave[i] = clock;
                continue;
            }
            enter[i] = clock;
            clock += 1;
            stack.push((i, true));
            stack.extend(children[i].iter().rev().map(|c| (*c, false)));
        }
        // Memory order: follow `replaced` links forward from the initial value.
        let mut next: HashMap<Option<usize>, usize> = HashMap::with_capacity(n);
        let mut heads = Vec::new();
        for (i, w) in writes.iter().enumerate() {
            let prev = if w.replaced.is_initial() {
                None
            } else {
                match index.get(&w.replaced) {
                    Some(p) => Some(*p),
                    None => {
                        heads.push(i);
                        continue;
                    }
                }
            };
            if next.insert(prev, i).is_some() {
                // Two stores claim to have replaced the same one: a damaged recording.
                heads.push(i);
            }
        }
        let mut memory = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        let mut walk = |start: Option<usize>, memory: &mut Vec<usize>| {
            let mut cur = start;
            if let Some(s) = start {
                if seen[s] {
                    return;
                }
                seen[s] = true;
                memory.push(s);
            }
            while let Some(&i) = next.get(&cur) {
                if seen[i] {
                    break;
                }
                seen[i] = true;
                memory.push(i);
                cur = Some(i);
            }
        };
        walk(None, &mut memory);
        let main = memory.len();
        for h in heads {
            walk(Some(h), &mut memory);
        }
        for i in 0..n {
            walk(Some(i), &mut memory);
        }
        Stores {
            parent,
            enter,
            leave,
            memory,
            main,
        }
    }

    /// Whether the value of write `b` contains write `a`'s increment.
    fn contains(&self, b: usize, a: usize) -> bool {
        self.enter[a] <= self.enter[b] && self.enter[b] < self.leave[a]
    }
}

/// The writes that the last store's value does not contain, each with the store that erased
/// it, in the order given (time order, as the callers keep them).
pub fn find_lost_updates(writes: &[WriteRec]) -> Vec<LostUpdate> {
    let Some(stores) = (!writes.is_empty()).then(|| Stores::new(writes)) else {
        return Vec::new();
    };
    // Survivors: the store left in memory (the end of the unbroken chain from the initial
    // value; with a broken chain, the last store seen) and its ancestry.
    let mut on_chain = vec![false; writes.len()];
    let last = match stores.main {
        0 => stores.memory.last(),
        m => stores.memory.get(m - 1),
    };
    let mut cur = last.copied();
    while let Some(i) = cur {
        if on_chain[i] {
            break;
        }
        on_chain[i] = true;
        cur = stores.parent[i];
    }
    // Erasers: for each store p -> k, the writes p contains and k does not are p's ancestry
    // up to the first write that k contains too.
    let mut erased_by: Vec<Option<usize>> = vec![None; writes.len()];
    for pair in stores.memory.windows(2) {
        let (p, k) = (pair[0], pair[1]);
        if writes[k].replaced != writes[p].id() {
            continue;
        }
        let mut x = Some(p);
        while let Some(i) = x {
            if stores.contains(k, i) {
                break;
            }
            erased_by[i] = Some(k);
            x = stores.parent[i];
        }
    }
    writes
        .iter()
        .enumerate()
        .filter(|(i, _)| !on_chain[*i])
        .filter_map(|(i, w)| {
            let by = writes[erased_by[i]?];
            Some(LostUpdate {
                lost: *w,
                overwritten_by: by,
                same_read: by.from == w.from,
            })
        })
        .collect()
}

/// Consecutive writes by the same worker: with the lock around the loop, one block each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriterBlock {
    pub worker: u16,
    pub writes: u32,
}

pub fn writer_blocks(writes: &[WriteRec]) -> Vec<WriterBlock> {
    let mut blocks: Vec<WriterBlock> = Vec::new();
    for w in writes {
        match blocks.last_mut() {
            Some(b) if b.worker == w.worker => b.writes += 1,
            _ => blocks.push(WriterBlock {
                worker: w.worker,
                writes: 1,
            }),
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Shared memory as the workers see it: the value, the store that put it there, and (for
    /// checking only) the set of writes whose increments it contains.
    struct Memory {
        value: i128,
        tag: StoreId,
        contains: BTreeSet<StoreId>,
        /// Per store id: the writes its value contains.
        sets: HashMap<StoreId, BTreeSet<StoreId>>,
        order: Vec<StoreId>,
    }

    impl Memory {
        fn new() -> Memory {
            Memory {
                value: 0,
                tag: StoreId::INITIAL,
                contains: BTreeSet::new(),
                sets: HashMap::from([(StoreId::INITIAL, BTreeSet::new())]),
                order: Vec::new(),
            }
        }
    }

    /// Plays a schedule of `v.value += delta`: each entry names a worker, whose next step is a
    /// read if it has none pending, else its write. Writes come out in stamp order, which a
    /// random `stamp_skew` may swap against store order (stamps cannot order racing stores).
    fn play(deltas: &[i128], schedule: &[usize], skew: &[bool]) -> (Vec<WriteRec>, Memory) {
        let n = deltas.len();
        let mut mem = Memory::new();
        let mut pending: Vec<Option<(i128, StoreId, BTreeSet<StoreId>)>> = vec![None; n];
        let mut seqs = vec![0u32; n];
        let mut writes = Vec::new();
        for (t, w) in schedule.iter().map(|w| w % n).enumerate() {
            match pending[w].take() {
                None => pending[w] = Some((mem.value, mem.tag, mem.contains.clone())),
                Some((old, from, mut set)) => {
                    seqs[w] += 1;
                    let id = StoreId {
                        worker: w as u16 + 1,
                        seq: seqs[w],
                    };
                    let new = old + deltas[w];
                    let stamp = t as u64 * 10 + if skew.get(t) == Some(&true) { 15 } else { 0 };
                    writes.push(WriteRec {
                        worker: id.worker,
                        t_ns: stamp,
                        old,
                        from,
                        new,
                        seq: id.seq,
                        replaced: mem.tag,
                    });
                    set.insert(id);
                    mem.value = new;
                    mem.tag = id;
                    mem.contains = set.clone();
                    mem.sets.insert(id, set);
                    mem.order.push(id);
                }
            }
        }
        writes.sort_by_key(|w| w.t_ns);
        (writes, mem)
    }

    #[test]
    fn a_classic_lost_update_is_identified() {
        // Both read 0; worker 1 stores 1, then worker 2 stores 3 from its stale read.
        let (writes, _) = play(&[1, 3], &[0, 1, 0, 1, 0, 0], &[]);
        let lost = find_lost_updates(&writes);
        assert_eq!(lost.len(), 1);
        assert_eq!((lost[0].lost.worker, lost[0].lost.new), (1, 1));
        assert_eq!(
            (lost[0].overwritten_by.worker, lost[0].overwritten_by.new),
            (2, 3)
        );
        assert!(lost[0].same_read);
    }

    #[test]
    fn equal_values_are_told_apart_by_their_stores() {
        // Worker 1 reads 0 and stores 1 twice over (0 -> 1, then reads 1 -> 2); worker 2 read 0
        // first and stores 1 last: the value 1 is in memory twice, from different stores.
        let (writes, mem) = play(&[1, 1], &[1, 0, 0, 0, 0, 1], &[]);
        assert_eq!(mem.value, 1);
        let lost = find_lost_updates(&writes);
        assert_eq!(lost.len(), 2, "{lost:?}");
        assert!(
            lost.iter()
                .all(|l| l.lost.worker == 1 && l.overwritten_by.worker == 2)
        );
    }

    #[test]
    fn serial_writes_lose_nothing_and_form_blocks() {
        let (writes, _) = play(&[1, 3], &[0, 0, 0, 0, 1, 1, 1, 1], &[]);
        assert!(find_lost_updates(&writes).is_empty());
        assert_eq!(
            writer_blocks(&writes),
            vec![
                WriterBlock {
                    worker: 1,
                    writes: 2
                },
                WriterBlock {
                    worker: 2,
                    writes: 2
                }
            ]
        );
    }

    fn check(deltas: &[i128], writes: &[WriteRec], mem: &Memory) -> Result<(), String> {
        let lost = find_lost_updates(writes);
        let expected: i128 = writes.iter().map(|w| w.new - w.old).sum();
        let lost_sum: i128 = lost.iter().map(|l| l.lost.new - l.lost.old).sum();
        if expected - mem.value != lost_sum {
            return Err(format!(
                "shortfall {} but lost {lost_sum}",
                expected - mem.value
            ));
        }
        // Exactly the writes the final value lacks.
        let lost_ids: BTreeSet<StoreId> = lost.iter().map(|l| l.lost.id()).collect();
        let lacking: BTreeSet<StoreId> = writes
            .iter()
            .map(WriteRec::id)
            .filter(|id| !mem.contains.contains(id))
            .collect();
        if lost_ids != lacking {
            return Err(format!("lost {lost_ids:?}, final lacks {lacking:?}"));
        }
        for l in &lost {
            let by = &l.overwritten_by;
            let before = &mem.sets[&by.replaced];
            let after = &mem.sets[&by.id()];
            // The overwriter's store directly followed a value containing the lost write.
            if !before.contains(&l.lost.id()) || after.contains(&l.lost.id()) {
                return Err(format!("{by:?} did not erase {:?}", l.lost));
            }
            // ... and no later store brought it back.
            let at = mem.order.iter().position(|id| *id == by.id());
            let later = at.map_or(&[][..], |at| &mem.order[at + 1..]);
            if later.iter().any(|id| mem.sets[id].contains(&l.lost.id())) {
                return Err(format!("{:?} came back after {by:?}", l.lost));
            }
            // A worker always sees its own last store, so with two workers it never erases
            // its own write.
            if deltas.len() == 2 && by.worker == l.lost.worker {
                return Err(format!("worker {} named as overwriting itself", by.worker));
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Any interleaving of unlocked `v.value += delta` by up to four workers, with stamps
        /// that may disagree with the store order: the lost writes are exactly those the final
        /// value lacks, the shortfall is their sum, each is named with the store that erased it
        /// for good, and with two workers nobody is named as overwriting their own write.
        #[test]
        fn lost_updates_are_exact_for_any_interleaving(
            deltas in proptest::collection::vec(1i128..5, 1..5),
            schedule in proptest::collection::vec(0usize..4, 0..120),
            skew in proptest::collection::vec(proptest::bool::ANY, 0..120),
        ) {
            let (writes, mem) = play(&deltas, &schedule, &skew);
            if let Err(e) = check(&deltas, &writes, &mem) {
                return Err(proptest::test_runner::TestCaseError::fail(e));
            }
        }
    }
}
