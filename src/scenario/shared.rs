//! §1.6 — shared memory: `Value('i', 0)`, `Value('d', 3.14)`, `Array('i', [1, 2, 3, 4])` in one
//! shared segment, typed as Python's `array` module types them, written by worker processes.
//!
//! Each worker, every interval, takes the lock and adds its number (1, 2, ...) to every Value
//! and to one element of every Array (element `step mod len`), reporting each read and write.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runtime::lock::{acquire, release};
use crate::runtime::shm::{CellSpec, NumSer, TypeCode};
use crate::runtime::{Access, EventKind, Flow, Num, WorkerCtx};

use super::job::{Job, JobResult};
use super::{Claim, Outcome, RunError, Session, int_in};

/// A `Value(typecode, init)` or `Array(typecode, [..])` from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct CellArg {
    pub typecode: TypeCode,
    pub init: Vec<Num>,
    pub array: bool,
}

/// The tutorial's `Value('d', 3.14)` (a plain number, not an approximation of pi).
#[allow(clippy::approx_constant)]
pub const TUTORIAL_D: f64 = 3.14;

const TYPECODES: &str = "b B h H i I l L q Q f d";

fn parse_typecode(s: &str) -> Result<TypeCode, String> {
    let mut chars = s.trim().chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => TypeCode::from_char(c)
            .ok_or_else(|| format!("unknown typecode {c:?} (use one of {TYPECODES})")),
        _ => Err(format!("{s:?} is not a typecode (use one of {TYPECODES})")),
    }
}

fn parse_number(t: TypeCode, s: &str) -> Result<Num, String> {
    let s = s.trim();
    if t.is_float() {
        let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
        // Infinity and NaN cannot be checked against an expected value (NaN is equal to
        // nothing), and a float cell that overflows its type is no lesson: refuse them.
        let stored = t.normalise(Num::Float(v));
        if !matches!(stored, Num::Float(x) if x.is_finite()) {
            return Err(format!(
                "{s} is not a finite number that fits typecode '{}' ({})",
                t.as_char(),
                t.c_name()
            ));
        }
        return Ok(Num::Float(v));
    }
    let v: i128 = s.parse().map_err(|_| format!("{s:?} is not an integer"))?;
    let stored = t.normalise(Num::Int(v));
    if stored != Num::Int(v) {
        return Err(format!(
            "{v} does not fit typecode '{}' ({})",
            t.as_char(),
            t.c_name()
        ));
    }
    Ok(stored)
}

/// Parses `TYPECODE:VALUE`, e.g. `i:0` or `d:3.14`.
pub fn parse_value(s: &str) -> Result<CellArg, String> {
    let (t, v) = s
        .split_once(':')
        .ok_or_else(|| format!("expected TYPECODE:VALUE like i:0, got {s:?}"))?;
    let typecode = parse_typecode(t)?;
    Ok(CellArg {
        typecode,
        init: vec![parse_number(typecode, v)?],
        array: false,
    })
}

/// Parses `TYPECODE:V1,V2,...`, e.g. `i:1,2,3,4`.
pub fn parse_array(s: &str) -> Result<CellArg, String> {
    let (t, vs) = s
        .split_once(':')
        .ok_or_else(|| format!("expected TYPECODE:V1,V2,... like i:1,2,3,4, got {s:?}"))?;
    let typecode = parse_typecode(t)?;
    let init: Vec<Num> = vs
        .split(',')
        .map(|v| parse_number(typecode, v))
        .collect::<Result<_, _>>()?;
    if init.is_empty() || init.len() > 4096 {
        return Err(format!(
            "an Array needs 1 to 4096 elements, got {}",
            init.len()
        ));
    }
    Ok(CellArg {
        typecode,
        init,
        array: true,
    })
}

#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// A shared Value as TYPECODE:INIT (repeatable; default i:0 and d:3.14).
    #[arg(long = "value", allow_negative_numbers = true, value_name = "TYPECODE:INIT", value_parser = parse_value)]
    pub values: Vec<CellArg>,
    /// A shared Array as TYPECODE:V1,V2,... (repeatable; default i:1,2,3,4).
    #[arg(long = "array", allow_negative_numbers = true, value_name = "TYPECODE:V1,V2,...", value_parser = parse_array)]
    pub arrays: Vec<CellArg>,
    /// Writer processes (1 to 64); worker k adds k.
    #[arg(long, allow_negative_numbers = true, default_value_t = 2, value_parser = |s: &str| int_in::<u16>(s, 1, 64))]
    pub workers: u16,
    /// Writes per worker (1 to 10000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 5, value_parser = |s: &str| int_in::<u32>(s, 1, 10_000))]
    pub steps: u32,
    /// Pause before each write, in milliseconds (0 to 10000).
    #[arg(long, allow_negative_numbers = true, default_value_t = 100, value_parser = |s: &str| int_in::<u64>(s, 0, 10_000))]
    pub interval_ms: u64,
}

