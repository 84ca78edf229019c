//! A thousand runs in one process (lock and pool, both start methods): descriptors, memory and /dev/shm must stay flat (a leak of one fd
//! or one segment per run would show here long before a classroom notices).

use mpviz::runtime::{Envelope, RuntimeOptions, StartMethod};
use mpviz::scenario::{self, Params};

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn run_quietly(params: &Params, method: StartMethod) {
    let opts = RuntimeOptions {
        method,
        speed_permille: 10, // 100x faster: the intervals are not what is tested here
        exe: Some(env!("CARGO_BIN_EXE_mpviz").into()),
        ..RuntimeOptions::default()
    };
    let mut ignore = |_: &Envelope| {};
    let s = scenario::run(params, opts, &mut ignore).expect("run");
    assert!(s.ok, "{:?}", s.problems);
}

#[test]
fn repeated_runs_leave_descriptors_memory_and_segments_flat() {
    let lock = scenario::default_params("lock").expect("lock");
    let pool = scenario::default_params("pool").expect("pool");
    let mine = format!("mpviz-{}-", std::process::id());
    let segments = || {
        std::fs::read_dir("/dev/shm")
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&mine))
                    .count()
            })
            .unwrap_or(0)
    };
    // Warm up (threads, allocator arenas, the launcher's first use), then measure.
    for method in [StartMethod::Reexec, StartMethod::Fork] {
        run_quietly(&lock, method);
        run_quietly(&pool, method);
    }
    let (fd0, rss0) = (fds(), rss_kib());
    // 1000 runs: lock and pool in turn, each start method in turn; the figures every 100.
    let mut marks = Vec::new();
    for i in 0..1000 {
        let method = if (i / 2) % 2 == 0 {
            StartMethod::Reexec
        } else {
            StartMethod::Fork
        };
        run_quietly(if i % 2 == 0 { &lock } else { &pool }, method);
        if (i + 1) % 100 == 0 {
            marks.push((i + 1, fds(), rss_kib(), segments()));
        }
    }
    eprintln!("soak: start {fd0} fds, {rss0} KiB; (runs, fds, RSS KiB, segments): {marks:?}");
    let (fd1, rss1) = (fds(), rss_kib());
    assert!(
        marks.iter().all(|m| m.1 <= fd0),
        "descriptors grew from {fd0}: {marks:?}"
    );
    assert!(
        rss1 <= rss0 + 4 * 1024,
        "RSS grew from {rss0} KiB to {rss1} KiB over 1000 runs: {marks:?}"
    );
    assert!(marks.iter().all(|m| m.3 == 0), "segments left: {marks:?}");
    assert!(fd1 <= fd0);
    assert_eq!(segments(), 0, "segments left in /dev/shm");
}
