//! The fork start method: a small single-threaded launcher process that forks workers.
//!
//! Forking the parent itself would be unsafe: the parent runs reader threads, and a child forked
//! while one of them holds a lock (the allocator's, stdout's, a channel's) would deadlock on it.
//! So the parent re-executes itself once as `mpviz __launcher`, a process with one thread, and
//! asks it over a Unix socket to fork each worker. The descriptors the worker needs travel with
//! the request (`SCM_RIGHTS`).
//!
//! The launcher forks twice (launcher → short-lived intermediate → worker) so that the worker is
//! re-parented to the parent, which is a child subreaper: the parent then reaps its workers with
//! `waitpid` exactly as it reaps re-executed ones, and a worker's exit status never depends on
//! the launcher staying alive.
//!
//! The launcher leads a process group of its own, which everything it forks inherits (the
//! parent moves each worker it is told of into its own group at once). If it
//! dies in the middle of a request (after forking, before replying), the intermediate and the
//! worker are re-parented to the parent with pids the parent was never told: `reap_strays`
//! finds them as the parent's children in the launcher's group that are not registered
//! workers, and kills and reaps them. Only those: a generic `waitpid(-1)` would steal the exit
//! status a reader thread waits for, and in a test binary that of any other child.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::fdpass::{recv_fds, send_fds};
use super::spawn::FAULT_ENV;
use super::sys::{arrange_worker_fds, exit_now, fork_child};
use super::worker::{Dispatch, TOKEN_ENV, worker_main};

/// The parent's handle on its launcher process.
pub struct Launcher {
    child: Child,
    socket: UnixStream,
}

impl Launcher {
    /// Starts the launcher (re-executing this binary). `fault` is the test-only start-up fault
    /// (`RuntimeOptions::fault`), passed on so that `launcher-dies` can be made to happen.
    pub fn start(
        exe: &std::path::Path,
        token: &str,
        fault: Option<&str>,
    ) -> std::io::Result<Launcher> {
        nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)?;
        let (ours, theirs) = UnixStream::pair()?;
        let mut cmd = Command::new(exe);
        cmd.arg("__launcher")
            .env(TOKEN_ENV, token)
            .env_remove(FAULT_ENV)
            .process_group(0)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(f) = fault {
            cmd.env(FAULT_ENV, f);
        }
        let child = cmd.spawn()?;
        Ok(Launcher {
            child,
            socket: ours,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Asks for one worker with these descriptors (stdout, stderr, events, control, then the
    /// extras); returns its pid.
    pub fn fork_worker(
        &mut self,
        fixed: &[&OwnedFd; 4],
        extras: &[OwnedFd],
    ) -> std::io::Result<Pid> {
        let fds: Vec<RawFd> = fixed
            .iter()
            .copied()
            .chain(extras)
            .map(|f| f.as_raw_fd())
            .collect();
        send_fds(&self.socket, &fds)?;
        let mut reply = [0u8; 4];
        if let Err(e) = self.socket.read_exact(&mut reply) {
            // The launcher is gone (or no use any more): reap it, so that its children have
            // been re-parented to us before `reap_strays` looks for them.
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                std::io::Error::other("the fork launcher ended before it replied")
            } else {
                e
            });
        }
        let pid = i32::from_le_bytes(reply);
        if pid <= 0 {
            return Err(std::io::Error::from_raw_os_error(-pid));
        }
        Ok(Pid::from_raw(pid))
    }
}

impl Launcher {
    /// Kills and reaps this process's children in the launcher's process group that are not
    /// in `known` (the registered workers): what a launcher that died mid-request left. Call
    /// only while no request is in flight (a worker being reported is not registered yet).
    pub fn reap_strays(&self, known: &[i32]) -> Vec<i32> {
        let mut all = Vec::new();
        // Round after round: a process's children are re-parented to us before its own reap
        // returns, so an intermediate reaped now may hand us its worker for the next round.
        loop {
            let strays = children_in_group(self.pid())
                .into_iter()
                .filter(|pid| *pid != self.pid() && !known.contains(pid))
                .collect::<Vec<_>>();
            if strays.is_empty() {
                return all;
            }
            for &pid in &strays {
                let pid = Pid::from_raw(pid);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                while let Err(nix::errno::Errno::EINTR) = waitpid(pid, None) {}
            }
            all.extend(strays);
        }
    }
}

/// This process's children whose process group is `pgid` (read from `/proc/PID/stat`).
fn children_in_group(pgid: i32) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command's closing parenthesis: state, ppid, pgrp, ...
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.get(1).and_then(|p| p.parse().ok()) == Some(me)
                && f.get(2).and_then(|g| g.parse().ok()) == Some(pgid)
        })
        .collect()
}

