//! The real binary in a real pseudo-terminal: pick the lock scenario, let it run, pause,
//! resume, quit; then check the screen, the restored terminal, and that nothing is left.

mod common;

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    /// Waits (with a deadline) until the screen satisfies `pred`.
    fn wait_for(&self, what: &str, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.text();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{text}"
            );
            // A polling interval while the UI redraws, not a synchronisation.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Pids whose parent is `ppid`.
fn children_of(ppid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.split_whitespace().nth(1).map(str::to_string))
                })
                .flatten()
                .and_then(|p| p.parse::<i32>().ok())
                == Some(ppid)
        })
        .collect()
}

fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

#[test]
fn sigterm_while_a_run_is_live_restores_the_terminal_and_cleans_up() {
    common::adopt_orphans();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(common::BIN);
    cmd.args(["ui", "--scenario", "lock"]);
    cmd.env("TERM", "xterm-256color");
    let mut child = pty
        .slave
        .spawn_command(cmd)
        .expect("spawn mpviz in the pty");
    drop(pty.slave);
    let mpviz = child.process_id().expect("pid") as i32;
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        NonZeroU16::new(24).expect("rows"),
        NonZeroU16::new(80).expect("cols"),
        0,
    )));
    let p2 = parser.clone();
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p2.lock().expect("parser").process(&buf[..n]);
        }
    });
    let screen = Screen {
        parser: parser.clone(),
        raw: Arc::new(Mutex::new(Vec::new())),
    };
    screen.wait_for("a live run", Duration::from_secs(20), |s| {
        s.contains("without the lock")
    });
    let workers = children_of(mpviz);
    assert!(!workers.is_empty());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(mpviz),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "mpviz did not leave on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(pty.master);
    let _ = pump.join();
    let p = parser.lock().expect("parser");
    assert!(
        !p.screen().alternate_screen() && !p.screen().hide_cursor(),
        "terminal not restored"
    );
    common::assert_no_processes(&workers);
    assert!(common::segments_of(mpviz).is_empty());
}

#[test]
fn lock_scenario_runs_pauses_resumes_and_quits_cleanly() {
    common::adopt_orphans();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(common::BIN);
    cmd.env("TERM", "xterm-256color");
    let mut child = pty
        .slave
        .spawn_command(cmd)
        .expect("spawn mpviz in the pty");
    // Only the child keeps the slave side open, so reading the master ends when it exits.
    drop(pty.slave);
    let mpviz = child.process_id().expect("pid") as i32;
    let tty = pty.master.tty_name().expect("tty name");
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let mut keys = pty.master.take_writer().expect("writer");
    let screen = Screen {
        parser: Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(24).expect("rows"),
            NonZeroU16::new(80).expect("cols"),
            0,
        ))),
        raw: Arc::new(Mutex::new(Vec::new())),
    };
    let (parser, raw) = (screen.parser.clone(), screen.raw.clone());
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            parser.lock().expect("parser").process(&buf[..n]);
            raw.lock().expect("raw").extend_from_slice(&buf[..n]);
        }
    });
    let long = Duration::from_secs(20);
    let mut press = |k: &[u8]| keys.write_all(k).expect("key");

    screen.wait_for("the picker", long, |s| {
        s.contains("§1.7") && s.contains("lock")
    });
    press(b"6");
    // Slow it down (x0.25) so there is time to pause in the middle of the unlocked run.
    press(b"--");
    let text = screen.wait_for("the lock scenario", long, |s| {
        s.contains("without the lock") && s.contains("CPU per core") && s.contains("×0.25")
    });
    assert!(
        text.contains("  0 [") && text.contains("  1 ["),
        "a bar per core:\n{text}"
    );
    let workers = children_of(mpviz);
    assert_eq!(workers.len(), 2, "two live workers: {workers:?}");

    press(b" ");
    let text = screen.wait_for("the paused state", long, |s| {
        s.contains("PAUSED") && s.contains("paused (SIGSTOP)")
    });
    assert!(text.contains("PAUSED"));
    for pid in &workers {
        assert_eq!(
            proc_state(*pid),
            Some('T'),
            "worker {pid} is stopped by SIGSTOP"
        );
    }

    press(b" ");
    screen.wait_for("the run going on", long, |s| {
        s.contains("running") && !s.contains("PAUSED")
    });
    for pid in &workers {
        assert_ne!(proc_state(*pid), Some('T'), "worker {pid} continues");
    }

    // Resize: below the minimum a notice, back up the screens again; never a crash.
    let resize = |rows: u16, cols: u16| {
        pty.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
        screen.parser.lock().expect("parser").screen_mut().set_size(
            NonZeroU16::new(rows).expect("rows"),
            NonZeroU16::new(cols).expect("cols"),
        );
    };
    resize(10, 40);
    screen.wait_for("the too-small notice", long, |s| {
        s.contains("terminal too small")
    });
    resize(48, 160);
    screen.wait_for("the large layout", long, |s| {
        s.contains("CPU per core") && s.contains("mp_lock.py")
    });
    resize(24, 80);
    screen.wait_for("the 80x24 layout", long, |s| {
        s.contains("CPU per core") && !s.contains("terminal too small")
    });

    press(b"q");
    let deadline = Instant::now() + long;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(Instant::now() < deadline, "mpviz did not quit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    // Cooked mode again: canonical input and echo, as the shell expects.
    let f = std::fs::File::open(&tty).expect("open the pty's terminal side");
    let lf = nix::sys::termios::tcgetattr(&f)
        .expect("termios")
        .local_flags;
    use nix::sys::termios::LocalFlags;
    assert!(
        lf.contains(LocalFlags::ICANON) && lf.contains(LocalFlags::ECHO),
        "not in cooked mode: {lf:?}"
    );
    drop(f);
    drop(pty.master);
    let _ = pump.join();

    // The terminal is back: primary screen, cursor shown, cooked mode.
    let parser = screen.parser.lock().expect("parser");
    assert!(
        !parser.screen().alternate_screen(),
        "still on the alternate screen"
    );
    assert!(!parser.screen().hide_cursor(), "the cursor is still hidden");
    let raw = screen.raw.lock().expect("raw");
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).to_string();
    assert!(
        tail.contains("\u{1b}[?1049l"),
        "left the alternate screen: {tail:?}"
    );

    // Nothing of the run is left.
    common::assert_no_processes(&workers);
    assert!(
        common::segments_of(mpviz).is_empty(),
        "segments left: {:?}",
        common::segments_of(mpviz)
    );
}
