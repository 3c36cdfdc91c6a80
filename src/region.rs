//! Shared memory in this process's address space: one type, [`Region`], for a System V
//! segment attached with `shmat` and for a POSIX object mapped with `mmap`.
//!
//! Another process may write the memory at any moment, so every access is atomic. Whether a
//! region may be written is part of its type: a [`Region<ReadWrite>`] offers stores, atomics and
//! typed views; a [`Region<ReadOnly>`] (attached with `SHM_RDONLY`, mapped with `PROT_READ`)
//! offers loads only, because an atomic store, swap or compare-exchange on read-only memory is
//! undefined behaviour in Rust (and faults with SIGSEGV in practice). A store does not compile:
//!
//! ```compile_fail,E0599
//! # use shm_workbook::{Key, Segment};
//! # fn main() -> shm_workbook::Result<()> {
//! let segment = Segment::create(Key::PRIVATE, 4096, 0o600)?;
//! let read_only = segment.attach_read_only()?;
//! read_only.store(0, b"x")?; // error: no method `store` on `Region<ReadOnly>`
//! # Ok(()) }
//! ```
//!
//! ```compile_fail,E0599
//! # use shm_workbook::{Key, Segment};
//! # fn main() -> shm_workbook::Result<()> {
//! # let segment = Segment::create(Key::PRIVATE, 4096, 0o600)?;
//! let read_only = segment.attach_read_only()?;
//! let cells = read_only.bytes(); // error: atomics would allow a store
//! # Ok(()) }
//! ```
//!
//! Loads from a read-only region are single-byte `Relaxed` atomic loads, the one kind of
//! atomic access the standard library allows on read-only memory ("Atomic accesses to
//! read-only memory" in `std::sync::atomic`).

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::call;
use crate::error::{Error, Result};
use crate::evidence::{self, Op};
use std::sync::atomic::{
    AtomicI32, AtomicI64, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

/// Whether a region may be written: [`ReadWrite`] or [`ReadOnly`].
pub trait Access: sealed::Sealed {
    /// Whether stores are allowed.
    const WRITABLE: bool;
}

/// A region that may be read and written (`shmat(id, NULL, 0)`, `PROT_READ|PROT_WRITE`).
#[derive(Debug)]
pub struct ReadWrite;

/// A region that may only be read (`SHM_RDONLY`, `PROT_READ`).
#[derive(Debug)]
pub struct ReadOnly;

impl Access for ReadWrite {
    const WRITABLE: bool = true;
}

impl Access for ReadOnly {
    const WRITABLE: bool = false;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ReadWrite {}
    impl Sealed for super::ReadOnly {}
}

/// How the region came into this process, and so how it leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// `shmat(shmid, ...)`; leaves with `shmdt(addr)`.
    Attached { shmid: i32 },
    /// `mmap(...)`; leaves with `munmap(addr, len)`.
    Mapped,
}

/// Shared memory mapped into this process: detached (`shmdt`) or unmapped (`munmap`) on drop.
#[derive(Debug)]
pub struct Region<A: Access = ReadWrite> {
    addr: NonNull<u8>,
    len: usize,
    origin: Origin,
    access: PhantomData<A>,
}

/// A System V segment attached with `shmat`.
pub type Attachment<A = ReadWrite> = Region<A>;

/// A POSIX object mapped with `mmap`.
pub type Mapping<A = ReadWrite> = Region<A>;

impl<A: Access> Region<A> {
    /// A region attached with `shmat`. The caller passes what `shmat` returned and the
    /// segment's size, and hands over the duty to `shmdt` it.
    pub(crate) fn attached(addr: NonNull<u8>, len: usize, shmid: i32) -> Region<A> {
        crate::evidence::mapped(addr.as_ptr() as usize, len);
        Region { addr, len, origin: Origin::Attached { shmid }, access: PhantomData }
    }

    /// A region mapped with `mmap(..., MAP_SHARED, ...)`, handing over the duty to `munmap` it.
    pub(crate) fn mapped(addr: NonNull<u8>, len: usize) -> Region<A> {
        crate::evidence::mapped(addr.as_ptr() as usize, len);
        Region { addr, len, origin: Origin::Mapped, access: PhantomData }
    }

    /// The same region, now known to be `len` bytes long.
    pub(crate) fn with_len(self, len: usize) -> Region<A> {
        let this = std::mem::ManuallyDrop::new(self);
        crate::evidence::mapped(this.addr.as_ptr() as usize, len);
        Region { addr: this.addr, len, origin: this.origin, access: PhantomData }
    }

