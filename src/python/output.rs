//! What the program's processes print. The program's stdout and stderr are each one end of a
//! Unix socket pair, inherited by every process of the run as a pipe would be; mpviz's end has
//! `SO_PASSCRED` on, so the kernel names the process behind every piece it reads (and never
//! joins two writers' bytes into one read). A line is shown as the worker of the process that
//! wrote it, in the order the processes wrote: one stream, one order, whoever writes. A
//! process does not wait for mpviz to read its hello, so its first lines may come before mpviz
//! knows it: they wait for its hello, and every line written after them waits behind them,
//! whoever wrote it (a parent's `joined` after its child's `abc`). A process the probe reaches
//! connects and sends its hello before its program runs, so the hello is in the kernel before
//! its first line: once mpviz has taken every connection that was waiting (two sweeps of the
//! socket begun after the line was read) and read each one's hello, a writer still unknown is
//! one the probe never reached, shown as its nearest ancestor that it did — decided by what
//! has been read, not by how long mpviz was kept from reading it on a loaded machine
//! (`STUCK` bounds the wait for a connection that never says hello).
//!
//! A stream is read by a thread of its own as bytes come, and also by a process's event reader
//! just before that reader passes on the process's exit: the process wrote its bytes before it
//! said it ended, so they are in the stream by then, and nothing it printed is shown after it
//! ended (its end is stamped no earlier than its last line was read: it really ended after).

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};

use crate::runtime::clock::now_ns;
use crate::runtime::event::Stream;
use crate::runtime::{Envelope, EventKind};

/// A line longer than this is shown in pieces of this size (a program that never prints a
/// newline still shows what it prints).
const MAX_LINE: usize = 64 * 1024;

/// The program's stdout and stderr, and which process is which worker.
pub struct Outputs {
    streams: [Mutex<OutStream>; 2],
    /// Process id to worker, from each connection's hello.
    workers: Mutex<HashMap<i32, u16>>,
    /// How many times the socket has been swept: every connection waiting taken.
    sweeps: AtomicU64,
    /// Connections taken whose hello has not been read yet.
    hellos_due: AtomicUsize,
}

impl Outputs {
    /// mpviz's ends of the program's stdout and stderr.
    pub fn new(stdout: UnixStream, stderr: UnixStream) -> std::io::Result<Outputs> {
        let stream = |sock: UnixStream, stream| -> std::io::Result<Mutex<OutStream>> {
            setsockopt(&sock, sockopt::PassCred, &true)?;
            sock.set_nonblocking(true)?;
            Ok(Mutex::new(OutStream {
                sock,
                stream,
                pending: HashMap::new(),
                writers: HashMap::new(),
                queue: std::collections::VecDeque::new(),
                last_ns: HashMap::new(),
                done: false,
            }))
        };
        Ok(Outputs {
            streams: [
                stream(stdout, Stream::Stdout)?,
                stream(stderr, Stream::Stderr)?,
            ],
            workers: Mutex::new(HashMap::new()),
            sweeps: AtomicU64::new(0),
            hellos_due: AtomicUsize::new(0),
        })
    }

    /// Process `pid` is `worker` (said before the process can print as it).
    pub fn known(&self, pid: i32, worker: u16) {
        if let Ok(mut w) = self.workers.lock() {
            w.insert(pid, worker);
        }
    }

    /// The socket's listener has taken every connection that was waiting (those taken were
    /// counted first, with `taken`).
    pub fn swept(&self) {
        self.sweeps.fetch_add(1, Ordering::SeqCst);
    }

    /// A connection was taken: its hello is due, until the guard returned goes (its hello
    /// read, and its process `known`, or the connection given up).
    pub fn taken(self: &Arc<Self>) -> HelloDue {
        self.hellos_due.fetch_add(1, Ordering::SeqCst);
        HelloDue(self.clone())
    }

    /// Whether every connection made before a writer first wrote (sweep count `sweep` then)
    /// has said its hello: a sweep begun after it has ended, and no hello is due. A sweep
    /// under way then may have begun before the writer's connection was waiting: two.
    fn all_hellos_read_since(&self, sweep: u64) -> bool {
        self.sweeps.load(Ordering::SeqCst) >= sweep + 2
            && self.hellos_due.load(Ordering::SeqCst) == 0
    }

    /// The writer's own worker, once its hello has been read.
    fn direct(&self, pid: i32) -> Option<u16> {
        self.workers.lock().ok()?.get(&pid).copied()
    }

