//! §1.7 — two processes add 1 and 3 to a shared `Value('i', 0)` every 0.1 s: first without a
//! lock (their writes interleave, and where both read before either writes, an update is lost),
//! then with a `Lock` held around each worker's whole loop (one worker's run, then the other's;
//! the final value is exact).
//!
//! Lost updates are found from the write events alone (`model::lost`): the counter is a tagged
//! cell, so each write names the store its read saw and the store it replaced, exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::lock::LockStats;
use crate::model::lost::{LostUpdate, WriteRec, WriterBlock, find_lost_updates, writer_blocks};
use crate::runtime::lock::{acquire, release};
use crate::runtime::shm::{CellSpec, NumSer, TypeCode};
use crate::runtime::{Access, Control, Envelope, EventKind, Flow, Num, WorkerCtx};

use super::job::{Job, JobResult};
use super::{Claim, Outcome, RunError, Session, int_in};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Unlocked,
    Locked,
    /// Unlocked, then locked, as in the tutorial.
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// The lock is held around each worker's whole loop, as in the tutorial.
    Loop,
    /// The lock is held around each single increment.
    Step,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// What each worker adds per step; one worker per number (1 to 16 workers, each 1 to 1000).
    #[arg(long, allow_negative_numbers = true, value_name = "D1,D2,...", default_value = "1,3", value_parser = parse_deltas)]
    pub deltas: Deltas,
    /// Pause before each increment, in milliseconds (0 to 10000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 100, value_parser = |s: &str| int_in::<u64>(s, 0, 10_000))]
    pub interval_ms: u64,
    /// Which runs to make (default: both; with --step-script: unlocked).
    #[arg(long, value_enum, allow_hyphen_values = true)]
    pub mode: Option<Mode>,
    /// Increments per worker (default: 10 unlocked, 5 locked, as in the tutorial; 1 to 100000).
    #[arg(long, allow_negative_numbers = true, value_parser = |s: &str| int_in::<u32>(s, 1, 100_000))]
    pub steps: Option<u32>,
    /// A pause between reading the value and writing it back, so lost updates show reliably
    /// (0 to 10000 ms).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0, value_parser = |s: &str| int_in::<u64>(s, 0, 10_000))]
    pub race_window_ms: u64,
    /// Where the lock is held (with the lock on).
    #[arg(long, value_enum, default_value_t = Granularity::Loop, allow_hyphen_values = true)]
    pub granularity: Granularity,
    /// Be the scheduler: workers wait before each read and write, released in this order, e.g.
    /// 1r,2r,1w,2w (worker 1 reads, worker 2 reads, worker 1 writes, worker 2 writes).
    #[arg(long, allow_negative_numbers = true, value_name = "STEPS", value_parser = parse_script)]
    pub step_script: Option<Script>,
}

impl Params {
    /// The UI's pace: read and write 30 ms apart, so the race the tutorial talks about shows
    /// in nearly every run (with the tutorial's timing it rarely does on two cores).
    pub fn for_the_ui(&mut self, given: &dyn Fn(&str) -> bool) {
        if !given("race_window_ms") && !given("step_script") {
            self.race_window_ms = 30;
        }
    }

    pub fn pacing(&self) -> Option<super::Pacing> {
        (self.race_window_ms > 0).then(|| super::Pacing {
            short: format!("read→write {} ms", self.race_window_ms),
            long: format!(
                "read and write {} ms apart so the race shows (e: --race-window-ms 0 = tutorial)",
                self.race_window_ms
            ),
        })
    }

