//! CPU sampling: per-core load from `sysinfo`, and per-worker CPU, state and current core from
//! `/proc/PID/stat`. A `Sampler` takes one reading at a time (the UI's loop runs one on its
//! refresh clock); a `Monitor` runs one on a thread of its own and sends owned snapshots (for
//! snapshots, whose loop waits on other things).

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

/// One worker process as the kernel sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcSample {
    pub pid: i32,
    /// Percent of one core since the previous sample.
    pub cpu_pct: f32,
    /// The cores it is on: its main thread's last core (field 39 of /proc/PID/stat), then
    /// those of its other threads that are running (a process's threads run on several
    /// cores at once), each once.
    pub cores: Vec<u32>,
    /// Its scheduler state letter: R running, S sleeping, T stopped, Z zombie.
    pub state: char,
}

/// Everything one sampling round saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Load of each core in percent.
    pub cores: Vec<f32>,
    pub procs: Vec<ProcSample>,
}

/// Fields of /proc/PID/stat that the sampler needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatFields {
    pub state: char,
    pub cpu_ticks: u64,
    /// Threads in the process (field 20).
    pub threads: u32,
    pub core: u32,
}

/// Parses /proc/PID/stat. The command name (field 2) may contain spaces and parentheses, so
/// fields are counted from the last ')'.
pub fn parse_stat(text: &str) -> Option<StatFields> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field N is f[N - 3].
    let state = f.first()?.chars().next()?;
    let utime: u64 = f.get(14 - 3)?.parse().ok()?;
    let stime: u64 = f.get(15 - 3)?.parse().ok()?;
    let threads: u32 = f.get(20 - 3)?.parse().ok()?;
    let core: u32 = f.get(39 - 3)?.parse().ok()?;
    Some(StatFields {
        state,
        cpu_ticks: utime + stime,
        threads,
        core,
    })
}

/// The process `id` is a thread of (`Tgid` in /proc/ID/status; itself for a process).
fn group_of(id: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{id}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

fn read_stat(pid: i32) -> Option<StatFields> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The cores of `pid`'s threads: its main thread's, then every other running thread's
/// (`/proc/PID/task/TID/stat`), read only for a process that has more than one thread.
fn cores_of(pid: i32, st: &StatFields) -> Vec<u32> {
    let mut cores = vec![st.core];
    if st.threads <= 1 {
        return cores;
    }
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return cores;
    };
    for t in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        if let Some(f) = parse_stat(&text)
            && f.state == 'R'
            && !cores.contains(&f.core)
        {
            cores.push(f.core);
        }
    }
    cores
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

