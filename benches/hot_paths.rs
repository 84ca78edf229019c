//! Hot paths, timed with divan (`cargo bench`): the event wire format, the fan-in channel, the
//! robust lock with its accounting, the lost-update analysis, one full frame of the UI, and the
//! value trace's downsampling (a frame after a million writes).

use std::hint::black_box;

use mpviz::app::{App, Msg};
use mpviz::model::lock::LockStats;
use mpviz::model::lost::{WriteRec, find_lost_updates};
use mpviz::runtime::event::{Decoded, Decoder, STREAM_HEADER, encode};
use mpviz::runtime::shm::{CellSpec, NumSer, Segment, TypeCode};
use mpviz::runtime::{Envelope, EventKind, Num, StoreId};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn main() {
    divan::main();
}

fn write_event(i: u64) -> EventKind {
    EventKind::Write {
        cell: 0,
        index: 0,
        old: Num::Int(i as i128),
        new: Num::Int(i as i128 + 3),
        seq: i as u32 + 1,
        from: StoreId {
            worker: 1,
            seq: i as u32,
        },
        replaced: StoreId {
            worker: 2,
            seq: i as u32,
        },
    }
}

/// Encoding 1000 write events into a buffer, as a worker does.
#[divan::bench]
fn encode_1000_writes(b: divan::Bencher) {
    let mut buf = Vec::with_capacity(64 * 1024);
    b.bench_local(|| {
        buf.clear();
        for i in 0..1000 {
            encode(&mut buf, 1_000_000 + i, &write_event(i));
        }
        black_box(buf.len())
    });
}

/// Decoding 1000 write events, as the parent's reader thread does.
#[divan::bench]
fn decode_1000_writes(b: divan::Bencher) {
    let mut bytes = STREAM_HEADER.to_vec();
    for i in 0..1000 {
        encode(&mut bytes, 1_000_000 + i, &write_event(i));
    }
    b.bench_local(|| {
        let mut d = Decoder::default();
        d.feed(&bytes);
        let mut n = 0;
        while let Some(x) = d.next_event() {
            n += matches!(x, Decoded::Event(..)) as u32;
        }
        black_box(n)
    });
}

