//! The run's keeper: what ends a Python program when mpviz itself cannot. mpviz kills and reaps
//! the program's process group and removes the run's directory on every path it lives through
//! (the end, an error, q, Ctrl-C, SIGTERM); a SIGKILL of mpviz leaves it no path at all. So
//! before the program starts, mpviz starts itself once more as `mpviz __keeper DIR`, a small
//! process that only reads a pipe from mpviz. It is told the program's group once the program
//! runs, and told when mpviz has killed the group itself. When the pipe closes (mpviz is done,
//! or dead — the kernel closes it either way) the keeper kills the group if it was not told it
//! is gone, removes the directory, and exits. It ignores the terminal's signals (Ctrl-C, a
//! closed terminal): it ends only when mpviz does.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Set in the keeper's environment by mpviz (a keeper started by hand refuses).
const KEEPER_ENV: &str = "MPVIZ_KEEPER";

/// mpviz's end of the keeper. Dropping it closes the pipe and waits for the keeper to finish.
pub struct Keeper {
    child: Child,
    pipe: Option<ChildStdin>,
}

impl Keeper {
    /// Starts the keeper of a run whose directory is (or will be) `dir`.
    pub fn start(dir: &Path) -> std::io::Result<Keeper> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg("__keeper")
            .arg(dir)
            .env(KEEPER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let pipe = child.stdin.take();
        Ok(Keeper { child, pipe })
    }

    /// The program runs in process group `group`: the keeper kills it if mpviz dies.
    pub fn watch(&self, group: Pid) {
        self.say(&format!("group {}\n", group.as_raw()));
    }

    /// mpviz has killed the group itself (its zombies still hold the number until reaped, so
    /// until then the keeper's kill could not reach anyone else).
    pub fn forget(&self) {
        self.say("gone\n");
    }

    fn say(&self, line: &str) {
        if let Some(mut p) = self.pipe.as_ref() {
            let _ = p.write_all(line.as_bytes());
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        drop(self.pipe.take());
        let _ = self.child.wait();
    }
}

/// Whether `dir` is a run directory this machine's mpviz makes (the keeper removes nothing
/// else).
fn is_run_dir(dir: &Path) -> bool {
    dir.parent() == Some(std::env::temp_dir().as_path())
        && dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("mpviz-py-"))
}

/// Entry point of `mpviz __keeper DIR`.
pub fn keeper_main() -> i32 {
    let dir = std::env::args_os().nth(2).map(PathBuf::from);
    let Some(dir) = dir.filter(|d| is_run_dir(d) && std::env::var_os(KEEPER_ENV).is_some()) else {
        eprintln!(
            "mpviz: `__keeper` is an internal part of `mpviz python` and is started by mpviz \
             itself; use `mpviz python SCRIPT`."
        );
        return 2;
    };
    // Heard and set aside (a flag no one reads): the keeper outlives the terminal's signals.
    let heard = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for s in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGQUIT,
    ] {
        let _ = signal_hook::flag::register(s, heard.clone());
    }
    let mut group: Option<Pid> = None;
    let mut lines = BufReader::new(std::io::stdin().lock());
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let said = line.trim();
        if said == "gone" {
            group = None;
        } else if let Some(g) = said.strip_prefix("group ") {
            group = g.parse::<i32>().ok().filter(|g| *g > 1).map(Pid::from_raw);
        }
    }
    if let Some(g) = group {
        end_group(g);
    }
    let _ = std::fs::remove_dir_all(&dir);
    0
}

/// Ends every process of the group: a SIGTERM, and up to a second for the group to empty (so
/// that multiprocessing's resource tracker, which ignores SIGTERM, can unlink the semaphores and
/// shared memory the program left once the rest are gone), then SIGKILL, again while any is
/// left (one may be forking), for at most two seconds. Whoever is their parent now reaps them
/// (mpviz is gone).
fn end_group(g: Pid) {
    if killpg(g, Signal::SIGTERM).is_ok() {
        let _ = killpg(g, Signal::SIGCONT);
        let deadline = Instant::now() + Duration::from_secs(1);
        while killpg(g, None).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while killpg(g, Signal::SIGKILL).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}