    /// For a writer that never said hello (a process the probe did not reach): the nearest
    /// of its ancestors (`chain`, read when it first wrote) that did, or the script's.
    fn fallback(&self, chain: &[i32]) -> u16 {
        let Ok(known) = self.workers.lock() else {
            return 1;
        };
        chain
            .iter()
            .find_map(|p| known.get(p).copied())
            .unwrap_or(1)
    }

    /// Reads stream `which` (0 stdout, 1 stderr) as bytes come until it ends, or `stop` is
    /// set and nothing more is there (a stream a process outside the run still holds does not
    /// keep mpviz waiting).
    pub fn follow(&self, which: usize, tx: &Sender<Envelope>, stop: &AtomicBool) {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        loop {
            let Ok(mut s) = self.streams[which].lock() else {
                return;
            };
            if !s.drain(self, tx) || stop.load(Ordering::Relaxed) {
                s.finish(self, tx, None);
                return;
            }
            let holding = !s.queue.is_empty();
            // Wait without holding the stream: an event reader may drain it meanwhile.
            let fd = s.sock.as_fd().try_clone_to_owned();
            drop(s);
            let Ok(fd) = fd else { return };
            let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
            // Lines held for a writer not yet known are looked at again soon.
            let _ = poll(
                &mut fds,
                PollTimeout::from(if holding { 10u16 } else { 100 }),
            );
        }
    }

    /// Sends all that process `pid` (worker `worker`) printed and has not been shown yet,
    /// its unfinished last line too (it has ended). Returns the stamp of its last line (0:
    /// none).
    pub fn before_end_of(&self, worker: u16, pid: i32, tx: &Sender<Envelope>) -> u64 {
        let mut last = 0;
        for s in &self.streams {
            if let Ok(mut s) = s.lock() {
                s.drain(self, tx);
                s.finish(self, tx, Some(pid));
                last = last.max(s.last_ns.get(&worker).copied().unwrap_or(0));
            }
        }
        last
    }
}

/// The longest a writer's lines wait for its hello while some connection has not said its
/// own (one that connected and never spoke): then they are shown as its ancestor's.
const STUCK: std::time::Duration = std::time::Duration::from_secs(5);

/// A writer as first seen: when, the socket's sweeps by then, and its ancestors then (for a
/// writer that never says hello).
struct Writer {
    since: std::time::Instant,
    sweep: u64,
    chain: Vec<i32>,
}

/// A taken connection's hello, due until this goes.
pub struct HelloDue(Arc<Outputs>);

