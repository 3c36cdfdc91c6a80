//! System V shared memory: keys, segments, attachments.
//!
//! Each C call, and what does it here:
//!
//! - `ftok(path, id)`: [`Key::ftok`]
//! - `shmget(key, size, IPC_CREAT|IPC_EXCL|0600)`: [`Segment::create`]
//! - `shmget(key, size, IPC_CREAT|0600)`: [`Segment::create_or_open`]
//! - `shmget(key, 0, 0)`: [`Segment::open`]
//! - `shmat(id, NULL, 0)`: [`Segment::attach`], a [`Region<ReadWrite>`](crate::region::Region)
//! - `shmat(id, NULL, SHM_RDONLY)`: [`Segment::attach_read_only`], a
//!   [`Region<ReadOnly>`](crate::region::Region): loads only
//! - `shmdt(addr)`: dropping the region, or [`Region::detach`](crate::region::Region::detach)
//! - `shmctl(id, IPC_STAT, &ds)`: [`Segment::stat`]
//! - `shmctl(id, IPC_RMID, NULL)`: [`Segment::remove`], or dropping a segment you created
//!
//! nix has no System V IPC, so these wrap `libc` directly. Every call is recorded with the
//! arguments it was made with and its result (see [`crate::call`]), so a lesson prints it with
//! [`Narrator::call`](crate::Narrator::call).

use std::ptr::NonNull;

use nix::errno::Errno;
use nix::unistd::getpid;

use crate::call::octal;
use crate::call::{self, Arg};
use crate::cleanup::{self, Ownership};
use crate::error::{Error, Result};
use crate::procfs;
use crate::region::{Access, ReadOnly, ReadWrite, Region};
use crate::registry::Kind;
use crate::sysv::ipc_flags;
use crate::sysv::key::Key;

