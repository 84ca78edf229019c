//! Inter-process queues over pipes, the way `multiprocessing.Queue` carries items.
//!
//! `MessageQueue`: many writers, one reader. A writer gathers whole messages and writes them
//! with one `write` of at most `PIPE_BUF` bytes, which POSIX makes atomic, so messages of
//! concurrent writers never mix; it writes when the next message would not fit, on `flush`,
//! and when dropped (so a writer that blocks on something else must `flush` first). The single
//! reader reads in large buffered chunks.
//! `TaskQueue`: one writer, many readers (a pool's task queue): fixed-size records, written and
//! read whole, so any worker can take the next task without a lock.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

/// Largest message: POSIX guarantees atomic pipe writes up to `PIPE_BUF` (4096 on Linux).
pub const MAX_MESSAGE: usize = 4096 - 2;

/// Creates a pipe for a queue: (reader, writer), both close-on-exec.
pub fn queue_pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
}

/// Bytes one atomic pipe write may carry.
const PIPE_BUF: usize = 4096;

pub struct MessageWriter {
    pipe: File,
    pending: Vec<u8>,
}

pub struct MessageReader(std::io::BufReader<File>);

impl MessageWriter {
    pub fn new(f: impl Into<File>) -> Self {
        Self {
            pipe: f.into(),
            pending: Vec::with_capacity(PIPE_BUF),
        }
    }

    /// Puts one message (cut to `MAX_MESSAGE` bytes); it reaches the pipe, whole, with the
    /// next write (see the module's note).
    pub fn put(&mut self, msg: &[u8]) -> std::io::Result<()> {
        let msg = &msg[..msg.len().min(MAX_MESSAGE)];
        self.put_with(msg.len(), |buf| buf.extend_from_slice(msg))
    }

    /// Puts one message that `write` encodes straight into the pending buffer (no message of
    /// its own to allocate); `most` bounds its length, which must not exceed `MAX_MESSAGE`.
    pub fn put_with(
        &mut self,
        most: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> std::io::Result<()> {
        if self.pending.len() + most + 2 > PIPE_BUF {
            self.flush()?;
        }
        let at = self.pending.len();
        self.pending.extend_from_slice(&[0, 0]);
        write(&mut self.pending);
        let n = self.pending.len() - at - 2;
        if n > most.min(MAX_MESSAGE) {
            self.pending.truncate(at);
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a message was longer than announced",
            ));
        }
        self.pending[at..at + 2].copy_from_slice(&(n as u16).to_le_bytes());
        Ok(())
    }

    /// Writes the gathered messages in one atomic write.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = self.pipe.write_all(&self.pending);
        self.pending.clear();
        r
    }
}

impl Drop for MessageWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl MessageReader {
    pub fn new(f: impl Into<File>) -> Self {
        Self(std::io::BufReader::with_capacity(64 * 1024, f.into()))
    }

    /// The next message; `None` once every writer has closed its end.
    pub fn get(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut msg = Vec::new();
        Ok(self.get_into(&mut msg)?.then_some(msg))
    }

    /// The next message into `msg` (its old contents replaced, its memory reused); false once
    /// every writer has closed its end.
    pub fn get_into(&mut self, msg: &mut Vec<u8>) -> std::io::Result<bool> {
        use std::io::BufRead;
        // The common case: the whole message is already in the buffer.
        let buf = self.0.buffer();
        if let [a, b, rest @ ..] = buf {
            let n = u16::from_le_bytes([*a, *b]) as usize;
            if n <= MAX_MESSAGE && rest.len() >= n {
                msg.clear();
                msg.extend_from_slice(&rest[..n]);
                self.0.consume(2 + n);
                return Ok(true);
            }
        }
        let mut len = [0u8; 2];
        match self.0.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e),
        }
        let n = u16::from_le_bytes(len) as usize;
        if n > MAX_MESSAGE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "oversized message",
            ));
        }
        msg.resize(n, 0);
        self.0.read_exact(msg)?;
        Ok(true)
    }
}

/// Size of one task record.
pub const TASK_RECORD: usize = 64;

/// The parent's end of a task pipe. Its writes never block: `try_put` says when the pipe is
/// full, and `put` then waits for room, so one writer can hand over directly while the pipe has
/// room and leave the waiting to a helper thread when it has not.
pub struct TaskWriter(File);
pub struct TaskReader(File);

impl TaskWriter {
    pub fn new(f: OwnedFd) -> std::io::Result<Self> {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let flags = OFlag::from_bits_truncate(fcntl(&f, FcntlArg::F_GETFL)?);
        fcntl(&f, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        Ok(Self(f.into()))
    }

    /// Writes the record if the pipe has room for it (records are smaller than `PIPE_BUF`, so
    /// the write is whole or nothing); false if it is full.
    pub fn try_put(&self, rec: &[u8; TASK_RECORD]) -> std::io::Result<bool> {
        loop {
            match (&self.0).write(rec) {
                Ok(n) if n == rec.len() => return Ok(true),
                Ok(_) => return Err(std::io::Error::other("a task record was cut short")),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes the record, waiting for room as long as it takes.
    pub fn put(&self, rec: &[u8; TASK_RECORD]) -> std::io::Result<()> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        while !self.try_put(rec)? {
            let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLOUT)];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

impl TaskReader {
    pub fn new(f: impl Into<File>) -> Self {
        Self(f.into())
    }

    /// The next record; `None` at end of file. Records are written whole and are smaller than
    /// `PIPE_BUF`, and every reader asks for exactly one record, so a read never splits one.
    pub fn get(&mut self) -> std::io::Result<Option<[u8; TASK_RECORD]>> {
        let mut rec = [0u8; TASK_RECORD];
        match self.0.read_exact(&mut rec) {
            Ok(()) => Ok(Some(rec)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_encoded_in_place_arrive_as_written_and_overlong_ones_are_refused() {
        let (r, w) = queue_pipe().expect("pipe");
        let mut reader = MessageReader::new(r);
        let mut w = MessageWriter::new(w);
        for k in 0..3000u16 {
            w.put_with(4, |m| m.extend_from_slice(&k.to_le_bytes()))
                .expect("put");
        }
        let refused = w.put_with(2, |m| m.extend_from_slice(&[1, 2, 3]));
        assert!(
            matches!(&refused, Err(e) if e.kind() == std::io::ErrorKind::InvalidInput),
            "{refused:?}"
        );
        drop(w);
        let mut m = Vec::new();
        let mut k = 0u16;
        while reader.get_into(&mut m).expect("get") {
            assert_eq!(m, k.to_le_bytes());
            k += 1;
        }
        assert_eq!(k, 3000, "every message, and not the refused one");
    }

    #[test]
    fn messages_from_many_writers_arrive_whole() {
        let (r, w) = queue_pipe().expect("pipe");
        let mut reader = MessageReader::new(r);
        let writers: Vec<_> = (0..4u8)
            .map(|k| {
                let w = w.try_clone().expect("dup");
                std::thread::spawn(move || {
                    let mut w = MessageWriter::new(w);
                    for _ in 0..200 {
                        w.put(&[k; 3000]).expect("put");
                    }
                })
            })
            .collect();
        drop(w);
        let mut count = 0;
        while let Some(m) = reader.get().expect("get") {
            assert_eq!(m.len(), 3000);
            assert!(m.iter().all(|b| *b == m[0]), "a message was interleaved");
            count += 1;
        }
        for t in writers {
            t.join().expect("join");
        }
        assert_eq!(count, 800);
    }
}