/// Handle on the sampler thread. Dropping it stops the thread.
pub struct Monitor {
    pub samples: Receiver<Sample>,
    watched: Arc<Mutex<Vec<i32>>>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts sampling every `interval` (the first sysinfo reading is discarded, as sysinfo
    /// needs two readings to compute a load).
    pub fn start(interval: Duration) -> std::io::Result<Monitor> {
        let (tx, rx) = bounded(8);
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let watched = Arc::new(Mutex::new(Vec::new()));
        let w = watched.clone();
        let thread =
            std::thread::Builder::new().spawn(move || sample_loop(tx, stop_rx, w, interval))?;
        Ok(Monitor {
            samples: rx,
            watched,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The processes to report on from the next round on.
    pub fn watch(&self, pids: Vec<i32>) {
        *self.watched.lock().unwrap_or_else(|e| e.into_inner()) = pids;
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop = None; // disconnects: the thread's wait ends at once
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One round of sampling at a time: per-core load through sysinfo, and each watched process's
/// CPU share, state and core from /proc. The sampler thread runs one; the UI's loop runs one
/// itself (a thread's wake-up per refresh costs more than the sampling).
pub struct Sampler {
    sys: Option<sysinfo::System>,
    hz: f64,
    last: std::collections::HashMap<i32, (u64, Instant)>,
    /// Per watched id, its process when it is a thread of one (a traced program's thread is a
    /// worker of its own): its own figures are under /proc/PROCESS/task/TID.
    group: std::collections::HashMap<i32, i32>,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    /// A sampler with its baseline taken (sysinfo needs two readings for a load).
    pub fn new() -> Sampler {
        let mut sys = sysinfo::System::new().ok();
        if let Some(s) = sys.as_mut() {
            s.refresh_cpu_usage();
        }
        Sampler {
            sys,
            hz: ticks_per_second(),
            last: Default::default(),
            group: Default::default(),
        }
    }

    /// The load since the previous call, and the state of `pids` now.
    pub fn sample(&mut self, pids: &[i32]) -> Sample {
        let cores = match self.sys.as_mut() {
            Some(s) => {
                s.refresh_cpu_usage();
                s.cpus().iter().map(|c| c.usage()).collect()
            }
            None => Vec::new(),
        };
        let now = Instant::now();
        let mut procs = Vec::with_capacity(pids.len());
        for &pid in pids {
            let group = *self
                .group
                .entry(pid)
                .or_insert_with(|| group_of(pid).unwrap_or(pid));
            let st = if group == pid {
                read_stat(pid)
            } else {
                std::fs::read_to_string(format!("/proc/{group}/task/{pid}/stat"))
                    .ok()
                    .and_then(|t| parse_stat(&t))
                    // One thread: its own core only.
                    .map(|s| StatFields { threads: 1, ..s })
            };
            let Some(st) = st else { continue };
            let cpu_pct = match self.last.get(&pid) {
                Some((ticks, at)) => {
                    let secs = now.duration_since(*at).as_secs_f64();
                    let used = st.cpu_ticks.saturating_sub(*ticks) as f64 / self.hz;
                    if secs > 0.0 {
                        (100.0 * used / secs) as f32
                    } else {
                        0.0
                    }
                }
                None => 0.0,
            };
            self.last.insert(pid, (st.cpu_ticks, now));
            procs.push(ProcSample {
                pid,
                cpu_pct,
                cores: cores_of(pid, &st),
                state: st.state,
            });
        }
        // Forget processes no longer watched (a long session sees many runs).
        if self.last.len() > pids.len() * 2 + 64 {
            self.last.retain(|p, _| pids.contains(p));
            self.group.retain(|p, _| pids.contains(p));
        }
        Sample { cores, procs }
    }
}

fn sample_loop(
    tx: Sender<Sample>,
    stop: Receiver<()>,
    watched: Arc<Mutex<Vec<i32>>>,
    interval: Duration,
) {
    let mut sampler = Sampler::new();
    let wait = interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
    loop {
        if !matches!(
            stop.recv_timeout(wait),
            Err(crossbeam_channel::RecvTimeoutError::Timeout)
        ) {
            return;
        }
        let pids = watched.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if tx.send(sampler.sample(&pids)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_known_by_its_process_and_sampled_alone() {
        let me = std::process::id() as i32;
        assert_eq!(group_of(me), Some(me));
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).expect("send");
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().expect("the thread's id");
        assert_eq!(group_of(tid), Some(me), "a thread's process is ours");
        let s = Sampler::new().sample(&[tid]);
        assert_eq!(s.procs.len(), 1, "sampled under /proc/PID/task/TID");
        assert_eq!(s.procs[0].cores.len(), 1, "its own core only");
        stop_tx.send(()).expect("stop");
        t.join().expect("the thread");
    }

    #[test]
    fn a_process_whose_threads_run_at_once_is_on_several_cores() {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return;
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        let me = std::process::id() as i32;
        let mut sampler = Sampler::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = Vec::new();
        while Instant::now() < deadline && seen.len() < 2 {
            seen = sampler.sample(&[me]).procs[0].cores.clone();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for s in spinners {
            let _ = s.join();
        }
        assert!(
            seen.len() >= 2,
            "two spinning threads, cores seen: {seen:?}"
        );
        let mut unique = seen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "each core once: {seen:?}");
    }

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "4242 (my (odd) name) R 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 \
                    1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let f = parse_stat(line).expect("parses");
        assert_eq!(
            f,
            StatFields {
                state: 'R',
                cpu_ticks: 300,
                threads: 1,
                core: 1
            }
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let f = read_stat(std::process::id() as i32).expect("own stat");
        assert!(matches!(f.state, 'R' | 'S'));
    }
}