impl Drop for HelloDue {
    fn drop(&mut self) {
        self.0.hellos_due.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One of the program's streams as mpviz reads it.
struct OutStream {
    sock: UnixStream,
    stream: Stream,
    /// Per writer, the unfinished line it is writing.
    pending: HashMap<i32, Vec<u8>>,
    writers: HashMap<i32, Writer>,
    /// Whole lines in the order they were written, by their writers, not sent yet: the first
    /// waits while its writer may still say hello, and the rest behind it.
    queue: std::collections::VecDeque<(i32, Vec<u8>)>,
    /// Per worker, the stamp of its last line sent.
    last_ns: HashMap<u16, u64>,
    done: bool,
}

impl OutStream {
    /// Sends every whole line there is now. Returns false once the stream has ended.
    fn drain(&mut self, outputs: &Outputs, tx: &Sender<Envelope>) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let mut space = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
        while !self.done {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let (n, pid) = match recvmsg::<()>(
                self.sock.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(m) => {
                    let pid = m.cmsgs().ok().and_then(|mut c| {
                        c.find_map(|c| match c {
                            ControlMessageOwned::ScmCredentials(u) => Some(u.pid()),
                            _ => None,
                        })
                    });
                    (m.bytes, pid.unwrap_or(0))
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => break,
                Err(_) => (0, 0),
            };
            if n == 0 {
                self.done = true;
                break;
            }
            self.writers.entry(pid).or_insert_with(|| Writer {
                since: std::time::Instant::now(),
                sweep: outputs.sweeps.load(Ordering::SeqCst),
                chain: if outputs.direct(pid).is_none() {
                    ancestors(pid)
                } else {
                    Vec::new()
                },
            });
            let pending = self.pending.entry(pid).or_default();
            pending.extend_from_slice(&buf[..n]);
            while let Some(end) = pending
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| i + 1)
                .or((pending.len() >= MAX_LINE).then_some(MAX_LINE))
            {
                self.queue.push_back((pid, pending.drain(..end).collect()));
            }
        }
        // In write order, from the first held for its writer's hello (read now, or waited
        // long enough).
        self.send_queued(outputs, tx, None);
        !self.done
    }

    /// Sends the queued lines in order, each as its writer's worker, while the first one's
    /// writer is known or can no longer be (then it is its nearest known ancestor's). `until`:
    /// a writer that has ended — every line up to its last goes now, as whoever each is by now
    /// (`Some(None)`: every writer has).
    fn send_queued(
        &mut self,
        outputs: &Outputs,
        tx: &Sender<Envelope>,
        until: Option<Option<i32>>,
    ) {
        let mut forced = match until {
            Some(None) => self.queue.len(),
            Some(Some(pid)) => self
                .queue
                .iter()
                .rposition(|(p, _)| *p == pid)
                .map_or(0, |i| i + 1),
            None => 0,
        };
        while let Some(&(pid, _)) = self.queue.front() {
            let worker = match outputs.direct(pid) {
                Some(w) => w,
                None => {
                    let w = self.writers.get(&pid);
                    if forced == 0
                        && w.is_some_and(|w| {
                            !outputs.all_hellos_read_since(w.sweep) && w.since.elapsed() < STUCK
                        })
                    {
                        break;
                    }
                    outputs.fallback(w.map_or(&[][..], |w| &w.chain))
                }
            };
            forced = forced.saturating_sub(1);
            if let Some((_, line)) = self.queue.pop_front() {
                self.send(line, worker, pid, tx);
            }
        }
    }

    /// Sends what `pid` wrote and was not shown yet, its unfinished line too (all writers':
    /// none given), and every line written before it.
    fn finish(&mut self, outputs: &Outputs, tx: &Sender<Envelope>, pid: Option<i32>) {
        let ended: Vec<i32> = self
            .pending
            .keys()
            .copied()
            .filter(|&p| pid.is_none_or(|q| p == q))
            .collect();
        for p in ended {
            if let Some(rest) = self.pending.remove(&p)
                && !rest.is_empty()
            {
                self.queue.push_back((p, rest));
            }
        }
        self.send_queued(outputs, tx, Some(pid));
    }

    fn send(&mut self, line: Vec<u8>, worker: u16, pid: i32, tx: &Sender<Envelope>) {
        let text = String::from_utf8_lossy(&line)
            .trim_end_matches(['\n', '\r'])
            .to_string();
        let t_ns = now_ns();
        self.last_ns.insert(worker, t_ns);
        let _ = tx.send(Envelope {
            kind: EventKind::Output {
                stream: self.stream,
                text,
            },
            worker,
            pid,
            t_ns,
        });
    }
}

/// A process's ancestors, nearest first, from `/proc` (while they are there).
fn ancestors(pid: i32) -> Vec<i32> {
    let mut chain = Vec::new();
    let mut p = pid;
    while chain.len() < 32 {
        match parent_of(p) {
            Some(q) if q > 1 => {
                chain.push(q);
                p = q;
            }
            _ => break,
        }
    }
    chain
}

/// A process's parent, from `/proc` (none once it is gone).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses; the last `)` ends it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(rx: &crossbeam_channel::Receiver<Envelope>) -> Vec<(u16, String)> {
        rx.try_iter()
            .map(|e| match e.kind {
                EventKind::Output { text, .. } => (e.worker, text),
                other => panic!("not output: {other:?}"),
            })
            .collect()
    }

    fn outputs() -> (Outputs, UnixStream, UnixStream) {
        let (out, out_w) = UnixStream::pair().expect("a pair");
        let (err, err_w) = UnixStream::pair().expect("a pair");
        (Outputs::new(out, err).expect("outputs"), out_w, err_w)
    }

    #[test]
    fn each_line_is_its_writers_and_an_ended_writers_last_line_goes_at_its_end() {
        let (o, mut out, _err) = outputs();
        let me = std::process::id() as i32;
        o.known(me, 4);
        let (tx, rx) = crossbeam_channel::unbounded();
        out.write_all(b"one\ntwo\r\nthr").expect("write");
        assert!(o.streams[0].lock().expect("stream").drain(&o, &tx));
        assert_eq!(lines(&rx), [(4, "one".into()), (4, "two".into())]);
        out.write_all(b"ee").expect("write");
        let last = o.before_end_of(4, me, &tx);
        let got: Vec<Envelope> = rx.try_iter().collect();
        assert_eq!(got.len(), 1);
        assert!(matches!(&got[0].kind, EventKind::Output { text, .. } if text == "three"));
        assert_eq!(
            last, got[0].t_ns,
            "its end is stamped no earlier than its last line"
        );
    }

    #[test]
    fn a_writers_lines_wait_for_its_hello_and_one_that_never_says_it_is_its_ancestors() {
        let (o, mut out, _err) = outputs();
        let me = std::process::id() as i32;
        let (tx, rx) = crossbeam_channel::unbounded();
        out.write_all(b"early\n").expect("write");
        assert!(o.streams[0].lock().expect("stream").drain(&o, &tx));
        assert!(lines(&rx).is_empty(), "held: its hello may not be read yet");
        o.known(me, 5);
        assert!(o.streams[0].lock().expect("stream").drain(&o, &tx));
        assert_eq!(
            lines(&rx),
            [(5, "early".into())],
            "its own, once its hello is read"
        );

        // A writer that never says hello: when it ends, its nearest known ancestor's.
        let (o, mut out, _err) = outputs();
        let parent = parent_of(me).expect("a parent");
        o.known(parent, 7);
        out.write_all(b"orphan\n").expect("write");
        assert!(o.streams[0].lock().expect("stream").drain(&o, &tx));
        o.streams[0]
            .lock()
            .expect("stream")
            .finish(&o, &tx, Some(me));
        assert_eq!(lines(&rx), [(7, "orphan".into())]);
        assert_eq!(o.fallback(&[]), 1, "no ancestor known: the script's");
    }

    #[test]
    fn lines_written_after_an_unknown_writers_wait_behind_them() {
        let (o, mut out, _err) = outputs();
        let me = std::process::id() as i32;
        o.known(me, 1);
        let (tx, rx) = crossbeam_channel::unbounded();
        // A child writes first (its hello not read yet), then the known parent.
        let child = std::process::Command::new("sh")
            .args(["-c", "echo abc"])
            .stdout(std::process::Stdio::from(std::os::fd::OwnedFd::from(
                out.try_clone().expect("a clone"),
            )))
            .spawn()
            .expect("sh");
        let child_pid = child.id() as i32;
        let status = child.wait_with_output().expect("it ends").status;
        assert!(status.success());
        out.write_all(b"joined\n").expect("write");
        assert!(o.streams[0].lock().expect("stream").drain(&o, &tx));
        assert!(
            lines(&rx).is_empty(),
            "the parent's line waits behind the child's, held for its hello"
        );
        o.known(child_pid, 2);
        assert!(o.streams[0].lock().expect("stream").drain(&o, &tx));
        assert_eq!(
            lines(&rx),
            [(2, "abc".into()), (1, "joined".into())],
            "in the order they were written, each its writer's"
        );
    }

    #[test]
    fn an_unknown_writers_lines_go_as_its_ancestors_once_every_hello_waiting_is_read() {
        let (o, mut out, _err) = outputs();
        let o = Arc::new(o);
        let me = std::process::id() as i32;
        let parent = parent_of(me).expect("a parent");
        o.known(parent, 3);
        let (tx, rx) = crossbeam_channel::unbounded();
        // A connection was taken before the line was read: its hello may be the writer's.
        let due = o.taken();
        out.write_all(b"mine?\n").expect("write");
        let drain = |o: &Outputs| {
            assert!(o.streams[0].lock().expect("stream").drain(o, &tx));
        };
        drain(&o);
        assert!(lines(&rx).is_empty(), "held: no sweep since it was read");
        o.swept();
        drain(&o);
        assert!(
            lines(&rx).is_empty(),
            "held: the sweep that ended may have begun before its writer connected"
        );
        o.swept();
        drain(&o);
        assert!(lines(&rx).is_empty(), "held while a hello is due");
        drop(due);
        drain(&o);
        assert_eq!(
            lines(&rx),
            [(3, "mine?".into())],
            "every hello read and it was none of them: its ancestor's, however soon"
        );
    }

    #[test]
    fn a_line_without_end_is_shown_in_pieces() {
        let (o, out, _err) = outputs();
        let (tx, rx) = crossbeam_channel::unbounded();
        let long = vec![b'x'; MAX_LINE + 10];
        let writer = std::thread::spawn(move || {
            let mut out = out;
            out.write_all(&long)
        });
        let stop = AtomicBool::new(false);
        // Ends when the writer's end closes (the thread's stream is dropped with it).
        o.follow(0, &tx, &stop);
        writer.join().expect("writer").expect("written");
        let got: Vec<usize> = lines(&rx).iter().map(|(_, t)| t.len()).collect();
        assert_eq!(got, vec![MAX_LINE, 10]);
    }
}
