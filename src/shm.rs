//! System V shared memory: keys, segments, attachments.
//!
//! | C | here |
//! |---|---|
//! | `ftok(path, id)` | [`Key::ftok`] |
//! | `shmget(key, size, IPC_CREAT\|IPC_EXCL\|0600)` | [`Segment::create`] |
//! | `shmget(key, size, IPC_CREAT\|0600)` | [`Segment::create_or_open`] |
//! | `shmget(key, 0, 0)` | [`Segment::open`] |
//! | `shmat(id, NULL, 0)` / `SHM_RDONLY` | [`Segment::attach`] with [`Access`] |
//! | `shmdt(addr)` | dropping the [`Attachment`], or [`Attachment::detach`] |
//! | `shmctl(id, IPC_STAT, &ds)` | [`Segment::stat`] |
//! | `shmctl(id, IPC_RMID, NULL)` | [`Segment::remove`], or dropping a segment you created |
//!
//! nix has no System V IPC, so these wrap `libc` directly.

use std::fmt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{
    AtomicI32, AtomicI64, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
};

use nix::errno::Errno;
use nix::unistd::getpid;

use crate::cleanup::{self, Kind, Ownership};
use crate::error::{Error, Result};
use crate::procfs;

/// The kernel marks a segment with this mode bit once IPC_RMID was asked for while it is still
/// attached (`ipcs` shows `dest`). From `<linux/shm.h>`; libc does not export it.
pub const SHM_DEST: u32 = 0o1000;

/// An IPC key: how unrelated processes name the same object.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(libc::key_t);

impl Key {
    /// `IPC_PRIVATE` (0): always a new object, which nobody can find by key. Processes share
    /// it by inheriting its id across `fork()`.
    pub const PRIVATE: Key = Key(libc::IPC_PRIVATE);

    /// `ftok(path, proj_id)`: a key derived from an existing file's inode and device and the
    /// low 8 bits of `proj_id`. A missing file is an error here; in C, ftok returns -1 and a
    /// program that does not check goes on with the key 0xffffffff.
    pub fn ftok(path: impl AsRef<Path>, proj_id: u8) -> Result<Key> {
        let path = path.as_ref();
        let call = format!("ftok(\"{}\", {proj_id})", path.display());
        let c_path = cleanup::c_path(path)
            .ok_or_else(|| Error::other(&call, "the path contains a NUL byte"))?;
        // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
        let key = unsafe { libc::ftok(c_path.as_ptr(), libc::c_int::from(proj_id)) };
        if key == -1 {
            return Err(Error::sys(call, Errno::last()).with_hint(
                "create the file first (ftok reads its inode), and check the return value: -1 is not a key",
            ));
        }
        Ok(Key(key))
    }

    /// A key given as a number (avoid fixed numbers in real programs: they collide).
    pub const fn from_raw(raw: libc::key_t) -> Key {
        Key(raw)
    }

    /// The key as the kernel sees it.
    pub const fn raw(self) -> libc::key_t {
        self.0
    }

    /// Whether this is `IPC_PRIVATE`.
    pub const fn is_private(self) -> bool {
        self.0 == libc::IPC_PRIVATE
    }

