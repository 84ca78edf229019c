//! The run's shared segment: one POSIX shared-memory object per run, created through the
//! `shared_memory` crate, with a typed layout that every worker validates before trusting it.
//!
//! Layout (all offsets from the start, little-endian, native alignment):
//!
//! | offset | what |
//! |---|---|
//! | 0   | magic `MPVIZSHM` |
//! | 8   | layout version (u32) |
//! | 12  | number of cells (u32) |
//! | 16  | total length in bytes (u64) |
//! | 24  | creator's pid (u32) |
//! | 28  | worker id of the lock's last owner (u32, atomic) |
//! | 64  | the process-shared robust mutex |
//! | 128 | one 16-byte descriptor per cell: typecode, array flag, tagged flag, elements, offset |
//! | ... | cell data, each cell 8-byte aligned; a tagged cell's elements are 16-byte slots |
//!
//! A *tagged* cell (the scenarios' `Value`s and `Array`s) keeps beside each element the id of
//! the store that put it there (`StoreId`), and value and id change together in one 16-byte
//! atomic swap: a read learns which store it saw, a write which store it replaced, so a lost
//! update is known exactly. Bulk areas (a pool's results) are untagged plain words.
//!
//! Traps of `shared_memory` that this module handles: the creator's `Shmem` unlinks the object
//! when dropped, so workers only ever *open* (never inherit an owner handle); a segment outlives
//! a SIGKILLed owner, so `sweep_stale` removes `mpviz` segments whose creator is gone; `Shmem`
//! is not `Send`, so a `Segment` stays on the thread that made it.

use std::io::Read;

use shared_memory::{Shmem, ShmemConf, ShmemError};
use thiserror::Error;

use super::event::{Num, StoreId};
use super::sys::{LockOutcome, RawRegion, RobustMutex, region_of};

pub const MAGIC: [u8; 8] = *b"MPVIZSHM";
pub const VERSION: u32 = 2;
/// Bytes per element of a tagged cell: the value bits, then the store id.
const SLOT: usize = 16;
const HEADER_LEN: usize = 128;
const DESC_LEN: usize = 16;
const MUTEX_OFFSET: usize = 64;
const LOCK_OWNER_OFFSET: usize = 28;
/// Prefix of every segment name (under `/dev/shm`).
pub const NAME_PREFIX: &str = "mpviz-";
/// Largest segment mpviz makes or accepts.
pub const MAX_LEN: usize = 128 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum ShmError {
    #[error("cannot create shared segment {name}: {source}")]
    Create { name: String, source: ShmemError },
    #[error("cannot create shared segment {name}: {why}")]
    Make { name: String, why: String },
    #[error("cannot open shared segment {name}: {source}")]
    Open { name: String, source: ShmemError },
    #[error("shared segment {name} is not a valid mpviz segment: {why}")]
    Invalid { name: String, why: String },
    #[error(
        "cannot create shared segment {name}: this CPU has no 16-byte atomic instructions, which tagged cells need"
    )]
    NoPairs { name: String },
    #[error("cannot initialise the lock in segment {name}: {source}")]
    Lock { name: String, source: nix::Error },
}

/// Element types, named by Python's `array` typecodes (sizes as on Linux x86-64 / aarch64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TypeCode {
    #[serde(rename = "b")]
    I8,
    #[serde(rename = "B")]
    U8,
    #[serde(rename = "h")]
    I16,
    #[serde(rename = "H")]
    U16,
    #[serde(rename = "i")]
    I32,
    #[serde(rename = "I")]
    U32,
    #[serde(rename = "l")]
    Long,
    #[serde(rename = "L")]
    ULong,
    #[serde(rename = "q")]
    I64,
    #[serde(rename = "Q")]
    U64,
    #[serde(rename = "f")]
    F32,
    #[serde(rename = "d")]
    F64,
}

