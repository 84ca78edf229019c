//! The probe's binary records: the hot events (shared reads and writes, lock steps, the line a
//! process is at) in a fixed little-endian layout, because formatting them as JSON was most of
//! what the probe cost a Python program. A record starts with its tag byte; a JSON line starts
//! with `{`, so both share one stream. Every field is little-endian, nothing is padded:
//!
//! | tag | event | fields after the tag |
//! |-----|-------|----------------------|
//! | 1 | `read`, integer value | cell u16, index u32, value i64, from u64, t_ns u64 |
//! | 2 | `read`, float value | as 1 with value f64 |
//! | 3 | `write`, integers | cell u16, index u32, old i64, new i64, seq u32, from u64, replaced u64, t_ns u64 |
//! | 4 | `write`, floats | as 3 with old and new f64 |
//! | 5 | `lock_requested` | lock u16, t_ns u64 |
//! | 6 | `lock_acquired` | lock u16, wait_ns u64, contended u8, t_ns u64 |
//! | 7 | `lock_requested` then `lock_acquired` (taken at once, uncontended) | lock u16, requested t_ns u64, acquired t_ns u64 |
//! | 8 | `lock_released` | lock u16, hold_ns u64, t_ns u64 |
//! | 9 | `at` | line u32, t_ns u64 |
//!
//! A store (`from`, `replaced`) is one u64: its worker << 32 | its seq.

use crate::runtime::event::StoreId;
use crate::runtime::{EventKind, Num};

/// The length of the record with this tag, tag included; `None`: not a record's tag.
pub fn size(tag: u8) -> Option<usize> {
    Some(match tag {
        1 | 2 => 31,
        3 | 4 => 51,
        5 => 11,
        6 => 20,
        7 | 8 => 19,
        9 => 13,
        _ => return None,
    })
}

/// A whole record (as long as `size` says) handed to `emit` as its events with their times:
/// one, or two for tag 7. False (and nothing emitted) for what is not a whole record.
pub fn decode(rec: &[u8], mut emit: impl FnMut(EventKind, u64)) -> bool {
    let (Some(&tag), Some(fields)) = (rec.first(), rec.get(1..)) else {
        return false;
    };
    if size(tag) != Some(rec.len()) {
        return false;
    }
    let mut r = Fields(fields);
    let float = tag == 2 || tag == 4;
    match tag {
        1 | 2 => {
            let (cell, index) = (r.u16(), r.u32());
            let value = r.num(float);
            let from = r.store();
            let kind = EventKind::Read {
                cell,
                index,
                value,
                from,
            };
            emit(kind, r.u64());
        }
        3 | 4 => {
            let (cell, index) = (r.u16(), r.u32());
            let (old, new) = (r.num(float), r.num(float));
            let seq = r.u32();
            let (from, replaced) = (r.store(), r.store());
            let kind = EventKind::Write {
                cell,
                index,
                old,
                new,
                seq,
                from,
                replaced,
            };
            emit(kind, r.u64());
        }
        5 => {
            let lock = r.u16();
            emit(EventKind::LockRequested { lock }, r.u64());
        }
        6 => {
            let (lock, wait_ns) = (r.u16(), r.u64());
            let contended = r.u8() != 0;
            let kind = EventKind::LockAcquired {
                lock,
                wait_ns,
                contended,
            };
            emit(kind, r.u64());
        }
        7 => {
            let (lock, asked, took) = (r.u16(), r.u64(), r.u64());
            emit(EventKind::LockRequested { lock }, asked);
            let wait_ns = took.saturating_sub(asked);
            let kind = EventKind::LockAcquired {
                lock,
                wait_ns,
                contended: false,
            };
            emit(kind, took);
        }
        8 => {
            let (lock, hold_ns) = (r.u16(), r.u64());
            emit(EventKind::LockReleased { lock, hold_ns }, r.u64());
        }
        9 => {
            let line = r.u32();
            emit(EventKind::At { line }, r.u64());
        }
        _ => return false,
    }
    true
}

/// Fields read in order from a record whose length was checked against its tag.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().expect("split at N")
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn num(&mut self, float: bool) -> Num {
        let b = self.take::<8>();
        if float {
            Num::Float(f64::from_le_bytes(b))
        } else {
            Num::Int(i64::from_le_bytes(b) as i128)
        }
    }
    fn store(&mut self) -> StoreId {
        StoreId::from_bits(self.u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// The events `decode` hands over, or None if it refused the record.
    fn events(rec: &[u8]) -> Option<Vec<(EventKind, u64)>> {
        let mut out = Vec::new();
        decode(rec, |kind, t| out.push((kind, t))).then_some(out)
    }

    #[test]
    fn a_write_record_is_the_write_event() {
        let rec = le(&[
            &[3],
            &257u16.to_le_bytes(),
            &2u32.to_le_bytes(),
            &(-4i64).to_le_bytes(),
            &9i64.to_le_bytes(),
            &7u32.to_le_bytes(),
            &(1u64 << 32 | 3).to_le_bytes(),
            &(2u64 << 32 | 5).to_le_bytes(),
            &1234u64.to_le_bytes(),
        ]);
        assert_eq!(rec.len(), size(3).expect("tag 3"));
        let events = events(&rec).expect("a record");
        assert_eq!(
            events,
            vec![(
                EventKind::Write {
                    cell: 257,
                    index: 2,
                    old: Num::Int(-4),
                    new: Num::Int(9),
                    seq: 7,
                    from: StoreId { worker: 1, seq: 3 },
                    replaced: StoreId { worker: 2, seq: 5 },
                },
                1234
            )]
        );
    }

    #[test]
    fn an_uncontended_take_is_a_request_then_an_acquisition() {
        let rec = le(&[
            &[7],
            &513u16.to_le_bytes(),
            &100u64.to_le_bytes(),
            &160u64.to_le_bytes(),
        ]);
        let events = events(&rec).expect("a record");
        assert_eq!(
            events,
            vec![
                (EventKind::LockRequested { lock: 513 }, 100),
                (
                    EventKind::LockAcquired {
                        lock: 513,
                        wait_ns: 60,
                        contended: false
                    },
                    160
                )
            ]
        );
    }

    #[test]
    fn a_float_read_and_the_line_records() {
        let rec = le(&[
            &[2],
            &258u16.to_le_bytes(),
            &0u32.to_le_bytes(),
            &1.5f64.to_le_bytes(),
            &0u64.to_le_bytes(),
            &9u64.to_le_bytes(),
        ]);
        assert!(matches!(
            events(&rec).expect("a read")[0].0,
            EventKind::Read {
                value: Num::Float(v),
                ..
            } if v == 1.5
        ));
        let at = le(&[&[9], &16u32.to_le_bytes(), &3u64.to_le_bytes()]);
        assert_eq!(
            events(&at).expect("an at"),
            vec![(EventKind::At { line: 16 }, 3)]
        );
    }

    #[test]
    fn what_is_not_a_record_is_refused() {
        assert!(size(b'{').is_none() && size(0).is_none() && size(10).is_none());
        assert!(events(&[5, 1, 2]).is_none(), "short");
        assert!(events(&[]).is_none());
    }
}
