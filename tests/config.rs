//! Settings that stick, as a teacher meets them in a real pseudo-terminal: changed in the UI,
//! kept with `S`, there again at the next start; a flag still wins; a damaged file is named
//! with its line and mpviz starts anyway, with the defaults for what it could not read.

mod common;

use common::pty::Session;

fn theme_shown(name: &str) -> impl Fn(&str) -> bool + '_ {
    move |t: &str| t.contains(&format!("t theme ({name})"))
}

/// Starts mpviz with its config home at `home`, waits for the picker to show `theme`, and
/// returns the session (with the screen at that point).
fn start(home: &std::path::Path, args: &[&str], theme: &str) -> (Session, String) {
    let home = home.to_str().expect("utf-8 path");
    let s = Session::start_with(args, &[("XDG_CONFIG_HOME", home)]);
    let text = s.wait_for(&format!("the picker in theme {theme}"), theme_shown(theme));
    (s, text)
}

fn quit(mut s: Session) {
    s.press(b"q");
    assert!(s.wait_exit(), "mpviz exits 0");
    s.assert_terminal_restored();
}

#[test]
fn settings_kept_in_the_ui_are_there_at_the_next_start() {
    let home = std::env::temp_dir().join(format!("mpviz-config-pty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let file = home.join("mpviz").join("config.toml");

    // No file yet: the defaults. The teacher picks high contrast, samples faster, keeps it.
    let (mut s, _) = start(&home, &[], "default");
    s.press(b"tt");
    s.wait_for("high contrast", theme_shown("high-contrast"));
    s.press(b"]");
    s.wait_for("the faster refresh", |t| t.contains("every 125 ms"));
    s.press(b"S");
    s.wait_for("the settings kept", |t| t.contains("settings kept in"));
    quit(s);
    let text = std::fs::read_to_string(&file).expect("the UI wrote the config file");
    assert!(text.contains("theme = \"high-contrast\""), "{text}");
    assert!(text.contains("refresh_ms = 125"), "{text}");

    // Next start: as kept. A flag given on the command line still wins over the file.
    let (s, _) = start(&home, &[], "high-contrast");
    quit(s);
    let (s, _) = start(&home, &["ui", "--theme", "light"], "light");
    quit(s);
    // --no-config: neither read nor written.
    let (mut s, _) = start(&home, &["ui", "--no-config"], "default");
    s.press(b"S");
    s.wait_for("no file to write", |t| {
        t.contains("no config file to write")
    });
    quit(s);

    // A damaged setting: named with its file and line; the good one is kept; mpviz runs.
    std::fs::write(&file, "theme = \"light\"\nrefresh_ms = \"fast\"\n").expect("damage");
    let (s, text) = start(&home, &[], "light");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("config.toml line 2: refresh_ms"), "{text}");
    quit(s);
    // Not TOML at all: the line, and every setting at its default.
    std::fs::write(&file, "theme = \"light\"\nrefresh_ms = = 3\n").expect("damage");
    let (s, text) = start(&home, &[], "default");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("config.toml line 2:"), "{text}");
    quit(s);
    // A file given with --config that is not there is said, not fatal.
    let elsewhere = home.join("nowhere.toml");
    let (s, text) = start(
        &home,
        &["ui", "--config", elsewhere.to_str().expect("utf-8")],
        "default",
    );
    assert!(text.contains("no such file"), "{text}");
    quit(s);
    let _ = std::fs::remove_dir_all(&home);
}
