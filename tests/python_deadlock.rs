//! A traced program that deadlocks: the screen says who waits for whom, and ending it leaves
//! nothing — no process and none of its named semaphores in /dev/shm. (A test binary of its
//! own: /dev/shm is compared before and after, with no other program running meanwhile; its
//! tests take turns.)

mod common;

/// Held by each test for its whole length: one program at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn shm() -> std::collections::BTreeSet<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The fixture's path.
fn script() -> String {
    format!(
        "{}/tests/python/users/deadlock.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Processes running the fixture, by pid.
fn still_running() -> Vec<std::ffi::OsString> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("deadlock.py"))
        })
        .map(|e| e.file_name())
        .collect()
}

#[test]
fn a_deadlock_is_shown_as_a_ring_and_ending_it_leaves_nothing() {
    if !common::python_here() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let script = script();
    let out = std::env::temp_dir().join(format!("mpviz-deadlock-{}.txt", std::process::id()));
    let path = out.display().to_string();
    for method in ["fork", "spawn", "forkserver"] {
        let before = shm();
        let run = common::run(&[
            "snapshot", "--when", "deadlock", "--size", "80x24", "--out", &path, "python", &script,
            method,
        ]);
        assert_eq!(run.code, Some(0), "{method}: {}", run.stderr);
        let text = std::fs::read_to_string(&out).expect("the picture");
        let _ = std::fs::remove_file(&out);
        for part in [
            "Deadlock: 2 workers wait for each other's locks",
            "waits for Lock lb, held by",
            "waits for Lock la, held by",
            "waiting for lock",
        ] {
            assert!(text.contains(part), "{method}: {part:?} in:\n{text}");
        }
        let left: Vec<_> = shm().difference(&before).cloned().collect();
        assert!(left.is_empty(), "{method}: left in /dev/shm: {left:?}");
        let alive = still_running();
        assert!(alive.is_empty(), "{method}: still running: {alive:?}");
    }
}

/// Headless, the deadlock is said once on stderr (stdout stays the run's events), and Ctrl-C
/// then ends the program and leaves nothing.
#[test]
fn headless_the_deadlock_is_said_and_ctrl_c_ends_it() {
    use std::io::BufRead;
    if !common::python_here() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let script = script();
    let before = shm();
    let mut child = std::process::Command::new(common::BIN)
        .args(["python", "--json", &script, "spawn"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpviz");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut said = String::new();
    while err.read_line(&mut said).expect("stderr") > 0 && !said.contains("deadlock:") {}
    assert!(
        said.contains("waits for Lock la, held by worker")
            && said.contains("waits for Lock lb, held by worker"),
        "{said}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    let status = child.wait().expect("mpviz ends");
    assert!(!status.success(), "interrupted: {rest}");
    assert_eq!(rest.matches("deadlock:").count(), 0, "said once: {rest}");
    let left: Vec<_> = shm().difference(&before).cloned().collect();
    assert!(left.is_empty(), "left in /dev/shm: {left:?}");
    let alive = still_running();
    assert!(alive.is_empty(), "still running: {alive:?}");
}
