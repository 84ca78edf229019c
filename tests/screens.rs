//! Every scenario as a class sees it, in a real pseudo-terminal at 80x24 (a projector) and
//! 160x48: the run ends with its verdict in the header, no panel is shown twice, every worker
//! can be reached, and the lines that say what happened are whole, never cut at a border.

mod common;

use common::pty::Session;

/// The titles of the panels on a screen (the text after a top-left corner).
fn panel_titles(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        for (i, _) in line.match_indices("┌ ") {
            let rest = &line[i + "┌ ".len()..];
            let title = rest.split(" ─").next().unwrap_or("").trim();
            // Counts and times change between frames; the words name the panel.
            let words: String = title
                .split([':', '(', '—'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            out.push(words);
        }
    }
    out
}

/// A line inside a panel that runs into the right border without a space: text was cut.
fn cut_lines(text: &str, needles: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .filter(|l| {
            let cs: Vec<char> = l.trim_end().chars().collect();
            cs.len() >= 2 && cs[cs.len() - 1] == '│' && !cs[cs.len() - 2].is_whitespace()
        })
        .map(str::to_string)
        .collect()
}

/// Each scenario, the parameters that keep it short, and what its screen must say whole at the
/// end (the tutorial's claims, the child's last stage).
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const CASES: [Case; 6] = [
    (
        "process",
        &["--pace-ms", "200"],
        &[
            "the child is a process of its own",
            "join() waits for the child to finish",
            "p1.join() returns: the parent reaped",
        ],
    ),
    (
        "queue",
        &["--pace-ms", "200"],
        &["q.get() gives the parent every result put"],
    ),
    (
        "compare",
        &["--seconds", "0.3"],
        &[
            "2 processes take about half of normal's time",
            "2 threads under a GIL take about normal's time",
        ],
    ),
    (
        "pool",
        &["--task-ms", "50", "--processes", "6"],
        &["apply_async(job, (2,)).get() → 4"],
    ),
    ("shared", &[], &["every process writes the same cells"]),
    (
        "lock",
        &["--interval-ms", "20", "--steps", "6"],
        &[
            "without the lock, updates can be lost",
            "with the lock: exact, one block each",
        ],
    ),
];

fn look_at_every_scenario(rows: u16, cols: u16) {
    for (name, extra, whole) in CASES {
        let mut args = vec!["ui", name];
        args.extend_from_slice(extra);
        let mut s = Session::start(&args);
        s.resize(rows, cols);
        let what = format!("{name} at {cols}x{rows} to end");
        let text = s.wait_for(&what, |t| {
            t.lines().next().is_some_and(|h| h.contains("done"))
                && t.lines()
                    .next()
                    .is_some_and(|l| l.chars().count() <= cols as usize)
                && t.lines().all(|l| l.chars().count() <= cols as usize)
                && t.lines().count() <= rows as usize
                && whole.iter().all(|p| t.contains(p))
        });
        let header = text.lines().next().unwrap_or_default();
        assert!(
            header.contains(&format!(" {name} ")) && header.contains("done"),
            "{name} {cols}x{rows}: {header}"
        );
        // No panel twice.
        let titles = panel_titles(&text);
        for t in &titles {
            assert_eq!(
                titles.iter().filter(|x| *x == t).count(),
                1,
                "{name} {cols}x{rows}: panel {t:?} shown twice:\n{text}"
            );
        }
        // What the run says happened is whole: each phrase on one line, and the one-line
        // captions never run into the border.
        for phrase in whole {
            assert!(
                text.contains(phrase),
                "{name} {cols}x{rows}: {phrase:?} is not whole:\n{text}"
            );
        }
        let cut = cut_lines(&text, &["✗ lost", "lost to"]);
        assert!(
            cut.is_empty(),
            "{name} {cols}x{rows}: cut lines {cut:#?}\n{text}"
        );
        // Every worker can be reached: scroll the list to its end when some are hidden.
        if text.contains("for the other") {
            for _ in 0..20 {
                s.press(b"\x1b[B");
            }
            // The last worker by its glyph and number: compare has five, the pool six.
            let last = match name {
                "pool" => "✚6",
                _ => "★5",
            };
            let row = |t: &str| t.lines().any(|l| l.contains(last) && l.contains("exited"));
            assert!(!row(&text), "{name}: {last} was hidden:\n{text}");
            s.wait_for("the last worker after scrolling", row);
        }
        s.press(b"q");
        assert!(s.wait_exit(), "{name}: q exits with status 0");
        s.assert_terminal_restored();
    }
}

#[test]
fn every_scenario_is_whole_at_80x24() {
    look_at_every_scenario(24, 80);
}

#[test]
fn every_scenario_is_whole_at_160x48() {
    look_at_every_scenario(48, 160);
}
