//! A traced program that deadlocks: the screen says who waits for whom, and ending it leaves
//! nothing — no process and none of its named semaphores in /dev/shm. (A test binary of its
//! own: /dev/shm is compared before and after, with no other program running meanwhile.)

mod common;

fn shm() -> std::collections::BTreeSet<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_deadlock_is_shown_as_a_ring_and_ending_it_leaves_nothing() {
    if !common::python_here() {
        return;
    }
    let script = format!(
        "{}/tests/python/users/deadlock.py",
        env!("CARGO_MANIFEST_DIR")
    );
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
        let alive: Vec<_> = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("deadlock.py"))
            })
            .map(|e| e.file_name())
            .collect();
        assert!(alive.is_empty(), "{method}: still running: {alive:?}");
    }
}
