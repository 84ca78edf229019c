//! Steering a traced program while it runs: its pace and its step gates. The run's directory
//! holds a small file, `steer`, that every process of the program maps read-only (a fork
//! child keeps the parent's mapping, a spawned child maps it again): bytes 0..8 are the factor
//! `time.sleep` intervals are multiplied by (an f64, little-endian), byte 8 is 1 while step
//! mode is on. A process that reaches a shared read or write with step mode on sends a `gate`
//! event and waits for one byte, `g`, on its own connection: mpviz writes it when the user
//! lets that process go, or when step mode is turned off.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Mutex;

/// The file's size in bytes.
pub const SIZE: usize = 16;

#[derive(Debug, Default)]
struct State {
    file: Option<File>,
    /// Interval factor (1 = as written; 0.5 = twice as fast).
    interval: f64,
    gates: bool,
    /// Per process: its connection, and how many of its threads wait at a gate.
    waiting: HashMap<u16, (UnixStream, u32)>,
}

/// The steering of one run, shared by the UI's commands and the connections' readers.
#[derive(Debug)]
pub struct Steer(Mutex<State>);

impl Default for Steer {
    fn default() -> Self {
        Steer(Mutex::new(State {
            interval: 1.0,
            ..State::default()
        }))
    }
}

impl Steer {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the run's steering file in `dir` (fresh: a planted one is refused) and writes the
    /// settings made so far into it.
    pub fn create(&self, dir: &Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dir.join("steer"))?;
        file.set_len(SIZE as u64)?;
        let mut s = self.state();
        s.file = Some(file);
        write(&s);
        Ok(())
    }

    /// The run is over: its file is gone with the directory, and no one waits any more.
    pub fn close(&self) {
        let mut s = self.state();
        s.file = None;
        s.waiting.clear();
    }

    /// Intervals are multiplied by `factor` (from now on, in every process).
    pub fn set_interval(&self, factor: f64) {
        let mut s = self.state();
        s.interval = factor;
        write(&s);
    }

    /// Step mode on or off; off lets every waiting process go.
    pub fn set_gates(&self, on: bool) {
        let mut s = self.state();
        s.gates = on;
        write(&s);
        if !on {
            for (conn, n) in s.waiting.values_mut() {
                while *n > 0 {
                    let _ = conn.write_all(b"g");
                    *n -= 1;
                }
            }
        }
    }

    /// Process `worker` waits at a gate, on `conn`. If step mode went off in the meantime, it
    /// is let go at once.
    pub fn arrived(&self, worker: u16, conn: &UnixStream) {
        let mut s = self.state();
        if !s.gates {
            let _ = (&*conn).write_all(b"g");
            return;
        }
        match s.waiting.get_mut(&worker) {
            Some((_, n)) => *n += 1,
            None => {
                if let Ok(c) = conn.try_clone() {
                    s.waiting.insert(worker, (c, 1));
                }
            }
        }
    }

    /// Lets `worker` past the gate it waits at; false if it waits at none.
    pub fn release(&self, worker: u16) -> bool {
        let mut s = self.state();
        match s.waiting.get_mut(&worker) {
            Some((conn, n)) if *n > 0 => {
                *n -= 1;
                conn.write_all(b"g").is_ok()
            }
            _ => false,
        }
    }

    /// The process has closed its connection.
    pub fn gone(&self, worker: u16) {
        self.state().waiting.remove(&worker);
    }
}

fn write(s: &State) {
    if let Some(f) = &s.file {
        let mut bytes = [0u8; SIZE];
        bytes[..8].copy_from_slice(&s.interval.to_le_bytes());
        bytes[8] = s.gates as u8;
        let _ = f.write_all_at(&bytes, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_gate_waits_for_its_release_and_step_off_lets_everyone_go() {
        let dir = std::env::temp_dir().join(format!(
            "mpviz-steer-test-{}-{}",
            std::process::id(),
            crate::runtime::shm::random_hex()
        ));
        std::fs::create_dir(&dir).expect("steer test");
        let steer = Steer::default();
        steer.create(&dir).expect("steer test");
        steer.set_gates(true);
        steer.set_interval(0.5);
        let bytes = std::fs::read(dir.join("steer")).expect("steer test");
        assert_eq!(
            f64::from_le_bytes(bytes[..8].try_into().expect("steer test")),
            0.5
        );
        assert_eq!(bytes[8], 1);
        let (ours, mut theirs) = UnixStream::pair().expect("steer test");
        assert!(!steer.release(2), "no one waits yet");
        steer.arrived(2, &ours);
        steer.arrived(2, &ours);
        assert!(steer.release(2));
        let mut b = [0u8; 1];
        theirs.read_exact(&mut b).expect("steer test");
        assert_eq!(&b, b"g");
        steer.set_gates(false);
        theirs.read_exact(&mut b).expect("steer test");
        assert_eq!(&b, b"g", "step off lets the second waiter go");
        assert!(!steer.release(2));
        // Arriving while step mode is off: let go at once.
        steer.arrived(3, &ours);
        theirs.read_exact(&mut b).expect("steer test");
        assert_eq!(std::fs::read(dir.join("steer")).expect("steer test")[8], 0);
        std::fs::remove_dir_all(&dir).expect("steer test");
    }
}
