//! A pause in class never changes what a screen claims: the time the workers were stopped
//! (SIGSTOP ... SIGCONT, as the UI's space key does) is left out of compare's times and the
//! lock's hold times, and the stream says when it happened.

use std::sync::Arc;
use std::time::Duration;

use mpviz::runtime::hub::Hub;
use mpviz::runtime::{Envelope, EventKind, RuntimeOptions};
use mpviz::scenario::{self, Params};

/// How long each test keeps the workers stopped: the quantity under test, not a wait for
/// something to happen.
const PAUSE: Duration = Duration::from_secs(2);

/// Runs `params`, pausing the workers for `PAUSE` at the first event `at` matches.
fn run_paused(
    params: &Params,
    at: impl Fn(&Envelope) -> bool,
) -> (serde_json::Value, Vec<Envelope>) {
    let hub = Hub::new(1000, false);
    let opts = RuntimeOptions {
        exe: Some(env!("CARGO_BIN_EXE_mpviz").into()),
        hub: Some(hub.clone()),
        ..RuntimeOptions::default()
    };
    let mut seen = Vec::new();
    let mut resumer = None;
    let mut observer = |e: &Envelope| {
        if resumer.is_none() && at(e) {
            hub.set_paused(true);
            let h: Arc<Hub> = hub.clone();
            resumer = Some(std::thread::spawn(move || {
                std::thread::sleep(PAUSE);
                h.set_paused(false);
            }));
        }
        seen.push(e.clone());
    };
    let s = scenario::run(params, opts, &mut observer).expect("run");
    if let Some(r) = resumer {
        r.join().expect("resumer");
    }
    (s.details, seen)
}

#[test]
fn compare_leaves_a_pause_out_of_its_times() {
    let Some(Params::Compare(mut p)) = scenario::default_params("compare") else {
        panic!("compare");
    };
    p.seconds = Some(0.3);
    // Pause as soon as normal's worker has started computing.
    let (details, events) = run_paused(&Params::Compare(p), |e| {
        e.worker != 0 && matches!(e.kind, EventKind::Started)
    });
    let kinds: Vec<&EventKind> = events
        .iter()
        .filter(|e| e.worker == 0)
        .map(|e| &e.kind)
        .collect();
    assert!(kinds.contains(&&EventKind::Paused) && kinds.contains(&&EventKind::Resumed));
    let v = &details["variants"];
    let normal = v[0]["seconds"].as_f64().expect("normal");
    let compute = v[0]["compute_seconds"].as_f64().expect("compute");
    let pause = PAUSE.as_secs_f64();
    assert!(
        normal < pause * 0.75,
        "normal took {normal} s with a {pause} s pause in it"
    );
    assert!(compute < pause * 0.75, "compute {compute} s");
    let processes = v[v.as_array().map_or(0, |a| a.len() - 1)]["seconds"]
        .as_f64()
        .expect("p");
    let ratio = processes / normal;
    assert!(
        ratio < 1.0,
        "processes / normal = {ratio}: the pause still counts"
    );
}

#[test]
fn a_pause_is_no_part_of_a_lock_hold() {
    let Some(Params::Lock(mut p)) = scenario::default_params("lock") else {
        panic!("lock");
    };
    p.mode = Some(mpviz::scenario::lock::Mode::Locked);
    p.interval_ms = 20;
    p.steps = Some(5);
    // Pause while the first worker holds the lock around its whole loop.
    let (details, _) = run_paused(&Params::Lock(p), |e| {
        matches!(e.kind, EventKind::LockAcquired { .. })
    });
    let lock = &details["runs"][0]["lock"];
    let max_hold = lock["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| w["hold"]["max_ns"].as_u64().expect("hold"))
        .max()
        .expect("a holder");
    assert!(
        (max_hold as f64) < PAUSE.as_secs_f64() * 0.75e9,
        "a hold of {max_hold} ns has the pause in it"
    );
}
