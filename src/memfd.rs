//! Memory with no name: `memfd_create`, file seals, and a fault caught in a child.
//!
//! | C | here |
//! |---|---|
//! | `memfd_create("name", MFD_CLOEXEC\|MFD_ALLOW_SEALING)` | [`Memfd::create`] |
//! | `ftruncate(fd, len)` | [`Memfd::set_len`] |
//! | `fstat(fd, &st)` | [`Memfd::size`] |
//! | `fcntl(fd, F_ADD_SEALS, seals)` | [`Memfd::add_seals`] |
//! | `fcntl(fd, F_GET_SEALS)` | [`Memfd::seals`] |
//! | `mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)` | [`Memfd::map_read_only`], [`Memfd::map`] |
//! | `close(fd)` | [`Memfd::close`], or dropping it |
//!
//! A memfd is a file in RAM that no directory lists: its name only labels it in
//! `/proc/PID/fd` and `/proc/PID/maps`. Nothing can open it by that name, so there is nothing
//! to unlink: the memory goes when the last descriptor is closed and the last mapping unmapped,
//! by the program or by the kernel when the process dies. Another process gets it only if it
//! is handed the descriptor (see [`crate::unix_socket`]) or inherits it.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, SealFlag};
use nix::sys::memfd::MFdFlags;
use nix::sys::mman::{MapFlags, ProtFlags};

use crate::call;
use crate::error::{Error, Result};
use crate::region::{Access, ReadOnly, ReadWrite, Region};

/// A set of seals, as `F_GET_SEALS` returns it and `F_ADD_SEALS` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seals(pub SealFlag);

impl Seals {
    /// `F_SEAL_SHRINK|F_SEAL_GROW`: the size cannot change.
    pub const SIZE: Seals = Seals(SealFlag::F_SEAL_SHRINK.union(SealFlag::F_SEAL_GROW));

    /// Whether every seal of `other` is in this set.
    pub fn contains(self, other: Seals) -> bool {
        self.0.contains(other.0)
    }

    /// The seals of `other` missing from this set.
    pub fn missing(self, other: Seals) -> Seals {
        Seals(other.0.difference(self.0))
    }

    /// Whether no seal is set.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}

/// Each seal with its C name, in the order `man 2 fcntl` lists them.
const NAMES: &[(SealFlag, &str)] = &[
    (SealFlag::F_SEAL_SEAL, "F_SEAL_SEAL"),
    (SealFlag::F_SEAL_SHRINK, "F_SEAL_SHRINK"),
    (SealFlag::F_SEAL_GROW, "F_SEAL_GROW"),
    (SealFlag::F_SEAL_WRITE, "F_SEAL_WRITE"),
    (SealFlag::F_SEAL_FUTURE_WRITE, "F_SEAL_FUTURE_WRITE"),
];

impl std::fmt::Display for Seals {
    /// `F_SEAL_SHRINK|F_SEAL_GROW`, or `0` for none; an unknown bit as a number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = NAMES
            .iter()
            .filter(|(flag, _)| self.0.contains(*flag))
            .map(|(_, name)| (*name).to_owned())
            .collect();
        let known = NAMES.iter().fold(0, |bits, (flag, _)| bits | flag.bits());
        let unknown = self.0.bits() & !known;
        if unknown != 0 {
            parts.push(format!("{unknown:#x}"));
        }
        if parts.is_empty() { f.write_str("0") } else { f.write_str(&parts.join("|")) }
    }
}

/// An anonymous memory file, open in this process.
#[derive(Debug)]
pub struct Memfd {
    fd: OwnedFd,
}

impl Memfd {
    /// `memfd_create(name, MFD_CLOEXEC)`, with `|MFD_ALLOW_SEALING` if `sealable`. Without
    /// that flag the file starts with `F_SEAL_SEAL`: no seal can ever be added.
    pub fn create(name: &str, sealable: bool) -> Result<Memfd> {
        let mut flags = MFdFlags::MFD_CLOEXEC;
        let mut text = String::from("MFD_CLOEXEC");
        if sealable {
            flags |= MFdFlags::MFD_ALLOW_SEALING;
            text.push_str("|MFD_ALLOW_SEALING");
        }
        let made = call::make("memfd_create").arg_with(call::Arg::string(name)).arg(text);
        match nix::sys::memfd::memfd_create(name, flags) {
            Ok(fd) => {
                made.returned(fd.as_raw_fd());
                Ok(Memfd { fd })
            }
            Err(errno) => Err(made.failed(errno).error().with_hint(
                "memfd_create needs Linux 3.17 or later; EMFILE means this process has too many \
                 files open",
            )),
        }
    }

