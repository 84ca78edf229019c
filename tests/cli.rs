//! Bad input: every parameter beyond its range gets a one-line error naming it, exit code 2,
//! and nothing is started.

mod common;

/// mpviz's exit code, what it said on stderr, and whether it wrote anything on stdout.
fn run(args: &[&str]) -> (Option<i32>, String, bool) {
    let out = std::process::Command::new(common::BIN)
        .args(args)
        .output()
        .expect("run mpviz");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        !out.stdout.is_empty(),
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
        // A script that cannot be played is refused before any worker starts (with --json a
        // started run would have printed its events).
        (
            &[
                "run",
                "lock",
                "--mode",
                "locked",
                "--step-script",
                "1r,2r",
                "--json",
            ],
            "held by worker 1",
        ),
        (&["ui", "lock", "--step-script", "1w"], "not its write"),
        (
            &[
                "snapshot",
                "lock",
                "--step-script",
                "1r,3w",
                "--out",
                "/tmp/mpviz-never.svg",
            ],
            "names worker 3",
        ),
        (&["run", "lock", "--speed", "0"], "--speed"),
        (&["run", "nosuch"], "nosuch"),
        (&["run", "lock", "--mode", "sideways"], "possible values"),
        (&["bench", "nosuch"], "possible values"),
        (&["run", "shared", "--array", "q:1,x"], "--array"),
        // Non-finite values cannot be checked against an expected total.
        (&["run", "shared", "--value", "d:1e309"], "finite"),
        (&["run", "shared", "--value", "d:nan"], "finite"),
        (&["run", "shared", "--value", "f:1e39"], "finite"),
        (
            &["snapshot", "lock", "--size", "10x10", "--out", "/tmp/x.svg"],
            "--size",
        ),
        (
            &["run", "process", "--trace-out", "/nonexistent/dir/t.json"],
            "--trace-out",
        ),
    ];
    for (args, needle) in cases {
        let (code, err, printed) = run(args);
        assert_eq!(code, Some(2), "{args:?} should exit 2, said: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: the message should mention {needle:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line: {args:?}: {err}"
        );
        assert!(!printed, "{args:?} started something");
    }
}

#[test]
fn the_ui_refuses_a_pipe_and_points_at_run() {
    let (code, err, _) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not one") && err.contains("mpviz run"),
        "{err}"
    );
}

/// `lo` and `hi` of a message saying "... between LO and HI".
fn range_in(msg: &str) -> Option<(String, String)> {
    let (_, tail) = msg.rsplit_once(" between ")?;
    let (lo, hi) = tail.split_once(" and ")?;
    let hi: String = hi
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    Some((lo.to_string(), hi))
}

#[test]
fn every_scenario_parameter_at_and_beyond_its_range() {
    use clap::{CommandFactory, Parser};
    let cmd = mpviz::cli::Cli::command();
    let run = cmd.find_subcommand("run").expect("run");
    let parse = |sc: &str, flag: &str, v: &str| {
        mpviz::cli::Cli::try_parse_from(["mpviz", "run", sc, flag, v])
            .map_err(|e| mpviz::cli::one_line(&e))
    };
    let mut tried = 0;
    // Each scenario's own flags, and run's flags (given with a scenario).
    let mut sets: Vec<(&str, Vec<&clap::Arg>)> = run
        .get_subcommands()
        .map(|sc| (sc.get_name(), sc.get_arguments().collect()))
        .collect();
    sets.push(("process", run.get_arguments().collect()));
    for (name, args) in sets {
        for arg in args {
            let Some(long) = arg.get_long() else { continue };
            if !arg.get_action().takes_values() {
                continue;
            }
            let flag = format!("--{long}");
            for bad in [
                "-1",
                "0",
                "1000000000000",
                "99999999999999999999999",
                "abc",
                "",
            ] {
                tried += 1;
                let Err(msg) = parse(name, &flag, bad) else {
                    continue; // a value in range
                };
                assert!(msg.contains(&flag), "{name} {flag} {bad:?}: {msg}");
                assert!(
                    [
                        "between",
                        "up to",
                        "possible values",
                        "like ",
                        "at most",
                        "one of",
                        "a value is required"
                    ]
                    .iter()
                    .any(|w| msg.contains(w)),
                    "{name} {flag} {bad:?} should say what is allowed: {msg}"
                );
                // A numeric range: its ends are accepted, one step beyond them is not.
                if let Some((lo, hi)) = range_in(&msg)
                    && let (Ok(lo), Ok(hi)) = (lo.parse::<i128>(), hi.parse::<i128>())
                    && !["--deltas"].contains(&flag.as_str())
                {
                    for (v, ok) in [(lo, true), (hi, true), (lo - 1, false), (hi + 1, false)] {
                        tried += 1;
                        let got = parse(name, &flag, &v.to_string());
                        assert_eq!(got.is_ok(), ok, "{name} {flag} {v}: {got:?}");
                    }
                }
            }
        }
    }
    eprintln!("{tried} parameter values tried");
    assert!(tried > 150, "{tried} inputs tried");
}

