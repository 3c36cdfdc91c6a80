//! System V semaphore sets.
//!
//! Each C call, and what does it here:
//!
//! - `semget(key, n, IPC_CREAT|IPC_EXCL|0600)`: [`SemaphoreSet::create`]
//! - `semctl(id, i, SETVAL, arg)`: [`SemaphoreSet::set_value`]
//! - `semctl(id, i, GETVAL)` / `GETPID` / `GETNCNT`: [`value`](SemaphoreSet::value),
//!   [`last_pid`](SemaphoreSet::last_pid), [`waiting`](SemaphoreSet::waiting)
//! - `semop(id, {i, +1, 0}, 1)`: [`SemaphoreSet::post`] (a signal from one process to another)
//! - `semop(id, {i, -1, 0}, 1)`: [`SemaphoreSet::wait`]
//! - `semop(id, {i, -1, SEM_UNDO}, 1)` ... `{i, +1, SEM_UNDO}`: [`SemaphoreSet::lock`] and its
//!   guard
//! - `semtimedop(id, {i, -1, 0}, 1, &timeout)`: [`SemaphoreSet::wait_timeout`]
//! - `semop(id, {i, k, 0}, 1)` / `{i, 0, 0}` (wait for zero): [`SemaphoreSet::add`],
//!   [`SemaphoreSet::wait_for_zero`]
//! - `semctl(id, 0, IPC_RMID)`: [`SemaphoreSet::remove`], or dropping a set you created
//!
//! A semaphore operation is a system call: the kernel takes the set's lock, so everything a
//! process wrote before `post` is visible to the process whose `wait` returns after it.

use std::time::Duration;

use nix::errno::Errno;

use crate::call;
use crate::cleanup::{self, Ownership};
use crate::error::{Error, Result};
use crate::registry::Kind;
use crate::sysv::ipc_flags;
use crate::sysv::key::Key;

/// The fourth argument of `semctl`. C programs must declare `union semun` themselves (the
/// headers do not), and libc has none for Linux, so here it is.
#[repr(C)]
#[derive(Clone, Copy)]
union Semun {
    val: libc::c_int,
    buf: *mut libc::semid_ds,
    array: *mut libc::c_ushort,
}

unsafe extern "C" {
    /// glibc exports semtimedop; the libc crate does not declare it for Linux.
    fn semtimedop(
        semid: libc::c_int,
        sops: *mut libc::sembuf,
        nsops: libc::size_t,
        timeout: *const libc::timespec,
    ) -> libc::c_int;
}

/// A System V semaphore set, removed on drop by the process that created it.
#[derive(Debug)]
pub struct SemaphoreSet {
    id: i32,
    count: usize,
    ownership: Ownership,
}

impl SemaphoreSet {
    /// `semget(key, count, IPC_CREAT | IPC_EXCL | mode)`: a new set; Linux starts every
    /// semaphore at 0, but portable code sets each one with [`set_value`](Self::set_value).
    pub fn create(key: Key, count: usize, mode: u32) -> Result<SemaphoreSet> {
        let flags = libc::IPC_CREAT | libc::IPC_EXCL | (mode & 0o777) as i32;
        let made = call::make("semget").arg(key).arg(count).arg(ipc_flags(flags));
        let created = cleanup::with_signals_held(|| {
            // SAFETY: semget takes plain integers.
            let id = unsafe { libc::semget(key.raw(), count as libc::c_int, flags) };
            if id == -1 {
                return Err(Errno::last());
            }
            Ok((id, cleanup::track(Kind::SemaphoreSet, id, None)))
        });
        let (id, tracked) = match created {
            Ok(created) => created,
            Err(errno) => {
                let err = made.failed(errno).error();
                return Err(match errno {
                    Errno::EEXIST => err.with_hint(format!(
                        "`ipcs -s` lists semaphore sets; remove a stale one of yours with `ipcrm \
                         -S {}`",
                        key.hex()
                    )),
                    Errno::ENOSPC => err.with_hint(
                        "list sets with `ipcs -s` and remove your stale ones with `ipcrm -s \
                         <semid>`",
                    ),
                    _ => err,
                });
            }
        };
        made.returned(id);
        Ok(SemaphoreSet { id, count, ownership: Ownership::created(tracked) })
    }

    /// `semget(key, 0, 0)`: the existing set with this key. Never removed on drop.
    pub fn open(key: Key) -> Result<SemaphoreSet> {
        let made = call::make("semget").arg(key).arg(0).arg(0);
        // SAFETY: semget takes plain integers.
        let id = unsafe { libc::semget(key.raw(), 0, 0) };
        if id == -1 {
            return Err(made.failed(Errno::last()).error());
        }
        made.returned(id);
        let mut set = SemaphoreSet { id, count: 0, ownership: Ownership::none() };
        set.count = set.stat_count()?;
        Ok(set)
    }

