//! POSIX shared memory: named objects under `/dev/shm`, sized with `ftruncate` and mapped
//! with `mmap`.
//!
//! Each C call, and what does it here:
//!
//! - `shm_open(name, O_CREAT|O_EXCL|O_RDWR, 0600)`: [`SharedObject::create`]
//! - `shm_open(name, O_RDWR, 0)` / `O_RDONLY`: [`SharedObject::open`],
//!   [`SharedObject::open_read_only`]
//! - `ftruncate(fd, len)`: [`SharedObject::set_len`]
//! - `fstat(fd, &st)`: [`SharedObject::stat`]
//! - `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)`: [`SharedObject::map`], a
//!   [`Region<ReadWrite>`]
//! - `mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)`: [`SharedObject::map_read_only`], a
//!   [`Region<ReadOnly>`]: loads only
//! - `munmap(addr, len)`: dropping the region, or [`Region::detach`]
//! - `shm_unlink(name)`: [`SharedObject::unlink`], or dropping an object you created
//!
//! The object is removed (unlinked) by the process that created it when the value is dropped,
//! or by the cleanup handler on Ctrl-C; a forked child or a process that only opened it never
//! removes it, unless it calls [`unlink`] explicitly.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::stat::Mode;

use super::name::check_name;
use crate::call::octal;
use crate::call::{self, Arg};
use crate::cleanup::{self, Ownership};
use crate::error::{Error, Result};
use crate::region::{Access, ReadOnly, ReadWrite, Region};
use crate::registry::Kind;

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
    /// `shm_open(name, O_RDWR|O_CREAT|O_EXCL, mode)`: a new object, owned by this process,
    /// which unlinks it on drop. Its size is 0 until [`set_len`](Self::set_len).
    pub fn create(name: &str, mode: u32) -> Result<SharedObject> {
        check_name(name)?;
        let flags = OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL;
        let made = open_call(name, flags, mode);
        let opened = cleanup::with_signals_held(|| {
            let fd = nix::sys::mman::shm_open(name, flags, Mode::from_bits_truncate(mode))?;
            let tracked = cleanup::c_path(std::path::Path::new(name))
                .and_then(|path| cleanup::track(Kind::PosixShm, 0, Some(path.as_bytes())));
            Ok::<_, Errno>((fd, tracked))
        });
        let (fd, tracked) = match opened {
            Ok(opened) => opened,
            Err(errno) => return Err(open_error(made.failed(errno).error(), name, errno)),
        };
        made.returned(fd.as_raw_fd());
        Ok(SharedObject { name: name.to_owned(), fd, ownership: Ownership::created(tracked) })
    }

    /// `shm_open(name, O_RDWR, 0)`: an existing object, for reading and writing. Never
    /// unlinked on drop.
    pub fn open(name: &str) -> Result<SharedObject> {
        SharedObject::open_with(name, OFlag::O_RDWR)
    }

    /// `shm_open(name, O_RDONLY, 0)`: an existing object, for reading only (it can then be
    /// mapped with [`map_read_only`](Self::map_read_only) only).
    pub fn open_read_only(name: &str) -> Result<SharedObject> {
        SharedObject::open_with(name, OFlag::O_RDONLY)
    }

    fn open_with(name: &str, flags: OFlag) -> Result<SharedObject> {
        check_name(name)?;
        let made = open_call(name, flags, 0);
        let object = match nix::sys::mman::shm_open(name, flags, Mode::empty()) {
            Ok(fd) => {
                made.returned(fd.as_raw_fd());
                SharedObject { name: name.to_owned(), fd, ownership: Ownership::none() }
            }
            Err(errno) => return Err(open_error(made.failed(errno).error(), name, errno)),
        };
        object.refuse_foreign()?;
        Ok(object)
    }

    /// The workbook uses only the user's own objects, closed to others: an object another user
    /// created under this name (perhaps to read what the student writes), or one that others
    /// may read or write, is refused, naming its owner.
    fn refuse_foreign(&self) -> Result<()> {
        let stat = self.stat_call(true)?;
        let me = nix::unistd::geteuid().as_raw();
        let problem = if stat.uid != me {
            format!("it belongs to {}, not to you", crate::procfs::user_called(stat.uid))
        } else if stat.mode & 0o077 != 0 {
            format!("its mode is {}: other users may read or write it", octal(stat.mode))
        } else {
            return Ok(());
        };
        Err(Error::other(
            format!("using {}", self.path()),
            format!("{problem}; the workbook uses only your own objects, mode 0600"),
        )
        .with_hint(format!(
            "`ls -l {}` shows it; choose another name (lesson08's commands take --name \
             /something-else), or remove it if it is yours",
            self.path()
        )))
    }

    /// The object's name, with its leading `/`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the object shows up as a file: `/dev/shm/<name without the slash>`.
    pub fn path(&self) -> String {
        format!("/dev/shm{}", self.name)
    }

    /// The open file descriptor.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// `ftruncate(fd, len)`: gives the object its size (a new object has 0 bytes).
    pub fn set_len(&self, len: u64) -> Result<()> {
        let made = call::make("ftruncate").arg(self.fd.as_raw_fd()).arg(len);
        let result = nix::unistd::ftruncate(&self.fd, len as libc::off_t);
        match result {
            Ok(()) => {
                made.returned(0);
                Ok(())
            }
            Err(errno) => {
                let err = made.failed(errno).error();
                Err(match errno {
                    Errno::EINVAL | Errno::EBADF => err.with_meaning(
                        "the descriptor is not open for writing (ftruncate needs O_RDWR), or the \
                         size is invalid",
                    ),
                    _ => err,
                })
            }
        }
    }

    /// `fstat(fd, &st)`: the object's size, mode and owner, as `ls -l /dev/shm` shows them.
    pub fn stat(&self) -> Result<ObjectStat> {
        self.stat_call(false)
    }

    fn stat_call(&self, helper: bool) -> Result<ObjectStat> {
        let mut made = call::make("fstat").arg(self.fd.as_raw_fd()).arg("&st");
        if helper {
            made = made.helper();
        }
        let st = match nix::sys::stat::fstat(&self.fd) {
            Ok(st) => st,
            Err(errno) => return Err(made.failed(errno).error()),
        };
        made.returned(0);
        Ok(ObjectStat {
            len: u64::try_from(st.st_size).unwrap_or(0),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
        })
    }

    /// `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)`: the object in this process,
    /// for reading and writing. Bytes past the object's size fault with SIGBUS, so `len` is
    /// checked against it first (with `fstat`).
    pub fn map(&self, len: usize) -> Result<Region<ReadWrite>> {
        self.map_with(len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE)
    }

    /// `mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)`: the object, for reading only; the
    /// region offers loads only.
    pub fn map_read_only(&self, len: usize) -> Result<Region<ReadOnly>> {
        self.map_with(len, ProtFlags::PROT_READ)
    }

    fn map_with<A: Access>(&self, len: usize, prot: ProtFlags) -> Result<Region<A>> {
        let prot_text =
            if prot.contains(ProtFlags::PROT_WRITE) { "PROT_READ|PROT_WRITE" } else { "PROT_READ" };
        let size = self.stat_call(true)?.len;
        let c_text =
            || format!("mmap(NULL, {len}, {prot_text}, MAP_SHARED, {}, 0)", self.fd.as_raw_fd());
        let Some(length) = NonZeroUsize::new(len) else {
            return Err(Error::other(c_text(), "a mapping cannot be 0 bytes long (not called)")
                .with_hint("call set_len (ftruncate) first, then map that many bytes"));
        };
        if len as u64 > size {
            return Err(Error::other(
                c_text(),
                format!(
                    "not called: the object is {size} bytes, and touching a mapping past its end \
                     raises SIGBUS"
                ),
            )
            .with_hint("size it first with set_len (ftruncate)"));
        }
        let made = call::make("mmap")
            .arg("NULL")
            .arg(len)
            .arg(prot_text)
            .arg("MAP_SHARED")
            .arg(self.fd.as_raw_fd())
            .arg(0);
        // SAFETY: a null address lets the kernel choose where to map; `self.fd` is open; the
        // mapping is shared memory that the region reaches only through atomics, and it stays
        // valid until the region is dropped, whatever happens to the fd or the name.
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
                    Errno::EACCES => err.with_meaning(
                        "the descriptor's access mode does not allow this protection (PROT_WRITE \
                         needs O_RDWR)",
                    ),
                    _ => err,
                })
            }
        }
    }

    /// `close(fd)` now, recorded so that a lesson can print it: mappings stay valid without
    /// the descriptor. Otherwise like dropping the value (an object this process created is
    /// unlinked first).
    pub fn close(self) -> Result<()> {
        let this = std::mem::ManuallyDrop::new(self);
        if this.removes_on_drop() {
            let _ = unlink(&this.name);
        }
        // SAFETY: `this` is never used nor dropped again: each field is moved out once, here.
        let (fd, _name, _ownership) = unsafe {
            (std::ptr::read(&this.fd), std::ptr::read(&this.name), std::ptr::read(&this.ownership))
        };
        let made = call::make("close").arg(fd.as_raw_fd());
        let result = nix::unistd::close(fd);
        let call = made.ended(result.map(|()| 0));
        result.map_err(|_| call.error())
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
            let _ = unlink(&self.name);
        }
    }
}

