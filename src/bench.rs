//! `mpviz bench`: whole-system figures with real processes, printed as text or JSON lines.
//!
//! - spawn: for each start method, workers started one after another; the time from the spawn
//!   request to the worker's first event, and to its reaping.
//! - events: one worker streams events as fast as it can; the rate at which the parent receives
//!   them, and a check that none was lost.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{BenchArgs, BenchWhat};
use crate::runtime::{EventKind, RuntimeOptions, StartMethod};
use crate::scenario::job::Job;
use crate::scenario::{RunError, Session, median};

#[derive(Debug, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn bench_spawn(method: StartMethod, n: u32) -> Result<Vec<Figure>, RunError> {
    let mut ignore = |_: &crate::runtime::Envelope| {};
    let mut s = Session::new(
        RuntimeOptions {
            method,
            ..Default::default()
        },
        &mut ignore,
    )?;
    let (mut first, mut reaped) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let id = s.rt.spawn(Job::Noop.to_json(), Vec::new())?;
        let spawned = s.rt.handle(id).map_or(0, |h| h.spawned_ns);
        let mut started = None;
        loop {
            let Some(e) = s.next(Duration::from_secs(10))? else {
                return Err(RunError::Failed(format!(
                    "worker {id} did not finish in 10 s"
                )));
            };
            if e.worker != id {
                continue;
            }
            match e.kind {
                EventKind::Started => started = Some(e.t_ns),
                EventKind::Exit { .. } => {
                    reaped.push((e.t_ns - spawned) as f64 / 1e6);
                    break;
                }
                _ => {}
            }
        }
        first.push(started.map_or(f64::NAN, |t| (t - spawned) as f64 / 1e6));
    }
    first.sort_by(f64::total_cmp);
    reaped.sort_by(f64::total_cmp);
    let m = method.name();
    Ok(vec![
        Figure {
            name: format!("spawn_{m}_ms"),
            value: median(&first),
            unit: "ms",
        },
        Figure {
            name: format!("spawn_{m}_p90_ms"),
            value: percentile(&first, 0.9),
            unit: "ms",
        },
        Figure {
            name: format!("spawn_{m}_reaped_ms"),
            value: median(&reaped),
            unit: "ms",
        },
    ])
}

fn bench_events(count: u64) -> Result<Vec<Figure>, RunError> {
    let mut ignore = |_: &crate::runtime::Envelope| {};
    let mut s = Session::new(RuntimeOptions::default(), &mut ignore)?;
    let id = s.rt.spawn(Job::Flood { count }.to_json(), Vec::new())?;
    let mut received = 0u64;
    let mut t_first: Option<Instant> = None;
    let mut t_last = Instant::now();
    loop {
        let Some(e) = s.next(Duration::from_secs(60))? else {
            return Err(RunError::Failed(
                "the flooding worker stalled for 60 s".into(),
            ));
        };
        if e.worker != id {
            continue;
        }
        match e.kind {
            EventKind::Write { .. } => {
                received += 1;
                t_first.get_or_insert_with(Instant::now);
                t_last = Instant::now();
            }
            EventKind::Exit { .. } => break,
            _ => {}
        }
    }
    let secs = t_first.map_or(0.0, |t| (t_last - t).as_secs_f64());
    let rate = if secs > 0.0 {
        received as f64 / secs
    } else {
        0.0
    };
    if received != count {
        return Err(RunError::Failed(format!(
            "{received} of {count} events arrived"
        )));
    }
    Ok(vec![
        Figure {
            name: "events_per_s".into(),
            value: rate,
            unit: "events/s",
        },
        Figure {
            name: "events_lost".into(),
            value: (count - received) as f64,
            unit: "events",
        },
    ])
}

pub fn run(args: &BenchArgs) -> Result<Vec<Figure>, RunError> {
    let mut figs = Vec::new();
    if matches!(args.what, BenchWhat::Spawn | BenchWhat::All) {
        figs.extend(bench_spawn(StartMethod::Reexec, args.spawns)?);
        figs.extend(bench_spawn(StartMethod::Fork, args.spawns)?);
    }
    if matches!(args.what, BenchWhat::Events | BenchWhat::All) {
        figs.extend(bench_events(args.events)?);
    }
    Ok(figs)
}