    /// Increments per worker in a run: `--steps`, or the tutorial's 10 unlocked and 5 locked.
    pub fn steps_for(&self, locked: bool) -> u32 {
        self.steps.unwrap_or(if locked { 5 } else { 10 })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deltas(pub Vec<i64>);

fn parse_deltas(s: &str) -> Result<Deltas, String> {
    let v: Vec<i64> = s
        .split(',')
        .map(|x| {
            let x = x.trim();
            let d: i64 = x
                .parse()
                .map_err(|_| format!("{x:?} is not an integer between 1 and 1000"))?;
            if (1..=1000).contains(&d) {
                Ok(d)
            } else {
                Err(format!("delta {d} is not between 1 and 1000"))
            }
        })
        .collect::<Result<_, _>>()?;
    if !(1..=16).contains(&v.len()) {
        return Err(format!(
            "{} deltas given; give 1 to 16 (one per worker)",
            v.len()
        ));
    }
    Ok(Deltas(v))
}

/// A step script: which worker may do which access next.
#[derive(Debug, Clone, PartialEq)]
pub struct Script(pub Vec<(u16, Access)>);

fn parse_script(s: &str) -> Result<Script, String> {
    let steps = s
        .split(',')
        .map(|t| {
            let t = t.trim();
            let (num, kind) = t.split_at(t.len().saturating_sub(1));
            let access = match kind {
                "r" | "R" => Access::Read,
                "w" | "W" => Access::Write,
                _ => {
                    return Err(format!(
                        "step {t:?} must be a worker number and r or w, like 1r"
                    ));
                }
            };
            let w: u16 = num
                .parse()
                .map_err(|_| format!("step {t:?} must start with a worker number"))?;
            if w == 0 {
                return Err(format!("step {t:?}: workers are numbered from 1"));
            }
            Ok((w, access))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if steps.len() > 10_000 {
        return Err("a step script has at most 10000 steps".into());
    }
    Ok(Script(steps))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CounterJob {
    pub delta: i64,
    pub steps: u32,
    pub interval_ms: u64,
    pub race_window_ms: u64,
    pub locked: bool,
    pub granularity: Granularity,
}

/// One `v.value += delta`: read, (race window), write — each behind a step gate.
fn increment(ctx: &mut WorkerCtx, job: &CounterJob) -> JobResult {
    if ctx.gate(Access::Read) == Flow::Stop {
        return Ok(Flow::Stop);
    }
    let read = ctx.read_shared(0, 0)?;
    if job.race_window_ms > 0 {
        ctx.emit(EventKind::Phase {
            name: "race window".into(),
        });
        if ctx.sleep(Duration::from_millis(job.race_window_ms)) == Flow::Stop {
            return Ok(Flow::Stop);
        }
    }
    if ctx.gate(Access::Write) == Flow::Stop {
        return Ok(Flow::Stop);
    }
    let sum = match read.0 {
        Num::Int(v) => Num::Int(v + job.delta as i128),
        Num::Float(v) => Num::Float(v + job.delta as f64),
    };
    ctx.write_shared(0, 0, read, sum)?;
    ctx.flush();
    Ok(Flow::Go)
}

fn pause(ctx: &mut WorkerCtx, job: &CounterJob) -> Flow {
    ctx.emit(EventKind::stage(crate::runtime::Stage::Sleep));
    ctx.sleep(Duration::from_millis(job.interval_ms))
}

/// The worker: the tutorial's `job(v, num[, l])`.
pub fn work(ctx: &mut WorkerCtx, job: &CounterJob) -> JobResult {
    match (job.locked, job.granularity) {
        (false, _) => {
            for _ in 0..job.steps {
                if pause(ctx, job) == Flow::Stop || increment(ctx, job)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
        }
        (true, Granularity::Loop) => {
            let held = acquire(ctx)?;
            let mut flow = Flow::Go;
            for _ in 0..job.steps {
                if pause(ctx, job) == Flow::Stop || increment(ctx, job)? == Flow::Stop {
                    flow = Flow::Stop;
                    break;
                }
            }
            release(ctx, held)?;
            return Ok(flow);
        }
        (true, Granularity::Step) => {
            for _ in 0..job.steps {
                if pause(ctx, job) == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                let held = acquire(ctx)?;
                let flow = increment(ctx, job)?;
                release(ctx, held)?;
                if flow == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
        }
    }
    Ok(Flow::Go)
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
    pub steps: u32,
    pub deltas: Vec<i64>,
    pub workers: Vec<u16>,
    #[serde(rename = "final")]
    pub final_value: i128,
    pub expected: i128,
    /// False for a run without tracing: no writes or lock steps were reported, so the lost
    /// updates and the lock's accounting are unknown (the final value is still read).
    pub traced: bool,
    pub lost_updates: usize,
    pub lost: Vec<LostUpdate>,
    pub values: Vec<i128>,
    pub writes: Vec<WriteRec>,
    pub writer_blocks: Vec<WriterBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockStats>,
    pub recovered: u64,
}

/// What the parent learns from one run's events.
#[derive(Default)]
struct Observed {
    writes: Vec<WriteRec>,
    stats: LockStats,
    /// Which access each worker waits at a gate for.
    at_gate: BTreeMap<u16, Access>,
    holder: Option<u16>,
    exited: Vec<u16>,
}

impl Observed {
    fn observe(&mut self, e: &Envelope) {
        self.stats.observe(e);
        if let Some(w) = WriteRec::of_counter(e) {
            self.writes.push(w);
        }
        match e.kind {
            EventKind::Write { .. } => {
                self.at_gate.remove(&e.worker);
            }
            EventKind::Read { .. } => {
                self.at_gate.remove(&e.worker);
            }
            EventKind::Gate { access } => {
                self.at_gate.insert(e.worker, access);
            }
            EventKind::LockAcquired { .. } => self.holder = Some(e.worker),
            EventKind::LockReleased { .. } if self.holder == Some(e.worker) => self.holder = None,
            EventKind::Exit { .. } => {
                self.exited.push(e.worker);
                if self.holder == Some(e.worker) {
                    self.holder = None;
                }
            }
            _ => {}
        }
    }
}

fn access_name(a: Access) -> &'static str {
    match a {
        Access::Read => "read",
        Access::Write => "write",
    }
}

/// Plays the step script: releases each named worker at its gate and waits until it has done
/// the access, so the interleaving is exactly the script's.
fn play_script(
    s: &mut Session<'_>,
    script: &Script,
    ids: &[u16],
    obs: &mut Observed,
    patience: Duration,
) -> Result<(), RunError> {
    for (k, (w, access)) in script.0.iter().enumerate() {
        let step = format!(
            "step {} ({}{})",
            k + 1,
            w,
            if *access == Access::Read { "r" } else { "w" }
        );
        let id = *ids.get(*w as usize - 1).ok_or_else(|| {
            RunError::Usage(format!(
                "{step}: there is no worker {w} (this run has {})",
                ids.len()
            ))
        })?;
        let deadline = std::time::Instant::now() + patience;
        while !obs.at_gate.contains_key(&id) {
            if obs.exited.contains(&id) {
                return Err(RunError::Usage(format!(
                    "{step}: worker {w} has already finished"
                )));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match s.next(left.min(Duration::from_millis(200)))? {
                Some(e) => obs.observe(&e),
                None if left.is_zero() => {
                    let why = match obs.holder {
                        Some(h) if h != id => format!(
                            "it is waiting for the lock, held by worker {}",
                            ids.iter()
                                .position(|x| *x == h)
                                .map_or(h as usize, |p| p + 1)
                        ),
                        _ => "it did not get there in time".into(),
                    };
                    return Err(RunError::Usage(format!(
                        "{step} cannot happen: worker {w} is not at a gate ({why})"
                    )));
                }
                None => {}
            }
        }
        if obs.at_gate.get(&id) != Some(access) {
            let at = obs.at_gate.get(&id).copied().map_or("", access_name);
            return Err(RunError::Usage(format!(
                "{step} cannot happen: worker {w} waits before its {at}, not its {}",
                access_name(*access)
            )));
        }
        obs.at_gate.remove(&id);
        s.rt.control(id, Control::Release);
        // Wait until the released access has happened before releasing the next one.
        loop {
            let Some(e) = s.next(patience)? else {
                return Err(RunError::Failed(format!(
                    "{step}: worker {w} did not go on"
                )));
            };
            obs.observe(&e);
            let done = e.worker == id
                && matches!(
                    (&e.kind, access),
                    (EventKind::Read { .. }, Access::Read)
                        | (EventKind::Write { .. }, Access::Write)
                );
            if done || (e.worker == id && matches!(e.kind, EventKind::Exit { .. })) {
                break;
            }
        }
    }
    Ok(())
}

fn one_run(s: &mut Session<'_>, p: &Params, locked: bool) -> Result<RunReport, RunError> {
    let steps = p.steps_for(locked);
    let stage = if locked {
        crate::runtime::Stage::Locked
    } else {
        crate::runtime::Stage::Unlocked
    };
    let mode = stage.name();
    s.emit(EventKind::stage(stage));
    s.rt.create_segment(&[CellSpec {
        typecode: TypeCode::I32,
        array: false,
        init: vec![NumSer::Int(0)],
        len: 0,
        tagged: true,
    }])?;
    // A script holds the workers at gates itself; without one, the gates are the user's (the
    // UI's step mode) and are left as they are, in every run.
    let scripted = p.step_script.is_some();
    if scripted {
        s.rt.set_gates(true);
    }
    let mut ids = Vec::new();
    for d in &p.deltas.0 {
        let job = CounterJob {
            delta: *d,
            steps,
            interval_ms: p.interval_ms,
            race_window_ms: p.race_window_ms,
            locked,
            granularity: p.granularity,
        };
        ids.push(s.rt.spawn(Job::Counter(job).to_json(), Vec::new())?);
    }
    let mut obs = Observed::default();
    if let Some(script) = &p.step_script {
        let patience = Duration::from_millis(5_000 + 2 * (p.interval_ms + p.race_window_ms));
        let played = play_script(s, script, &ids, &mut obs, patience);
        for id in &ids {
            s.rt.control(*id, Control::Gates(false));
        }
        s.rt.set_gates(false);
        if let Err(e) = played {
            s.rt.kill_all();
            let _ = s.until_all_exited(|_, _| Ok(()));
            return Err(e);
        }
    }
    s.until_all_exited(|_, e| {
        obs.observe(e);
        Ok(())
    })?;
    let final_value =
        s.rt.segment()
            .and_then(|seg| seg.load(0, 0))
            .and_then(Num::as_i128)
            .unwrap_or(0);
    s.rt.remove_segment();
    obs.writes.sort_by_key(|w| w.t_ns);
    let expected: i128 = p.deltas.0.iter().map(|d| *d as i128 * steps as i128).sum();
    let lost = find_lost_updates(&obs.writes);
    let stats = obs.stats.finish();
    Ok(RunReport {
        mode,
        granularity: locked.then_some(p.granularity),
        steps,
        deltas: p.deltas.0.clone(),
        workers: ids,
        final_value,
        expected,
        traced: s.rt.traced(),
        lost_updates: lost.len(),
        lost,
        values: obs.writes.iter().map(|w| w.new).collect(),
        writer_blocks: writer_blocks(&obs.writes),
        writes: obs.writes,
        recovered: stats.recovered,
        lock: locked.then_some(stats),
    })
}

fn describe(r: &RunReport, t0: u64) -> String {
    let mut t = String::new();
    match r.granularity {
        None => t.push_str(&format!(
            "without the lock ({} steps each, deltas {:?})\n",
            r.steps, r.deltas
        )),
        Some(g) => t.push_str(&format!(
            "with the lock around each {} ({} steps each, deltas {:?})\n",
            if g == Granularity::Loop {
                "worker's whole loop"
            } else {
                "increment"
            },
            r.steps,
            r.deltas
        )),
    }
    let local = |w: u16| {
        r.workers
            .iter()
            .position(|x| *x == w)
            .map_or(w as usize, |p| p + 1)
    };
    let vals: Vec<String> = r
        .writes
        .iter()
        .map(|w| format!("{}[{}]", w.new, local(w.worker)))
        .collect();
    let verdict = if r.final_value == r.expected {
        "exact".to_string()
    } else {
        format!("{} short", r.expected - r.final_value)
    };
    if !r.traced {
        t.push_str(&format!(
            "  final {}, expected {}: {verdict} (not traced: no values, lost updates or lock times)\n",
            r.final_value, r.expected
        ));
        return t;
    }
    t.push_str(&format!(
        "  values (writer in brackets): {}\n",
        vals.join(" ")
    ));
    t.push_str(&format!(
        "  final {}, expected {}: {verdict}; {} lost update{}\n",
        r.final_value,
        r.expected,
        r.lost_updates,
        if r.lost_updates == 1 { "" } else { "s" }
    ));
    for l in &r.lost {
        t.push_str(&format!(
            "    lost: worker {}'s write {}->{} at +{:.1} ms, overwritten by worker {}'s {}->{} at +{:.1} ms{}\n",
            local(l.lost.worker),
            l.lost.old,
            l.lost.new,
            l.lost.t_ns.saturating_sub(t0) as f64 / 1e6,
            local(l.overwritten_by.worker),
            l.overwritten_by.old,
            l.overwritten_by.new,
            l.overwritten_by.t_ns.saturating_sub(t0) as f64 / 1e6,
            if l.same_read { format!(" (both read {})", l.lost.old) } else { String::new() }
        ));
    }
    if let Some(st) = &r.lock {
        t.push_str(&format!(
            "  lock: {}, {} contended, {}{}\n",
            crate::report::count(st.acquisitions, "acquisition", "acquisitions"),
            st.contended,
            crate::report::count(st.owner_changes, "owner change", "owner changes"),
            if st.recovered > 0 {
                format!(", recovered {} time(s) from a dead owner", st.recovered)
            } else {
                String::new()
            }
        ));
        for w in &st.workers {
            t.push_str(&format!(
                "    worker {}: waited {:.1} ms in all (max {:.1}), held {:.1} ms in all\n",
                local(w.worker),
                w.wait.total_ns as f64 / 1e6,
                w.wait.max_ns as f64 / 1e6,
                w.hold.total_ns as f64 / 1e6
            ));
        }
    }
    t
}

#[derive(Debug, Serialize)]
struct Details {
    runs: Vec<RunReport>,
}

impl Params {
    /// The runs to make, as "locked?" flags.
    fn modes(&self) -> &'static [bool] {
        match self.mode.unwrap_or(if self.step_script.is_some() {
            Mode::Unlocked
        } else {
            Mode::Both
        }) {
            Mode::Unlocked => &[false],
            Mode::Locked => &[true],
            Mode::Both => &[false, true],
        }
    }

    /// Whether the step script can be played as written, in every run it applies to: checked
    /// before anything starts, by the command line and the UI's editor alike. The workers are
    /// simulated as the scenario runs them — each increment a read then a write, the lock
    /// taken before the first read and kept to the last write (`--granularity loop`) or
    /// around each increment (`step`) — so a step that would wait for the lock, come after a
    /// worker's last write, or name the wrong access is refused with the step that fails.
    pub fn check(&self) -> Result<(), String> {
        let Some(script) = &self.step_script else {
            return Ok(());
        };
        let n = self.deltas.0.len();
        if let Some((w, _)) = script.0.iter().find(|(w, _)| *w as usize > n) {
            return Err(format!(
                "--step-script names worker {w}, but --deltas starts only {n} (one per delta)"
            ));
        }
        for &locked in self.modes() {
            let steps = self.steps_for(locked);
            let mode = if locked {
                "with the lock"
            } else {
                "without the lock"
            };
            // Per worker: increments done, and whether its read is done (a write is next).
            let mut done = vec![0u32; n];
            let mut read = vec![false; n];
            let mut holder: Option<usize> = None;
            for (k, (w, access)) in script.0.iter().enumerate() {
                let i = *w as usize - 1;
                let step = format!(
                    "--step-script step {} ({w}{}) {mode}",
                    k + 1,
                    if *access == Access::Read { "r" } else { "w" }
                );
                if done[i] == steps {
                    return Err(format!(
                        "{step} cannot happen: worker {w} has already made its {steps} increments"
                    ));
                }
                let want = if read[i] { Access::Write } else { Access::Read };
                if *access != want {
                    return Err(format!(
                        "{step} cannot happen: worker {w} waits before its {}, not its {}",
                        access_name(want),
                        access_name(*access)
                    ));
                }
                if locked && *access == Access::Read {
                    match holder {
                        Some(h) if h != i => {
                            return Err(format!(
                                "{step} cannot happen: worker {w} waits for the lock, held by worker {}",
                                h + 1
                            ));
                        }
                        _ => holder = Some(i),
                    }
                }
                read[i] = *access == Access::Read;
                if *access == Access::Write {
                    done[i] += 1;
                    let releases = match self.granularity {
                        Granularity::Step => true,
                        Granularity::Loop => done[i] == steps,
                    };
                    if locked && releases {
                        holder = None;
                    }
                }
            }
        }
        Ok(())
    }
}

pub fn run(s: &mut Session<'_>, p: &Params) -> Result<Outcome, RunError> {
    let modes = p.modes();
    p.check().map_err(RunError::Usage)?;
    let t0 = crate::runtime::clock::now_ns();
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    let mut text = String::new();
    for locked in modes {
        let r = one_run(s, p, *locked)?;
        if *locked && r.final_value != r.expected && r.recovered == 0 {
            problems.push(format!(
                "with the lock the counter ended at {}, expected {}",
                r.final_value, r.expected
            ));
        }
        if r.final_value > r.expected {
            problems.push(format!(
                "the counter ended above the exact total ({} > {})",
                r.final_value, r.expected
            ));
        }
        text.push_str(&describe(&r, t0));
        runs.push(r);
    }
    let claims = runs.iter().filter_map(|r| claim_of(r, p)).collect();
    Ok(Outcome::new(&Details { runs }, text, problems).with_claims(claims))
}

/// What the tutorial says of one run, beside what this run did, in plain words.
fn claim_of(r: &RunReport, p: &Params) -> Option<Claim> {
    if !r.traced {
        return None;
    }
    if r.mode == "unlocked" {
        let measured = match r.lost.first() {
            Some(l) if l.same_read => format!(
                "{} lost (workers {} and {} both read {})",
                r.lost_updates, l.lost.worker, l.overwritten_by.worker, l.lost.old
            ),
            Some(l) => format!(
                "{} lost (worker {} read {} before worker {}'s write of {} landed)",
                r.lost_updates,
                l.overwritten_by.worker,
                l.overwritten_by.old,
                l.lost.worker,
                l.lost.new
            ),
            None => format!(
                "none lost this time: {} of {} (each read and write came too close together to race)",
                r.final_value, r.expected
            ),
        };
        return Some(Claim {
            claim: "without the lock, updates can be lost".into(),
            measured,
            holds: r.lost_updates > 0,
        });
    }
    let blocks: Vec<String> = r
        .writer_blocks
        .iter()
        .map(|b| format!("{} ×{}", b.worker, b.writes))
        .collect();
    Some(match p.granularity {
        Granularity::Loop => Claim {
            claim: "with the lock: exact, one block each".into(),
            measured: format!(
                "{} of {}, writers {}",
                r.final_value,
                r.expected,
                blocks.join(" then ")
            ),
            holds: r.final_value == r.expected && r.writer_blocks.len() <= r.workers.len(),
        },
        Granularity::Step => Claim {
            claim: "with the lock, the total is exact".into(),
            measured: format!("{} of {}", r.final_value, r.expected),
            holds: r.final_value == r.expected,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_script(args: &[&str]) -> Result<(), String> {
        let mut argv = vec!["mpviz", "lock"];
        argv.extend_from_slice(args);
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(subcommand)]
            params: super::super::Params,
        }
        match <Wrapper as clap::Parser>::try_parse_from(argv).map(|w| w.params) {
            Ok(super::super::Params::Lock(p)) => p.check(),
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn a_script_that_cannot_be_played_is_refused_before_anything_starts() {
        assert!(with_script(&["--step-script", "1r,2r,1w,2w"]).is_ok());
        let e = with_script(&["--step-script", "1r,3w"]).expect_err("no worker 3");
        assert!(e.contains("worker 3") && e.contains("only 2"), "{e}");
        let e = with_script(&["--mode", "locked", "--step-script", "1r,2r"]).expect_err("lock");
        assert!(
            e.contains("step 2 (2r)") && e.contains("held by worker 1"),
            "{e}"
        );
        assert!(
            with_script(&[
                "--mode",
                "locked",
                "--granularity",
                "step",
                "--step-script",
                "1r,1w,2r,2w"
            ])
            .is_ok()
        );
        let e = with_script(&["--step-script", "1w"]).expect_err("write first");
        assert!(e.contains("before its read, not its write"), "{e}");
        let e = with_script(&["--steps", "1", "--step-script", "1r,1w,1r"]).expect_err("done");
        assert!(e.contains("already made its 1 increments"), "{e}");
    }

    #[test]
    fn scripts_and_deltas_parse_with_clear_errors() {
        assert_eq!(parse_script("1r,2r,1w,2w").map(|s| s.0.len()), Ok(4));
        assert!(parse_script("1x").is_err_and(|e| e.contains("r or w")));
        assert!(parse_script("0r").is_err_and(|e| e.contains("from 1")));
        assert!(parse_deltas("1,,3").is_err());
        assert!(parse_deltas("0").is_err_and(|e| e.contains("between 1 and 1000")));
        assert_eq!(parse_deltas("1,3"), Ok(Deltas(vec![1, 3])));
    }
}