    /// The set with this id (as `ipcs -s` lists it), its size found with `IPC_STAT`. Never
    /// removed on drop (call [`remove`](Self::remove) to remove it).
    pub fn from_id(id: i32) -> Result<SemaphoreSet> {
        let mut set = SemaphoreSet { id, count: 0, ownership: Ownership::none() };
        set.count = set.stat_count()?;
        Ok(set)
    }

    fn stat_count(&self) -> Result<usize> {
        let made = call::make("semctl").arg(self.id).arg(0).arg("IPC_STAT").arg("&ds").helper();
        let mut ds = std::mem::MaybeUninit::<libc::semid_ds>::zeroed();
        let arg = Semun { buf: ds.as_mut_ptr() };
        // SAFETY: IPC_STAT writes a semid_ds through `arg.buf`, which points to one.
        if unsafe { libc::semctl(self.id, 0, libc::IPC_STAT, arg) } == -1 {
            return Err(made.failed(Errno::last()).error());
        }
        made.returned(0);
        // SAFETY: the call succeeded and the structure was zeroed before.
        Ok(unsafe { ds.assume_init() }.sem_nsems as usize)
    }

    /// The semid, as `ipcs -s` shows it.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// How many semaphores the set holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the set holds no semaphore.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `semctl(id, n, SETVAL, value)`.
    pub fn set_value(&self, n: usize, value: i32) -> Result<()> {
        let made = call::make("semctl").arg(self.id).arg(n).arg("SETVAL").arg(value);
        // SAFETY: SETVAL reads `val` from the union passed by value.
        let status =
            unsafe { libc::semctl(self.id, n as libc::c_int, libc::SETVAL, Semun { val: value }) };
        check(made, status).map(drop)
    }

    /// `semctl(id, n, GETVAL)`: the current value.
    pub fn value(&self, n: usize) -> Result<i32> {
        self.get(n, libc::GETVAL, "GETVAL")
    }

    /// `semctl(id, n, GETPID)`: the pid of the last process to operate on semaphore `n`.
    pub fn last_pid(&self, n: usize) -> Result<i32> {
        self.get(n, libc::GETPID, "GETPID")
    }

    /// `semctl(id, n, GETNCNT)`: how many processes are waiting for semaphore `n` to grow.
    pub fn waiting(&self, n: usize) -> Result<i32> {
        self.get(n, libc::GETNCNT, "GETNCNT")
    }

    /// `semctl(id, n, GETZCNT)`: how many processes are waiting for semaphore `n` to be 0.
    pub fn waiting_for_zero(&self, n: usize) -> Result<i32> {
        self.get(n, libc::GETZCNT, "GETZCNT")
    }

