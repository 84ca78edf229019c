//! Promises that need a namespace of their own (root, `unshare`): skipped with a message
//! where it cannot be set up, run and passing on a machine like CI's.
//!
//! - A full `/dev/shm` (a 64 KiB tmpfs in a mount namespace) is a one-line refusal that says
//!   how much was needed, with nothing started and nothing left, not a SIGBUS.
//! - A run in another pid namespace that shares `/dev/shm` never sweeps a live run's segment
//!   (the creator's lock says who is alive, not the pid in its name).

mod common;

use std::process::Command;

/// Runs `script` under `unshare ARGS sh -c`, or `None` when namespaces cannot be made here.
fn in_namespace(args: &[&str], script: &str) -> Option<std::process::Output> {
    let probe = Command::new("unshare")
        .args(args)
        .arg("true")
        .output()
        .ok()?;
    if !probe.status.success() {
        eprintln!(
            "skipped: `unshare {}` is not allowed here ({})",
            args.join(" "),
            String::from_utf8_lossy(&probe.stderr).trim()
        );
        return None;
    }
    Command::new("unshare")
        .args(args)
        .args(["sh", "-c", script])
        .output()
        .ok()
}

#[test]
fn a_full_dev_shm_is_a_clear_refusal() {
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs /dev/shm || exit 77; \
         {} run pool --map-n 1000000; echo \"exit=$?\"; ls /dev/shm | grep -c mpviz",
        common::BIN
    );
    let Some(out) = in_namespace(&["-m"], &script) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(77) {
        eprintln!("skipped: cannot mount a tmpfs here: {stderr}");
        return;
    }
    assert!(stdout.contains("exit=1"), "{stdout} {stderr}");
    assert!(
        stdout.trim_end().ends_with('0'),
        "a segment was left: {stdout}"
    );
    assert!(
        stderr.contains("needs 8000") && stderr.contains("free there"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("signal"), "{stderr}");
}

#[test]
fn another_pid_namespace_never_sweeps_a_live_segment() {
    // A long lock run outside, and once its segment exists, a run inside a new pid namespace
    // (where the outer pid means nothing) that sweeps on start.
    let mut outer = common::spawn(&[
        "run",
        "lock",
        "--mode",
        "unlocked",
        "--interval-ms",
        "50",
        "--steps",
        "40",
        "--json",
    ]);
    let pid = outer.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while common::segments_of(pid).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the outer run made no segment"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let inner = in_namespace(
        &["-pf", "--mount-proc"],
        &format!("{} run process", common::BIN),
    );
    let still = common::segments_of(pid);
    let status = outer.wait().expect("wait");
    let Some(inner) = inner else {
        return;
    };
    assert!(
        inner.status.success(),
        "{}",
        String::from_utf8_lossy(&inner.stderr)
    );
    assert!(
        !still.is_empty(),
        "the inner run swept the outer run's live segment"
    );
    assert_eq!(status.code(), Some(0), "the outer run went on undisturbed");
}