    /// Where the memory is in this process (another process sees it at its own address).
    pub fn address(&self) -> usize {
        self.addr.as_ptr() as usize
    }

    /// Its line in `/proc/self/maps` (the mapping that holds [`address`](Self::address)).
    pub fn maps_line(&self) -> Result<crate::procfs::MapsLine> {
        let address = self.address();
        crate::procfs::maps_line(address)?.ok_or_else(|| {
            Error::other("reading /proc/self/maps", format!("no line holds {address:#x}"))
        })
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never, for a real segment or mapping).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether stores are allowed (known from the type; for printing).
    pub fn is_writable(&self) -> bool {
        A::WRITABLE
    }

    /// The System V segment's id, for a region made by `shmat`.
    pub fn shmid(&self) -> Option<i32> {
        match self.origin {
            Origin::Attached { shmid } => Some(shmid),
            Origin::Mapped => None,
        }
    }

    /// The start as a raw pointer, for code that means to step outside what the types allow
    /// (lesson09 writes through a read-only attachment, in a child expected to die of it).
    pub fn as_ptr(&self) -> *const u8 {
        self.addr.as_ptr()
    }

    /// The bytes, for loads only (private: handing out atomics would allow stores).
    fn cells(&self) -> &[AtomicU8] {
        // SAFETY: `len` bytes at `addr` stay mapped until `self` is dropped, and `&self`
        // borrows `self`; AtomicU8 has the size and alignment of u8, and another process may
        // change the bytes at any time, which atomics allow. For a read-only region this slice
        // is only ever used for Relaxed single-byte loads (below), which are allowed on
        // read-only memory; no store can reach it because it is never returned.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr().cast::<AtomicU8>(), self.len) }
    }

    /// Copies `len` bytes at `offset` out (Relaxed byte loads), fewer if the region ends first.
    pub fn load(&self, offset: usize, len: usize) -> Vec<u8> {
        crate::jitter::load_point();
        let began = evidence::begin();
        let cells = self.cells();
        let start = offset.min(cells.len());
        let end = offset.saturating_add(len).min(cells.len());
        let bytes: Vec<u8> =
            cells[start..end].iter().map(|cell| cell.load(Ordering::Relaxed)).collect();
        let address = self.address() + start;
        evidence::record_data(Op::Load, address, &bytes, began);
        bytes
    }

    /// Reads a NUL-terminated string at `offset`, as `printf("%s")` would, never past the end.
    pub fn load_c_string(&self, offset: usize) -> String {
        crate::jitter::load_point();
        let began = evidence::begin();
        let cells = self.cells();
        let start = offset.min(cells.len());
        let mut bytes = Vec::new();
        for cell in &cells[start..] {
            let byte = cell.load(Ordering::Relaxed);
            bytes.push(byte); // the NUL too: it was read
            if byte == 0 {
                break;
            }
        }
        let address = self.address() + start;
        evidence::record_data(Op::Load, address, &bytes, began);
        let text = bytes.strip_suffix(&[0]).unwrap_or(&bytes);
        String::from_utf8_lossy(text).into_owned()
    }

    /// `shmdt(addr)` or `munmap(addr, len)` now (whichever made the region), recorded so the
    /// lesson can print it, and reporting an error instead of ignoring it as drop does.
    pub fn detach(self) -> Result<()> {
        let this = std::mem::ManuallyDrop::new(self);
        this.leave().map_err(|call| call.error())
    }

    fn leave(&self) -> std::result::Result<(), call::Call> {
        let addr = self.addr.as_ptr();
        evidence::unmapped(addr as usize);
        let (call, failed) = match self.origin {
            Origin::Attached { .. } => {
                // SAFETY: `addr` came from shmat and is detached exactly once: here, reached
                // from `detach` (which consumes the region) or from `drop`.
                let status = unsafe { libc::shmdt(addr.cast()) };
                let call = call::make("shmdt").arg_with(call::Arg::pointer(addr as usize));
                if status == -1 {
                    (call.failed(nix::errno::Errno::last()), true)
                } else {
                    (call.returned(0), false)
                }
            }
            Origin::Mapped => {
                // SAFETY: `addr` and `len` came from mmap and are unmapped exactly once, as
                // above.
                let status = unsafe { nix::sys::mman::munmap(self.addr.cast(), self.len) };
                let call =
                    call::make("munmap").arg_with(call::Arg::pointer(addr as usize)).arg(self.len);
                match status {
                    Ok(()) => (call.returned(0), false),
                    Err(errno) => (call.failed(errno), true),
                }
            }
        };
        if failed { Err(call) } else { Ok(()) }
    }
}