#[test]
fn a_reader_that_goes_away_is_no_reason_to_panic() {
    // `mpviz list | head -0`: stdout is a pipe nobody reads any more.
    let (r, w) = std::io::pipe().expect("pipe");
    drop(r);
    let out = std::process::Command::new(common::BIN)
        .arg("list")
        .stdout(w)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run mpviz");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// Output that cannot be written stops the run and says so, with a non-zero exit and nothing
/// left behind: a full disk, and a reader that has gone away mid-run.
#[test]
fn output_that_cannot_be_written_stops_the_run() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = std::process::Command::new(common::BIN)
        .args(["run", "lock", "--interval-ms", "1"])
        .stdout(full)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the output"), "{err}");
    // A reader that takes three lines and leaves: the run stops instead of going on for
    // 200 000 increments.
    let mut child = common::spawn(&[
        "run",
        "lock",
        "--mode",
        "unlocked",
        "--interval-ms",
        "1",
        "--steps",
        "100000",
        "--json",
    ]);
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    for _ in 0..3 {
        lines.next();
    }
    drop(lines);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1));
    let segs = common::segments_of(child.id() as i32);
    assert!(segs.is_empty(), "{segs:?}");
}

/// Files mpviz writes never follow a planted link: a dangling link at `--out` or
/// `--trace-out` is refused before anything starts, and nothing appears where it points.
#[test]
fn outputs_never_follow_a_planted_link() {
    let dir = std::env::temp_dir().join(format!("mpviz-links-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let target = dir.join("elsewhere");
    for (flag, name, args) in [
        ("--out", "shot.svg", &["snapshot", "process"][..]),
        ("--trace-out", "trace.json", &["run", "process"][..]),
    ] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).expect("link");
        let mut a: Vec<&str> = args.to_vec();
        let l = link.to_string_lossy().into_owned();
        a.extend([flag, l.as_str()]);
        let (code, err, printed) = run(&a);
        assert_eq!(code, Some(2), "{a:?}: {err}");
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!printed, "{a:?} started something");
        assert!(!target.exists(), "{a:?} wrote through the link");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A FIFO given to replay is refused at once (its open would block where no signal can end
/// it); a recording with a UTF-8 byte-order mark is read; a umask that would make the segment
/// read-only does not stop a run.
#[test]
fn odd_files_and_umasks_are_handled() {
    let dir = std::env::temp_dir().join(format!("mpviz-odd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fifo = dir.join("f.jsonl");
    let _ = std::fs::remove_file(&fifo);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let (code, err, _) = run(&["replay", fifo.to_str().expect("path")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a regular file"), "{err}");

    let out = std::process::Command::new(common::BIN)
        .args([
            "run",
            "lock",
            "--interval-ms",
            "1",
            "--steps",
            "2",
            "--json",
        ])
        .output()
        .expect("run");
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice(&out.stdout);
    let file = dir.join("bom.jsonl");
    std::fs::write(&file, bom).expect("write");
    mpviz::replay::load(&file).expect("a recording with a byte-order mark");

    // mpviz under a shell setting: it runs to the end, exit 0.
    let succeeds_under = |setting: &str, args: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("{setting}; exec {} {args}", common::BIN)])
            .output()
            .expect("sh");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{setting}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    succeeds_under("umask 0277", "run lock --interval-ms 1 --steps 2");
    // A descriptor table of 256: forked workers still get their pipes (they were moved to
    // descriptor 256 and up, past the table's end).
    succeeds_under(
        "ulimit -n 256",
        "run pool --processes 8 --start-method fork",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Conventions of the tools people already use: completions that the shell accepts, a manual
/// page that roff renders, and a version that names the commit.
#[test]
fn completions_man_page_and_version() {
    let out = |args: &[&str]| {
        let o = std::process::Command::new(common::BIN)
            .args(args)
            .output()
            .expect("run");
        assert!(o.status.success(), "{args:?}");
        o.stdout
    };
    for shell in ["bash", "zsh", "fish"] {
        let script = out(&["completions", shell]);
        assert!(
            String::from_utf8_lossy(&script).contains("snapshot"),
            "{shell} completes the subcommands"
        );
    }
    let bash = out(&["completions", "bash"]);
    let mut check = std::process::Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("bash");
    std::io::Write::write_all(&mut check.stdin.take().expect("stdin"), &bash).expect("write");
    assert!(
        check.wait().expect("bash -n").success(),
        "bash parses its completions"
    );
    let man = out(&["man"]);
    assert!(String::from_utf8_lossy(&man).contains(".TH mpviz"));
    match std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut g) => {
            std::io::Write::write_all(&mut g.stdin.take().expect("stdin"), &man).expect("write");
            let o = g.wait_with_output().expect("groff");
            assert!(
                o.status.success() && o.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Err(_) => eprintln!("skipped: no groff here to render the manual page"),
    }
    let version = String::from_utf8(out(&["--version"])).expect("utf-8");
    assert!(
        version.starts_with("mpviz 0.") && version.contains("commit"),
        "{version}"
    );
}

/// A low `ulimit -u` (processes and threads of the user) is a one-line error naming the limit,
/// never a panic, whatever step it stops, and leaves no process or segment. Root is not held to
/// the limit, so as root the runs are made as `nobody` (setpriv); the test says so and skips
/// when that cannot be arranged.
#[test]
fn a_low_process_limit_is_a_clear_error_and_leaves_nothing() {
    use std::os::unix::fs::MetadataExt;
    const NOBODY: u32 = 65534;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        eprintln!("skipped: needs root to run as a user whose process count is known");
        return;
    }
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(args)
            .current_dir("/")
            .output()
    };
    match as_nobody(&[common::BIN, "--version"]) {
        Ok(o) if o.status.success() => {}
        _ => {
            eprintln!("skipped: setpriv or a binary that `nobody` may run is missing");
            return;
        }
    }
    let nobodys = || -> Vec<String> {
        let procs = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter(|e| e.metadata().is_ok_and(|m| m.uid() == NOBODY))
            .map(|e| format!("pid {}", e.file_name().to_string_lossy()));
        let segs = std::fs::read_dir("/dev/shm")
            .expect("/dev/shm")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("mpviz-"))
            .filter(|e| e.metadata().is_ok_and(|m| m.uid() == NOBODY))
            .map(|e| e.file_name().to_string_lossy().into_owned());
        procs.chain(segs).collect()
    };
    assert!(nobodys().is_empty(), "nobody has processes already");
    let mut refused = 0;
    for method in ["reexec", "fork"] {
        for scenario in [
            &["lock", "--interval-ms", "1"][..],
            &["pool", "--processes", "4"],
        ] {
            for limit in 1..=12 {
                let nproc = format!("--nproc={limit}");
                let mut args = vec!["prlimit", &nproc, "--", common::BIN, "run"];
                args.extend(scenario);
                args.extend(["--start-method", method, "--json"]);
                let out = as_nobody(&args).expect("setpriv");
                let err = String::from_utf8_lossy(&out.stderr);
                let json = String::from_utf8_lossy(&out.stdout);
                let what = format!("{scenario:?} {method} under ulimit -u {limit}: {err}");
                assert!(!err.contains("panicked"), "{what}");
                assert!(!json.contains("panicked"), "{what}: {json}");
                match out.status.code() {
                    Some(0) => {}
                    // Refused before the run (one line on stderr), or a worker that could not
                    // start a thread reported it in the run's own output.
                    Some(1) => {
                        refused += 1;
                        if err.is_empty() {
                            assert!(json.contains("ulimit -u"), "{what}: {json}");
                        } else {
                            assert_eq!(err.lines().count(), 1, "{what}");
                            assert!(err.contains("ulimit -u"), "{what}");
                        }
                    }
                    other => panic!("{what}: exit {other:?}"),
                }
                let left = nobodys();
                assert!(left.is_empty(), "{what}: left {left:?}");
            }
        }
    }
    assert!(refused > 0, "some limit was low enough to refuse a run");
}