/// 10 000 envelopes from two producer threads into one consumer through crossbeam, one
/// channel operation each (as the fan-in was before it went to batches).
#[divan::bench]
fn fan_in_10000_from_two_threads() {
    let (tx, rx) = crossbeam_channel::bounded::<Envelope>(8192);
    let producers: Vec<_> = (1..=2u16)
        .map(|w| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..5000 {
                    let e = Envelope {
                        kind: write_event(i),
                        worker: w,
                        pid: w as i32,
                        t_ns: i,
                    };
                    if tx.send(e).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let n = rx.iter().count();
    for p in producers {
        let _ = p.join();
    }
    assert_eq!(n, 10_000);
}

/// The same 10 000 envelopes in batches of 256, as the runtime's reader threads send them.
#[divan::bench]
fn fan_in_10000_from_two_threads_in_batches() {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Envelope>>(32);
    let producers: Vec<_> = (1..=2u16)
        .map(|w| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut batch = Vec::with_capacity(256);
                for i in 0..5000 {
                    batch.push(Envelope {
                        kind: write_event(i),
                        worker: w,
                        pid: w as i32,
                        t_ns: i,
                    });
                    if batch.len() == 256 || i == 4999 {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(256));
                        if tx.send(full).is_err() {
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let n: usize = rx.iter().map(|b| b.len()).sum();
    for p in producers {
        let _ = p.join();
    }
    assert_eq!(n, 10_000);
}

/// One uncontended acquire and release of the robust process-shared mutex, with the
/// accounting the parent does for each pair of events.
#[divan::bench]
fn lock_acquire_release_with_accounting(b: divan::Bencher) {
    let seg = Segment::create(&[CellSpec {
        typecode: TypeCode::I32,
        array: false,
        init: vec![NumSer::Int(0)],
        len: 0,
        tagged: true,
    }])
    .expect("segment");
    let mut stats = LockStats::default();
    let mut t = 0u64;
    b.bench_local(|| {
        let _ = seg.try_lock();
        t += 2;
        stats.observe(&Envelope {
            kind: EventKind::LockAcquired {
                lock: 0,
                wait_ns: 0,
                contended: false,
            },
            worker: 1,
            pid: 1,
            t_ns: t,
        });
        let _ = seg.unlock();
        stats.observe(&Envelope {
            kind: EventKind::LockReleased {
                lock: 0,
                hold_ns: 1,
            },
            worker: 1,
            pid: 1,
            t_ns: t + 1,
        });
    });
    black_box(stats.finish());
}

/// The lost-update analysis over 1000 interleaved writes (one lost in every four).
#[divan::bench]
fn lost_updates_in_1000_writes(b: divan::Bencher) {
    let mut writes: Vec<WriteRec> = Vec::new();
    let mut v = 0i128;
    for i in 0..1000usize {
        let worker = (i % 2) as u16 + 1;
        // Every fourth write read the value before its predecessor's store.
        let stale = i % 4 == 3;
        let from = if stale {
            i.checked_sub(2)
        } else {
            i.checked_sub(1)
        };
        let id = |j: Option<usize>| j.map_or(StoreId::INITIAL, |j: usize| writes[j].id());
        let old = if stale { v - 1 } else { v };
        let w = WriteRec {
            worker,
            t_ns: i as u64,
            old,
            from: id(from),
            new: old + 1,
            seq: i as u32 / 2 + 1,
            replaced: id(i.checked_sub(1)),
        };
        v = w.new;
        writes.push(w);
    }
    b.bench_local(|| black_box(find_lost_updates(&writes).len()));
}

fn lock_app(w: u16, h: u16) -> App {
    lock_app_with(w, h, 20)
}

fn lock_app_with(w: u16, h: u16, writes: u64) -> App {
    let mut app = App::new(std::time::Duration::from_millis(250), 0);
    app.update(Msg::Resize(w, h));
    let params = mpviz::scenario::default_params("lock").expect("lock");
    app.open_run(5, params);
    let mut t = 0;
    let mut ev = |worker: u16, kind: EventKind| {
        t += 1_000_000;
        app.update(Msg::Event(Envelope {
            kind,
            worker,
            pid: 100 + worker as i32,
            t_ns: t,
        }));
    };
    ev(
        0,
        EventKind::Phase {
            name: "unlocked".into(),
        },
    );
    for w in 1..=2 {
        ev(
            w,
            EventKind::Spawned {
                method: "reexec".into(),
            },
        );
        ev(w, EventKind::Started);
    }
    for i in 0..writes {
        ev((i % 2) as u16 + 1, write_event(i));
    }
    app
}

/// One full frame of the lock screen, drawn into a buffer (what every redraw costs).
#[divan::bench(args = [(80, 24), (160, 48)])]
fn full_frame(b: divan::Bencher, (w, h): (u16, u16)) {
    let app = lock_app(w, h);
    let area = Rect::new(0, 0, w, h);
    b.bench_local(|| {
        let mut buf = Buffer::empty(area);
        mpviz::ui::render(&app, area, &mut buf);
        black_box(buf)
    });
}

/// The value trace downsampled to the plot's width: a full frame after 1 000 000 writes costs
/// about what it costs after 20 (each column draws one write).
#[divan::bench(args = [20, 1_000_000])]
fn full_frame_160x48_after_writes(b: divan::Bencher, writes: u64) {
    let app = lock_app_with(160, 48, writes);
    let area = Rect::new(0, 0, 160, 48);
    b.bench_local(|| {
        let mut buf = Buffer::empty(area);
        mpviz::ui::render(&app, area, &mut buf);
        black_box(buf)
    });
}
