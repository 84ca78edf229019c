//! The tutorial's Python for each scenario (our own versions, runnable with python3, in
//! `assets/python/`), and which line matches what the run is doing now.
//!
//! A line ends with a marker comment `# @KEY`; the UI highlights the line whose key is a prefix
//! of the current activity (a parent phase such as `map(job, range(10))`, or a worker event
//! such as `write`). Markers are stripped before display.

/// The Python program re-enacted by scenario `name`.
pub fn python(name: &str) -> &'static str {
    match name {
        "process" => include_str!("../../assets/python/mp_process.py"),
        "queue" => include_str!("../../assets/python/mp_queue.py"),
        "compare" => include_str!("../../assets/python/mp_compare.py"),
        "pool" => include_str!("../../assets/python/mp_pool.py"),
        "shared" => include_str!("../../assets/python/mp_shared.py"),
        "lock" => include_str!("../../assets/python/mp_lock.py"),
        _ => "",
    }
}

/// A line of code without its marker, and the marker's key.
pub fn split_marker(line: &str) -> (&str, Option<&str>) {
    match line.rfind("# @") {
        Some(i) => (line[..i].trim_end(), Some(line[i + 3..].trim())),
        None => (line, None),
    }
}

/// The index of the line whose marker matches `activity` (its key is a prefix of it).
pub fn line_for(code: &str, activity: &str) -> Option<usize> {
    if activity.is_empty() {
        return None;
    }
    code.lines()
        .position(|l| split_marker(l).1.is_some_and(|k| activity.starts_with(k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_its_python_and_markers_match() {
        for s in super::super::ALL {
            assert!(python(s.name).contains("multiprocessing"), "{}", s.name);
        }
        let lock = python("lock");
        let write = line_for(lock, "write").expect("write marker");
        assert!(
            lock.lines()
                .nth(write)
                .is_some_and(|l| l.contains("v.value += num"))
        );
        let pool = python("pool");
        assert!(line_for(pool, "map(job, range(10))").is_some());
        assert!(line_for(pool, "apply_async(job, (2, 3, 4))").is_some());
        assert_eq!(
            split_marker("    x = 1  # @foo"),
            ("    x = 1", Some("foo"))
        );
        assert_eq!(line_for(lock, "nothing like it"), None);
    }
}