impl Drop for Launcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Entry point of the launcher process (`mpviz __launcher`). Serves fork requests on stdin
/// (a Unix socket) until it closes.
pub fn launcher_main(dispatch: Dispatch) -> i32 {
    let parent = nix::unistd::getppid();
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid() != parent || std::env::var(TOKEN_ENV).is_err() {
        eprintln!(
            "mpviz: `__launcher` is an internal part of mpviz's fork start method and is started \
             by mpviz itself; use `mpviz run SCENARIO --start-method fork`."
        );
        return 2;
    }
    let Some(stdin) = super::sys::adopt_fd(0) else {
        return 2;
    };
    let socket = UnixStream::from(stdin);
    let dies = std::env::var(FAULT_ENV).is_ok_and(|f| f == "launcher-dies");
    loop {
        // End of file: the parent closed the socket, nothing more to launch.
        let Ok(Some(received)) = recv_fds(socket.as_raw_fd()) else {
            return 0;
        };
        let reply = if received.len() < 4 {
            -libc::EINVAL
        } else {
            match fork_one(&received, &socket, dispatch, dies) {
                Ok(pid) => pid.as_raw(),
                Err(e) => -(e as i32),
            }
        };
        drop(received);
        if (&socket).write_all(&reply.to_le_bytes()).is_err() {
            return 0;
        }
    }
}

/// Forks the intermediate, which forks the worker, reports its pid through a pipe and leaves.
/// `dies` (test-only): the launcher is killed once the worker exists, before it reaps the
/// intermediate or replies, as if it had been killed at the worst moment.
fn fork_one(
    fds: &[OwnedFd],
    socket: &UnixStream,
    dispatch: Dispatch,
    dies: bool,
) -> nix::Result<Pid> {
    let (mut pid_r, pid_w) = {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        (std::fs::File::from(r), w)
    };
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let socket_fd = socket.as_fd().as_raw_fd();
    let pid_w_raw = pid_w.as_raw_fd();
    let intermediate = fork_child(move || {
        let worker = fork_child(move || {
            if arrange_worker_fds([raw[0], raw[1], raw[2], raw[3]], &raw[4..]).is_err() {
                exit_now(120);
            }
            let _ = socket_fd; // closed by arrange_worker_fds along with every other extra fd
            worker_main(dispatch)
        });
        let pid = worker.map(|p| p.as_raw()).unwrap_or(-1);
        let mut w =
            std::fs::File::from(super::sys::adopt_fd(pid_w_raw).unwrap_or_else(|| exit_now(121)));
        if w.write_all(&pid.to_le_bytes()).is_err() {
            exit_now(122);
        }
        0
    })?;
    drop(pid_w);
    let mut buf = [0u8; 4];
    let read = pid_r.read_exact(&mut buf);
    if dies {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    let _ = waitpid(intermediate, None);
    read.map_err(|_| nix::errno::Errno::EIO)?;
    let pid = i32::from_le_bytes(buf);
    if pid <= 0 {
        return Err(nix::errno::Errno::EAGAIN);
    }
    Ok(Pid::from_raw(pid))
}
