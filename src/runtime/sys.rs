//! The one place in mpviz that talks to the operating system through `unsafe`.
//!
//! Everything here is small and checked: raw memory of the shared segment (bounds and alignment
//! are verified by the callers in `shm.rs` before an offset reaches this module, and again here),
//! the process-shared robust mutex, `fork` for the single-threaded launcher, and `_exit` for
//! children that must not unwind into their parent's state. Nothing else in the crate may use
//! `unsafe`; the crate-wide lint denies it.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::unistd::Pid;

/// Leaves the process at once: no destructors, no `atexit` handlers, no unwinding.
///
/// Forked children and workers whose parent vanished use it, so that nothing of the parent's
/// state (an owner handle of the segment, a buffered stdout) is flushed or unlinked twice.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions; it never returns.
    unsafe { libc::_exit(code) }
}

/// Forks, runs `child` in the new process and leaves it with `_exit` and the closure's code.
///
/// Only the launcher calls this, and the launcher is single-threaded, so the child cannot
/// inherit a lock held by another thread (the classic fork-in-a-threaded-program deadlock).
/// A panic in `child` is caught and ends the child with code 101, never unwinding further.
pub fn fork_child(child: impl FnOnce() -> i32) -> nix::Result<Pid> {
    // SAFETY: the caller is single-threaded (the launcher), so after the fork the child holds
    // no lock that another thread could own; the child never returns from this function.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { child } => Ok(child),
        nix::unistd::ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
            exit_now(code)
        }
    }
}

/// Duplicates `fd` onto the descriptor number `target` (clearing close-on-exec on it).
pub fn place_fd(fd: RawFd, target: RawFd) -> nix::Result<()> {
    if fd == target {
        // dup2 onto itself keeps CLOEXEC; clear it by hand.
        let flags = nix::fcntl::FdFlag::empty();
        // SAFETY: `target` is an open descriptor owned by this process (checked by fcntl).
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(target) };
        nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_SETFD(flags))?;
        return Ok(());
    }
    // SAFETY: dup2 on two integers has no memory-safety preconditions; errors come back as -1.
    let rc = unsafe { libc::dup2(fd, target) };
    Errno::result(rc).map(drop)
}

/// Takes ownership of an inherited descriptor number, if it is open.
pub fn adopt_fd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: F_GETFD on any integer is harmless; it fails with EBADF when `fd` is not open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: `fd` is open (checked above) and was handed to this process to own: nothing else
    // in the process refers to it by number.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The local date and time as `2026-12-02_16-05-09` (for file names: sortable, no colons), or
/// the UTC seconds since the epoch where the local time cannot be had.
pub fn local_time_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills; both pointers are to live locals, and
    // localtime_r (unlike localtime) keeps no shared state.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&secs, &mut tm).is_null()).then_some(tm)
    };
    match tm {
        Some(t) => format!(
            "{:04}-{:02}-{:02}_{:02}-{:02}-{:02}",
            t.tm_year + 1900,
            t.tm_mon + 1,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec
        ),
        None => secs.to_string(),
    }
}

/// Whether 16-byte atomics are real instructions here (cmpxchg16b on x86-64, LSE/LL-SC pairs
/// on aarch64). Without them portable-atomic falls back to a lock inside this process, which
/// another process cannot see: tagged cells are then refused rather than silently torn.
pub fn pairs_are_shareable() -> bool {
    portable_atomic::AtomicU128::is_lock_free()
}

fn split(v: u128) -> (u64, u64) {
    (v as u64, (v >> 64) as u64)
}

/// Whether descriptor `fd` is open and is a pipe.
pub fn fd_is_fifo(fd: RawFd) -> bool {
    // SAFETY: `st` is plain data filled by fstat; fstat on a closed number returns -1.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
    }
}

/// A view of a mapped shared segment: base pointer and length, valid while the mapping lives.
///
/// The owner of the mapping (`shm::Segment`) keeps it alive for as long as this view exists.
#[derive(Clone, Copy)]
pub struct RawRegion {
    base: *mut u8,
    len: usize,
}

