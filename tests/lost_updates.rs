//! Lost updates are named exactly: a stress run of the unlocked counter (no pause between
//! increments, 100 000 each) with both start methods. The store order comes from the cell's
//! atomic swaps, not from timestamps, so whatever the interleaving: the shortfall is the sum of
//! the lost writes' increments, every store replaced exactly one other, and with two workers
//! nobody is ever named as overwriting their own write (a worker always sees its own store).

use std::collections::HashSet;

use mpviz::runtime::{Envelope, RuntimeOptions, StartMethod};
use mpviz::scenario::lock::Mode;
use mpviz::scenario::{self, Params};
use serde_json::Value;

type Store = (u64, u64);

fn store(v: &Value) -> Store {
    (
        v["worker"].as_u64().expect("worker"),
        v["seq"].as_u64().expect("seq"),
    )
}

fn stress(method: StartMethod) {
    let Some(Params::Lock(mut p)) = scenario::default_params("lock") else {
        panic!("lock has parameters");
    };
    p.mode = Some(Mode::Unlocked);
    p.interval_ms = 0;
    p.steps = Some(100_000);
    let opts = RuntimeOptions {
        method,
        exe: Some(env!("CARGO_BIN_EXE_mpviz").into()),
        ..RuntimeOptions::default()
    };
    let mut ignore = |_: &Envelope| {};
    let s = scenario::run(&Params::Lock(p), opts, &mut ignore).expect("run");
    let run = &s.details["runs"][0];
    let (fin, expected) = (
        run["final"].as_i64().expect("final"),
        run["expected"].as_i64().expect("expected"),
    );
    assert!(fin <= expected, "{fin} > {expected}");
    let writes = run["writes"].as_array().expect("writes");
    assert_eq!(writes.len(), 200_000, "every write is reported");
    // The store order is one chain: each store replaced a distinct earlier one, one of them the
    // initial value.
    let ids: HashSet<Store> = writes.iter().map(store).collect();
    let mut replaced = HashSet::new();
    for w in writes {
        let r = store(&w["replaced"]);
        assert!(
            r == (0, 0) || ids.contains(&r),
            "{w} replaced an unknown store"
        );
        assert!(replaced.insert(r), "two stores replaced {r:?}");
    }
    let lost = run["lost"].as_array().expect("lost");
    assert_eq!(run["lost_updates"].as_u64(), Some(lost.len() as u64));
    let lost_sum: i64 = lost
        .iter()
        .map(|l| l["lost"]["new"].as_i64().expect("new") - l["lost"]["old"].as_i64().expect("old"))
        .sum();
    assert_eq!(
        expected - fin,
        lost_sum,
        "the shortfall is the lost writes' sum"
    );
    for l in lost {
        let (a, by) = (&l["lost"], &l["overwritten_by"]);
        assert_ne!(
            a["worker"], by["worker"],
            "a worker named as overwriting itself: {l}"
        );
        assert!(ids.contains(&store(by)) && ids.contains(&store(a)), "{l}");
    }
}

#[test]
fn lost_updates_are_exact_under_stress_reexec() {
    stress(StartMethod::Reexec);
}

#[test]
fn lost_updates_are_exact_under_stress_fork() {
    stress(StartMethod::Fork);
}
