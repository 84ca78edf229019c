//! §1.2 — `Process(target=job, args=(1, 2))`, `start()`, `join()`.
//!
//! One child with two arguments: it gets its own pid, runs, prints, exits; the parent joins it
//! (reaps it) and reports the exit code.

use serde::Serialize;

use crate::runtime::{EventKind, Flow, WorkerCtx};

use super::job::{Job, JobResult};
use super::{Outcome, RunError, Session};

#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// The two arguments passed to job(a, b), as in `args=(1, 2)`.
    #[arg(long, allow_negative_numbers = true, value_name = "A,B", default_value = "1,2", value_parser = parse_pair)]
    pub args: (i64, i64),
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

/// The worker: prints like the tutorial's `job`, which prints 'abc'.
pub fn work(ctx: &mut WorkerCtx, a: i64, b: i64) -> JobResult {
    ctx.emit(EventKind::Phase {
        name: format!("job({a}, {b})"),
    });
    println!("abc");
    println!("job(a={a}, b={b}) ran in process {}", std::process::id());
    ctx.flush();
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
    let id = s.rt.spawn(Job::Greet { a, b }.to_json(), Vec::new())?;
    let pid = s.rt.handle(id).map_or(0, |h| h.pid);
    let start = s.rt.handle(id).map_or(0, |h| h.spawned_ns);
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
    Ok(Outcome::new(&details, text, problems))
}