impl TypeCode {
    pub const ALL: [TypeCode; 12] = [
        TypeCode::I8,
        TypeCode::U8,
        TypeCode::I16,
        TypeCode::U16,
        TypeCode::I32,
        TypeCode::U32,
        TypeCode::Long,
        TypeCode::ULong,
        TypeCode::I64,
        TypeCode::U64,
        TypeCode::F32,
        TypeCode::F64,
    ];

    pub fn from_char(c: char) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_char() == c)
    }

    pub fn as_char(self) -> char {
        match self {
            TypeCode::I8 => 'b',
            TypeCode::U8 => 'B',
            TypeCode::I16 => 'h',
            TypeCode::U16 => 'H',
            TypeCode::I32 => 'i',
            TypeCode::U32 => 'I',
            TypeCode::Long => 'l',
            TypeCode::ULong => 'L',
            TypeCode::I64 => 'q',
            TypeCode::U64 => 'Q',
            TypeCode::F32 => 'f',
            TypeCode::F64 => 'd',
        }
    }

    pub fn size(self) -> usize {
        match self {
            TypeCode::I8 | TypeCode::U8 => 1,
            TypeCode::I16 | TypeCode::U16 => 2,
            TypeCode::I32 | TypeCode::U32 | TypeCode::F32 => 4,
            _ => 8,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, TypeCode::F32 | TypeCode::F64)
    }

    /// C name of the type, as Python's documentation gives it.
    pub fn c_name(self) -> &'static str {
        match self {
            TypeCode::I8 => "signed char",
            TypeCode::U8 => "unsigned char",
            TypeCode::I16 => "signed short",
            TypeCode::U16 => "unsigned short",
            TypeCode::I32 => "signed int",
            TypeCode::U32 => "unsigned int",
            TypeCode::Long => "signed long",
            TypeCode::ULong => "unsigned long",
            TypeCode::I64 => "signed long long",
            TypeCode::U64 => "unsigned long long",
            TypeCode::F32 => "float",
            TypeCode::F64 => "double",
        }
    }

    fn signed(self) -> bool {
        matches!(
            self,
            TypeCode::I8 | TypeCode::I16 | TypeCode::I32 | TypeCode::Long | TypeCode::I64
        )
    }

    /// Converts a number to this type's bit pattern, wrapping integers as C (and ctypes) do.
    pub fn to_bits(self, n: Num) -> u64 {
        match self {
            TypeCode::F32 => (num_f64(n) as f32).to_bits() as u64,
            TypeCode::F64 => num_f64(n).to_bits(),
            _ => {
                let v = match n {
                    Num::Int(v) => v,
                    Num::Float(f) => f as i128,
                };
                let bits = self.size() * 8;
                (v as u128 & (u128::MAX >> (128 - bits))) as u64
            }
        }
    }

    /// Interprets a bit pattern of this type.
    pub fn from_bits(self, bits: u64) -> Num {
        match self {
            TypeCode::F32 => Num::Float(f32::from_bits(bits as u32) as f64),
            TypeCode::F64 => Num::Float(f64::from_bits(bits)),
            _ => {
                let width = self.size() * 8;
                let mask = if width == 64 {
                    u64::MAX
                } else {
                    (1u64 << width) - 1
                };
                let raw = bits & mask;
                if self.signed() {
                    let shift = 64 - width;
                    Num::Int((((raw << shift) as i64) >> shift) as i128)
                } else {
                    Num::Int(raw as i128)
                }
            }
        }
    }

    /// `n` as stored in this type (wrapped or rounded).
    pub fn normalise(self, n: Num) -> Num {
        self.from_bits(self.to_bits(n))
    }
}

fn num_f64(n: Num) -> f64 {
    match n {
        Num::Int(v) => v as f64,
        Num::Float(f) => f,
    }
}