    /// A memfd whose descriptor came from elsewhere (another process, over a socket).
    pub fn from_fd(fd: OwnedFd) -> Memfd {
        Memfd { fd }
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The descriptor's number.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `ftruncate(fd, len)`: sets the size. A seal refuses a change with EPERM.
    pub fn set_len(&self, len: u64) -> Result<()> {
        let made = call::make("ftruncate").arg(self.raw()).arg(len);
        let result = nix::unistd::ftruncate(&self.fd, len as libc::off_t);
        let call = made.ended(result.map(|()| 0));
        result.map_err(|errno| match errno {
            Errno::EPERM => call.error().with_meaning(
                "a seal forbids this change of size: F_SEAL_SHRINK (smaller) or F_SEAL_GROW \
                 (larger)",
            ),
            _ => call.error(),
        })
    }

    /// `fstat(fd, &st)`: the size now.
    pub fn size(&self) -> Result<u64> {
        let made = call::make("fstat").arg(self.raw()).arg("&st");
        match nix::sys::stat::fstat(&self.fd) {
            Ok(st) => {
                made.returned(0);
                Ok(u64::try_from(st.st_size).unwrap_or(0))
            }
            Err(errno) => Err(made.failed(errno).error()),
        }
    }

    /// `fcntl(fd, F_ADD_SEALS, seals)`. Seals are never removed.
    pub fn add_seals(&self, seals: Seals) -> Result<()> {
        let made = call::make("fcntl").arg(self.raw()).arg("F_ADD_SEALS").arg(seals);
        let result = nix::fcntl::fcntl(&self.fd, FcntlArg::F_ADD_SEALS(seals.0));
        let call = made.ended(result);
        result.map(|_| ()).map_err(|errno| {
            let err = call.error();
            match errno {
                Errno::EBUSY => err.with_meaning(
                    "F_SEAL_WRITE cannot be added while a writable shared mapping of the file \
                     exists",
                ),
                Errno::EPERM => err.with_meaning(
                    "the file has F_SEAL_SEAL: its seals are fixed (a memfd made without \
                     MFD_ALLOW_SEALING starts so)",
                ),
                Errno::EINVAL => err.with_meaning("this file does not support seals"),
                _ => err,
            }
        })
    }

    /// `fcntl(fd, F_GET_SEALS)`: the seals set on the file.
    pub fn seals(&self) -> Result<Seals> {
        let made = call::make("fcntl").arg(self.raw()).arg("F_GET_SEALS");
        match nix::fcntl::fcntl(&self.fd, FcntlArg::F_GET_SEALS) {
            Ok(bits) => {
                made.returned(format!("{bits:#x}"));
                Ok(Seals(SealFlag::from_bits_retain(bits)))
            }
            Err(errno) => Err(made.failed(errno).error()),
        }
    }

    /// `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)`. Not checked against the
    /// size: a page past the end faults with SIGBUS when touched.
    pub fn map(&self, len: usize) -> Result<Region<ReadWrite>> {
        self.map_with(len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE)
    }

    /// `mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)`: loads only.
    pub fn map_read_only(&self, len: usize) -> Result<Region<ReadOnly>> {
        self.map_with(len, ProtFlags::PROT_READ)
    }

    fn map_with<A: Access>(&self, len: usize, prot: ProtFlags) -> Result<Region<A>> {
        let prot_text =
            if prot.contains(ProtFlags::PROT_WRITE) { "PROT_READ|PROT_WRITE" } else { "PROT_READ" };
        let Some(length) = NonZeroUsize::new(len) else {
            return Err(Error::other("mmap of 0 bytes", "a mapping cannot be empty (not called)"));
        };
        let made = call::make("mmap").arg("NULL").arg(len).arg(prot_text);
        let made = made.arg("MAP_SHARED").arg(self.raw()).arg(0);
        // SAFETY: a null address lets the kernel choose where to map, replacing nothing; the
        // region reaches the memory only through atomics (another process may change it) and
        // unmaps it on drop.
        let mapped =
            unsafe { nix::sys::mman::mmap(None, length, prot, MapFlags::MAP_SHARED, &self.fd, 0) };
        match mapped {
            Ok(addr) => {
                made.returned(format!("{:#x}", addr.as_ptr() as usize));
                Ok(Region::mapped(addr.cast(), len))
            }
            Err(errno) => {
                let err = made.failed(errno).error();
                Err(match errno {
                    Errno::EPERM => err.with_meaning(
                        "the file is sealed against writing (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE): \
                         only a read-only mapping is allowed",
                    ),
                    _ => err,
                })
            }
        }
    }

    /// `close(fd)` now, recorded. Mappings stay valid without the descriptor.
    pub fn close(self) -> Result<()> {
        let raw = self.raw();
        let made = call::make("close").arg(raw);
        let result = nix::unistd::close(self.fd);
        let call = made.ended(result.map(|()| 0));
        result.map_err(|_| call.error())
    }
}
