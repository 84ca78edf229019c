//! Descriptors handed to another process over a Unix socket (`SCM_RIGHTS`): how the launcher
//! receives what each forked worker needs, and how a re-executed worker receives its pipes (so
//! that the parent can start it with `posix_spawn`, which maps only stdin, stdout and stderr).

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

/// Most descriptors one message carries (the fixed four and the extras of any job).
pub const MAX_FDS: usize = 16;

/// Sends `fds` in one message, with their count as its 4-byte body.
pub fn send_fds(socket: &UnixStream, fds: &[RawFd]) -> std::io::Result<()> {
    let count = (fds.len() as u32).to_le_bytes();
    let iov = [IoSlice::new(&count)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &cmsg,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    Ok(())
}

/// Receives one message of descriptors (close-on-exec, owned); `None` when the other end has
/// closed the socket.
pub fn recv_fds(socket: RawFd) -> std::io::Result<Option<Vec<OwnedFd>>> {
    let mut count = [0u8; 4];
    let mut cmsg_space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let mut iov = [IoSliceMut::new(&mut count)];
    let msg = recvmsg::<()>(
        socket,
        &mut iov,
        Some(&mut cmsg_space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    if msg.bytes == 0 {
        return Ok(None);
    }
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            fds.extend(raw.into_iter().filter_map(super::sys::adopt_fd));
        }
    }
    Ok(Some(fds))
}

/// Waits until `fd` has something to read, at most `patience`; false on timeout.
pub fn readable_within(fd: &impl std::os::fd::AsFd, patience: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let ms = patience.as_millis().min(i32::MAX as u128) as i32;
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::NONE)), Ok(n) if n > 0)
}
