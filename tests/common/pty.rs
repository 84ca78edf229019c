//! mpviz in a real pseudo-terminal, its output parsed by a terminal emulator (vt100): start it,
//! press keys, resize, signal it, and check the screen and the terminal it leaves behind.

use std::io::Write;
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const LONG: Duration = Duration::from_secs(20);

/// mpviz running in a pseudo-terminal, its output parsed by a terminal emulator.
pub struct Session {
    pub child: Box<dyn Child + Send + Sync>,
    master: Option<Box<dyn MasterPty + Send>>,
    keys: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    pump: Option<JoinHandle<()>>,
    /// Tells the pump to stop reading (so the master can be closed for a hang-up).
    stop_pump: Arc<std::sync::atomic::AtomicBool>,
    pub pid: i32,
}

fn size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

fn nz(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v).expect("non-zero size")
}

impl Session {
    pub fn start(args: &[&str]) -> Session {
        Session::start_with(args, &[])
    }

    /// Starts mpviz with extra environment variables.
    pub fn start_with(args: &[&str], envs: &[(&str, &str)]) -> Session {
        super::adopt_orphans();
        let pty = native_pty_system().openpty(size(24, 80)).expect("openpty");
        let mut cmd = CommandBuilder::new(super::BIN);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        // No config file of the machine's user changes what a test sees (a test that wants one
        // names its own place).
        cmd.env("XDG_CONFIG_HOME", "/nonexistent/mpviz-tests");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = pty
            .slave
            .spawn_command(cmd)
            .expect("spawn mpviz in the pty");
        // Only the child keeps the slave side open, so reading the master ends when it exits.
        drop(pty.slave);
        let pid = child.process_id().expect("pid") as i32;
        // The pump reads the master's own descriptor (no duplicate), polling so that it can be
        // told to stop: a hang-up needs every descriptor of the master closed.
        let fd = pty.master.as_raw_fd().expect("the master's descriptor");
        let keys = pty.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(24), nz(80), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let stop_pump = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, r, stop) = (parser.clone(), raw.clone(), stop_pump.clone());
        let pump = std::thread::spawn(move || {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            use std::os::fd::BorrowedFd;
            let mut buf = [0u8; 8192];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // The one `unsafe` outside src/runtime/sys.rs, in a test helper: portable-pty
                // gives the master's descriptor only as a number, and a real hang-up needs
                // this read to use it rather than a duplicate.
                // SAFETY: the master, which owns `fd`, is closed only after this thread has
                // been told to stop and has been joined (`hang_up`, `close`, drop).
                #[allow(unsafe_code)]
                let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
                let mut fds = [PollFd::new(bfd, PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(50u16)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => break,
                }
                match nix::unistd::read(bfd, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        p.lock().expect("parser").process(&buf[..n]);
                        r.lock().expect("raw").extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        Session {
            child,
            master: Some(pty.master),
            keys,
            parser,
            raw,
            pump: Some(pump),
            stop_pump,
            pid,
        }
    }

    pub fn text(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    /// Waits (with a deadline) until the screen satisfies `pred`.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LONG;
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

    pub fn press(&mut self, keys: &[u8]) {
        self.keys.write_all(keys).expect("key");
    }

    /// Resizes the terminal: the screen model first, then the pty. In the other order a frame
    /// the UI draws at the new size (after SIGWINCH) could be parsed at the old one, clipped,
    /// and never repainted (later frames only send the cells that change) — a garbled screen
    /// that no wait would see right.
    pub fn resize(&self, rows: u16, cols: u16) {
        self.parser
            .lock()
            .expect("parser")
            .screen_mut()
            .set_size(nz(rows), nz(cols));
        self.master
            .as_ref()
            .expect("master")
            .resize(size(rows, cols))
            .expect("resize");
    }

    /// Waits for mpviz to exit; returns whether it exited successfully.
    pub fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + LONG;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st.success();
            }
            assert!(Instant::now() < deadline, "mpviz did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Closes the terminal as a closing window does (the kernel hangs up the session), without
    /// waiting for anything.
    pub fn hang_up(&mut self) {
        self.stop_pump
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(p) = self.pump.take() {
            let _ = p.join();
        }
        self.keys = Box::new(std::io::sink());
        drop(self.master.take());
    }

    /// Closes our side of the terminal and waits until all output has been read.
    pub fn close(&mut self) {
        // The pump ends at the end of the output (the terminal side closes when mpviz exits);
        // only then is the master, whose descriptor it reads, closed.
        if let Some(p) = self.pump.take() {
            let _ = p.join();
        }
        drop(self.master.take());
    }

    /// Whether the pty's terminal side is in cooked mode (canonical input, echo), as a shell
    /// needs it; `None` when it cannot be asked.
    pub fn cooked(&self) -> Option<bool> {
        let tty = self.master.as_ref()?.tty_name()?;
        let f = std::fs::File::open(tty).ok()?;
        let lf = nix::sys::termios::tcgetattr(&f).ok()?.local_flags;
        use nix::sys::termios::LocalFlags;
        Some(lf.contains(LocalFlags::ICANON) && lf.contains(LocalFlags::ECHO))
    }

    /// The emulated screen's state: (alternate screen on, cursor hidden).
    pub fn screen_modes(&self) -> (bool, bool) {
        let parser = self.parser.lock().expect("parser");
        (
            parser.screen().alternate_screen(),
            parser.screen().hide_cursor(),
        )
    }

    /// After exit: the terminal is back (primary screen, cursor shown, cooked mode).
    pub fn assert_terminal_restored(&mut self) {
        if self.master.as_ref().and_then(|m| m.tty_name()).is_some() {
            assert_eq!(self.cooked(), Some(true), "not in cooked mode");
        }
        self.close();
        let (alternate, hidden) = self.screen_modes();
        assert!(!alternate, "still on the alternate screen");
        assert!(!hidden, "the cursor is still hidden");
        let raw = self.raw.lock().expect("raw");
        let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).to_string();
        assert!(
            tail.contains("\u{1b}[?1049l"),
            "left the alternate screen: {tail:?}"
        );
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The pump borrows the master's descriptor: stop it before the master closes.
        self.stop_pump
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(p) = self.pump.take() {
            let _ = p.join();
        }
    }
}

/// Pids whose parent is `ppid`.
pub fn children_of(ppid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid_field = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1));
            ppid_field.and_then(|p| p.parse::<i32>().ok()) == Some(ppid)
        })
        .collect()
}

pub fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}