/// The kernel marks a segment with this mode bit once IPC_RMID was asked for while it is still
/// attached (`ipcs` shows `dest`). From `<linux/shm.h>`; libc does not export it.
pub const SHM_DEST: u32 = 0o1000;

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
    /// (With [`Key::PRIVATE`] the segment is always new, and IPC_EXCL changes nothing.)
    pub fn create(key: Key, size: usize, mode: u32) -> Result<Segment> {
        Segment::create_sized(key, Arg::new(size), size, mode)
    }

    /// Like [`create`](Self::create), sized for one `T`: the call prints as
    /// `shmget(key, 104 /* sizeof(Record) */, ...)`.
    pub fn create_for<T>(key: Key, mode: u32) -> Result<Segment> {
        Segment::create_sized(key, call::size_of::<T>(), std::mem::size_of::<T>(), mode)
    }

    fn create_sized(key: Key, size_arg: Arg, size: usize, mode: u32) -> Result<Segment> {
        let flags = libc::IPC_CREAT | libc::IPC_EXCL | (mode & 0o777) as i32;
        Segment::get(key, size_arg, size, flags, true)
    }

    /// `shmget(key, size, IPC_CREAT | mode)`: opens the segment with this key, or creates it.
    /// This process owns it (removes it on drop) only if the kernel reports it as the creator.
    /// An existing segment is used only if it is this user's own (see [`Segment::open`]).
    pub fn create_or_open(key: Key, size: usize, mode: u32) -> Result<Segment> {
        let flags = libc::IPC_CREAT | (mode & 0o777) as i32;
        let mut segment = Segment::get(key, Arg::new(size), size, flags, true)?;
        let stat = stat_call(segment.id, true)?;
        if stat.creator_pid != getpid().as_raw() {
            segment.disown();
            refuse_foreign(&stat, segment.id)?;
        }
        Ok(segment)
    }

    /// `shmget(key, size, 0)`: the existing segment with this key; `size` 0 accepts any size.
    /// Never removed on drop. The workbook uses only the user's own segments: one that belongs
    /// to another user (who may have created it with this key on purpose, or by accident) is
    /// refused, naming its owner.
    pub fn open(key: Key, size: usize) -> Result<Segment> {
        let segment = Segment::get(key, Arg::new(size), size, 0, false)?;
        refuse_foreign(&stat_call(segment.id, true)?, segment.id)?;
        Ok(segment)
    }

    /// A segment known by its id (for example one printed by `ipcs`). Never removed on drop.
    /// Makes no call: attaching or `IPC_STAT` tells whether the id exists.
    pub fn from_id(id: i32) -> Segment {
        Segment { id, key: Key::PRIVATE, size: 0, ownership: Ownership::none() }
    }

    fn get(key: Key, size_arg: Arg, size: usize, flags: i32, owned: bool) -> Result<Segment> {
        let made = call::make("shmget").arg(key).arg_with(size_arg).arg(ipc_flags(flags));
        let created = cleanup::with_signals_held(|| {
            // SAFETY: shmget takes plain integers and touches no memory of ours.
            let id = unsafe { libc::shmget(key.raw(), size, flags) };
            if id == -1 {
                return Err(Errno::last());
            }
            let tracked = if owned { cleanup::track(Kind::SharedMemory, id, None) } else { None };
            Ok((id, tracked))
        });
        let (id, tracked) = match created {
            Ok(created) => created,
            Err(errno) => return Err(shmget_error(made.failed(errno).error(), key, size, errno)),
        };
        made.returned(id);
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

    /// Gives up ownership: dropping this value will leave the segment in place, for good
    /// (lesson08's `write` leaves its object for a later `read` this way).
    pub fn disown(&mut self) {
        self.ownership.give_up();
    }

    /// Leaves the segment in place for the parent to take over with [`Segment::adopt`] once
    /// this (forked) process has exited. Unlike [`disown`](Self::disown) it stays written down
    /// under this process: should the parent be killed before it takes the segment over, the
    /// next run removes it instead of leaving it to nobody.
    pub fn hand_over(&mut self) {
        self.ownership.hand_over();
    }

    /// `shmget(key, 0, 0)`, and this process takes over the removal: it removes the segment on
    /// drop (and on Ctrl-C), as if it had created it. For a segment whose creator has exited
    /// and left it behind on purpose.
    pub fn adopt(key: Key) -> Result<Segment> {
        let mut segment = Segment::get(key, Arg::new(0), 0, 0, true)?;
        if let Err(err) =
            stat_call(segment.id, true).and_then(|stat| refuse_foreign(&stat, segment.id))
        {
            segment.disown();
            return Err(err);
        }
        Ok(segment)
    }

    /// `shmat(id, NULL, 0)`: maps the segment into this process, for reading and writing.
    pub fn attach(&self) -> Result<Region<ReadWrite>> {
        attach(self.id, 0)
    }

    /// `shmat(id, NULL, SHM_RDONLY)`: maps the segment read-only; the region offers loads
    /// only (a write through the mapping would fault with SIGSEGV).
    pub fn attach_read_only(&self) -> Result<Region<ReadOnly>> {
        attach(self.id, libc::SHM_RDONLY)
    }

    /// `shmctl(id, IPC_STAT, &ds)`: what the kernel knows about the segment.
    pub fn stat(&self) -> Result<SegmentStat> {
        stat_call(self.id, false)
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
            if stat_call(self.id, true)?.attachments >= count {
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

/// Refuses a segment that another user owns: using it would read what they wrote, or write
/// where they read.
fn refuse_foreign(stat: &SegmentStat, id: i32) -> Result<()> {
    let me = nix::unistd::geteuid().as_raw();
    if stat.uid == me {
        return Ok(());
    }
    Err(Error::other(
        format!("using segment {id} (key {})", stat.key.hex()),
        format!(
            "it belongs to {}, not to you: the workbook uses only your own segments",
            crate::procfs::user_called(stat.uid)
        ),
    )
    .with_hint(
        "the key is taken by someone else: use another key (another file for ftok, or another \
         project id)",
    ))
}

fn shmget_error(err: Error, key: Key, size: usize, errno: Errno) -> Error {
    let foreign = crate::procfs::sysvipc_owner(crate::procfs::IpcTable::Shm, key.raw())
        .filter(|&uid| uid != nix::unistd::geteuid().as_raw());
    if let (Some(uid), Errno::EEXIST | Errno::EACCES | Errno::EINVAL) = (foreign, errno) {
        return err.with_hint(format!(
            "the key {} is held by {}, not by you: leave their segment alone and use another key \
             (another file for ftok, or another project id)",
            key.hex(),
            crate::procfs::user_called(uid)
        ));
    }
    // The segment that holds the key, if one does (IPC_PRIVATE never names one).
    let holder = (key != Key::PRIVATE).then(|| segment_with_key(key)).flatten();
    match errno {
        Errno::EEXIST => match holder {
            Some(held) if process_is_alive(held.creator_pid) => err.with_hint(format!(
                "shmid {} has this key, made by pid {} which is still running (`ps -p {}`): use \
                 another key (another file for ftok, or another project id), or leave out IPC_EXCL \
                 to share that segment",
                held.id, held.creator_pid, held.creator_pid
            )),
            _ => err.with_hint(format!(
                "see who has it with `ipcs -m -p | grep {}`; if it is a stale segment of yours, \
                 left by a crashed run, remove it with `ipcrm -M {}`",
                key.hex(),
                key.hex()
            )),
        },
        Errno::ENOENT => {
            err.with_hint("start the program that creates the segment first, or pass IPC_CREAT")
        }
        Errno::EACCES => err.with_hint(format!(
            "the segment with key {} is yours, but its mode does not give the access asked for \
             (the mode bits in shmflg are a request: IPC_CREAT|0666 asks for read and write); ask \
             for less, or change its mode with IPC_SET. `ipcs -m -c` shows its mode",
            key.hex()
        )),
        Errno::EINVAL => match holder {
            Some(held) if held.size < size => err
                .with_meaning(format!(
                    "the segment with this key (shmid {}) is {} bytes, smaller than the {size} \
                     asked for",
                    held.id, held.size
                ))
                .with_hint(format!(
                    "ask for {} bytes or fewer (0 finds the segment whatever its size); a \
                     segment's size is fixed when it is made",
                    held.size
                )),
            _ => err
                .with_meaning(format!(
                    "{size} bytes is outside what the kernel allows for one segment (SHMMIN 1 to \
                     SHMMAX)"
                ))
                .with_hint("`cat /proc/sys/kernel/shmmax` shows the largest size; ask for less"),
        },
        Errno::ENOSPC => err.with_hint(
            "list segments with `ipcs -m` and remove your stale ones with `ipcrm -m <shmid>`",
        ),
        _ => err,
    }
}

/// A segment as its line in `/proc/sysvipc/shm` shows it.
struct Held {
    id: i32,
    size: usize,
    creator_pid: i32,
}

/// The segment that holds `key`, from `/proc/sysvipc/shm` (as `ipcs -m` finds it).
fn segment_with_key(key: Key) -> Option<Held> {
    let row = crate::procfs::IpcTable::Shm.row_with_key(key.raw()).ok()??;
    Some(Held {
        id: row.number("shmid")?,
        size: row.number("size")?,
        creator_pid: row.number("cpid")?,
    })
}

/// Whether a process with this pid exists (`kill(pid, 0)`; EPERM: it exists, not ours).
fn process_is_alive(pid: i32) -> bool {
    pid > 0
        && matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Ok(()) | Err(Errno::EPERM)
        )
}

fn remove(id: i32) -> Result<()> {
    let made = call::make("shmctl").arg(id).arg("IPC_RMID").arg("NULL");
    // SAFETY: IPC_RMID takes no buffer; a null pointer is what the man page asks for.
    if unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) } == -1 {
        return Err(made.failed(Errno::last()).error());
    }
    made.returned(0);
    Ok(())
}

