//! POSIX shared memory: named objects under `/dev/shm`, sized with `ftruncate` and mapped
//! with `mmap`.
//!
//! | C | here |
//! |---|---|
//! | `shm_open(name, O_CREAT\|O_EXCL\|O_RDWR, 0600)` | [`SharedObject::create`] |
//! | `shm_open(name, O_RDWR, 0)` / `O_RDONLY` | [`SharedObject::open`] with [`Access`] |
//! | `ftruncate(fd, len)` | [`SharedObject::set_len`] |
//! | `fstat(fd, &st)` | [`SharedObject::stat`] |
//! | `mmap(NULL, len, PROT_READ\|PROT_WRITE, MAP_SHARED, fd, 0)` | [`SharedObject::map`] |
//! | `munmap(addr, len)` | dropping the [`Mapping`], or [`Mapping::unmap`] |
//! | `shm_unlink(name)` | [`SharedObject::unlink`], or dropping an object you created |
//!
//! The object is removed (unlinked) by the process that created it when the value is dropped,
//! or by the cleanup handler on Ctrl-C; a forked child or a process that only opened it never
//! removes it, unless it calls [`unlink`] explicitly.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU8;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::stat::Mode;
use nix::unistd::getpid;

use crate::cleanup::{self, Kind, Ownership};
use crate::error::{Error, Result};
use crate::shm::{Access, Shareable, octal, shared_bytes};

/// The longest name Linux accepts after the leading `/` (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Checks a name the way this workbook wants it: a leading `/`, no other `/`, not empty, at
/// most [`NAME_MAX`] bytes. (glibc itself strips a missing leading slash silently; refusing
/// it here keeps programs portable.)
pub fn check_name(name: &str) -> Result<()> {
    let call = format!("shm_open(\"{name}\")");
    let refuse = |why: &str| {
        Err(Error::sys(&call, Errno::EINVAL).with_meaning(why.to_owned()).with_hint(
            "use a name like \"/my-object\": one leading slash, then letters, digits, '-', '_' or '.'",
        ))
    };
    let Some(rest) = name.strip_prefix('/') else {
        return refuse("a POSIX shared memory name must start with '/'");
    };
    if rest.is_empty() {
        return refuse("the name is only '/': it needs at least one character after the slash");
    }
    if rest.contains('/') {
        return refuse(
            "a POSIX shared memory name may hold no '/' after the first one (it is a file name in /dev/shm, not a path)",
        );
    }
    if rest.len() > NAME_MAX {
        return Err(Error::sys(&call, Errno::ENAMETOOLONG).with_meaning(format!(
            "the name is {} bytes long; at most {NAME_MAX} may follow the slash",
            rest.len()
        )));
    }
    if rest == "." || rest == ".." || rest.contains('\0') {
        return refuse("\".\", \"..\" and NUL bytes are not object names");
    }
    Ok(())
}

/// A name that no other run, and no other user, will pick: `/shm-workbook-<uid>-<pid>-<what>`.
pub fn unique_name(what: &str) -> String {
    format!("/shm-workbook-{}-{}-{what}", nix::unistd::getuid(), getpid())
}

/// A POSIX shared memory object, open in this process.
#[derive(Debug)]
pub struct SharedObject {
    name: String,
    fd: OwnedFd,
    ownership: Ownership,
}

/// What `fstat` says about an object: what `ls -l /dev/shm/<name>` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectStat {
    /// Its size in bytes (0 until `ftruncate`).
    pub len: u64,
    /// Its permission bits.
    pub mode: u32,
    /// Its owner's user id.
    pub uid: u32,
    /// Its group id.
    pub gid: u32,
}

