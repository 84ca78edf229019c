//! Every scenario, run as a user runs it (`mpviz run ... --json`), checked against the
//! tutorial's figures and against the invariants that hold whatever the interleaving.

mod common;

use common::{assert_accounted, assert_clean, run};
use serde_json::Value;

fn nums(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("integer"))
        .collect()
}

#[test]
fn process_starts_prints_and_is_joined() {
    let out = run(&["run", "process", "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = out.summary();
    assert_eq!(s["output"][0], "abc");
    assert_eq!(s["exit_code"], 0);
    assert!(s["pid"].as_i64().is_some_and(|p| p > 0));
    assert!(s["spawn"]["median_ms"].as_f64().is_some_and(|m| m > 0.0));
    assert_accounted(&out);
    assert_clean(&out);
}

#[test]
fn queue_sums_like_the_tutorial() {
    let out = run(&["run", "queue", "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = out.summary();
    assert_eq!(s["sum"], 499_667_166_000i64);
    assert_eq!(nums(&s["results"]), vec![249_833_583_000, 249_833_583_000]);
    assert_eq!(out.events("queue_put").len(), 2);
    assert_eq!(out.events("queue_get").len(), 2);
    assert_accounted(&out);
    assert_clean(&out);
}

#[test]
fn queue_sum_for_ten_million_is_exact_in_128_bits() {
    let out = run(&["run", "queue", "--json", "--n", "10000000"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Beyond 64 bits: check the JSON text itself, where the integer must be exact.
    let last = out.raw.lines().last().expect("summary line");
    assert!(
        last.contains("\"sum\":4999999666666716666660000000"),
        "{last}"
    );
    assert_clean(&out);
}

#[test]
fn pool_map_gives_the_same_list_through_the_pipe_and_through_shared_memory() {
    // --task-ms > 0 sends each value through the result pipe (the UI's way); 0 stores them in
    // the shared result array.
    for task_ms in ["0", "1"] {
        let out = run(&[
            "run",
            "pool",
            "--json",
            "--processes",
            "2",
            "--map-n",
            "40",
            "--task-ms",
            task_ms,
            "--apply-list-n",
            "0",
        ]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let want: Vec<i64> = (0..40).map(|x| x * x).collect();
        assert_eq!(nums(&out.summary()["map"]), want, "--task-ms {task_ms}");
        assert_clean(&out);
    }
}

#[test]
fn pool_map_apply_async_and_the_bad_call() {
    let out = run(&["run", "pool", "--json", "--processes", "3"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = out.summary();
    assert_eq!(nums(&s["map"]), vec![0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    assert_eq!(s["apply_async"], 4);
    assert_eq!(
        nums(&s["apply_async_list"]),
        vec![0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
    );
    let err = s["errors"][0]["error"].as_str().expect("an error result");
    assert!(
        err.contains("takes 1 positional argument but 3 were given"),
        "{err}"
    );
    // Every task ran on one of the pool's workers, and the task list covers every call.
    let workers: Vec<u64> = out
        .events("spawned")
        .iter()
        .filter_map(|e| e["worker"].as_u64())
        .collect();
    assert_eq!(workers.len(), 3);
    let tasks = s["tasks"].as_array().expect("tasks");
    // Python's chunksize for 10 items on 3 processes: ceil(10 / 12) = 1, so 10 map tasks.
    assert_eq!(s["chunksize"], 1);
    assert_eq!(
        tasks.len(),
        10 + 1 + 10 + 1,
        "10 map chunks, 1 + 10 + 1 apply_async calls"
    );
    assert!(
        tasks
            .iter()
            .all(|t| workers.contains(&t["worker"].as_u64().unwrap_or(0)))
    );
    assert_accounted(&out);
    assert_clean(&out);
}

#[test]
fn shared_values_and_array_end_exact() {
    let out = run(&["run", "shared", "--json", "--speed", "10"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let values = out.summary()["values"].as_array().expect("values");
    assert_eq!(values.len(), 3);
    assert_eq!(values[0]["name"], "Value('i', 0)");
    assert_eq!(values[0]["final"][0], 15);
    assert!((values[1]["final"][0].as_f64().unwrap_or(0.0) - 18.14).abs() < 1e-9);
    assert_eq!(nums(&values[2]["final"]), vec![7, 5, 6, 7]);
    assert_accounted(&out);
    assert_clean(&out);
}

#[test]
fn shared_narrow_types_wrap_like_c() {
    let out = run(&[
        "run", "shared", "--json", "--speed", "20", "--value", "b:127", "--value", "f:0.5",
        "--array", "B:250,0",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let values = out.summary()["values"].as_array().expect("values");
    // 127 + 5 × (1 + 2) = 142, which wraps to -114 in a signed char.
    assert_eq!(values[0]["final"][0], -114);
    assert_eq!(values[1]["final"][0], 15.5);
    assert_eq!(values[2]["typecode"], "B");
    assert_clean(&out);
}

#[test]
fn locked_counter_is_exact_and_each_worker_writes_in_one_run() {
    let out = run(&["run", "lock", "--mode", "locked", "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let r = &out.summary()["runs"][0];
    assert_eq!(r["mode"], "locked");
    assert_eq!(
        (r["final"].as_i64(), r["expected"].as_i64()),
        (Some(20), Some(20))
    );
    assert_eq!(r["lost_updates"], 0);
    let blocks = r["writer_blocks"].as_array().expect("blocks");
    assert_eq!(
        blocks.len(),
        2,
        "one unbroken run of writes per worker: {blocks:?}"
    );
    assert!(blocks.iter().all(|b| b["writes"] == 5));
    let values = nums(&r["values"]);
    assert!(
        values == [1, 2, 3, 4, 5, 8, 11, 14, 17, 20]
            || values == [3, 6, 9, 12, 15, 16, 17, 18, 19, 20],
        "{values:?}"
    );
    assert_eq!(r["lock"]["acquisitions"], 2);
    assert_eq!(out.events("write").len(), 10);
    assert_eq!(out.events("lock_acquired").len(), 2);
    assert_eq!(out.events("lock_released").len(), 2);
    assert_accounted(&out);
    assert_clean(&out);
}

#[test]
fn without_tracing_the_answer_is_the_same_and_no_step_is_sent() {
    let out = run(&["run", "lock", "--json", "--no-trace", "--speed", "10"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let runs = out.summary()["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    let locked = &runs[1];
    assert_eq!(locked["traced"], false);
    assert_eq!(locked["final"], locked["expected"]);
    assert!(runs[0]["final"].as_i64() <= runs[0]["expected"].as_i64());
    for kind in [
        "read",
        "write",
        "lock_requested",
        "lock_acquired",
        "lock_released",
    ] {
        assert!(out.events(kind).is_empty(), "{kind} events were sent");
    }
    assert_eq!(out.events("exit").len(), 4);
    assert_clean(&out);
}

/// The invariants of an unlocked run, whatever the interleaving.
fn check_unlocked(r: &Value, writes_per_worker: i64, workers: i64) {
    let (fin, exp) = (
        r["final"].as_i64().expect("final"),
        r["expected"].as_i64().expect("expected"),
    );
    assert!(fin <= exp, "never above the exact total: {fin} > {exp}");
    let lost = r["lost"].as_array().expect("lost");
    assert_eq!(r["lost_updates"].as_u64(), Some(lost.len() as u64));
    let lost_sum: i64 = lost
        .iter()
        .map(|l| l["lost"]["new"].as_i64().unwrap_or(0) - l["lost"]["old"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(
        exp - fin,
        lost_sum,
        "the shortfall is exactly the lost updates"
    );
    assert_eq!(
        r["writes"].as_array().map(Vec::len),
        Some((writes_per_worker * workers) as usize)
    );
}

#[test]
fn unlocked_counter_with_a_race_window_never_exceeds_the_exact_total() {
    let out = run(&[
        "run",
        "lock",
        "--mode",
        "unlocked",
        "--race-window-ms",
        "20",
        "--speed",
        "2",
        "--json",
    ]);
    assert!(matches!(out.code, Some(0)), "{}", out.stderr);
    check_unlocked(&out.summary()["runs"][0], 10, 2);
    assert_accounted(&out);
    assert_clean(&out);
}

#[test]
fn step_script_produces_a_lost_update_every_time() {
    let out = run(&[
        "run",
        "lock",
        "--step-script",
        "1r,2r,1w,2w",
        "--steps",
        "3",
        "--speed",
        "5",
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let r = &out.summary()["runs"][0];
    check_unlocked(r, 3, 2);
    let first = &r["lost"][0];
    assert_eq!(
        (
            first["lost"]["old"].as_i64(),
            first["overwritten_by"]["old"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(first["lost"]["worker"], 1);
    assert!(r["lost_updates"].as_u64().is_some_and(|n| n >= 1));
    assert_eq!(
        out.events("gate").len(),
        4,
        "each scripted step waited at its gate"
    );
    assert_clean(&out);
}

#[test]
fn compare_gets_the_exact_result_in_every_variant() {
    let out = run(&["run", "compare", "--json", "--n", "300000", "--gil"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let variants = out.summary()["variants"].as_array().expect("variants");
    let names: Vec<&str> = variants.iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["normal", "threads", "threads_gil", "processes"]);
    for v in variants {
        assert_eq!(v["correct"], true, "{v}");
        assert!(v["seconds"].as_f64().is_some_and(|s| s > 0.0));
        assert!(v["speedup"].as_f64().is_some_and(|s| s > 0.0));
    }
    assert_eq!(variants[0]["speedup"], 1.0);
    assert_accounted(&out);
    assert_clean(&out);
}

#[test]
fn fork_start_method_runs_every_quick_scenario() {
    for args in [
        &["run", "process", "--json", "--start-method", "fork"][..],
        &["run", "queue", "--json", "--start-method", "fork"],
        &["run", "pool", "--json", "--start-method", "fork"],
        &[
            "run",
            "lock",
            "--json",
            "--start-method",
            "fork",
            "--mode",
            "locked",
            "--speed",
            "10",
        ],
    ] {
        let out = run(args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert_eq!(out.summary()["start_method"], "fork");
        assert!(out.events("spawned").iter().all(|e| e["method"] == "fork"));
        assert_accounted(&out);
        assert_clean(&out);
    }
}

#[test]
fn list_names_every_scenario() {
    let out = std::process::Command::new(common::BIN)
        .arg("list")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["process", "queue", "compare", "pool", "shared", "lock"] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing from:\n{text}"
        );
    }
}

#[test]
fn trace_out_writes_a_chrome_trace_of_the_run() {
    let path = std::env::temp_dir().join(format!("mpviz-trace-{}.json", std::process::id()));
    let p = path.to_string_lossy().to_string();
    let out = run(&[
        "run",
        "lock",
        "--mode",
        "locked",
        "--speed",
        "10",
        "--json",
        "--trace-out",
        &p,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("trace written"))
        .expect("JSON");
    let _ = std::fs::remove_file(&path);
    let evs = v["traceEvents"].as_array().expect("traceEvents");
    for ph in ["M", "X", "C"] {
        assert!(evs.iter().any(|e| e["ph"] == ph), "no {ph} event");
    }
    assert_eq!(
        evs.iter().filter(|e| e["name"] == "hold lock").count(),
        2,
        "one hold per worker"
    );
    assert_eq!(
        evs.iter().filter(|e| e["ph"] == "C").count(),
        10,
        "a counter sample per write"
    );
    let lanes: std::collections::BTreeSet<i64> = evs
        .iter()
        .filter(|e| e["name"] == "alive")
        .filter_map(|e| e["pid"].as_i64())
        .collect();
    assert_eq!(lanes.len(), 2, "one process lane per worker");
}

#[test]
fn a_pool_with_thousands_of_tasks_neither_hangs_nor_loses_one() {
    // More tasks than the task pipe holds, and more events than the fan-in channel holds.
    let out = run(&[
        "run",
        "pool",
        "--json",
        "--processes",
        "2",
        "--map-n",
        "200000",
        "--apply-list-n",
        "20000",
        "--bad-args",
        "none",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = out.summary();
    let list = s["apply_async_list"].as_array().expect("list");
    assert_eq!(list.len(), 20000);
    assert_eq!(list[19999], 19999i64 * 19999);
    assert_eq!(s["map"].as_array().map(Vec::len), Some(200000));
    assert_clean(&out);
}