/// The `shm_open` call about to be made, with its flags as C writes them.
fn open_call(name: &str, flags: OFlag, mode: u32) -> call::CallBuilder {
    let mut parts = vec![if flags.contains(OFlag::O_RDWR) { "O_RDWR" } else { "O_RDONLY" }];
    if flags.contains(OFlag::O_CREAT) {
        parts.push("O_CREAT");
    }
    if flags.contains(OFlag::O_EXCL) {
        parts.push("O_EXCL");
    }
    let mode = if flags.contains(OFlag::O_CREAT) { octal(mode) } else { "0".to_owned() };
    call::make("shm_open").arg_with(Arg::string(name)).arg(parts.join("|")).arg(mode)
}

fn open_error(err: Error, name: &str, errno: Errno) -> Error {
    match errno {
        Errno::ENOENT => err.with_hint(format!(
            "start the program that creates {name} first; `ls /dev/shm` lists the objects that \
             exist"
        )),
        Errno::EEXIST
            if let Some(owner) = std::fs::symlink_metadata(format!("/dev/shm{name}"))
                .ok()
                .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta))
                .filter(|&uid| uid != nix::unistd::geteuid().as_raw()) =>
        {
            err.with_hint(format!(
                "/dev/shm{name} belongs to {}, not to you: leave it alone and use another name",
                crate::procfs::user_called(owner)
            ))
        }
        Errno::EEXIST => err.with_hint(format!(
            "`ls -l /dev/shm{name}` shows who has it; if it is a stale object of yours, left by a \
             crashed run, remove it with `rm /dev/shm{name}`"
        )),
        Errno::EACCES => err.with_hint(format!("`ls -l /dev/shm{name}` shows its owner and mode")),
        _ => err,
    }
}

