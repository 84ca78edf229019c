//! Bad input: every parameter beyond its range gets a one-line error naming it, exit code 2,
//! and nothing is started.

mod common;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(common::BIN)
        .args(args)
        .output()
        .expect("run mpviz");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_parameters_are_refused_with_a_message_naming_them() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "queue", "--workers", "0"], "--workers"),
        (&["run", "queue", "--n", "0"], "--n"),
        (&["run", "compare", "--n", "99999999999999"], "--n"),
        (&["run", "compare", "--seconds", "-1"], "--seconds"),
        (&["run", "pool", "--processes", "0"], "--processes"),
        (&["run", "pool", "--bad-args", "1,2,3,4,5"], "--bad-args"),
        (&["run", "shared", "--value", "z:1"], "unknown typecode"),
        (&["run", "shared", "--value", "b:300"], "does not fit"),
        (&["run", "shared", "--array", "i:"], "--array"),
        (&["run", "lock", "--deltas", "1,,3"], "--deltas"),
        (&["run", "lock", "--steps", "1000000000"], "--steps"),
        (&["run", "lock", "--interval-ms", "-5"], "--interval-ms"),
        (&["run", "lock", "--step-script", "1q"], "--step-script"),
        (&["run", "lock", "--step-script", "3r"], "names worker 3"),
        (&["run", "lock", "--speed", "0"], "--speed"),
        (&["run", "nosuch"], "nosuch"),
    ];
    for (args, needle) in cases {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?} should exit 2, said: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: the message should mention {needle:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn the_ui_refuses_a_pipe_and_points_at_run() {
    let (code, err) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not one") && err.contains("mpviz run"),
        "{err}"
    );
}