impl Params {
    /// The UI's pace: a write every 0.4 s, so the cells can be seen changing (the tutorial's
    /// run is over in half a second).
    pub fn for_the_ui(&mut self, given: &dyn Fn(&str) -> bool) {
        if !given("interval_ms") {
            self.interval_ms = 400;
        }
    }

    pub fn pacing(&self) -> Option<super::Pacing> {
        (self.interval_ms != 100).then(|| super::Pacing {
            short: format!("a write each {} ms", self.interval_ms),
            long: format!(
                "a write every {} ms so the cells can be followed (e: --interval-ms 100 = tutorial)",
                self.interval_ms
            ),
        })
    }

    /// The cells, with the tutorial's defaults where none were given.
    pub fn cells(&self) -> Vec<CellArg> {
        let mut cells = if self.values.is_empty() {
            vec![
                CellArg {
                    typecode: TypeCode::I32,
                    init: vec![Num::Int(0)],
                    array: false,
                },
                CellArg {
                    typecode: TypeCode::F64,
                    init: vec![Num::Float(TUTORIAL_D)],
                    array: false,
                },
            ]
        } else {
            self.values.clone()
        };
        if self.arrays.is_empty() {
            cells.push(CellArg {
                typecode: TypeCode::I32,
                init: [1, 2, 3, 4].map(Num::Int).to_vec(),
                array: true,
            });
        } else {
            cells.extend(self.arrays.iter().cloned());
        }
        cells
    }
}

fn to_ser(n: Num) -> NumSer {
    match n {
        Num::Int(v) => NumSer::Int(v as i64),
        Num::Float(v) => NumSer::Float(v),
    }
}