impl RawRegion {
    pub fn len(&self) -> usize {
        self.len
    }

    fn check(&self, offset: usize, size: usize) -> Option<*mut u8> {
        let end = offset.checked_add(size)?;
        if end > self.len || !offset.is_multiple_of(size.max(1)) {
            return None;
        }
        // SAFETY: offset + size is within the mapping (checked above).
        Some(unsafe { self.base.add(offset) })
    }

    /// Loads `size` (1, 2, 4 or 8) bytes at `offset` atomically; `None` when out of bounds,
    /// misaligned or of another size. Loads acquire and stores release: a value written before
    /// a store is visible to whoever loads what it stored, as a lock-free reader needs; a full
    /// fence per access (SeqCst) bought nothing and cost a locked instruction per store.
    pub fn load(&self, offset: usize, size: usize) -> Option<u64> {
        let p = self.check(offset, size)?;
        // SAFETY: `p` is in bounds and aligned to `size` (checked); the segment is shared
        // memory written by other processes only through these same atomic accessors.
        let v = unsafe {
            match size {
                1 => AtomicU8::from_ptr(p).load(Ordering::Acquire) as u64,
                2 => AtomicU16::from_ptr(p.cast()).load(Ordering::Acquire) as u64,
                4 => AtomicU32::from_ptr(p.cast()).load(Ordering::Acquire) as u64,
                8 => AtomicU64::from_ptr(p.cast()).load(Ordering::Acquire),
                _ => return None,
            }
        };
        Some(v)
    }

    /// Stores the low `size` bytes of `bits` at `offset` atomically; false when refused.
    pub fn store(&self, offset: usize, size: usize, bits: u64) -> bool {
        let Some(p) = self.check(offset, size) else {
            return false;
        };
        // SAFETY: as in `load`.
        unsafe {
            match size {
                1 => AtomicU8::from_ptr(p).store(bits as u8, Ordering::Release),
                2 => AtomicU16::from_ptr(p.cast()).store(bits as u16, Ordering::Release),
                4 => AtomicU32::from_ptr(p.cast()).store(bits as u32, Ordering::Release),
                8 => AtomicU64::from_ptr(p.cast()).store(bits, Ordering::Release),
                _ => return false,
            }
        }
        true
    }

