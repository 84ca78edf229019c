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

fn quiet_session(
    observer: &mut dyn FnMut(&crate::runtime::Envelope),
) -> Result<Session<'_>, RunError> {
    Session::new(RuntimeOptions::default(), observer)
}

/// Items per second through an inter-process queue from one producer.
fn bench_queue(count: u64) -> Result<Vec<Figure>, RunError> {
    use crate::runtime::queue::{MessageReader, queue_pipe};
    let mut ignore = |_: &crate::runtime::Envelope| {};
    let mut s = quiet_session(&mut ignore)?;
    let (r, w) = queue_pipe().map_err(|e| RunError::Failed(format!("queue pipe: {e}")))?;
    s.rt.spawn(Job::QueueFlood { count }.to_json(), vec![w])?;
    let mut q = MessageReader::new(r);
    let mut got = 0u64;
    let mut first = None;
    let mut m = Vec::new();
    // Each item is taken apart into its value, as q.get() unpickles one; their sum checks
    // that every item arrived intact.
    let mut sum = 0u128;
    while q.get_into(&mut m)? {
        first.get_or_insert_with(Instant::now);
        let (_, v) = crate::scenario::compare::parse_item(&m)
            .ok_or_else(|| RunError::Failed("a queue item could not be read".into()))?;
        sum += v;
        got += 1;
    }
    let secs = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    s.until_all_exited(|_, _| Ok(()))?;
    let want = count as u128 * count.saturating_sub(1) as u128 / 2;
    if got != count || sum != want {
        return Err(RunError::Failed(format!(
            "{got} of {count} queue items arrived, summing to {sum} instead of {want}"
        )));
    }
    Ok(vec![Figure {
        name: "queue_items_per_s".into(),
        value: got as f64 / secs.max(1e-9),
        unit: "items/s",
    }])
}

/// Pool(2).map(x*x, range(n)) and a batch of apply_async calls, timed by the pool's phases.
fn bench_pool(map_n: u64, batch: u64) -> Result<Vec<Figure>, RunError> {
    let Some(crate::scenario::Params::Pool(mut p)) = crate::scenario::default_params("pool") else {
        return Err(RunError::Failed("no pool scenario".into()));
    };
    p.processes = Some(2);
    p.map_n = map_n;
    p.apply_list_n = batch;
    p.roundtrips = batch / 4;
    p.bad_args = crate::scenario::pool::BadArgs(None);
    let mut phases: Vec<(String, u64)> = Vec::new();
    let mut observer = |e: &crate::runtime::Envelope| {
        if let (0, EventKind::Phase { name }) = (e.worker, &e.kind) {
            phases.push((name.clone(), e.t_ns));
        }
    };
    let summary = crate::scenario::run(
        &crate::scenario::Params::Pool(p),
        RuntimeOptions::default(),
        &mut observer,
    )?;
    if !summary.ok {
        return Err(RunError::Failed(format!(
            "the pool run failed: {:?}",
            summary.problems
        )));
    }
    let span = |prefix: &str| -> f64 {
        let i = phases.iter().position(|(n, _)| n.starts_with(prefix));
        match i.and_then(|i| Some((phases[i].1, phases.get(i + 1)?.1))) {
            Some((a, b)) => (b - a) as f64 / 1e9,
            None => f64::NAN,
        }
    };
    Ok(vec![
        Figure {
            name: "pool_map_items_per_s".into(),
            value: map_n as f64 / span("map("),
            unit: "items/s",
        },
        Figure {
            name: "apply_async_batch_per_s".into(),
            value: batch as f64 / span("[apply_async"),
            unit: "tasks/s",
        },
        Figure {
            name: "apply_async_roundtrip_per_s".into(),
            value: (batch / 4) as f64 / span("apply_async round trips"),
            unit: "calls/s",
        },
    ])
}

