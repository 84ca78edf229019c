//! Pictures and recordings as a writer makes them: `mpviz snapshot` and `mpviz demo`.

mod common;

use serde_json::Value;

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mpviz-{}-{name}", std::process::id()))
}

#[test]
fn snapshot_writes_svg_and_text_at_a_named_moment_and_records_a_cast() {
    let (svg, txt, cast) = (tmp("lost.svg"), tmp("lost.txt"), tmp("run.cast"));
    let out = common::run(&[
        "snapshot",
        "lock",
        "--step-script",
        "1r,2r,1w,2w",
        "--steps",
        "3",
        "--speed",
        "4",
        "--when",
        "first-lost-update",
        "--out",
        &txt.to_string_lossy(),
        "--record",
        &cast.to_string_lossy(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = std::fs::read_to_string(&txt).expect("text picture");
    // The picture is of the moment of the first lost update: the step script's one.
    assert!(
        text.contains("without the lock") && text.contains("— 1 lost"),
        "{text}"
    );
    assert!(text.contains('✗'));
    // The cast: a v2 header, then timed output events.
    let rec = std::fs::read_to_string(&cast).expect("cast");
    let mut lines = rec.lines();
    let h: Value = serde_json::from_str(lines.next().expect("header")).expect("json header");
    assert_eq!(h["version"], 2);
    assert_eq!(
        (h["width"].as_u64(), h["height"].as_u64()),
        (Some(120), Some(40))
    );
    let evs: Vec<Value> = lines
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    assert!(!evs.is_empty());
    let mut last = 0.0;
    for e in &evs {
        let t = e[0].as_f64().expect("time");
        assert!(t >= last && e[1] == "o" && e[2].is_string(), "{e}");
        last = t;
    }
    let out = common::run(&["snapshot", "queue", "--out", &svg.to_string_lossy()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = std::fs::read_to_string(&svg).expect("svg");
    assert!(
        s.starts_with("<svg") && s.contains("499667166000"),
        "the queue's sum is in the picture"
    );
    for f in [svg, txt, cast] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn bad_snapshot_requests_are_refused_before_anything_starts() {
    let out = common::run(&["snapshot", "lock", "--out", "/nonexistent-dir/x.svg"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("--out") && out.stderr.contains("cannot write"),
        "{}",
        out.stderr
    );
    let out = common::run(&["snapshot", "lock", "--out", &tmp("x.png").to_string_lossy()]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("format"), "{}", out.stderr);
    let out = common::run(&[
        "snapshot",
        "lock",
        "--out",
        &tmp("x.svg").to_string_lossy(),
        "--size",
        "9999x5",
    ]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--size"), "{}", out.stderr);
}

#[test]
fn a_demo_tape_with_a_mistake_names_its_line() {
    let tape = tmp("bad.tape");
    std::fs::write(&tape, "run lock\nshot sometime x.svg\n").expect("write tape");
    let out = common::run(&["demo", &tape.to_string_lossy()]);
    let _ = std::fs::remove_file(&tape);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("line 2") && out.stderr.contains("unknown moment"),
        "{}",
        out.stderr
    );
}