/// `shmat(id, NULL, flags)`, then (a helper call, traced but not printed) `IPC_STAT` for the
/// segment's size, which bounds every access.
fn attach<A: Access>(shmid: i32, flags: i32) -> Result<Region<A>> {
    let flag_text = if flags & libc::SHM_RDONLY != 0 { "SHM_RDONLY" } else { "0" };
    let made = call::make("shmat").arg(shmid).arg("NULL").arg(flag_text);
    // SAFETY: a null address lets the kernel choose where to map; no memory of ours is
    // touched. The result is checked against (void *) -1 below.
    let addr = unsafe { libc::shmat(shmid, std::ptr::null(), flags) };
    if addr as isize == -1 {
        let errno = Errno::last();
        let err = made.failed(errno).error();
        return Err(match errno {
            Errno::EACCES => err.with_hint(
                "check the segment's mode with `ipcs -m`; SHM_RDONLY needs only read permission",
            ),
            Errno::EINVAL if shmid < 0 => err
                .with_meaning("no segment has a negative id: -1 is what a failed shmget returns")
                .with_hint("check shmget's result before attaching: -1 is an error, not an id"),
            Errno::EINVAL | Errno::EIDRM => err.with_hint(format!(
                "`ipcs -m -i {shmid}` says whether it exists; a removed segment cannot be attached \
                 again, so attach before IPC_RMID (or make a new one)"
            )),
            _ => err,
        });
    }
    made.returned(format!("{:#x}", addr as usize));
    let addr = NonNull::new(addr.cast::<u8>())
        .ok_or_else(|| Error::other("shmat", "the kernel returned a null address"))?;
    // The region owns the attachment from here on, so an error below still detaches it.
    let region = Region::attached(addr, 0, shmid);
    let size = stat_call(shmid, true)?.size;
    Ok(region.with_len(size))
}