/// One `Value` (len 1, not an array) or `Array` in the segment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CellSpec {
    pub typecode: TypeCode,
    pub array: bool,
    pub init: Vec<NumSer>,
    /// Elements in all: the initial values, then zeros (0: as many as there are initial
    /// values, at least one).
    #[serde(default)]
    pub len: u32,
    /// Each element keeps the id of the store that wrote it (see the module doc).
    #[serde(default)]
    pub tagged: bool,
}

impl CellSpec {
    /// An array of `len` zeros.
    pub fn zeros(typecode: TypeCode, len: u32) -> CellSpec {
        CellSpec {
            typecode,
            array: true,
            init: Vec::new(),
            len,
            tagged: false,
        }
    }

    /// A tagged `Value` (a single element) holding `init`.
    pub fn value(typecode: TypeCode, init: NumSer) -> CellSpec {
        CellSpec {
            typecode,
            array: false,
            init: vec![init],
            len: 0,
            tagged: true,
        }
    }

    fn elements(&self) -> u32 {
        (self.len as usize).max(self.init.len()).max(1) as u32
    }
}

/// `Num` in a form the job spec (JSON) can carry both ways without losing integer precision.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum NumSer {
    Int(i64),
    Float(f64),
}

impl From<NumSer> for Num {
    fn from(n: NumSer) -> Num {
        match n {
            NumSer::Int(v) => Num::Int(v as i128),
            NumSer::Float(v) => Num::Float(v),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CellDesc {
    pub typecode: TypeCode,
    pub array: bool,
    pub len: u32,
    pub tagged: bool,
    offset: usize,
}

impl CellDesc {
    fn stride(&self) -> usize {
        if self.tagged {
            SLOT
        } else {
            self.typecode.size()
        }
    }
}

/// The run's shared memory: typed cells and the robust lock.
pub struct Segment {
    shmem: Shmem,
    region: RawRegion,
    cells: Vec<CellDesc>,
    mutex: RobustMutex,
    /// The creator's exclusive `flock` on the object, held for as long as it lives: the kernel
    /// drops it with the creator's last descriptor, so "is its creator alive?" is answered
    /// rightly across pid namespaces, where the pid in the name may mean another process.
    _alive: Option<nix::fcntl::Flock<std::fs::File>>,
}

/// Sixteen random hex digits (for segment names and the run token).
pub fn random_hex() -> String {
    let mut b = [0u8; 8];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        // Fall back to the clock's nanoseconds: still unique per run, less unguessable.
        b = super::clock::now_ns().to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Segment {
    /// Creates a fresh segment for `cells`, owned (and unlinked on drop) by this process.
    pub fn create(cells: &[CellSpec]) -> Result<Segment, ShmError> {
        let name = format!("{NAME_PREFIX}{}-{}", std::process::id(), random_hex());
        let mut offset = HEADER_LEN + DESC_LEN * cells.len();
        let mut descs = Vec::with_capacity(cells.len());
        if cells.iter().any(|c| c.tagged) && !super::sys::pairs_are_shareable() {
            return Err(ShmError::NoPairs { name });
        }
        for c in cells {
            let d = CellDesc {
                typecode: c.typecode,
                array: c.array,
                len: c.elements(),
                tagged: c.tagged,
                offset: 0,
            };
            offset = offset.next_multiple_of(if c.tagged { SLOT } else { 8 });
            descs.push(CellDesc { offset, ..d });
            offset += d.stride() * d.len as usize;
        }
        let total = offset.next_multiple_of(8).max(HEADER_LEN);
        if total > MAX_LEN {
            return Err(ShmError::Invalid {
                name,
                why: format!("{total} bytes is too large"),
            });
        }
        let alive = reserve(&name, total)?;
        let mut shmem =
            ShmemConf::new()
                .os_id(&name)
                .open()
                .map_err(|source| ShmError::Create {
                    name: name.clone(),
                    source,
                })?;
        // Ours to unlink on drop, as if `shared_memory` had created it.
        shmem.set_owner(true);
        // The region stays valid as long as `shmem`, which the Segment keeps beside it.
        let region = region_of(&shmem);
        let mut header = [0u8; HEADER_LEN];
        header[0..8].copy_from_slice(&MAGIC);
        header[8..12].copy_from_slice(&VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&(cells.len() as u32).to_le_bytes());
        header[16..24].copy_from_slice(&(total as u64).to_le_bytes());
        header[24..28].copy_from_slice(&std::process::id().to_le_bytes());
        region.write_bytes(0, &header);
        for (i, d) in descs.iter().enumerate() {
            let mut raw = [0u8; DESC_LEN];
            raw[0] = d.typecode.as_char() as u8;
            raw[1] = d.array as u8;
            raw[2] = d.tagged as u8;
            raw[4..8].copy_from_slice(&d.len.to_le_bytes());
            raw[8..16].copy_from_slice(&(d.offset as u64).to_le_bytes());
            region.write_bytes(HEADER_LEN + i * DESC_LEN, &raw);
        }
        let mutex = RobustMutex::init(&region, MUTEX_OFFSET).map_err(|source| ShmError::Lock {
            name: name.clone(),
            source,
        })?;
        let seg = Segment {
            shmem,
            region,
            cells: descs,
            mutex,
            _alive: Some(alive),
        };
        for (ci, c) in cells.iter().enumerate() {
            for (ei, v) in c.init.iter().enumerate() {
                seg.store(ci, ei, (*v).into());
            }
        }
        Ok(seg)
    }

    /// Opens an existing segment by name and checks its header before trusting any offset.
    pub fn open(name: &str) -> Result<Segment, ShmError> {
        let mut shmem = ShmemConf::new()
            .os_id(name)
            .open()
            .map_err(|source| ShmError::Open {
                name: name.to_string(),
                source,
            })?;
        shmem.set_owner(false);
        let region = region_of(&shmem);
        let invalid = |why: String| ShmError::Invalid {
            name: name.to_string(),
            why,
        };
        let cells = parse_header(&region).map_err(invalid)?;
        let mutex = RobustMutex::attach(&region, MUTEX_OFFSET)
            .ok_or_else(|| invalid("no room for the lock".into()))?;
        Ok(Segment {
            shmem,
            region,
            cells,
            mutex,
            _alive: None,
        })
    }

    pub fn name(&self) -> &str {
        self.shmem.get_os_id()
    }

    pub fn cells(&self) -> &[CellDesc] {
        &self.cells
    }

    fn locate(&self, cell: usize, index: usize) -> Option<(CellDesc, usize)> {
        let d = *self.cells.get(cell)?;
        if index >= d.len as usize {
            return None;
        }
        Some((d, d.offset + index * d.stride()))
    }

    /// The elements of a 64-bit integer cell as atomics, for bulk access (loads acquire and
    /// stores release, like `load` and `store`); `None` for other cells.
    pub fn words(&self, cell: usize) -> Option<&[std::sync::atomic::AtomicU64]> {
        let d = self.cells.get(cell)?;
        if d.tagged || !matches!(d.typecode, TypeCode::I64 | TypeCode::U64) {
            return None;
        }
        self.region.words(d.offset, d.len as usize)
    }

    /// Reads element `index` of `cell`; `None` if there is no such element.
    pub fn load(&self, cell: usize, index: usize) -> Option<Num> {
        self.load_tagged(cell, index).map(|(v, _)| v)
    }

    /// Reads element `index` of `cell` and the store that put it there (`StoreId::INITIAL`
    /// for an untagged cell).
    pub fn load_tagged(&self, cell: usize, index: usize) -> Option<(Num, StoreId)> {
        let (d, off) = self.locate(cell, index)?;
        let (bits, tag) = if d.tagged {
            self.region.load_pair(off)?
        } else {
            (self.region.load(off, d.typecode.size())?, 0)
        };
        Some((d.typecode.from_bits(bits), StoreId::from_bits(tag)))
    }

    /// Writes element `index` of `cell` as store `by`, returning the value as stored (wrapped
    /// to the type) and the store it replaced (`StoreId::INITIAL` for an untagged cell).
    pub fn swap(&self, cell: usize, index: usize, v: Num, by: StoreId) -> Option<(Num, StoreId)> {
        let (d, off) = self.locate(cell, index)?;
        let bits = d.typecode.to_bits(v);
        let replaced = if d.tagged {
            self.region.swap_pair(off, bits, by.to_bits())?.1
        } else {
            self.region
                .store(off, d.typecode.size(), bits)
                .then_some(0)?
        };
        Some((d.typecode.normalise(v), StoreId::from_bits(replaced)))
    }

    /// Writes element `index` of `cell` as its initial value, returning the value as stored.
    pub fn store(&self, cell: usize, index: usize, v: Num) -> Option<Num> {
        self.swap(cell, index, v, StoreId::INITIAL).map(|(v, _)| v)
    }

    /// All elements of a cell.
    pub fn load_all(&self, cell: usize) -> Vec<Num> {
        let n = self.cells.get(cell).map_or(0, |d| d.len as usize);
        (0..n).filter_map(|i| self.load(cell, i)).collect()
    }

    pub fn lock(&self) -> nix::Result<LockOutcome> {
        self.mutex.lock()
    }

    pub fn try_lock(&self) -> nix::Result<LockOutcome> {
        self.mutex.try_lock()
    }

    pub fn unlock(&self) -> nix::Result<()> {
        self.mutex.unlock()
    }

    /// Worker id that took the lock last (0: nobody yet).
    pub fn last_lock_owner(&self) -> u32 {
        self.region.load(LOCK_OWNER_OFFSET, 4).unwrap_or(0) as u32
    }

    pub fn set_last_lock_owner(&self, worker: u32) {
        self.region.store(LOCK_OWNER_OFFSET, 4, worker as u64);
    }
}

fn parse_header(region: &RawRegion) -> Result<Vec<CellDesc>, String> {
    let mut h = [0u8; 32];
    if !region.read_bytes(0, &mut h) || region.len() < HEADER_LEN {
        return Err(format!(
            "only {} bytes, shorter than the header",
            region.len()
        ));
    }
    if h[0..8] != MAGIC {
        return Err("wrong magic".into());
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if version != VERSION {
        return Err(format!(
            "layout version {version}, this mpviz reads {VERSION}"
        ));
    }
    let count = u32::from_le_bytes([h[12], h[13], h[14], h[15]]) as usize;
    let mut total = [0u8; 8];
    total.copy_from_slice(&h[16..24]);
    let total = u64::from_le_bytes(total);
    if total as usize > region.len() || total as usize > MAX_LEN {
        return Err(format!(
            "header claims {total} bytes, mapping has {}",
            region.len()
        ));
    }
    let total = total as usize;
    let descs_end = count
        .checked_mul(DESC_LEN)
        .and_then(|n| n.checked_add(HEADER_LEN))
        .filter(|end| *end <= total)
        .ok_or_else(|| format!("{count} cells do not fit in {total} bytes"))?;
    let mut cells = Vec::with_capacity(count);
    for i in 0..count {
        let mut raw = [0u8; DESC_LEN];
        region.read_bytes(HEADER_LEN + i * DESC_LEN, &mut raw);
        let typecode = TypeCode::from_char(raw[0] as char)
            .ok_or_else(|| format!("cell {i} has unknown typecode {:?}", raw[0] as char))?;
        let len = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
        let mut off = [0u8; 8];
        off.copy_from_slice(&raw[8..16]);
        let offset = u64::from_le_bytes(off) as usize;
        let tagged = raw[2] != 0;
        if tagged && !super::sys::pairs_are_shareable() {
            return Err(format!(
                "cell {i} is tagged, and this CPU has no 16-byte atomics"
            ));
        }
        let stride = if tagged { SLOT } else { typecode.size() };
        let end = (len as usize)
            .checked_mul(stride)
            .and_then(|n| n.checked_add(offset))
            .ok_or_else(|| format!("cell {i} overflows"))?;
        if offset < descs_end || end > total || !offset.is_multiple_of(stride) || len == 0 {
            return Err(format!(
                "cell {i} lies outside the segment or is misaligned"
            ));
        }
        cells.push(CellDesc {
            typecode,
            array: raw[1] != 0,
            len,
            tagged,
            offset,
        });
    }
    Ok(cells)
}

/// Makes the object for segment `name`: created here (exclusively, never through a link),
/// mode 0600 whatever the umask, locked for as long as its creator lives, and its pages
/// reserved now — a full `/dev/shm` is a clear refusal before any worker starts, not a SIGBUS
/// at the first write.
fn reserve(name: &str, len: usize) -> Result<nix::fcntl::Flock<std::fs::File>, ShmError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // Made under a name the sweeper passes over, and renamed once locked: no other run's
    // sweep can ever see it unlocked.
    let path = format!("/dev/shm/{name}");
    let making = format!("/dev/shm/{NAME_PREFIX}making-{}", random_hex());
    let invalid = |why: String| ShmError::Make {
        name: name.to_string(),
        why,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&making)
        .map_err(|e| invalid(format!("cannot create {making}: {e}")))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| invalid(format!("cannot set its mode to 0600: {e}")))?;
    let locked = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock);
    let file = match locked {
        Ok(f) => f,
        Err((_, e)) => {
            let _ = std::fs::remove_file(&making);
            return Err(invalid(format!("cannot lock it: {e}")));
        }
    };
    if let Err(e) = nix::fcntl::posix_fallocate(&*file, 0, len as libc::off_t) {
        let _ = std::fs::remove_file(&making);
        let free = nix::sys::statvfs::statvfs("/dev/shm")
            .map(|s| s.blocks_available().saturating_mul(s.fragment_size()));
        return Err(invalid(match (e, free) {
            (nix::errno::Errno::ENOSPC, Ok(free)) => format!(
                "it needs {len} bytes in /dev/shm, and only {free} are free there \
                 (a container's /dev/shm is often 64 MB: give it more, e.g. docker --shm-size)"
            ),
            (e, _) => format!("cannot reserve {len} bytes in /dev/shm: {e}"),
        }));
    }
    if let Err(e) = std::fs::rename(&making, &path) {
        let _ = std::fs::remove_file(&making);
        return Err(invalid(format!("cannot name it {path}: {e}")));
    }
    Ok(file)
}

/// Removes `mpviz` segments whose creator is gone: nobody holds the creator's lock on them.
/// Right across pid namespaces (a pid in the name may be another process there); a segment
/// whose creator lives is never touched. Returns their names.
pub fn sweep_stale() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/dev/shm") else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if owner_pid_of(&name).is_none() {
            continue;
        }
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(entry.path())
        else {
            continue;
        };
        // Held while we unlink, so a creator cannot be mid-way through making it.
        let Ok(_unheld) =
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        else {
            continue;
        };
        if nix::sys::mman::shm_unlink(name.as_str()).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// The creator pid encoded in a segment name `mpviz-PID-RANDOM`.
pub fn owner_pid_of(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok().filter(|p| *p > 0)
}

/// Names of `mpviz` segments currently in `/dev/shm` (for tests and diagnostics).
pub fn list_segments() -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(NAME_PREFIX))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typecodes_wrap_like_c() {
        assert_eq!(TypeCode::I8.normalise(Num::Int(130)), Num::Int(-126));
        assert_eq!(TypeCode::U8.normalise(Num::Int(-1)), Num::Int(255));
        assert_eq!(
            TypeCode::I32.normalise(Num::Int(i32::MAX as i128 + 1)),
            Num::Int(i32::MIN as i128)
        );
        assert_eq!(
            TypeCode::U64.normalise(Num::Int(-1)),
            Num::Int(u64::MAX as i128)
        );
        assert_eq!(TypeCode::F32.normalise(Num::Float(0.5)), Num::Float(0.5));
        for t in TypeCode::ALL {
            assert_eq!(TypeCode::from_char(t.as_char()), Some(t));
        }
    }

    #[test]
    fn segment_round_trip_and_validation() {
        let cells = vec![
            CellSpec {
                typecode: TypeCode::I32,
                array: false,
                init: vec![NumSer::Int(0)],
                len: 0,
                tagged: true,
            },
            CellSpec {
                typecode: TypeCode::F64,
                array: false,
                init: vec![NumSer::Float(2.5)],
                len: 0,
                tagged: true,
            },
            CellSpec {
                typecode: TypeCode::I32,
                array: true,
                init: [1, 2, 3, 4].map(NumSer::Int).to_vec(),
                len: 0,
                tagged: false,
            },
        ];
        let seg = Segment::create(&cells).expect("create");
        let other = Segment::open(seg.name()).expect("open");
        assert_eq!(other.load(1, 0), Some(Num::Float(2.5)));
        assert_eq!(other.load_all(2), [1, 2, 3, 4].map(Num::Int).to_vec());
        assert_eq!(other.load(2, 4), None);
        other.store(0, 0, Num::Int(7));
        assert_eq!(seg.load(0, 0), Some(Num::Int(7)));
        // A tagged store names the store it replaced, and a read the store it saw.
        let a = StoreId { worker: 1, seq: 1 };
        let b = StoreId { worker: 2, seq: 1 };
        assert_eq!(
            other.swap(0, 0, Num::Int(8), a),
            Some((Num::Int(8), StoreId::INITIAL))
        );
        assert_eq!(seg.swap(0, 0, Num::Int(8), b), Some((Num::Int(8), a)));
        assert_eq!(other.load_tagged(0, 0), Some((Num::Int(8), b)));
        assert_eq!(
            other.load_tagged(2, 1),
            Some((Num::Int(2), StoreId::INITIAL))
        );
        let path = format!("/dev/shm/{}", seg.name());
        let mode = std::fs::metadata(&path)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
        assert_eq!(mode.map(|m| m & 0o777).ok(), Some(0o600));
        drop(other);
        assert!(
            std::path::Path::new(&path).exists(),
            "a non-owner must not unlink"
        );
        drop(seg);
        assert!(!std::path::Path::new(&path).exists(), "the owner unlinks");
    }

    #[test]
    fn a_forged_header_is_refused() {
        let name = format!("{NAME_PREFIX}{}-forged", std::process::id());
        let mut s = ShmemConf::new()
            .size(4096)
            .os_id(&name)
            .create()
            .expect("create");
        let region = region_of(&s);
        let mut h = [0u8; 32];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&1u32.to_le_bytes());
        h[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
        region.write_bytes(0, &h);
        assert!(matches!(
            Segment::open(&name),
            Err(ShmError::Invalid { .. })
        ));
        h[16..24].copy_from_slice(&4096u64.to_le_bytes());
        region.write_bytes(0, &h);
        let desc = [b'i', 0, 0, 0, 255, 255, 255, 255, 0, 16, 0, 0, 0, 0, 0, 0];
        region.write_bytes(HEADER_LEN, &desc);
        assert!(matches!(
            Segment::open(&name),
            Err(ShmError::Invalid { .. })
        ));
        s.set_owner(true);
    }

    #[test]
    fn only_segments_whose_creator_is_gone_are_swept() {
        // A live creator's segment (it holds the lock), and one nobody holds: its creator gone,
        // whatever pid its name carries (in another pid namespace it may be a live process).
        let live =
            Segment::create(&[CellSpec::value(TypeCode::I32, NumSer::Int(0))]).expect("create");
        let stale = format!("{NAME_PREFIX}{}-{}", std::process::id(), random_hex());
        std::fs::write(format!("/dev/shm/{stale}"), b"x").expect("make a segment file");
        let swept = sweep_stale();
        let here = list_segments();
        assert!(
            swept.contains(&stale) && !here.contains(&stale),
            "{swept:?}"
        );
        assert!(
            !swept.contains(&live.name().to_string()) && here.contains(&live.name().to_string()),
            "a live creator's is kept"
        );
    }

    #[test]
    fn names_carry_the_owner_pid() {
        assert_eq!(owner_pid_of("mpviz-1234-abcd"), Some(1234));
        assert_eq!(owner_pid_of("mpviz-x-abcd"), None);
        assert_eq!(owner_pid_of("other-1-2"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// A forged or torn segment: any bytes behind a header that is partly right (magic,
        /// version, size each kept or not). The check never panics and never trusts an offset
        /// that would reach outside the region: every element of every cell it accepts can be
        /// read and written.
        #[test]
        fn the_header_check_survives_any_bytes(
            words in proptest::collection::vec(proptest::num::u64::ANY, 1..512),
            keep_magic in proptest::bool::weighted(0.9),
            keep_version in proptest::bool::weighted(0.9),
            keep_total in proptest::bool::weighted(0.9),
            count in 0u32..8,
            descs in proptest::collection::vec(
                (0usize..12, proptest::bool::ANY, 0u32..64, 0.0f64..1.1, proptest::bool::weighted(0.95)),
                8,
            ),
        ) {
            let mut buf = words;
            buf.resize(buf.len().max(64), 0);
            let len = buf.len() * 8;
            // Cell descriptors: mostly plausible (a known typecode, a length, an offset past
            // the descriptors that may or may not leave room), else whatever the words say.
            let descs_end = HEADER_LEN + DESC_LEN * count as usize;
            for (i, (tc, array, n, frac, plausible)) in descs.iter().enumerate().take(count as usize) {
                if *plausible {
                    let code = b"bBhHiIlLqQfd"[*tc] as u64;
                    let off = (descs_end as f64 + frac * (len - descs_end) as f64) as u64 / 8 * 8;
                    buf[16 + 2 * i] = code | (u64::from(*array) << 8) | (u64::from(*n) << 32);
                    buf[17 + 2 * i] = off;
                }
            }
            let mut h = [0u8; 32];
            for (i, b) in h.iter_mut().enumerate() {
                *b = (buf.get(i / 8).copied().unwrap_or(0) >> ((i % 8) * 8)) as u8;
            }
            if keep_magic {
                h[0..8].copy_from_slice(&MAGIC);
            }
            if keep_version {
                h[8..12].copy_from_slice(&VERSION.to_le_bytes());
            }
            h[12..16].copy_from_slice(&count.to_le_bytes());
            if keep_total {
                h[16..24].copy_from_slice(&(len as u64).to_le_bytes());
            }
            for (i, w) in buf.iter_mut().take(4).enumerate() {
                let mut b = [0u8; 8];
                b.copy_from_slice(&h[i * 8..i * 8 + 8]);
                *w = u64::from_le_bytes(b);
            }
            let region = crate::runtime::sys::region_over(&mut buf);
            if let Ok(cells) = parse_header(&region) {
                proptest::prop_assert_eq!(cells.len(), count as usize);
                for d in cells {
                    let size = d.typecode.size();
                    proptest::prop_assert!(d.offset + size * d.len as usize <= len);
                    for i in [0, d.len as usize - 1] {
                        let off = d.offset + i * size;
                        proptest::prop_assert!(region.load(off, size).is_some());
                    }
                }
            }
        }
    }
}