    /// The key in `ipcs` form, `0x0000abcd`, even for IPC_PRIVATE.
    pub fn hex(self) -> String {
        format!("0x{:08x}", self.0 as u32)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_private() { f.write_str("IPC_PRIVATE") } else { f.write_str(&self.hex()) }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A permission mode written as C writes it, `0600`.
pub fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// A System V shared memory segment.
///
/// The process that created it removes it when the `Segment` is dropped; a segment that was
/// only opened, or a copy that a forked child inherited, is never removed by drop. Call
/// [`Segment::remove`] to remove one explicitly.
#[derive(Debug)]
pub struct Segment {
    id: i32,
    key: Key,
    size: usize,
    ownership: Ownership,
}

impl Segment {
    /// `shmget(key, size, IPC_CREAT | IPC_EXCL | mode)`: a new segment, owned by this process.
    /// Fails with EEXIST if the key is taken, rather than quietly opening someone else's.
    /// (With [`Key::PRIVATE`] the segment is always new, and IPC_EXCL is left out.)
    pub fn create(key: Key, size: usize, mode: u32) -> Result<Segment> {
        // IPC_PRIVATE always makes a new segment, so IPC_EXCL would add nothing but noise.
        let (excl, excl_text) =
            if key.is_private() { (0, "") } else { (libc::IPC_EXCL, "IPC_EXCL|") };
        let call = format!("shmget({key}, {size}, IPC_CREAT|{excl_text}{})", octal(mode));
        Segment::get(call, key, size, libc::IPC_CREAT | excl | (mode & 0o777) as i32, true)
    }

    /// `shmget(key, size, IPC_CREAT | mode)`: opens the segment with this key, or creates it.
    /// This process owns it (removes it on drop) only if the kernel reports it as the creator.
    pub fn create_or_open(key: Key, size: usize, mode: u32) -> Result<Segment> {
        let call = format!("shmget({key}, {size}, IPC_CREAT|{})", octal(mode));
        let mut segment =
            Segment::get(call, key, size, libc::IPC_CREAT | (mode & 0o777) as i32, true)?;
        if segment.stat()?.creator_pid != getpid().as_raw() {
            segment.disown();
        }
        Ok(segment)
    }

    /// `shmget(key, size, 0)`: the existing segment with this key; `size` 0 accepts any size.
    /// Never removed on drop.
    pub fn open(key: Key, size: usize) -> Result<Segment> {
        let call = format!("shmget({key}, {size}, 0)");
        Segment::get(call, key, size, 0, false)
    }

    /// A segment known by its id (for example one printed by `ipcs`). Never removed on drop.
    pub fn from_id(id: i32) -> Result<Segment> {
        let mut segment = Segment { id, key: Key::PRIVATE, size: 0, ownership: Ownership::none() };
        let stat = segment.stat()?;
        segment.key = stat.key;
        segment.size = stat.size;
        Ok(segment)
    }

    fn get(call: String, key: Key, size: usize, flags: i32, owned: bool) -> Result<Segment> {
        let created = cleanup::with_signals_held(|| {
            // SAFETY: shmget takes plain integers and touches no memory of ours.
            let id = unsafe { libc::shmget(key.raw(), size, flags) };
            if id == -1 {
                return Err(Errno::last());
            }
            let tracked = if owned { cleanup::track(Kind::SharedMemory, id, None) } else { None };
            Ok((id, tracked))
        });
        let (id, tracked) = created.map_err(|errno| shmget_error(call, key, errno))?;
        Ok(Segment {
            id,
            key,
            size,
            ownership: if owned { Ownership::created(tracked) } else { Ownership::none() },
        })
    }

    /// The shmid, as `ipcs -m` shows it.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The key it was created or opened with.
    pub fn key(&self) -> Key {
        self.key
    }

    /// The size asked for at creation (IPC_STAT has the kernel's view).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether dropping this value removes the segment (only in the process that created it).
    pub fn removes_on_drop(&self) -> bool {
        self.ownership.is_mine()
    }

    /// Gives up ownership: dropping this value will leave the segment in place.
    pub fn disown(&mut self) {
        self.ownership.give_up();
    }

    /// `shmget(key, 0, 0)`, and this process takes over the removal: it removes the segment on
    /// drop (and on Ctrl-C), as if it had created it. For a segment whose creator has exited
    /// and left it behind on purpose.
    pub fn adopt(key: Key) -> Result<Segment> {
        let call = format!("shmget({key}, 0, 0)");
        Segment::get(call, key, 0, 0, true)
    }

    /// `shmat(id, NULL, flags)`: maps the segment into this process.
    pub fn attach(&self, access: Access) -> Result<Attachment> {
        Attachment::new(self.id, access)
    }

    /// `shmctl(id, IPC_STAT, &ds)`: what the kernel knows about the segment.
    pub fn stat(&self) -> Result<SegmentStat> {
        stat(self.id)
    }

    /// `shmctl(id, IPC_SET, &ds)` with a new `shm_perm.mode`: changes the permission bits of an
    /// existing segment (owner and group stay). Only the owner, the creator or a privileged
    /// process may do it (EPERM otherwise).
    pub fn set_mode(&self, mode: u32) -> Result<()> {
        set_mode(self.id, mode)
    }

    /// Polls IPC_STAT until at least `count` processes are attached, for up to `timeout`.
    /// For *observing* (pausing while both sides are attached), never for synchronizing data.
    pub fn wait_for_attachments(&self, count: u64, timeout: std::time::Duration) -> Result<bool> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.stat()?.attachments >= count {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// `shmctl(id, IPC_RMID, NULL)`: removes the segment now. If processes are still attached,
    /// the kernel only marks it (`dest`) and frees it when the last one detaches.
    pub fn remove(mut self) -> Result<()> {
        let result = remove(self.id);
        self.disown();
        result
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if self.removes_on_drop() {
            // An error here (already removed by hand with ipcrm) leaves nothing to clean.
            let _ = remove(self.id);
        }
    }
}

fn shmget_error(call: String, key: Key, errno: Errno) -> Error {
    let err = Error::sys(call, errno);
    match errno {
        Errno::EEXIST => err.with_hint(format!(
            "see who has it with `ipcs -m | grep {}`; if it is a stale segment of yours, left by a crashed run, remove it with `ipcrm -M {}`",
            key.hex(),
            key.hex()
        )),
        Errno::ENOENT => err.with_hint("start the program that creates the segment first, or pass IPC_CREAT"),
        Errno::EACCES => err.with_hint(format!(
            "`ipcs -m -c` shows the owner and mode of the segment with key {}; use a key of your own",
            key.hex()
        )),
        Errno::EINVAL => err.with_hint("compare the size with `cat /proc/sys/kernel/shmmax` and with the existing segment's size in `ipcs -m`"),
        Errno::ENOSPC => err.with_hint("list segments with `ipcs -m` and remove your stale ones with `ipcrm -m <shmid>`"),
        _ => err,
    }
}

fn remove(id: i32) -> Result<()> {
    // SAFETY: IPC_RMID takes no buffer; a null pointer is what the man page asks for.
    if unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) } == -1 {
        return Err(Error::sys(format!("shmctl({id}, IPC_RMID, NULL)"), Errno::last()));
    }
    Ok(())
}

/// `shmctl(id, IPC_SET, &ds)` changing only the permission bits, for any segment id.
pub fn set_mode(id: i32, mode: u32) -> Result<()> {
    let call = format!("shmctl({id}, IPC_SET, {{.shm_perm.mode = {}}})", octal(mode));
    let mut ds = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT fills the shmid_ds that `ds` points to, which is large enough.
    if unsafe { libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()) } == -1 {
        return Err(Error::sys(call, Errno::last()));
    }
    // SAFETY: the call succeeded, so the kernel initialised the structure (it was zeroed too).
    let mut ds = unsafe { ds.assume_init() };
    ds.shm_perm.mode = (mode & 0o777) as _;
    // SAFETY: IPC_SET reads uid, gid and mode from the valid structure `ds` points to.
    if unsafe { libc::shmctl(id, libc::IPC_SET, &mut ds) } == -1 {
        let errno = Errno::last();
        let err = Error::sys(call, errno);
        return Err(match errno {
            Errno::EPERM => {
                err.with_hint("ask the segment's owner (`ipcs -m -c` names them) to change it")
            }
            _ => err,
        });
    }
    Ok(())
}