    /// Copies `out.len()` bytes starting at `offset` (for the header check); false when out of
    /// bounds.
    pub fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(out.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        // SAFETY: the range is inside the mapping; bytes are plain data. Header bytes are
        // written once by the creator before any worker is started.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(offset), out.as_mut_ptr(), out.len())
        };
        true
    }

    /// Loads the 16 bytes at `offset` (16-aligned) as one atomic unit: a tagged cell's value
    /// bits and the id of the store that put them there. `None` when out of bounds or
    /// misaligned.
    pub fn load_pair(&self, offset: usize) -> Option<(u64, u64)> {
        let a = self.pair_at(offset)?;
        Some(split(a.load(Ordering::Acquire)))
    }

    /// Swaps the 16 bytes at `offset` for `(bits, tag)` in one atomic step and returns what
    /// they held: so a writer learns exactly which store it replaced.
    pub fn swap_pair(&self, offset: usize, bits: u64, tag: u64) -> Option<(u64, u64)> {
        let a = self.pair_at(offset)?;
        let new = (tag as u128) << 64 | bits as u128;
        Some(split(a.swap(new, Ordering::AcqRel)))
    }

    fn pair_at(&self, offset: usize) -> Option<&portable_atomic::AtomicU128> {
        if !pairs_are_shareable() {
            return None;
        }
        let p = self.check(offset, 16)?;
        // Tagged cells are only ever accessed through these two accessors, in every process,
        // and the instructions are lock-free (checked above), so atomicity holds across them.
        // SAFETY: `p` is in bounds and 16-aligned (checked; the mapping is page-aligned);
        // AtomicU128 has u128's layout; the reference borrows `self`, outlived by the mapping.
        Some(unsafe { portable_atomic::AtomicU128::from_ptr(p.cast::<u128>()) })
    }

    /// `count` 8-byte words from `offset` on, as atomics: one bounds check for a whole run of
    /// them (a bulk result area); `None` when out of bounds or misaligned.
    pub fn words(&self, offset: usize, count: usize) -> Option<&[AtomicU64]> {
        let end = count.checked_mul(8)?.checked_add(offset)?;
        if end > self.len || !offset.is_multiple_of(8) {
            return None;
        }
        // SAFETY: the range is inside the mapping and 8-aligned (checked above; the mapping is
        // page-aligned); AtomicU64 has u64's layout, and the segment's memory is only ever
        // accessed atomically. The slice borrows `self`, which the mapping outlives.
        Some(unsafe {
            std::slice::from_raw_parts(self.base.add(offset).cast::<AtomicU64>(), count)
        })
    }

    /// Writes raw bytes (header set-up, before any other process maps the segment).
    pub fn write_bytes(&self, offset: usize, data: &[u8]) -> bool {
        let Some(end) = offset.checked_add(data.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        // SAFETY: the range is inside the mapping; only the creator calls this, before workers.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.add(offset), data.len()) };
        true
    }

    fn mutex_ptr(&self, offset: usize) -> Option<*mut libc::pthread_mutex_t> {
        let size = std::mem::size_of::<libc::pthread_mutex_t>();
        let end = offset.checked_add(size)?;
        if end > self.len || !offset.is_multiple_of(std::mem::align_of::<libc::pthread_mutex_t>()) {
            return None;
        }
        // SAFETY: in bounds and aligned (checked above).
        Some(unsafe { self.base.add(offset) }.cast())
    }
}

/// The region of a `shared_memory` mapping. Callers keep the `Shmem` alive for as long as they
/// use the region (`shm::Segment` holds both).
pub fn region_of(shmem: &shared_memory::Shmem) -> RawRegion {
    RawRegion {
        base: shmem.as_ptr(),
        len: shmem.len(),
    }
}

/// A region over ordinary memory, for tests of code that reads regions (the header check).
/// The caller keeps `buf` alive and unmoved while the region is used.
#[cfg(test)]
pub fn region_over(buf: &mut [u64]) -> RawRegion {
    RawRegion {
        base: buf.as_mut_ptr().cast(),
        len: std::mem::size_of_val(buf),
    }
}

/// What a lock attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// Taken normally.
    Acquired,
    /// Taken from an owner that died while holding it; the mutex was made consistent again.
    Recovered,
    /// `try_lock` only: somebody else holds it.
    Busy,
}

/// A `pthread_mutex_t` living in shared memory: process-shared and robust.
#[derive(Clone, Copy)]
pub struct RobustMutex {
    ptr: *mut libc::pthread_mutex_t,
}