/// `shm_open(name, O_RDWR, 0)` with `name` exactly as given, without [`check_name`]: what glibc
/// itself does with a name (lesson10 shows it refusing `"/a/b"` and accepting a name without
/// its leading slash). Nothing is created, so nothing is owned; the descriptor closes on drop.
pub fn open_unchecked(name: &str) -> Result<OwnedFd> {
    let made = open_call(name, OFlag::O_RDWR, 0);
    match nix::sys::mman::shm_open(name, OFlag::O_RDWR, Mode::empty()) {
        Ok(fd) => {
            made.returned(fd.as_raw_fd());
            Ok(fd)
        }
        Err(errno) => Err(made.failed(errno).error()),
    }
}

/// `shm_unlink(name)` for any name, owned or not.
pub fn unlink(name: &str) -> Result<()> {
    check_name(name)?;
    let made = call::make("shm_unlink").arg_with(Arg::string(name));
    let result = nix::sys::mman::shm_unlink(name);
    let call = made.ended(result.map(|()| 0));
    result.map_err(|errno| {
        let err = call.error();
        match errno {
            Errno::ENOENT => err
                .with_meaning(
                    "no POSIX shared memory object has this name: it was unlinked already, or \
                     never made",
                )
                .with_hint(format!(
                    "nothing to do: there is nothing to remove (`ls /dev/shm` lists the objects \
                     that exist, and {name} is not among them)"
                )),
            Errno::EACCES => err.with_meaning(
                "you may not remove this name: /dev/shm is sticky, so only the object's owner (or \
                 root) may unlink it",
            ),
            _ => err,
        }
    })
}

/// `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`: private memory
/// of this process alone, never unmapped (it goes when the process exits), to take a range
/// of addresses (lesson 11's child maps it before attaching again). Returns its address.
pub fn map_anonymous(len: usize) -> Result<usize> {
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
    let Some(length) = NonZeroUsize::new(len) else {
        return Err(Error::other("mmap of 0 bytes", "a mapping cannot be empty (not called)"));
    };
    let made = call::make("mmap").arg("NULL").arg(len).arg("PROT_READ|PROT_WRITE");
    let made = made.arg("MAP_PRIVATE|MAP_ANONYMOUS").arg(-1).arg(0);
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: the kernel chooses the address (None), so no existing mapping is replaced; the
    // memory is private to this process and never read or written here.
    let mapped = unsafe { mmap_anonymous(None, length, prot, MapFlags::MAP_PRIVATE) }
        .map(|addr| addr.as_ptr() as usize);
    let made = made.ended(mapped.map(|addr| format!("{addr:#x}")));
    mapped.map_err(|_| made.error())
}