/// The header of `/proc/sysvipc/shm`, with its columns' spacing collapsed to single spaces.
pub fn sysvipc_header() -> Result<String> {
    let text = read_sysvipc()?;
    Ok(text.lines().next().map(collapse_spaces).unwrap_or_default())
}

/// The line of `/proc/sysvipc/shm` for segment `id` (collapsed to single spaces), if it exists:
/// the kernel's own table, which `ipcs -m` reads too.
pub fn sysvipc_line(id: i32) -> Result<Option<String>> {
    let text = read_sysvipc()?;
    Ok(text
        .lines()
        .skip(1)
        .find(|line| line.split_whitespace().nth(1) == Some(id.to_string().as_str()))
        .map(collapse_spaces))
}

fn read_sysvipc() -> Result<String> {
    procfs::read("/proc/sysvipc/shm").map_err(|err| {
        err.with_hint("this needs Linux with /proc mounted and System V IPC enabled")
    })
}

fn collapse_spaces(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A time from IPC_STAT (seconds since the epoch) as local `HH:MM:SS`, or `never` for 0.
pub fn format_time(seconds: i64) -> String {
    if seconds == 0 {
        return "never".to_owned();
    }
    let t = seconds as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: localtime_r reads `t` and fills the `tm` we own; it is the thread-safe variant.
    if unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) }.is_null() {
        return seconds.to_string();
    }
    // SAFETY: localtime_r succeeded, so it initialised `tm` (which was zeroed anyway).
    let tm = unsafe { tm.assume_init() };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