impl RobustMutex {
    /// Initialises a mutex at `offset` of `region`. Only the creator of the segment calls this,
    /// once, before any worker maps it.
    pub fn init(region: &RawRegion, offset: usize) -> nix::Result<Self> {
        let ptr = region.mutex_ptr(offset).ok_or(Errno::EINVAL)?;
        // SAFETY: `attr` is initialised by pthread_mutexattr_init before use and destroyed
        // after; `ptr` is valid, aligned memory in the segment that no other process uses yet.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            Errno::result(libc::pthread_mutexattr_init(&mut attr))?;
            let r = (|| {
                check_rc(libc::pthread_mutexattr_setpshared(
                    &mut attr,
                    libc::PTHREAD_PROCESS_SHARED,
                ))?;
                check_rc(libc::pthread_mutexattr_setrobust(
                    &mut attr,
                    libc::PTHREAD_MUTEX_ROBUST,
                ))?;
                check_rc(libc::pthread_mutex_init(ptr, &attr))
            })();
            libc::pthread_mutexattr_destroy(&mut attr);
            r?;
        }
        Ok(Self { ptr })
    }

    /// Refers to a mutex already initialised at `offset` (a worker's view).
    pub fn attach(region: &RawRegion, offset: usize) -> Option<Self> {
        region.mutex_ptr(offset).map(|ptr| Self { ptr })
    }

    /// Blocks until the mutex is held; recovers it from a dead owner.
    pub fn lock(&self) -> nix::Result<LockOutcome> {
        // SAFETY: `ptr` points to an initialised process-shared mutex inside a live mapping.
        let rc = unsafe { libc::pthread_mutex_lock(self.ptr) };
        self.outcome(rc)
    }

    /// Takes the mutex if it is free.
    pub fn try_lock(&self) -> nix::Result<LockOutcome> {
        // SAFETY: as in `lock`.
        let rc = unsafe { libc::pthread_mutex_trylock(self.ptr) };
        if rc == libc::EBUSY {
            return Ok(LockOutcome::Busy);
        }
        self.outcome(rc)
    }

    fn outcome(&self, rc: i32) -> nix::Result<LockOutcome> {
        match rc {
            0 => Ok(LockOutcome::Acquired),
            libc::EOWNERDEAD => {
                // SAFETY: we hold the mutex (EOWNERDEAD means it was handed to us).
                check_rc(unsafe { libc::pthread_mutex_consistent(self.ptr) })?;
                Ok(LockOutcome::Recovered)
            }
            e => Err(Errno::from_raw(e)),
        }
    }

    pub fn unlock(&self) -> nix::Result<()> {
        // SAFETY: as in `lock`; unlocking a mutex we do not hold returns EPERM (robust mutexes
        // check ownership), which is reported, not undefined.
        check_rc(unsafe { libc::pthread_mutex_unlock(self.ptr) })
    }
}

// SAFETY: the mutex lives in shared memory designed for concurrent use by many processes and
// threads; the pointer stays valid while the segment mapping lives (owned by `shm::Segment`).
unsafe impl Send for RobustMutex {}
// SAFETY: see above.
unsafe impl Sync for RobustMutex {}
// SAFETY: the region is only accessed through atomics and bounds-checked copies.
unsafe impl Send for RawRegion {}
// SAFETY: see above.
unsafe impl Sync for RawRegion {}

fn check_rc(rc: i32) -> nix::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw(rc))
    }
}

/// Arranges a freshly forked worker's descriptors as a re-executed worker would find them:
/// 0 from /dev/null, then `fixed` as 1 (stdout), 2 (stderr), 3 (events), 4 (control), and the
/// extras from 5; every other descriptor (the launcher's socket among them) is closed.
pub fn arrange_worker_fds(fixed: [RawFd; 4], extras: &[RawFd]) -> nix::Result<()> {
    // First move every source above the target range, so placing one cannot clobber another:
    // just above it (a fixed 256 is past the whole table under `ulimit -n 256`).
    let high = (5 + extras.len()) as RawFd;
    let mut moved = Vec::with_capacity(3 + extras.len());
    for fd in fixed.iter().chain(extras) {
        // SAFETY: F_DUPFD_CLOEXEC on an integer has no memory-safety preconditions.
        let above = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, high) };
        moved.push(Errno::result(above)?);
    }
    let null = nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    use std::os::fd::AsRawFd;
    place_fd(null.as_raw_fd(), 0)?;
    // stdout, stderr, events, control, extras: descriptors 1, 2, 3, 4, 5, ...
    for (i, fd) in moved.iter().enumerate() {
        place_fd(*fd, 1 + i as RawFd)?;
    }
    drop(null);
    let first_free = 5 + extras.len() as u32;
    // SAFETY: close_range closes descriptors by number; this process owns all of them and the
    // ones below `first_free` stay open.
    let rc = unsafe { libc::close_range(first_free, u32::MAX, 0) };
    Errno::result(rc).map(drop)
}
