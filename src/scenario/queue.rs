//! §1.3 — two processes compute sum(i + i² + i³ for i in range(1000)) and `q.put(res)`; the
//! parent joins both, then `q.get()`s each result and prints their sum (499667166000).

use serde::Serialize;

use crate::runtime::queue::{MessageReader, queue_pipe};
use crate::runtime::{EventKind, Num};

use super::compare::{MAX_N, SumJob, exact_sum, parse_item};
use super::job::Job;
use super::{Claim, Outcome, RunError, Session, int_in};

#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Loop length of each worker's job, as in range(n).
    #[arg(long, allow_negative_numbers = true, default_value_t = 1000, value_parser = |s: &str| int_in::<u64>(s, 1, MAX_N as i128))]
    pub n: u64,
    /// Worker processes, each putting one result on the queue (1 to 64).
    #[arg(long, allow_negative_numbers = true, default_value_t = 2, value_parser = |s: &str| int_in::<u16>(s, 1, 64))]
    pub workers: u16,
    /// A pause so the items can be followed, in milliseconds (0 to 10000): worker k waits k
    /// times this before its q.put, and the parent this long before each q.get; scaled by
    /// --speed.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0, value_parser = |s: &str| int_in::<u64>(s, 0, 10_000))]
    pub pace_ms: u64,
}

impl Params {
    /// The UI's pace: the items travel one by one, the parent's sum grows in steps.
    pub fn for_the_ui(&mut self, given: &dyn Fn(&str) -> bool) {
        if !given("pace_ms") {
            self.pace_ms = 700;
        }
    }

    pub fn pacing(&self) -> Option<super::Pacing> {
        (self.pace_ms > 0).then(|| super::Pacing {
            short: format!("{} ms apart", self.pace_ms),
            long: format!(
                "puts and gets {} ms apart so the items can be followed (e: --pace-ms 0)",
                self.pace_ms
            ),
        })
    }
}

#[derive(Debug, Serialize)]
struct Item {
    from: u16,
    value: Num,
}

#[derive(Debug, Serialize)]
struct Details {
    n: u64,
    results: Vec<Num>,
    items: Vec<Item>,
    sum: Num,
    expected: Num,
}

pub fn run(s: &mut Session<'_>, p: &Params) -> Result<Outcome, RunError> {
    let (q_r, q_w) = queue_pipe().map_err(|e| RunError::Failed(format!("queue pipe: {e}")))?;
    s.emit(EventKind::Phase {
        name: "start".into(),
    });
    for _ in 0..p.workers {
        let job = SumJob {
            n: p.n,
            repeats: 1,
            threads: 1,
            gil_switch_us: None,
            label: "job".into(),
            pace_ms: p.pace_ms,
        };
        s.rt.spawn(Job::SumPowers(job).to_json(), vec![q_w.try_clone()?])?;
    }
    // Our copy of the write end must go, or the reader below would never see end of file.
    drop(q_w);
    s.emit(EventKind::Phase {
        name: "join".into(),
    });
    s.until_all_exited(|_, _| Ok(()))?;
    s.emit(EventKind::Phase { name: "get".into() });
    let mut q = MessageReader::new(q_r);
    let mut items = Vec::new();
    let mut m = Vec::new();
    let pace = s.scaled(std::time::Duration::from_millis(p.pace_ms));
    loop {
        s.wait(pace)?;
        if !q.get_into(&mut m)? {
            break;
        }
        if let Some((from, v)) = parse_item(&m) {
            s.emit(EventKind::QueueGet {
                queue: 0,
                from,
                value: Num::Int(v as i128).into(),
            });
            items.push(Item {
                from,
                value: Num::Int(v as i128),
            });
        }
    }
    let sum: i128 = items.iter().filter_map(|i| i.value.as_i128()).sum();
    let expected = exact_sum(p.n) as i128 * p.workers as i128;
    let mut problems = Vec::new();
    if items.len() != p.workers as usize {
        problems.push(format!(
            "the queue held {} items, expected {}",
            items.len(),
            p.workers
        ));
    }
    if sum != expected {
        problems.push(format!("the sum is {sum}, expected {expected}"));
    }
    let mut text = String::new();
    for (k, it) in items.iter().enumerate() {
        text.push_str(&format!(
            "res{} = q.get()  -> {} (put by worker {})\n",
            k + 1,
            it.value,
            it.from
        ));
    }
    text.push_str(&format!("print(res1 + res2 ...) -> {sum}\n"));
    let details = Details {
        n: p.n,
        results: items.iter().map(|i| i.value).collect(),
        items,
        sum: Num::Int(sum),
        expected: Num::Int(expected),
    };
    let claims = vec![Claim {
        claim: "q.get() gives the parent every result put".into(),
        measured: format!(
            "{} of {}, sum {sum}{}",
            details.items.len(),
            p.workers,
            if sum == expected {
                " exact"
            } else {
                " not exact"
            }
        ),
        holds: details.items.len() == p.workers as usize && sum == expected,
    }];
    Ok(Outcome::new(&details, text, problems).with_claims(claims))
}