/// The system's limits on System V shared memory, from `/proc/sys/kernel/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `shmmax`: the largest segment, in bytes.
    pub max_segment_bytes: u64,
    /// `shmmni`: how many segments may exist at once, system-wide.
    pub max_segments: u64,
    /// `shmall`: how many pages all segments together may use.
    pub max_total_pages: u64,
}

/// Reads [`Limits`] from `/proc/sys/kernel/shmmax`, `shmmni` and `shmall`.
pub fn limits() -> Result<Limits> {
    Ok(Limits {
        max_segment_bytes: procfs::read_number("/proc/sys/kernel/shmmax")?,
        max_segments: procfs::read_number("/proc/sys/kernel/shmmni")?,
        max_total_pages: procfs::read_number("/proc/sys/kernel/shmall")?,
    })
}

/// What `shmctl(IPC_STAT)` reports about a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentStat {
    /// The key (0 once the segment is marked for removal).
    pub key: Key,
    /// Size in bytes.
    pub size: usize,
    /// Permission bits and the kernel's flags (see [`SHM_DEST`]).
    pub mode: u32,
    /// Owner's user and group ids.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Creator's user id.
    pub cuid: u32,
    /// Creator's group id.
    pub cgid: u32,
    /// Pid of the creator.
    pub creator_pid: i32,
    /// Pid of the last process to attach or detach.
    pub last_pid: i32,
    /// How many attachments exist now.
    pub attachments: u64,
    /// Time of the last attach (seconds since the epoch, 0 if never).
    pub attach_time: i64,
    /// Time of the last detach.
    pub detach_time: i64,
    /// Time of the last change (creation, IPC_SET).
    pub change_time: i64,
}

impl SegmentStat {
    /// Whether IPC_RMID was asked for while processes are still attached.
    pub fn marked_for_removal(&self) -> bool {
        self.mode & SHM_DEST != 0
    }
}

/// `shmctl(id, IPC_STAT, &ds)` for any segment id.
#[allow(clippy::useless_conversion)] // shmatt_t and time_t are 32-bit on some targets
pub fn stat(id: i32) -> Result<SegmentStat> {
    let mut ds = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT fills the shmid_ds that `ds` points to, which is large enough.
    if unsafe { libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()) } == -1 {
        return Err(Error::sys(format!("shmctl({id}, IPC_STAT, &ds)"), Errno::last()));
    }
    // SAFETY: the call succeeded, so the kernel initialised the structure (it was zeroed too).
    let ds = unsafe { ds.assume_init() };
    Ok(SegmentStat {
        key: Key(ds.shm_perm.__key),
        size: ds.shm_segsz,
        mode: u32::from(ds.shm_perm.mode),
        uid: ds.shm_perm.uid,
        gid: ds.shm_perm.gid,
        cuid: ds.shm_perm.cuid,
        cgid: ds.shm_perm.cgid,
        creator_pid: ds.shm_cpid,
        last_pid: ds.shm_lpid,
        attachments: u64::from(ds.shm_nattch),
        attach_time: i64::from(ds.shm_atime),
        detach_time: i64::from(ds.shm_dtime),
        change_time: i64::from(ds.shm_ctime),
    })
}

