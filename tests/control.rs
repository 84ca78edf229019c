//! Steering live workers through the library: stop, speed and step gates, with real
//! processes started from the mpviz binary.

use std::time::{Duration, Instant};

use mpviz::runtime::shm::{CellSpec, NumSer, TypeCode};
use mpviz::runtime::{Access, Control, Envelope, EventKind, RuntimeOptions, StartMethod};
use mpviz::scenario::Session;
use mpviz::scenario::job::Job;
use mpviz::scenario::lock::{CounterJob, Granularity};

fn opts(method: StartMethod, gates: bool) -> RuntimeOptions {
    RuntimeOptions {
        method,
        gates,
        exe: Some(env!("CARGO_BIN_EXE_mpviz").into()),
        ..Default::default()
    }
}

fn counter(steps: u32, interval_ms: u64) -> serde_json::Value {
    Job::Counter(CounterJob {
        delta: 1,
        steps,
        interval_ms,
        race_window_ms: 0,
        locked: false,
        granularity: Granularity::Loop,
    })
    .to_json()
}

fn counter_cell() -> Vec<CellSpec> {
    vec![CellSpec {
        typecode: TypeCode::I32,
        array: false,
        init: vec![NumSer::Int(0)],
        len: 0,
        tagged: true,
    }]
}

/// Takes events until `pred` matches one, within a generous deadline.
fn until(
    s: &mut Session<'_>,
    within: Duration,
    mut pred: impl FnMut(&Envelope) -> bool,
) -> Envelope {
    let deadline = Instant::now() + within;
    loop {
        assert!(Instant::now() < deadline, "the awaited event did not come");
        if let Some(e) = s.next(Duration::from_millis(100)).expect("next")
            && pred(&e)
        {
            return e;
        }
    }
}

#[test]
fn stop_ends_a_long_run_cleanly() {
    for method in [StartMethod::Reexec, StartMethod::Fork] {
        let mut ignore = |_: &Envelope| {};
        let mut s = Session::new(opts(method, false), &mut ignore).expect("session");
        s.rt.create_segment(&counter_cell()).expect("segment");
        let id = s.rt.spawn(counter(100_000, 5), Vec::new()).expect("spawn");
        until(&mut s, Duration::from_secs(10), |e| {
            matches!(e.kind, EventKind::Write { .. })
        });
        assert!(s.rt.control(id, Control::Stop));
        let exit = until(&mut s, Duration::from_secs(10), |e| {
            matches!(e.kind, EventKind::Exit { .. })
        });
        assert_eq!(
            exit.kind,
            EventKind::Exit {
                code: Some(0),
                signal: None
            },
            "{method:?}"
        );
    }
}

#[test]
fn speed_applies_to_a_sleep_already_under_way() {
    let mut ignore = |_: &Envelope| {};
    let mut s = Session::new(opts(StartMethod::Reexec, false), &mut ignore).expect("session");
    s.rt.create_segment(&counter_cell()).expect("segment");
    // Two steps of 20 s each: only the speed-up lets it finish within the deadline below.
    let id = s.rt.spawn(counter(2, 20_000), Vec::new()).expect("spawn");
    until(&mut s, Duration::from_secs(10), |e| {
        matches!(e.kind, EventKind::Phase { .. })
    });
    assert!(s.rt.control(id, Control::Speed { permille: 10 }));
    let mut writes = 0;
    until(&mut s, Duration::from_secs(15), |e| {
        writes += matches!(e.kind, EventKind::Write { .. }) as u32;
        matches!(e.kind, EventKind::Exit { .. })
    });
    assert_eq!(writes, 2);
}

#[test]
fn a_gate_lets_exactly_one_access_through_per_release() {
    let mut ignore = |_: &Envelope| {};
    let mut s = Session::new(opts(StartMethod::Reexec, true), &mut ignore).expect("session");
    s.rt.create_segment(&counter_cell()).expect("segment");
    let id = s.rt.spawn(counter(3, 0), Vec::new()).expect("spawn");
    let gate = until(&mut s, Duration::from_secs(10), |e| {
        matches!(e.kind, EventKind::Gate { .. })
    });
    assert_eq!(
        gate.kind,
        EventKind::Gate {
            access: Access::Read
        }
    );
    s.rt.control(id, Control::Release);
    // The read happens, then the worker holds at its write gate: no write before the release.
    let mut seen = Vec::new();
    until(&mut s, Duration::from_secs(10), |e| {
        seen.push(e.kind.clone());
        matches!(
            e.kind,
            EventKind::Gate {
                access: Access::Write
            }
        )
    });
    assert!(seen.iter().any(|k| matches!(k, EventKind::Read { .. })));
    assert!(!seen.iter().any(|k| matches!(k, EventKind::Write { .. })));
    s.rt.control(id, Control::Gates(false));
    let mut writes = 0;
    until(&mut s, Duration::from_secs(10), |e| {
        writes += matches!(e.kind, EventKind::Write { .. }) as u32;
        matches!(e.kind, EventKind::Exit { .. })
    });
    assert_eq!(writes, 3, "with the gates open the worker runs to the end");
}

/// Step mode as the UI sets it (gates on, no script) holds the workers of every phase of the
/// lock scenario, not only the first: each read and each write waits until released.
#[test]
fn step_mode_holds_the_workers_of_both_lock_runs() {
    let Some(mpviz::scenario::Params::Lock(mut p)) = mpviz::scenario::default_params("lock") else {
        panic!("lock");
    };
    p.interval_ms = 0;
    p.steps = Some(2);
    let hub = mpviz::runtime::hub::Hub::new(1000, true);
    let opts = RuntimeOptions {
        hub: Some(hub.clone()),
        ..opts(StartMethod::Reexec, true)
    };
    let mut gated = std::collections::BTreeMap::<u16, u32>::new();
    let mut observer = |e: &Envelope| {
        if let EventKind::Gate { .. } = e.kind {
            *gated.entry(e.worker).or_default() += 1;
            // The user presses the worker's number.
            hub.release(e.worker);
        }
    };
    let s =
        mpviz::scenario::run(&mpviz::scenario::Params::Lock(p), opts, &mut observer).expect("run");
    assert!(s.ok, "{:?}", s.problems);
    // Two workers per run, two increments each, a gate before each read and each write.
    assert_eq!(gated.len(), 4, "{gated:?}");
    assert!(gated.values().all(|n| *n == 4), "{gated:?}");
}