fn add(t: TypeCode, a: Num, delta: i64) -> Num {
    match a {
        Num::Int(v) => t.normalise(Num::Int(v.wrapping_add(delta as i128))),
        Num::Float(v) => t.normalise(Num::Float(v + delta as f64)),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriterJob {
    pub delta: i64,
    pub steps: u32,
    pub interval_ms: u64,
}

/// The worker: every interval, under the lock, adds its delta to each Value and to one element
/// of each Array.
pub fn work(ctx: &mut WorkerCtx, job: &WriterJob) -> JobResult {
    let cells: Vec<(TypeCode, bool, u32)> = ctx
        .segment()?
        .cells()
        .iter()
        .map(|c| (c.typecode, c.array, c.len))
        .collect();
    for step in 0..job.steps {
        ctx.emit(EventKind::stage(crate::runtime::Stage::Sleep));
        if ctx.sleep(Duration::from_millis(job.interval_ms)) == Flow::Stop {
            return Ok(Flow::Stop);
        }
        let held = acquire(ctx)?;
        for (cell, (t, array, len)) in cells.iter().enumerate() {
            let index = if *array { step % len } else { 0 };
            if ctx.gate(Access::Read) == Flow::Stop {
                return Ok(Flow::Stop);
            }
            let read = ctx.read_shared(cell as u16, index)?;
            if ctx.gate(Access::Write) == Flow::Stop {
                return Ok(Flow::Stop);
            }
            ctx.write_shared(cell as u16, index, read, add(*t, read.0, job.delta))?;
        }
        release(ctx, held)?;
    }
    Ok(Flow::Go)
}

#[derive(Debug, Serialize)]
struct CellReport {
    name: String,
    typecode: String,
    c_type: &'static str,
    initial: Vec<Num>,
    #[serde(rename = "final")]
    final_values: Vec<Num>,
    expected: Vec<Num>,
    writes: u64,
    last_writer: Option<u16>,
}

#[derive(Debug, Serialize)]
struct Details {
    segment: String,
    values: Vec<CellReport>,
}

fn show(v: &[Num]) -> String {
    v.iter().map(Num::to_string).collect::<Vec<_>>().join(", ")
}

/// Whether a cell's value is the expected one: floats within a millionth (relative), integers
/// exactly.
pub fn close_enough(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Float(x), Num::Float(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

pub fn run(s: &mut Session<'_>, p: &Params) -> Result<Outcome, RunError> {
    let cells = p.cells();
    let specs: Vec<CellSpec> = cells
        .iter()
        .map(|c| CellSpec {
            typecode: c.typecode,
            array: c.array,
            init: c.init.iter().copied().map(to_ser).collect(),
            len: 0,
            tagged: true,
        })
        .collect();
    let segment = s.rt.create_segment(&specs)?.name().to_string();
    // The exact finals: every worker adds its delta `steps` times to each Value, and to element
    // `step mod len` of each Array (addition commutes, so the order under the lock is irrelevant).
    let mut expected: Vec<Vec<Num>> = cells.iter().map(|c| c.init.clone()).collect();
    for w in 1..=p.workers as i64 {
        for step in 0..p.steps {
            for (c, cell) in cells.iter().enumerate() {
                let i = if cell.array {
                    step as usize % cell.init.len()
                } else {
                    0
                };
                expected[c][i] = add(cell.typecode, expected[c][i], w);
            }
        }
    }
    for w in 1..=p.workers {
        let job = WriterJob {
            delta: w as i64,
            steps: p.steps,
            interval_ms: p.interval_ms,
        };
        s.rt.spawn(Job::SharedWriter(job).to_json(), Vec::new())?;
    }
    let mut writes = vec![0u64; cells.len()];
    let mut last_writer: Vec<Option<(u64, u16)>> = vec![None; cells.len()];
    s.until_all_exited(|_, e| {
        if let EventKind::Write { cell, .. } = e.kind {
            if let Some(n) = writes.get_mut(cell as usize) {
                *n += 1;
            }
            if let Some(l) = last_writer.get_mut(cell as usize)
                && l.is_none_or(|(t, _)| t <= e.t_ns)
            {
                *l = Some((e.t_ns, e.worker));
            }
        }
        Ok(())
    })?;
    let seg =
        s.rt.segment()
            .ok_or_else(|| RunError::Failed("the segment is gone".into()))?;
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    let mut text = String::new();
    for (c, cell) in cells.iter().enumerate() {
        let finals = seg.load_all(c);
        let name = if cell.array {
            format!(
                "Array('{}', [{}])",
                cell.typecode.as_char(),
                show(&cell.init)
            )
        } else {
            format!("Value('{}', {})", cell.typecode.as_char(), show(&cell.init))
        };
        let ok = finals.len() == expected[c].len()
            && finals
                .iter()
                .zip(&expected[c])
                .all(|(a, b)| close_enough(*a, *b));
        if !ok {
            problems.push(format!(
                "{name} ended as [{}], expected [{}]",
                show(&finals),
                show(&expected[c])
            ));
        }
        text.push_str(&format!(
            "{name:<28} ({}) -> {}{}\n",
            cell.typecode.c_name(),
            if cell.array {
                format!("[{}]", show(&finals))
            } else {
                show(&finals)
            },
            if ok { "" } else { "  (WRONG)" }
        ));
        reports.push(CellReport {
            name,
            typecode: cell.typecode.as_char().to_string(),
            c_type: cell.typecode.c_name(),
            initial: cell.init.clone(),
            final_values: finals,
            expected: expected[c].clone(),
            writes: writes[c],
            last_writer: last_writer[c].map(|(_, w)| w),
        });
    }
    let exact = reports
        .iter()
        .filter(|r| {
            r.final_values
                .iter()
                .zip(&r.expected)
                .all(|(a, b)| close_enough(*a, *b))
        })
        .count();
    let writes_total: u64 = reports.iter().map(|r| r.writes).sum();
    let claims = vec![Claim {
        claim: "every process writes the same cells".into(),
        measured: format!(
            "{exact} of {} exact after {writes_total} writes",
            reports.len()
        ),
        holds: exact == reports.len(),
    }];
    let details = Details {
        segment,
        values: reports,
    };
    Ok(Outcome::new(&details, text, problems).with_claims(claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_arguments_parse_and_refuse_clearly() {
        assert_eq!(parse_value("i:0").map(|c| c.init), Ok(vec![Num::Int(0)]));
        assert_eq!(
            parse_value("d:3.14").map(|c| c.init),
            Ok(vec![Num::Float(TUTORIAL_D)])
        );
        assert_eq!(parse_array("B:1,2,255").map(|c| c.init.len()), Ok(3));
        assert!(parse_value("z:1").is_err_and(|e| e.contains("unknown typecode")));
        assert!(parse_value("b:200").is_err_and(|e| e.contains("does not fit")));
        assert!(parse_value("i").is_err());
        assert!(parse_array("i:1,x").is_err());
    }
}