/// How to attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `shmat(id, NULL, 0)`.
    ReadWrite,
    /// `shmat(id, NULL, SHM_RDONLY)`: a write through it faults with SIGSEGV.
    ReadOnly,
}

/// A segment mapped into this process; detached (`shmdt`) on drop.
///
/// The memory can change under us at any moment (another process writes it), so the safe ways
/// in are atomics: [`Attachment::bytes`] gives the bytes as `AtomicU8`, and
/// [`Attachment::view`] gives a typed view of a struct made of atomics.
#[derive(Debug)]
pub struct Attachment {
    addr: NonNull<u8>,
    len: usize,
    shmid: i32,
    access: Access,
}

impl Attachment {
    /// `shmat(shmid, NULL, 0 or SHM_RDONLY)`.
    pub fn new(shmid: i32, access: Access) -> Result<Attachment> {
        let (flags, flag_text) = match access {
            Access::ReadWrite => (0, "0"),
            Access::ReadOnly => (libc::SHM_RDONLY, "SHM_RDONLY"),
        };
        let call = format!("shmat({shmid}, NULL, {flag_text})");
        let len = stat(shmid).map_err(|err| match err.errno() {
            Some(errno) => Error::sys(&call, errno),
            None => err,
        })?;
        // SAFETY: a null address lets the kernel choose where to map; no memory of ours is
        // touched. The result is checked against (void *) -1 below.
        let addr = unsafe { libc::shmat(shmid, std::ptr::null(), flags) };
        if addr as isize == -1 {
            let errno = Errno::last();
            let err = Error::sys(call, errno);
            return Err(match errno {
                Errno::EACCES => err.with_hint("check the segment's mode with `ipcs -m`; SHM_RDONLY needs only read permission"),
                Errno::EINVAL | Errno::EIDRM => err.with_hint("list existing segments with `ipcs -m`"),
                _ => err,
            });
        }
        let addr = NonNull::new(addr.cast::<u8>())
            .ok_or_else(|| Error::other("shmat", "the kernel returned a null address"))?;
        Ok(Attachment { addr, len: len.size, shmid, access })
    }

    /// Where the segment is mapped in this process (differs between processes).
    pub fn address(&self) -> usize {
        self.addr.as_ptr() as usize
    }

    /// The start of the mapping as a raw pointer, for APIs that need one (a process-shared
    /// pthread mutex, for instance). Whoever reads or writes through it must make sure that
    /// concurrent access is synchronized: the safe ways in are [`bytes`](Self::bytes) and
    /// [`view`](Self::view).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// The mapped length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the segment has zero length (never, for a real segment).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The id of the attached segment.
    pub fn shmid(&self) -> i32 {
        self.shmid
    }

    /// Read-write or read-only.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The whole segment as bytes that may change under us at any time.
    pub fn bytes(&self) -> &[AtomicU8] {
        // SAFETY: the attachment maps `len` bytes at `addr` until `self` is dropped, and
        // `&self` borrows `self`. AtomicU8 has the size and alignment of u8, and atomics may
        // be changed by others at any moment, which is exactly what shared memory does.
        // On a read-only attachment, *storing* through this faults (SIGSEGV): [`store`]
        // refuses, and only lesson code that means to fault stores through it directly.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr().cast::<AtomicU8>(), self.len) }
    }

    /// Copies `data` into the segment at `offset`, byte by byte with atomic stores (Relaxed:
    /// the synchronization that makes it visible, a semaphore for instance, comes separately).
    pub fn store(&self, offset: usize, data: &[u8]) -> Result<()> {
        shared_bytes::store(self.bytes(), self.access == Access::ReadOnly, offset, data)
    }

    /// Writes `text` and a terminating NUL at `offset`, as `strcpy` would.
    pub fn store_c_string(&self, offset: usize, text: &str) -> Result<()> {
        shared_bytes::store_c_string(self.bytes(), self.access == Access::ReadOnly, offset, text)
    }