impl SharedObject {
    /// `shm_open(name, O_CREAT|O_EXCL|O_RDWR, mode)`: a new object, owned by this process,
    /// which unlinks it on drop. Its size is 0 until [`set_len`](Self::set_len).
    pub fn create(name: &str, mode: u32) -> Result<SharedObject> {
        check_name(name)?;
        let call = format!("shm_open(\"{name}\", O_CREAT|O_EXCL|O_RDWR, {})", octal(mode));
        let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR;
        let opened = cleanup::with_signals_held(|| {
            let fd = nix::sys::mman::shm_open(name, flags, Mode::from_bits_truncate(mode))?;
            let tracked = cleanup::c_path(std::path::Path::new(name))
                .and_then(|path| cleanup::track(Kind::PosixShm, 0, Some(path.as_bytes())));
            Ok::<_, Errno>((fd, tracked))
        });
        let (fd, tracked) = opened.map_err(|errno| open_error(call, name, errno))?;
        Ok(SharedObject { name: name.to_owned(), fd, ownership: Ownership::created(tracked) })
    }

    /// `shm_open(name, O_RDWR or O_RDONLY, 0)`: an existing object. Never unlinked on drop.
    pub fn open(name: &str, access: Access) -> Result<SharedObject> {
        check_name(name)?;
        let (flags, text) = match access {
            Access::ReadWrite => (OFlag::O_RDWR, "O_RDWR"),
            Access::ReadOnly => (OFlag::O_RDONLY, "O_RDONLY"),
        };
        let call = format!("shm_open(\"{name}\", {text}, 0)");
        let fd = nix::sys::mman::shm_open(name, flags, Mode::empty())
            .map_err(|errno| open_error(call, name, errno))?;
        Ok(SharedObject { name: name.to_owned(), fd, ownership: Ownership::none() })
    }

    /// The object's name, with its leading `/`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the object shows up as a file: `/dev/shm/<name without the slash>`.
    pub fn path(&self) -> String {
        format!("/dev/shm{}", self.name)
    }

    /// The file descriptor `shm_open` returned.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// `ftruncate(fd, len)`: sets the object's size (new bytes read as zero).
    pub fn set_len(&self, len: u64) -> Result<()> {
        let call = format!("ftruncate(fd of \"{}\", {len})", self.name);
        let len = libc::off_t::try_from(len)
            .map_err(|_| Error::other(&call, "the size does not fit in off_t"))?;
        nix::unistd::ftruncate(&self.fd, len).map_err(|errno| {
            let err = Error::sys(&call, errno);
            match errno {
                Errno::EINVAL | Errno::EBADF => {
                    err.with_hint("ftruncate needs a descriptor opened with O_RDWR")
                }
                Errno::EFBIG | Errno::ENOSPC | Errno::ENOMEM => {
                    err.with_hint("/dev/shm is memory: `df -h /dev/shm` shows how much is free")
                }
                _ => err,
            }
        })
    }