impl Region<ReadWrite> {
    /// The whole region as bytes that may change under us at any time (the library's atomics:
    /// each access is written down with the trace on).
    pub fn bytes(&self) -> &[crate::shared::AtomicU8] {
        // SAFETY: shared::AtomicU8 is repr(transparent) over std's AtomicU8, so the slice of
        // one is a slice of the other, with the same length and lifetime.
        unsafe {
            std::slice::from_raw_parts(
                self.addr.as_ptr().cast::<crate::shared::AtomicU8>(),
                self.len,
            )
        }
    }

    /// The start as a raw pointer, for APIs that need one (a process-shared pthread mutex).
    /// Whoever uses it must synchronize: the safe ways in are [`bytes`](Self::bytes) and
    /// [`view`](Self::view).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// Copies `data` in at `offset`, byte by byte with atomic stores (Relaxed: what makes it
    /// visible to another process, a semaphore or a Release store, comes separately).
    pub fn store(&self, offset: usize, data: &[u8]) -> Result<()> {
        crate::jitter::point();
        let began = evidence::begin();
        let cells = self.cells();
        let end =
            offset.checked_add(data.len()).filter(|&end| end <= cells.len()).ok_or_else(|| {
                Error::other(
                    format!("store({} bytes at offset {offset})", data.len()),
                    format!("the region has only {} bytes", cells.len()),
                )
            })?;
        for (cell, &byte) in cells[offset..end].iter().zip(data) {
            cell.store(byte, Ordering::Relaxed);
        }
        let address = self.address() + offset;
        evidence::record_data(Op::Store, address, data, began);
        Ok(())
    }

    /// Writes `text` and a terminating NUL at `offset`, as `strcpy` would.
    pub fn store_c_string(&self, offset: usize, text: &str) -> Result<()> {
        let mut data = Vec::with_capacity(text.len() + 1);
        data.extend_from_slice(text.as_bytes());
        data.push(0);
        self.store(offset, &data)
    }

    /// A typed view of the start of the region: `&T` where `T` is a [`Shareable`] struct.
    pub fn view<T: Shareable>(&self) -> Result<&T> {
        let call = format!("view::<{}>()", std::any::type_name::<T>());
        if std::mem::size_of::<T>() > self.len {
            return Err(Error::other(
                call,
                format!(
                    "the type needs {} bytes, the memory has {}",
                    std::mem::size_of::<T>(),
                    self.len
                ),
            ));
        }
        if !self.address().is_multiple_of(std::mem::align_of::<T>()) {
            return Err(Error::other(call, "the memory is not aligned for the type"));
        }
        // SAFETY: size and alignment were checked above; `Shareable` promises that every bit
        // pattern is a valid `T` and that concurrent access goes through atomics; the region is
        // writable (this impl is for ReadWrite only), so stores through those atomics are
        // allowed; the memory stays mapped while `self` is borrowed, and so does the result.
        Ok(unsafe { &*self.addr.as_ptr().cast::<T>() })
    }
}

impl<A: Access> Drop for Region<A> {
    fn drop(&mut self) {
        // An error here (a region already gone) leaves nothing to do; the call is recorded.
        let _ = self.leave();
    }
}

/// Types that may be viewed in shared memory through [`Region::view`].
///
/// # Safety
///
/// Implement it only for a `#[repr(C)]` type that
/// - is valid for every bit pattern (a new segment is all zeroes, and another process can
///   write anything),
/// - holds no pointers or references (each process maps the segment at its own address),
/// - is `Sync`, with every field that two processes may touch at once an atomic.
pub unsafe trait Shareable: Sync {}

// SAFETY: atomics of integers are valid for every bit pattern and hold no pointers.
unsafe impl Shareable for AtomicU8 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicU16 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicU32 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicU64 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicI32 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicI64 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicUsize {}
// SAFETY: the library's atomics are repr(transparent) over the standard ones above.
unsafe impl Shareable for crate::shared::AtomicU8 {}
// SAFETY: as above.
unsafe impl Shareable for crate::shared::AtomicU16 {}
// SAFETY: as above.
unsafe impl Shareable for crate::shared::AtomicU32 {}
// SAFETY: as above.
unsafe impl Shareable for crate::shared::AtomicU64 {}
// SAFETY: as above.
unsafe impl Shareable for crate::shared::AtomicI32 {}
// SAFETY: as above.
unsafe impl Shareable for crate::shared::AtomicI64 {}
// SAFETY: as above.
unsafe impl Shareable for crate::shared::AtomicUsize {}
// SAFETY: an array of shareable elements is laid out as its elements, with no padding.
unsafe impl<T: Shareable, const N: usize> Shareable for [T; N] {}