    /// Polls GETNCNT (a helper call, traced but not printed) until at least `count`
    /// processes wait for semaphore `n` to grow, for up to `timeout`. For *observing* (a
    /// `--step` pause while consumers sleep), never for synchronizing.
    pub fn wait_for_waiters(&self, n: usize, count: i32, timeout: Duration) -> Result<bool> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let made = call::make("semctl").arg(self.id).arg(n).arg("GETNCNT").helper();
            // SAFETY: GETNCNT takes no fourth argument.
            let waiting = unsafe { libc::semctl(self.id, n as libc::c_int, libc::GETNCNT) };
            if check(made, waiting)? >= count {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn get(&self, n: usize, command: libc::c_int, name: &'static str) -> Result<i32> {
        let made = call::make("semctl").arg(self.id).arg(n).arg(name);
        // SAFETY: GETVAL, GETPID, GETNCNT and GETZCNT take no fourth argument.
        let value = unsafe { libc::semctl(self.id, n as libc::c_int, command) };
        check(made, value)
    }

    fn op(&self, n: usize, delta: i16, flags: i16, timeout: Option<Duration>) -> Result<(), Errno> {
        let mut op = libc::sembuf { sem_num: n as libc::c_ushort, sem_op: delta, sem_flg: flags };
        let flag_text = if flags & libc::SEM_UNDO as i16 != 0 { "SEM_UNDO" } else { "0" };
        let delta_text = if delta > 0 { format!("+{delta}") } else { delta.to_string() };
        let sops = format!("{{{n}, {delta_text}, {flag_text}}}");
        loop {
            let made = match timeout {
                None => call::make("semop").arg(self.id).arg(&sops).arg(1),
                Some(timeout) => call::make("semtimedop")
                    .arg(self.id)
                    .arg(&sops)
                    .arg(1)
                    .arg(format!("{{{}, {}}}", timeout.as_secs(), timeout.subsec_nanos())),
            };
            let status = match timeout {
                // SAFETY: `op` is one valid sembuf, and nsops is 1.
                None => unsafe { libc::semop(self.id, &mut op, 1) },
                Some(timeout) => {
                    let spec = libc::timespec {
                        tv_sec: timeout.as_secs() as libc::time_t,
                        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
                    };
                    // SAFETY: as above, and `spec` is a valid timespec on our stack.
                    unsafe { semtimedop(self.id, &mut op, 1, &spec) }
                }
            };
            if status == 0 {
                made.returned(0);
                return Ok(());
            }
            let errno = Errno::last();
            made.failed(errno);
            if errno != Errno::EINTR || crate::cleanup::child_failure().is_some() {
                return Err(errno);
            }
            // EINTR: a signal whose handler returned; try again (our handlers exit instead).
        }
    }

    /// `semop(id, {n, +1, 0})`: adds one, waking a process blocked in [`wait`](Self::wait).
    /// Use it to signal an event to another process (no SEM_UNDO: the event outlives us).
    pub fn post(&self, n: usize) -> Result<()> {
        self.op(n, 1, 0, None).map_err(last_error)
    }

    /// `semop(id, {n, -1, 0})`: blocks until the value is positive, then takes one.
    pub fn wait(&self, n: usize) -> Result<()> {
        self.op(n, -1, 0, None).map_err(last_error)
    }

    /// `semop(id, {n, delta, 0})`: adds `delta` (which may be negative) in one step.
    pub fn add(&self, n: usize, delta: i16) -> Result<()> {
        self.op(n, delta, 0, None).map_err(last_error)
    }

    /// `semop(id, {n, 0, 0})`: blocks until the value is zero (a barrier's wait).
    pub fn wait_for_zero(&self, n: usize) -> Result<()> {
        self.op(n, 0, 0, None).map_err(last_error)
    }

    /// `semtimedop(id, {n, -1, 0}, 1, timeout)`: like [`wait`](Self::wait) but gives up after
    /// `timeout`, returning `false`.
    pub fn wait_timeout(&self, n: usize, timeout: Duration) -> Result<bool> {
        match self.op(n, -1, 0, Some(timeout)) {
            Ok(()) => Ok(true),
            Err(Errno::EAGAIN) => Ok(false),
            Err(errno) => Err(last_error(errno)),
        }
    }

    /// `semop(id, {n, -1, SEM_UNDO})`: takes semaphore `n` as a lock. The guard gives it back
    /// when dropped; if the process dies holding it, the kernel gives it back (SEM_UNDO).
    pub fn lock(&self, n: usize) -> Result<SemaphoreGuard<'_>> {
        self.op(n, -1, libc::SEM_UNDO as i16, None).map_err(last_error)?;
        Ok(SemaphoreGuard { set: self, n })
    }

    /// Whether dropping this value removes the set (only in the process that created it).
    pub fn removes_on_drop(&self) -> bool {
        self.ownership.is_mine()
    }

    fn disown(&mut self) {
        self.ownership.give_up();
    }

    /// `semctl(id, 0, IPC_RMID)`: removes the set now; processes blocked on it wake with EIDRM.
    pub fn remove(mut self) -> Result<()> {
        let result = remove(self.id);
        self.disown();
        result
    }
}

fn remove(id: i32) -> Result<()> {
    let made = call::make("semctl").arg(id).arg(0).arg("IPC_RMID");
    // SAFETY: IPC_RMID takes no fourth argument.
    check(made, unsafe { libc::semctl(id, 0, libc::IPC_RMID) }).map(drop)
}

/// Records how a `semctl` ended; -1 becomes the error of that call.
fn check(made: call::CallBuilder, status: libc::c_int) -> Result<i32> {
    if status == -1 {
        Err(made.failed(Errno::last()).error())
    } else {
        made.returned(status);
        Ok(status)
    }
}

/// The error of the `semop` that just failed (it was recorded with its arguments); if a child
/// died while this process waited, that is the error.
fn last_error(errno: Errno) -> Error {
    if errno == Errno::EINTR
        && let Some(err) = crate::cleanup::child_failure()
    {
        return err;
    }
    match call::last() {
        Some(call) if call.errno() == Some(errno) => call.error(),
        _ => Error::sys("semop", errno),
    }
}

impl Drop for SemaphoreSet {
    fn drop(&mut self) {
        if self.removes_on_drop() {
            let _ = remove(self.id);
        }
    }
}

/// A semaphore held as a lock; dropping it gives the semaphore back.
#[derive(Debug)]
#[must_use = "the semaphore is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    set: &'a SemaphoreSet,
    n: usize,
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // If the set was removed meanwhile there is nothing to give back.
        let _ = self.set.op(self.n, 1, libc::SEM_UNDO as i16, None);
    }
}