/// The floor under any round trip between two processes on this machine: a 64-byte record
/// written to a worker's pipe and read back from another, one at a time.
fn bench_pipe_roundtrip(count: u64) -> Result<Vec<Figure>, RunError> {
    use std::io::{Read, Write};
    let mut ignore = |_: &crate::runtime::Envelope| {};
    let mut s = quiet_session(&mut ignore)?;
    let pipe =
        || crate::runtime::queue::queue_pipe().map_err(|e| RunError::Failed(format!("pipe: {e}")));
    let ((to_r, to_w), (from_r, from_w)) = (pipe()?, pipe()?);
    s.rt.spawn(Job::Echo.to_json(), vec![to_r, from_w])?;
    let (mut to, mut from) = (std::fs::File::from(to_w), std::fs::File::from(from_r));
    let mut rec = [7u8; 64];
    let io = |e: std::io::Error| RunError::Failed(format!("echo: {e}"));
    // The first trip waits for the worker to start; the clock starts after it.
    to.write_all(&rec).map_err(io)?;
    from.read_exact(&mut rec).map_err(io)?;
    let t0 = Instant::now();
    for _ in 0..count {
        to.write_all(&rec).map_err(io)?;
        from.read_exact(&mut rec).map_err(io)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    drop(to);
    s.until_all_exited(|_, _| Ok(()))?;
    Ok(vec![Figure {
        name: "pipe_roundtrip_per_s".into(),
        value: count as f64 / secs,
        unit: "round trips/s",
    }])
}

/// Increments of the shared counter under the robust lock, by one worker alone and by two
/// contending; without tracing (the lock and the increment, as CPython's `with lock: v.value
/// += 1` does them) and with the three lock events and their times that the UI shows. Timed in
/// the workers, from the first one's start of its loop to the last one's end.
fn bench_locked(count: u64) -> Result<Vec<Figure>, RunError> {
    use crate::runtime::shm::{CellSpec, NumSer, TypeCode};
    let mut figs = Vec::new();
    for (workers, trace, name) in [
        (1u64, false, "locked_incr_per_s"),
        (2, false, "locked_incr_contended_per_s"),
        (1, true, "locked_incr_traced_per_s"),
        (2, true, "locked_incr_traced_contended_per_s"),
    ] {
        let mut spans = Vec::new();
        let mut observer = |e: &crate::runtime::Envelope| {
            if let EventKind::Result { elapsed_ns, .. } = e.kind {
                spans.push((e.t_ns.saturating_sub(elapsed_ns), e.t_ns));
            }
        };
        let opts = RuntimeOptions {
            trace,
            ..Default::default()
        };
        let mut s = Session::new(opts, &mut observer)?;
        s.rt.create_segment(&[CellSpec {
            typecode: TypeCode::I64,
            array: false,
            init: vec![NumSer::Int(0)],
            len: 0,
            tagged: true,
        }])?;
        for _ in 0..workers {
            s.rt.spawn(Job::LockedIncrements { count }.to_json(), Vec::new())?;
        }
        s.until_all_exited(|_, _| Ok(()))?;
        let total =
            s.rt.segment()
                .and_then(|seg| seg.load(0, 0))
                .and_then(crate::runtime::Num::as_i128);
        drop(s);
        if total != Some((count * workers) as i128) {
            return Err(RunError::Failed(format!(
                "the locked counter ended at {total:?}"
            )));
        }
        let start = spans.iter().map(|s| s.0).min().unwrap_or(0);
        let end = spans.iter().map(|s| s.1).max().unwrap_or(0);
        figs.push(Figure {
            name: name.into(),
            value: (count * workers) as f64 / ((end - start) as f64 / 1e9).max(1e-9),
            unit: "increments/s",
        });
    }
    Ok(figs)
}

/// The UI's state on the lock screen at 160x48, taking a flood's events, with a frame drawn
/// every 33 ms meanwhile on the same thread (as the UI's loop does): the ingest benches' view.
struct IngestView {
    app: crate::app::App,
    frames: Vec<f64>,
    next_frame: Instant,
}

impl IngestView {
    const AREA: ratatui::layout::Rect = ratatui::layout::Rect::new(0, 0, 160, 48);

    fn new() -> Result<IngestView, RunError> {
        use crate::app::{App, Msg};
        let mut app = App::new(Duration::from_millis(250), 0);
        app.update(Msg::Resize(Self::AREA.width, Self::AREA.height));
        app.open_run(
            5,
            crate::scenario::default_params("lock")
                .ok_or_else(|| RunError::Failed("no lock".into()))?,
        );
        Ok(IngestView {
            app,
            frames: Vec::new(),
            next_frame: Instant::now(),
        })
    }

    fn take(&mut self, e: crate::runtime::Envelope) {
        self.app.update(crate::app::Msg::Event(e));
    }

    /// Draws a frame if one is due, timing it.
    fn frame_if_due(&mut self) {
        if Instant::now() < self.next_frame {
            return;
        }
        let f0 = Instant::now();
        let mut buf = ratatui::buffer::Buffer::empty(Self::AREA);
        crate::ui::render(&self.app, Self::AREA, &mut buf);
        self.frames.push(f0.elapsed().as_secs_f64() * 1e3);
        self.next_frame = Instant::now() + Duration::from_millis(33);
    }

    /// The frames' p50 and p99, named with `prefix`.
    fn frame_figures(mut self, prefix: &str) -> [Figure; 2] {
        self.frames.sort_by(f64::total_cmp);
        [(0.5, "p50"), (0.99, "p99")].map(|(p, name)| Figure {
            name: format!("{prefix}frame_{name}_ms"),
            value: percentile(&self.frames, p),
            unit: "ms",
        })
    }
}

/// Events from two flooding workers applied to the UI's state with no loss, while a frame of
/// the lock screen is drawn every 33 ms; the frames' p50 and p99.
fn bench_ingest(count: u64) -> Result<Vec<Figure>, RunError> {
    let mut view = IngestView::new()?;
    let mut ignore = |_: &crate::runtime::Envelope| {};
    let mut s = quiet_session(&mut ignore)?;
    for _ in 0..2 {
        s.rt.spawn(Job::Flood { count }.to_json(), Vec::new())?;
    }
    let mut writes = 0u64;
    let t0 = Instant::now();
    while s.rt.live() > 0 {
        let Some(e) = s.next(Duration::from_millis(5))? else {
            continue;
        };
        writes += matches!(e.kind, EventKind::Write { .. }) as u64;
        view.take(e);
        // Look at the clock every 256 events, as a UI loop draining a batch would.
        if writes.is_multiple_of(256) {
            view.frame_if_due();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    if writes != 2 * count {
        return Err(RunError::Failed(format!(
            "{writes} of {} events reached the UI state",
            2 * count
        )));
    }
    let mut figs = vec![Figure {
        name: "ingest_events_per_s".into(),
        value: writes as f64 / secs,
        unit: "events/s",
    }];
    figs.extend(view.frame_figures(""));
    Ok(figs)
}

/// The program `python-ingest` runs: `procs` processes each writing one shared Value `count`
/// times, as fast as CPython can.
const PYTHON_FLOOD: &str = r#"import multiprocessing as mp, sys

def flood(v, n):
    for i in range(n):
        v.value = i

if __name__ == "__main__":
    procs, n = int(sys.argv[1]), int(sys.argv[2])
    vs = [mp.Value("q", 0) for _ in range(procs)]
    ps = [mp.Process(target=flood, args=(v, n)) for v in vs]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
"#;

/// Eight real CPython processes under the probe writing as fast as they can: every write
/// event is applied to the UI's state (the lock screen at 160x48) and a frame is drawn every
/// 33 ms meanwhile, on the thread that takes the events, as the UI's loop does. The frames'
/// p50 and p99, and the events per second taken in.
fn bench_python_ingest(procs: u64, count: u64) -> Result<Vec<Figure>, RunError> {
    use crate::python::{Control, PythonRun};
    let mut view = IngestView::new()?;
    let what = PythonRun {
        python: "python3".into(),
        script: "flood.py".into(),
        args: vec![procs.to_string(), count.to_string()],
        embedded: Some(PYTHON_FLOOD),
        start_method: None,
    };
    let mut writes = 0u64;
    let t0 = Instant::now();
    // Taken in from the first write on (not the interpreter's start-up).
    let mut first_write: Option<Instant> = None;
    let summary = crate::python::run(&what, &Control::default(), &mut |e| {
        if matches!(e.kind, EventKind::Write { .. }) {
            writes += 1;
            first_write.get_or_insert_with(Instant::now);
        }
        view.take(e.clone());
        view.frame_if_due();
    })?;
    let secs = first_write.unwrap_or(t0).elapsed().as_secs_f64();
    if summary.exit_code != 0 || writes != procs * count || summary.dropped_events != 0 {
        return Err(RunError::Failed(format!(
            "{writes} of {} writes reached the UI state (exit code {}, {} dropped)",
            procs * count,
            summary.exit_code,
            summary.dropped_events
        )));
    }
    let mut figs = vec![Figure {
        name: "python_ingest_events_per_s".into(),
        value: writes as f64 / secs.max(1e-9),
        unit: "writes/s",
    }];
    figs.extend(view.frame_figures("python_"));
    Ok(figs)
}

/// What a `write` event costs a worker per shared-value write: the same writes timed with and
/// without their events, in the worker itself.
fn bench_trace_cost(count: u64) -> Result<Vec<Figure>, RunError> {
    use crate::runtime::shm::{CellSpec, NumSer, TypeCode};
    let mut per_write = [0.0f64; 2];
    for (slot, traced) in [(0, false), (1, true)] {
        let mut elapsed = None;
        let mut observer = |e: &crate::runtime::Envelope| {
            if let EventKind::Result { elapsed_ns, .. } = e.kind {
                elapsed = Some(elapsed_ns);
            }
        };
        let mut s = quiet_session(&mut observer)?;
        s.rt.create_segment(&[CellSpec {
            typecode: TypeCode::I64,
            array: false,
            init: vec![NumSer::Int(0)],
            len: 0,
            tagged: true,
        }])?;
        s.rt.spawn(Job::TracedWrites { count, traced }.to_json(), Vec::new())?;
        s.until_all_exited(|_, _| Ok(()))?;
        drop(s);
        let ns = elapsed.ok_or_else(|| RunError::Failed("the writer reported no time".into()))?;
        per_write[slot] = ns as f64 / count as f64;
    }
    Ok(vec![
        Figure {
            name: "write_untraced_ns".into(),
            value: per_write[0],
            unit: "ns",
        },
        Figure {
            name: "trace_cost_ns".into(),
            value: per_write[1] - per_write[0],
            unit: "ns",
        },
    ])
}

/// What a watched run gave: its details, every frame's drawing time, and how long each key
/// waited for the frame that answered it (ms).
struct Watched {
    details: serde_json::Value,
    frames_ms: Vec<f64>,
    keys_ms: Vec<f64>,
}

/// A scenario as the UI runs it: the run on its own thread (with tracing, as always in the UI),
/// the CPU sampler at the default refresh, and the screen redrawn into an in-memory terminal at
/// the UI's frame rate whenever something changed. With `keys`, a key (help on, help off)
/// arrives every 100 ms, as from a person, and is answered by the next frame.
fn watch_run(params: crate::scenario::Params, keys: bool) -> Result<Watched, RunError> {
    use crate::app::{App, Msg};
    use crate::source::scenario::Driver;
    use crate::source::{Feed, Sink};
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let index = crate::scenario::index_of(params.name())
        .ok_or_else(|| RunError::Failed("no such scenario".into()))?;
    let refresh = Duration::from_millis(250);
    let mut app = App::new(refresh, 0);
    app.update(Msg::Resize(120, 40));
    app.open_run(index, params.clone());
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40))
        .map_err(|e| RunError::Failed(format!("terminal: {e}")))?;
    // Sampled in this loop on the UI's clock, as the UI does.
    let mut sampler = crate::monitor::Sampler::new();
    let sample_clock = crate::tui::sample_clock(refresh);
    let driver = Driver::start(params, RuntimeOptions::default());
    let frames = crossbeam_channel::tick(crate::tui::FRAME);
    let key_clock = if keys {
        crossbeam_channel::tick(Duration::from_millis(100))
    } else {
        crossbeam_channel::never()
    };
    let (mut frames_ms, mut keys_ms) = (Vec::new(), Vec::new());
    let mut key_at: Option<Instant> = None;
    let mut dirty = true;
    let mut last_draw = Instant::now();
    loop {
        crossbeam_channel::select! {
            recv(driver.rx) -> m => match m {
                Ok(f @ (Feed::Event(_) | Feed::Open(_))) => {
                    app.feed(f);
                    dirty = true;
                }
                Ok(Feed::Ended(Ok(end))) => {
                    return Ok(Watched { details: end.details, frames_ms, keys_ms });
                }
                Ok(Feed::Ended(Err(e))) => return Err(RunError::Failed(e)),
                Err(_) => return Err(RunError::Failed("the watched run vanished".into())),
            },
            recv(sample_clock) -> _ => {
                app.update(Msg::Sample(sampler.sample(&app.live_pids())));
                dirty = true;
            },
            recv(key_clock) -> _ => {
                app.update(Msg::Key(KeyEvent::from(KeyCode::Char('?'))));
                key_at.get_or_insert_with(Instant::now);
                dirty = true;
            },
            recv(frames) -> _ => {
                // As the UI does: a live run is redrawn each tenth of a second for its clocks.
                if app.live() && last_draw.elapsed() >= crate::tui::CLOCK_STEP {
                    app.update(Msg::Tick(crate::runtime::clock::now_ns()));
                    dirty = true;
                }
            },
        }
        // As the UI does: a key is answered at once, anything else at most once a frame.
        if dirty && (key_at.is_some() || last_draw.elapsed() >= crate::tui::FRAME) {
            let f0 = Instant::now();
            last_draw = f0;
            term.draw(|f| crate::ui::draw(f, &app))
                .map_err(|e| RunError::Failed(format!("draw: {e}")))?;
            frames_ms.push(f0.elapsed().as_secs_f64() * 1e3);
            if let Some(k) = key_at.take() {
                keys_ms.push(k.elapsed().as_secs_f64() * 1e3);
            }
            dirty = false;
        }
    }
}

/// A 64-process pool on this machine's cores, watched: the frames' p99 and how long a key
/// waits for its answer while 64 workers report.
fn bench_pool64() -> Result<Vec<Figure>, RunError> {
    use crate::scenario::Params;
    let Some(Params::Pool(mut p)) = crate::scenario::default_params("pool") else {
        return Err(RunError::Failed("no pool scenario".into()));
    };
    p.processes = Some(64);
    // 3200 tasks of 4 items at 5 ms each, handed to 64 workers.
    p.task_ms = 5;
    p.map_n = 12_800;
    p.chunksize = Some(4);
    let mut w = watch_run(Params::Pool(p), true)?;
    w.frames_ms.sort_by(f64::total_cmp);
    w.keys_ms.sort_by(f64::total_cmp);
    Ok(vec![
        Figure {
            name: "pool64_frame_p99_ms".into(),
            value: percentile(&w.frames_ms, 0.99),
            unit: "ms",
        },
        Figure {
            name: "pool64_key_p99_ms".into(),
            value: percentile(&w.keys_ms, 0.99),
            unit: "ms",
        },
    ])
}

/// The observer effect: the compare scenario watched by the UI against the same run headless
/// with tracing off, in alternating order; the medians of its processes/normal ratio and of
/// its total time, as the percentage the watched run differs. The headless runs also give the
/// scenario's own ratios (two processes, two threads, two threads under a GIL, over normal).
fn bench_observer(seconds: f64, pairs: usize) -> Result<Vec<Figure>, RunError> {
    use crate::scenario::Params;
    let Some(Params::Compare(mut p)) = crate::scenario::default_params("compare") else {
        return Err(RunError::Failed("no compare scenario".into()));
    };
    p.gil = true;
    // Sized once (so "normal" takes about `seconds`), then the same n for every run: the
    // runs' times are then comparable, not only their ratios.
    let quiet = || RuntimeOptions {
        trace: false,
        ..Default::default()
    };
    let mut ignore = |_: &crate::runtime::Envelope| {};
    let sizing = Params::Compare(crate::scenario::compare::Params {
        seconds: Some(seconds),
        ..p.clone()
    });
    let sized = crate::scenario::run(&sizing, quiet(), &mut ignore)?.details;
    p.n = sized["n"]
        .as_u64()
        .ok_or_else(|| RunError::Failed("compare did not say its n".into()))?;
    p.seconds = None;
    let params = Params::Compare(p);
    let ratio = |d: &serde_json::Value, name: &str| -> f64 {
        let secs = |n: &str| {
            d["variants"]
                .as_array()
                .and_then(|v| v.iter().find(|x| x["name"] == n))
                .and_then(|x| x["seconds"].as_f64())
                .unwrap_or(f64::NAN)
        };
        secs(name) / secs("normal")
    };
    let total = |d: &serde_json::Value| -> f64 {
        d["variants"].as_array().map_or(f64::NAN, |v| {
            v.iter().filter_map(|x| x["seconds"].as_f64()).sum()
        })
    };
    let (mut headless, mut watched) = (Vec::new(), Vec::new());
    for k in 0..pairs * 2 {
        // h w w h h w ...: neither side always runs first.
        let watch = (k % 4 == 1) || (k % 4 == 2);
        let d = if watch {
            watch_run(params.clone(), false)?.details
        } else {
            crate::scenario::run(&params, quiet(), &mut ignore)?.details
        };
        if watch { &mut watched } else { &mut headless }.push(d);
    }
    let med = |runs: &[serde_json::Value], f: &dyn Fn(&serde_json::Value) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        median(&v)
    };
    let procs = |d: &serde_json::Value| ratio(d, "processes");
    let pct = |a: f64, b: f64| (a / b - 1.0).abs() * 100.0;
    Ok(vec![
        Figure {
            name: "compare_processes_ratio".into(),
            value: med(&headless, &procs),
            unit: "x normal",
        },
        Figure {
            name: "compare_threads_ratio".into(),
            value: med(&headless, &|d| ratio(d, "threads")),
            unit: "x normal",
        },
        Figure {
            name: "compare_threads_gil_ratio".into(),
            value: med(&headless, &|d| ratio(d, "threads_gil")),
            unit: "x normal",
        },
        Figure {
            name: "observer_compare_pct".into(),
            value: pct(med(&watched, &procs), med(&headless, &procs)),
            unit: "%",
        },
        Figure {
            name: "observer_compare_time_pct".into(),
            value: pct(med(&watched, &total), med(&headless, &total)),
            unit: "%",
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
    if matches!(args.what, BenchWhat::Queue | BenchWhat::All) {
        figs.extend(bench_queue(1_000_000)?);
    }
    if matches!(args.what, BenchWhat::Pool | BenchWhat::All) {
        figs.extend(bench_pool(1_000_000, 20_000)?);
        figs.extend(bench_pipe_roundtrip(20_000)?);
    }
    if matches!(args.what, BenchWhat::Lock | BenchWhat::All) {
        figs.extend(bench_locked(2_000_000)?);
    }
    if matches!(args.what, BenchWhat::Ingest | BenchWhat::All) {
        figs.extend(bench_ingest(1_000_000)?);
    }
    if matches!(args.what, BenchWhat::Observer | BenchWhat::All) {
        figs.extend(bench_observer(0.5, 5)?);
    }
    if matches!(args.what, BenchWhat::Pool64 | BenchWhat::All) {
        figs.extend(bench_pool64()?);
    }
    if matches!(args.what, BenchWhat::PythonIngest) {
        figs.extend(bench_python_ingest(8, 300_000)?);
    }
    if matches!(args.what, BenchWhat::Trace | BenchWhat::All) {
        figs.extend(bench_trace_cost(5_000_000)?);
    }
    Ok(figs)
}