    /// `fstat(fd, &st)`: size, mode and owner.
    pub fn stat(&self) -> Result<ObjectStat> {
        let st = nix::sys::stat::fstat(&self.fd)
            .map_err(|errno| Error::sys(format!("fstat(fd of \"{}\")", self.name), errno))?;
        Ok(ObjectStat {
            len: u64::try_from(st.st_size).unwrap_or(0),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
        })
    }

    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, 0)`. Bytes past the object's
    /// size fault with SIGBUS, so `len` is checked against it first.
    pub fn map(&self, len: usize, access: Access) -> Result<Mapping> {
        let (prot, prot_text) = match access {
            Access::ReadWrite => {
                (ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, "PROT_READ|PROT_WRITE")
            }
            Access::ReadOnly => (ProtFlags::PROT_READ, "PROT_READ"),
        };
        let call =
            format!("mmap(NULL, {len}, {prot_text}, MAP_SHARED, fd of \"{}\", 0)", self.name);
        let size = self.stat()?.len;
        let Some(length) = NonZeroUsize::new(len) else {
            return Err(Error::sys(call, Errno::EINVAL)
                .with_meaning("a mapping cannot be 0 bytes long")
                .with_hint("call set_len (ftruncate) first, then map that many bytes"));
        };
        if len as u64 > size {
            return Err(Error::other(
                call,
                format!(
                    "the object is {size} bytes; touching a mapping past its end raises SIGBUS"
                ),
            )
            .with_hint("size it first with set_len (ftruncate)"));
        }
        // SAFETY: a null address lets the kernel choose where to map; `self.fd` is open; the
        // mapping is shared memory that we only ever reach through atomics (see `bytes`), and
        // it stays valid until the `Mapping` is dropped, whatever happens to the fd or name.
        let addr = unsafe { nix::sys::mman::mmap(None, length, prot, MapFlags::MAP_SHARED, &self.fd, 0) }
            .map_err(|errno| {
                let err = Error::sys(&call, errno);
                match errno {
                    Errno::EACCES => err.with_meaning("the descriptor's access mode does not allow this protection (PROT_WRITE needs O_RDWR)"),
                    _ => err,
                }
            })?;
        Ok(Mapping { addr: addr.cast(), len, access })
    }

    /// Whether dropping this value unlinks the name (only in the process that created it).
    pub fn removes_on_drop(&self) -> bool {
        self.ownership.is_mine()
    }

    /// Gives up ownership: dropping this value will leave the name in place.
    pub fn disown(&mut self) {
        self.ownership.give_up();
    }

    /// `shm_unlink(name)` now. Mappings that exist keep working; the memory goes when the last
    /// of them is unmapped and the last descriptor closed.
    pub fn unlink(mut self) -> Result<()> {
        let result = unlink(&self.name);
        self.disown();
        result
    }
}

impl Drop for SharedObject {
    fn drop(&mut self) {
        if self.removes_on_drop() {
            // An error here (already unlinked by hand) leaves nothing to clean.
            let _ = nix::sys::mman::shm_unlink(self.name.as_str());
        }
    }
}

fn open_error(call: String, name: &str, errno: Errno) -> Error {
    let err = Error::sys(call, errno);
    match errno {
        Errno::ENOENT => err.with_hint(format!(
            "start the program that creates {name} first; `ls /dev/shm` lists the objects that exist"
        )),
        Errno::EEXIST => err.with_hint(format!(
            "`ls -l /dev/shm{name}` shows who has it; if it is a stale object of yours, left by a crashed run, remove it with `rm /dev/shm{name}`"
        )),
        Errno::EACCES => err.with_hint(format!("`ls -l /dev/shm{name}` shows its owner and mode")),
        _ => err,
    }
}

/// `shm_unlink(name)` for any name, owned or not.
pub fn unlink(name: &str) -> Result<()> {
    check_name(name)?;
    nix::sys::mman::shm_unlink(name).map_err(|errno| {
        let err = Error::sys(format!("shm_unlink(\"{name}\")"), errno);
        match errno {
            Errno::ENOENT => err
                .with_meaning("no POSIX shared memory object has this name (already unlinked?)")
                .with_hint("`ls /dev/shm` lists the objects that exist"),
            Errno::EACCES => err.with_meaning(
                "you may not remove this name: /dev/shm is sticky, so only the object's owner (or root) may unlink it",
            ),
            _ => err,
        }
    })
}

/// A POSIX object mapped into this process with `MAP_SHARED`; unmapped (`munmap`) on drop.
/// As with [`Attachment`](crate::shm::Attachment), the bytes are reached through atomics.
#[derive(Debug)]
pub struct Mapping {
    addr: NonNull<u8>,
    len: usize,
    access: Access,
}

impl Mapping {
    /// Where the object is mapped in this process.
    pub fn address(&self) -> usize {
        self.addr.as_ptr() as usize
    }

    /// The mapped length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: `map` refuses 0 bytes).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Read-write or read-only.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The start of the mapping as a raw pointer, for APIs that need one. Whoever reads or
    /// writes through it must synchronize concurrent access; the safe ways in are
    /// [`bytes`](Self::bytes) and [`view`](Self::view).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// The mapping as bytes that may change under us at any time.
    pub fn bytes(&self) -> &[AtomicU8] {
        // SAFETY: `len` bytes at `addr` stay mapped until `self` is dropped, and `&self`
        // borrows `self`. AtomicU8 has the size and alignment of u8, and atomics may be changed
        // by other processes at any moment, which is what shared memory does.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr().cast::<AtomicU8>(), self.len) }
    }

    /// Copies `data` in at `offset` (atomic byte stores, Relaxed).
    pub fn store(&self, offset: usize, data: &[u8]) -> Result<()> {
        shared_bytes::store(self.bytes(), self.access == Access::ReadOnly, offset, data)
    }

    /// Writes `text` and a terminating NUL at `offset`, as `sprintf` would.
    pub fn store_c_string(&self, offset: usize, text: &str) -> Result<()> {
        shared_bytes::store_c_string(self.bytes(), self.access == Access::ReadOnly, offset, text)
    }

    /// Copies `len` bytes at `offset` out (atomic loads, Relaxed), fewer if the mapping ends.
    pub fn load(&self, offset: usize, len: usize) -> Vec<u8> {
        shared_bytes::load(self.bytes(), offset, len)
    }

    /// Reads a NUL-terminated string at `offset`, never past the end.
    pub fn load_c_string(&self, offset: usize) -> String {
        shared_bytes::load_c_string(self.bytes(), offset)
    }

    /// A typed view of the start of the mapping.
    pub fn view<T: Shareable>(&self) -> Result<&T> {
        shared_bytes::view(self.bytes())
    }

    /// `munmap(addr, len)` now, reporting an error instead of ignoring it as drop does.
    pub fn unmap(self) -> Result<()> {
        let (addr, len) = (self.addr, self.len);
        std::mem::forget(self);
        // SAFETY: `addr` and `len` came from mmap and are unmapped once (the value is consumed).
        unsafe { nix::sys::mman::munmap(addr.cast(), len) }
            .map_err(|errno| Error::sys(format!("munmap({:p}, {len})", addr.as_ptr()), errno))
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr` and `len` came from mmap and are unmapped exactly once, here or in
        // `unmap`.
        let _ = unsafe { nix::sys::mman::munmap(self.addr.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_need_one_leading_slash_and_no_other() {
        assert!(check_name("/good-name").is_ok());
        for bad in ["no-slash", "/", "/a/b", "//x", "/.."] {
            let err = check_name(bad).unwrap_err();
            assert_eq!(err.errno(), Some(Errno::EINVAL), "{bad}");
        }
        let long = format!("/{}", "x".repeat(NAME_MAX + 1));
        assert_eq!(check_name(&long).unwrap_err().errno(), Some(Errno::ENAMETOOLONG));
    }

    #[test]
    fn an_object_is_created_sized_mapped_shared_and_unlinked_on_drop() {
        let name = unique_name("unit-test");
        let object = SharedObject::create(&name, 0o600).unwrap();
        assert_eq!(object.stat().unwrap().len, 0);
        assert!(object.map(4096, Access::ReadWrite).is_err(), "a 0-byte object cannot be mapped");
        object.set_len(4096).unwrap();
        let stat = object.stat().unwrap();
        assert_eq!((stat.len, stat.mode), (4096, 0o600));
        let writer = object.map(4096, Access::ReadWrite).unwrap();
        let other = SharedObject::open(&name, Access::ReadOnly).unwrap();
        let reader = other.map(4096, Access::ReadOnly).unwrap();
        writer.store_c_string(0, "hello").unwrap();
        assert_eq!(reader.load_c_string(0), "hello");
        assert!(reader.store(0, b"x").is_err(), "read-only mappings refuse stores");
        assert_eq!(SharedObject::create(&name, 0o600).unwrap_err().errno(), Some(Errno::EEXIST));
        drop(other);
        drop(object);
        assert!(!std::path::Path::new(&format!("/dev/shm{name}")).exists());
        assert_eq!(reader.load_c_string(0), "hello", "mappings outlive the name");
        assert_eq!(
            SharedObject::open(&name, Access::ReadWrite).unwrap_err().errno(),
            Some(Errno::ENOENT)
        );
    }
}
