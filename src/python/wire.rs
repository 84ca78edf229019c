//! The run's socket: one connection per Python process, a hello and a worker number, then
//! its events as JSON lines and binary records (see the module above for the protocol).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};

use crossbeam_channel::Sender;

use super::output::{HelloDue, Outputs};
use super::record;
use super::steer::Steer;
use crate::runtime::clock::now_ns;
use crate::runtime::{Envelope, EventKind};

/// The most events one line may hold (a longer line is a broken sender, dropped).
const MAX_LINE: usize = 1 << 20;

/// Accepts connections until `stop`; each gets a reader thread. Returns when every reader has
/// finished (their processes are gone by then: the caller stops us after killing the group).
pub fn serve(
    listener: UnixListener,
    tx: &Sender<Envelope>,
    stop: &AtomicBool,
    dropped: &Arc<AtomicU64>,
    steer: &Arc<Steer>,
    outputs: &Arc<Outputs>,
) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let next = Arc::new(AtomicU16::new(1));
    let mut readers = Vec::new();
    let _ = listener.set_nonblocking(true);
    loop {
        let ready = {
            let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(50u16)).unwrap_or(0) > 0
        };
        // Accept all that are waiting, even when told to stop (a last process's connection).
        if ready {
            while let Ok((conn, _)) = listener.accept() {
                let (tx, next, counted) = (tx.clone(), next.clone(), dropped.clone());
                let (steer, outputs) = (steer.clone(), outputs.clone());
                let due = outputs.taken();
                match std::thread::Builder::new()
                    .spawn(move || read_process(conn, &tx, &next, &counted, &steer, &outputs, due))
                {
                    Ok(h) => readers.push(h),
                    Err(_) => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        outputs.swept();
        if stop.load(Ordering::Relaxed) && !ready {
            break;
        }
    }
    for r in readers {
        let _ = r.join();
    }
}

/// One process's stream: its hello, then its events until it closes.
fn read_process(
    conn: UnixStream,
    tx: &Sender<Envelope>,
    next: &AtomicU16,
    dropped: &AtomicU64,
    steer: &Steer,
    outputs: &Outputs,
    due: HelloDue,
) {
    let _ = conn.set_nonblocking(false);
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(conn);
    let mut line = String::new();
    if lines.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let Ok(hello) = serde_json::from_str::<serde_json::Value>(&line) else {
        return;
    };
    let Some(pid) = hello["pid"].as_i64().map(|p| p as i32) else {
        return;
    };
    // A program thread's own connection: a worker of its own, known by its thread id (its
    // own CPU time is /proc/TID/stat); what it prints is its process's.
    let thread = hello.get("thread").is_some();
    let pid = match hello["tid"].as_i64() {
        Some(tid) if thread => tid as i32,
        _ => pid,
    };
    let worker = next.fetch_add(1, Ordering::Relaxed);
    // Before it hears its number, so before it prints anything as this worker.
    if !thread {
        outputs.known(pid, worker);
    }
    drop(due);
    // It does not wait for the reply, so it may be gone already (killed, or quick): what it
    // sent is still to be read.
    let _ = writeln!(writer, "{worker}");
    // Its start: when it said hello (before any event it stamps), or when we heard it.
    let at = hello["t_ns"].as_u64().unwrap_or_else(now_ns);
    let envelope = |kind, t_ns| Envelope {
        kind,
        worker,
        pid,
        t_ns,
    };
    for kind in [
        EventKind::Spawned {
            method: if thread { "thread" } else { "python" }.into(),
        },
        EventKind::Started,
    ] {
        let _ = tx.send(envelope(kind, at));
    }
    let mut said_exit = false;
    let mut rec = [0u8; 64];
    // One record's or line's events (a record may be two), reused from one to the next.
    let mut events = Vec::with_capacity(2);
    while let Ok(&[tag, ..]) = lines.fill_buf() {
        // A binary record (its tag says how long it is), or a JSON line.
        let whole = if let Some(n) = record::size(tag) {
            if lines.read_exact(&mut rec[..n]).is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
                break;
            }
            record::decode(&rec[..n], |kind, t_ns| events.push(envelope(kind, t_ns)))
        } else {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) if n > MAX_LINE => false,
                Ok(_) => event_of(&line, worker, pid)
                    .map(|e| events.push(e))
                    .is_some(),
            }
        };
        if !whole {
            dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        for mut e in events.drain(..) {
            if matches!(e.kind, EventKind::Exit { .. }) {
                said_exit = true;
                // What it printed before it ended is shown before its end.
                e.t_ns = e.t_ns.max(outputs.before_end_of(worker, pid, tx));
            }
            // Known to wait before anyone can see it does (and let it go), or let go at once
            // if step mode is off.
            if matches!(e.kind, EventKind::Gate { .. }) {
                steer.arrived(worker, &writer);
            }
            if tx.send(e).is_err() {
                return;
            }
        }
    }
    steer.gone(worker);
    // The script's own process is given its exit by the caller, from its real status; any
    // other that closed without saying how it ended (killed, `os._exit`) ended unsaid.
    if !said_exit && worker != 1 {
        outputs.before_end_of(worker, pid, tx);
        let _ = tx.send(envelope(
            EventKind::Exit {
                code: None,
                signal: None,
            },
            now_ns(),
        ));
    }
}

/// One JSON line as an event of `worker` (the line's own worker and pid, if any, are ignored).
/// Parsed straight into the event (no intermediate JSON tree: this runs for every read and
/// write a Python process makes).
fn event_of(line: &str, worker: u16, pid: i32) -> Option<Envelope> {
    #[derive(serde::Deserialize)]
    struct When {
        t_ns: u64,
    }
    let line = line.trim();
    let kind: EventKind = serde_json::from_str(line).ok()?;
    let When { t_ns } = serde_json::from_str(line).ok()?;
    Some(Envelope {
        kind,
        worker,
        pid,
        t_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_becomes_the_connections_event() {
        let e = event_of(
            r#"{"type":"write","cell":257,"index":0,"old":0,"new":1,"seq":1,"from":{"worker":0,"seq":0},"replaced":{"worker":0,"seq":0},"t_ns":5,"worker":9}"#,
            3,
            42,
        )
        .expect("an event");
        assert_eq!((e.worker, e.pid, e.t_ns), (3, 42, 5));
        assert!(matches!(
            e.kind,
            EventKind::Write {
                cell: 257,
                seq: 1,
                ..
            }
        ));
        assert!(event_of("{\"type\":\"nonsense\"}", 1, 1).is_none());
        assert!(event_of("not json", 1, 1).is_none());
    }
}