    /// Copies `len` bytes at `offset` out of the segment (atomic loads, Relaxed), or fewer if
    /// the segment ends first.
    pub fn load(&self, offset: usize, len: usize) -> Vec<u8> {
        shared_bytes::load(self.bytes(), offset, len)
    }

    /// Reads a NUL-terminated string at `offset`, as `printf("%s")` would (never past the end).
    pub fn load_c_string(&self, offset: usize) -> String {
        shared_bytes::load_c_string(self.bytes(), offset)
    }

    /// A typed view of the start of the segment: `&T` where `T` is a [`Shareable`] struct.
    pub fn view<T: Shareable>(&self) -> Result<&T> {
        shared_bytes::view(self.bytes())
    }

    /// `shmdt(addr)` now, reporting an error instead of ignoring it as drop does.
    pub fn detach(self) -> Result<()> {
        let addr = self.addr.as_ptr();
        std::mem::forget(self);
        // SAFETY: `addr` came from shmat and has not been detached (the value is consumed).
        if unsafe { libc::shmdt(addr.cast()) } == -1 {
            return Err(Error::sys(format!("shmdt({addr:p})"), Errno::last()));
        }
        Ok(())
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // SAFETY: `addr` came from shmat and is detached exactly once, here or in `detach`.
        unsafe { libc::shmdt(self.addr.as_ptr().cast()) };
    }
}

/// Types that may be viewed in shared memory through [`Attachment::view`].
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
// SAFETY: an array of shareable elements is laid out as its elements, with no padding.
unsafe impl<T: Shareable, const N: usize> Shareable for [T; N] {}

/// Byte access shared by System V attachments and POSIX mappings: both are a run of bytes that
/// another process may change at any moment, so every access is atomic.
pub(crate) mod shared_bytes {
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::Shareable;
    use crate::error::{Error, Result};

