//! §1.2 — `Process(target=job, args=(1, 2))`, `start()`, `join()`.
//!
//! One child with two arguments: it gets its own pid, runs, prints, exits; the parent joins it
//! (reaps it) and reports the exit code.

use serde::Serialize;

use crate::runtime::{EventKind, Flow, WorkerCtx};

use super::job::{Job, JobResult};
use super::{Claim, Outcome, RunError, Session};

#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// The two arguments passed to job(a, b), as in `args=(1, 2)`.
    #[arg(long, allow_negative_numbers = true, value_name = "A,B", default_value = "1,2", value_parser = parse_pair)]
    pub args: (i64, i64),
    /// A pause at each stage of the child's life (after it starts, after it prints), so it can
    /// be watched, in milliseconds (0 to 10000); scaled by --speed.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0, value_parser = |s: &str| super::int_in::<u64>(s, 0, 10_000))]
    pub pace_ms: u64,
}

impl Params {
    /// The UI's pace: the child's life takes a couple of seconds instead of 3 ms.
    pub fn for_the_ui(&mut self, given: &dyn Fn(&str) -> bool) {
        if !given("pace_ms") {
            self.pace_ms = 800;
        }
    }

    pub fn pacing(&self) -> Option<super::Pacing> {
        (self.pace_ms > 0).then(|| super::Pacing {
            short: format!("{} ms a stage", self.pace_ms),
            long: format!(
                "the child pauses {} ms at each stage so it can be followed (e: --pace-ms 0)",
                self.pace_ms
            ),
        })
    }
}

fn parse_pair(s: &str) -> Result<(i64, i64), String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [a, b] = parts.as_slice() else {
        return Err(format!("expected two integers like 1,2, got {s:?}"));
    };
    let p = |x: &str| {
        x.parse::<i64>()
            .map_err(|_| format!("{x:?} is not an integer"))
    };
    Ok((p(a)?, p(b)?))
}

/// The worker: prints like the tutorial's `job`, which prints 'abc' (with a pause before
/// and after when paced).
pub fn work(ctx: &mut WorkerCtx, a: i64, b: i64, pace_ms: u64) -> JobResult {
    ctx.emit(EventKind::Phase {
        name: format!("job({a}, {b})"),
    });
    let pace = std::time::Duration::from_millis(pace_ms);
    if pace_ms > 0 && ctx.sleep(pace) == Flow::Stop {
        return Ok(Flow::Stop);
    }
    println!("abc");
    println!("job(a={a}, b={b}) ran in process {}", std::process::id());
    // The parent reads stdout through a pipe: make the lines go before any pause.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    ctx.flush();
    if pace_ms > 0 && ctx.sleep(pace) == Flow::Stop {
        return Ok(Flow::Stop);
    }
    Ok(Flow::Go)
}

#[derive(Debug, Serialize)]
struct Details {
    pid: i32,
    args: [i64; 2],
    output: Vec<String>,
    exit_code: Option<i32>,
    exit_signal: Option<i32>,
    joined: bool,
    start_to_join_ms: f64,
}

pub fn run(s: &mut Session<'_>, p: &Params) -> Result<Outcome, RunError> {
    let (a, b) = p.args;
    s.emit(EventKind::Phase {
        name: "p1.start()".into(),
    });
    let id = s.rt.spawn(
        Job::Greet {
            a,
            b,
            pace_ms: p.pace_ms,
        }
        .to_json(),
        Vec::new(),
    )?;
    let pid = s.rt.handle(id).map_or(0, |h| h.pid);
    let start = s.rt.handle(id).map_or(0, |h| h.spawned_ns);
    s.emit(EventKind::Phase {
        name: "p1.join()".into(),
    });
    let mut output = Vec::new();
    let mut exit = (None, None);
    let mut joined_ns = start;
    s.until_all_exited(|_, e| {
        match &e.kind {
            EventKind::Output { text, .. } => output.push(text.clone()),
            EventKind::Exit { code, signal } => {
                exit = (*code, *signal);
                joined_ns = e.t_ns;
            }
            _ => {}
        }
        Ok(())
    })?;
    let details = Details {
        pid,
        args: [a, b],
        output: output.clone(),
        exit_code: exit.0,
        exit_signal: exit.1,
        joined: true,
        start_to_join_ms: joined_ns.saturating_sub(start) as f64 / 1e6,
    };
    let parent = std::process::id() as i32;
    let claims = vec![
        Claim {
            claim: "the child is a process of its own".into(),
            measured: format!("pid {pid}, the parent's {parent}"),
            holds: pid > 0 && pid != parent,
        },
        Claim {
            claim: "join() waits for the child to finish".into(),
            measured: match exit {
                (Some(c), _) => format!("joined after it exited with code {c}"),
                (_, Some(sig)) => format!("joined after signal {sig} ended it"),
                _ => "it never exited".into(),
            },
            holds: exit.0.is_some() || exit.1.is_some(),
        },
    ];
    let mut problems = Vec::new();
    if output.first().map(String::as_str) != Some("abc") {
        problems.push(format!(
            "the child printed {output:?}, expected \"abc\" first"
        ));
    }
    let text = format!(
        "p1 = Process(target=job, args=({a}, {b}))\n\
         p1.start()   -> pid {pid}\n\
         p1.join()    -> exit code {}, {:.2} ms after start\n",
        exit.0.map_or_else(|| "none".to_string(), |c| c.to_string()),
        details.start_to_join_ms
    );
    Ok(Outcome::new(&details, text, problems).with_claims(claims))
}