/// `shmctl(id, IPC_SET, &ds)` changing only the permission bits, for any segment id.
pub fn set_mode(id: i32, mode: u32) -> Result<()> {
    // IPC_SET takes uid, gid and mode together: read the current ones first (a helper call).
    let mut ds = stat_raw(id, true)?;
    ds.shm_perm.mode = (mode & 0o777) as _;
    let made = call::make("shmctl")
        .arg(id)
        .arg("IPC_SET")
        .arg(format!("{{shm_perm={{mode={}}}}}", octal(mode)));
    // SAFETY: IPC_SET reads uid, gid and mode from the valid structure `ds` points to.
    if unsafe { libc::shmctl(id, libc::IPC_SET, &mut ds) } == -1 {
        let errno = Errno::last();
        let err = made.failed(errno).error();
        return Err(match errno {
            Errno::EPERM => {
                err.with_hint("ask the segment's owner (`ipcs -m -c` names them) to change it")
            }
            _ => err,
        });
    }
    made.returned(0);
    Ok(())
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

/// `shmctl(id, IPC_STAT, &ds)` for any segment id.
pub fn stat(id: i32) -> Result<SegmentStat> {
    stat_call(id, false)
}

fn stat_raw(id: i32, helper: bool) -> Result<libc::shmid_ds> {
    let mut made = call::make("shmctl").arg(id).arg("IPC_STAT").arg("&ds");
    if helper {
        made = made.helper();
    }
    let mut ds = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT fills the shmid_ds that `ds` points to, which is large enough.
    if unsafe { libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()) } == -1 {
        return Err(made.failed(Errno::last()).error());
    }
    made.returned(0);
    // SAFETY: the call succeeded, so the kernel initialised the structure (it was zeroed too).
    Ok(unsafe { ds.assume_init() })
}

#[allow(clippy::useless_conversion)] // shmatt_t and time_t are 32-bit on some targets
fn stat_call(id: i32, helper: bool) -> Result<SegmentStat> {
    let ds = stat_raw(id, helper)?;
    Ok(SegmentStat {
        key: Key::from_raw(ds.shm_perm.__key),
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