    pub(crate) fn store(
        bytes: &[AtomicU8],
        read_only: bool,
        offset: usize,
        data: &[u8],
    ) -> Result<()> {
        let call = || format!("store({} bytes at offset {offset})", data.len());
        if read_only {
            return Err(Error::other(
                call(),
                "this mapping is read-only: a write through it would fault with SIGSEGV",
            ));
        }
        let end = offset
            .checked_add(data.len())
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| Error::other(call(), format!("it has only {} bytes", bytes.len())))?;
        for (cell, &byte) in bytes[offset..end].iter().zip(data) {
            cell.store(byte, Ordering::Relaxed);
        }
        Ok(())
    }

    pub(crate) fn store_c_string(
        bytes: &[AtomicU8],
        read_only: bool,
        offset: usize,
        text: &str,
    ) -> Result<()> {
        let mut data = Vec::with_capacity(text.len() + 1);
        data.extend_from_slice(text.as_bytes());
        data.push(0);
        store(bytes, read_only, offset, &data)
    }

    pub(crate) fn load(bytes: &[AtomicU8], offset: usize, len: usize) -> Vec<u8> {
        let start = offset.min(bytes.len());
        let end = offset.saturating_add(len).min(bytes.len());
        bytes[start..end].iter().map(|cell| cell.load(Ordering::Relaxed)).collect()
    }

    pub(crate) fn load_c_string(bytes: &[AtomicU8], offset: usize) -> String {
        let text: Vec<u8> = bytes[offset.min(bytes.len())..]
            .iter()
            .map(|cell| cell.load(Ordering::Relaxed))
            .take_while(|&byte| byte != 0)
            .collect();
        String::from_utf8_lossy(&text).into_owned()
    }

    pub(crate) fn view<T: Shareable>(bytes: &[AtomicU8]) -> Result<&T> {
        let call = format!("view::<{}>()", std::any::type_name::<T>());
        if std::mem::size_of::<T>() > bytes.len() {
            return Err(Error::other(
                call,
                format!(
                    "the type needs {} bytes, the memory has {}",
                    std::mem::size_of::<T>(),
                    bytes.len()
                ),
            ));
        }
        if !(bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Err(Error::other(call, "the memory is not aligned for the type"));
        }
        // SAFETY: the size and alignment were checked above; `Shareable` promises that every
        // bit pattern is a valid `T` and that concurrent access goes through atomics; the
        // memory stays mapped for as long as `bytes` is borrowed, and so does the result.
        Ok(unsafe { &*bytes.as_ptr().cast::<T>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_segment_is_created_attached_and_removed() {
        let segment = Segment::create(Key::PRIVATE, 4096, 0o600).unwrap();
        let id = segment.id();
        assert!(segment.removes_on_drop());
        let attachment = segment.attach(Access::ReadWrite).unwrap();
        attachment.store_c_string(0, "hello").unwrap();
        assert_eq!(attachment.load_c_string(0), "hello");
        let stat = segment.stat().unwrap();
        assert_eq!(stat.size, 4096);
        assert_eq!(stat.mode & 0o777, 0o600);
        assert_eq!(stat.attachments, 1);
        assert_eq!(stat.creator_pid, getpid().as_raw());
        drop(attachment);
        assert_eq!(segment.stat().unwrap().attachments, 0);
        drop(segment);
        assert_eq!(stat_errno(id), Some(Errno::EINVAL), "dropping the owner removes the segment");
    }

    fn stat_errno(id: i32) -> Option<Errno> {
        stat(id).err().and_then(|err| err.errno())
    }

    #[test]
    fn an_opened_segment_is_not_removed_on_drop() {
        let owner = Segment::create(Key::PRIVATE, 64, 0o600).unwrap();
        drop(Segment::from_id(owner.id()).unwrap());
        assert!(owner.stat().is_ok(), "a segment we did not create survives our drop");
        owner.remove().unwrap();
    }

    #[test]
    fn read_only_attachments_refuse_stores_and_bounds_are_checked() {
        let segment = Segment::create(Key::PRIVATE, 16, 0o600).unwrap();
        let read_only = segment.attach(Access::ReadOnly).unwrap();
        assert!(read_only.store(0, b"x").is_err());
        let read_write = segment.attach(Access::ReadWrite).unwrap();
        assert!(read_write.store(10, b"0123456789").is_err());
        read_write.store(0, b"abc").unwrap();
        assert_eq!(read_only.load_c_string(0), "abc", "two attachments, one memory");
        assert_ne!(read_only.address(), read_write.address());
    }

    #[test]
    fn ftok_of_a_missing_file_is_an_error_not_minus_one() {
        let err = Key::ftok("/nonexistent/shm-workbook/file", 65).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ENOENT));
        assert!(
            err.to_string().contains("ftok(\"/nonexistent/shm-workbook/file\", 65) failed: ENOENT")
        );
    }

    #[test]
    fn ftok_gives_the_same_key_for_the_same_file_and_id() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(Key::ftok(&here, 1).unwrap(), Key::ftok(&here, 1).unwrap());
        assert_ne!(Key::ftok(&here, 1).unwrap(), Key::ftok(&here, 2).unwrap());
        assert_eq!(Key::PRIVATE.to_string(), "IPC_PRIVATE");
        assert_eq!(Key::from_raw(-1).to_string(), "0xffffffff");
    }

    #[test]
    fn typed_views_check_the_size() {
        let segment = Segment::create(Key::PRIVATE, 8, 0o600).unwrap();
        let attachment = segment.attach(Access::ReadWrite).unwrap();
        assert!(attachment.view::<[AtomicU64; 1]>().is_ok());
        assert!(
            attachment.view::<[AtomicU64; 4096]>().is_err(),
            "8 bytes rounded up to a page still cannot hold 32 KiB"
        );
    }

    #[test]
    fn exclusive_create_of_a_taken_key_says_what_to_do() {
        let here = std::env::current_dir().unwrap();
        let key = Key::ftok(&here, 201).unwrap();
        let first = Segment::create(key, 64, 0o600).unwrap();
        let err = Segment::create(key, 64, 0o600).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EEXIST));
        assert!(err.hint().unwrap().contains(&format!("ipcrm -M {}", key.hex())));
        let opened = Segment::open(key, 0).unwrap();
        assert_eq!(opened.id(), first.id());
        assert!(!opened.removes_on_drop());
    }
}
