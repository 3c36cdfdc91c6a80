//! System V semaphore sets.
//!
//! | C | here |
//! |---|---|
//! | `semget(key, n, IPC_CREAT\|IPC_EXCL\|0600)` | [`SemaphoreSet::create`] |
//! | `semctl(id, i, SETVAL, arg)` | [`SemaphoreSet::set_value`] |
//! | `semctl(id, i, GETVAL)` / `GETPID` / `GETNCNT` | [`value`](SemaphoreSet::value), [`last_pid`](SemaphoreSet::last_pid), [`waiting`](SemaphoreSet::waiting) |
//! | `semop(id, {i, +1, 0}, 1)` | [`SemaphoreSet::post`] (a signal from one process to another) |
//! | `semop(id, {i, -1, 0}, 1)` | [`SemaphoreSet::wait`] |
//! | `semop(id, {i, -1, SEM_UNDO}, 1)` ... `{i, +1, SEM_UNDO}` | [`SemaphoreSet::lock`] and its guard |
//! | `semtimedop(id, {i, -1, 0}, 1, &timeout)` | [`SemaphoreSet::wait_timeout`] |
//! | `semop(id, {i, k, 0}, 1)` / `{i, 0, 0}` (wait for zero) | [`SemaphoreSet::add`], [`SemaphoreSet::wait_for_zero`] |
//! | `semctl(id, 0, IPC_RMID)` | [`SemaphoreSet::remove`], or dropping a set you created |
//!
//! A semaphore operation is a system call: the kernel takes the set's lock, so everything a
//! process wrote before `post` is visible to the process whose `wait` returns after it.

use std::time::Duration;

use nix::errno::Errno;

use crate::cleanup::{self, Kind, Ownership};
use crate::error::{Error, Result};
use crate::shm::{Key, octal};

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
        let call = format!("semget({key}, {count}, IPC_CREAT|IPC_EXCL|{})", octal(mode));
        let created = cleanup::with_signals_held(|| {
            // SAFETY: semget takes plain integers.
            let id = unsafe {
                libc::semget(
                    key.raw(),
                    count as libc::c_int,
                    libc::IPC_CREAT | libc::IPC_EXCL | (mode & 0o777) as i32,
                )
            };
            if id == -1 {
                return Err(Errno::last());
            }
            Ok((id, cleanup::track(Kind::SemaphoreSet, id, None)))
        });
        let (id, tracked) = created.map_err(|errno| {
            let err = Error::sys(call, errno);
            match errno {
                Errno::EEXIST => err.with_hint(format!("`ipcs -s` lists semaphore sets; remove a stale one of yours with `ipcrm -S {}`", key.hex())),
                Errno::ENOSPC => err.with_hint("list sets with `ipcs -s` and remove your stale ones with `ipcrm -s <semid>`"),
                _ => err,
            }
        })?;
        Ok(SemaphoreSet { id, count, ownership: Ownership::created(tracked) })
    }

    /// `semget(key, 0, 0)`: the existing set with this key. Never removed on drop.
    pub fn open(key: Key) -> Result<SemaphoreSet> {
        // SAFETY: semget takes plain integers.
        let id = unsafe { libc::semget(key.raw(), 0, 0) };
        if id == -1 {
            return Err(Error::sys(format!("semget({key}, 0, 0)"), Errno::last()));
        }
        let mut set = SemaphoreSet { id, count: 0, ownership: Ownership::none() };
        set.count = set.stat_count()?;
        Ok(set)
    }

    fn stat_count(&self) -> Result<usize> {
        let mut ds = std::mem::MaybeUninit::<libc::semid_ds>::zeroed();
        let arg = Semun { buf: ds.as_mut_ptr() };
        // SAFETY: IPC_STAT writes a semid_ds through `arg.buf`, which points to one.
        if unsafe { libc::semctl(self.id, 0, libc::IPC_STAT, arg) } == -1 {
            return Err(Error::sys(
                format!("semctl({}, 0, IPC_STAT, &ds)", self.id),
                Errno::last(),
            ));
        }
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
        // SAFETY: SETVAL reads `val` from the union passed by value.
        let status =
            unsafe { libc::semctl(self.id, n as libc::c_int, libc::SETVAL, Semun { val: value }) };
        self.check(status, format!("semctl({}, {n}, SETVAL, {value})", self.id)).map(drop)
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

    fn get(&self, n: usize, command: libc::c_int, name: &str) -> Result<i32> {
        // SAFETY: GETVAL, GETPID and GETNCNT take no fourth argument.
        let value = unsafe { libc::semctl(self.id, n as libc::c_int, command) };
        self.check(value, format!("semctl({}, {n}, {name})", self.id))
    }

    fn check(&self, status: libc::c_int, call: String) -> Result<i32> {
        if status == -1 { Err(Error::sys(call, Errno::last())) } else { Ok(status) }
    }

    fn op(&self, n: usize, delta: i16, flags: i16, timeout: Option<Duration>) -> Result<(), Errno> {
        let mut op = libc::sembuf { sem_num: n as libc::c_ushort, sem_op: delta, sem_flg: flags };
        loop {
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
            match status {
                0 => return Ok(()),
                _ => match Errno::last() {
                    // A signal whose handler returned: try again (ours exit instead).
                    Errno::EINTR => continue,
                    errno => return Err(errno),
                },
            }
        }
    }

    /// `semop(id, {n, +1, 0})`: adds one, waking a process blocked in [`wait`](Self::wait).
    /// Use it to signal an event to another process (no SEM_UNDO: the event outlives us).
    pub fn post(&self, n: usize) -> Result<()> {
        self.op(n, 1, 0, None)
            .map_err(|errno| Error::sys(format!("semop({}, {{{n}, +1, 0}}, 1)", self.id), errno))
    }

    /// `semop(id, {n, -1, 0})`: blocks until the value is positive, then takes one.
    pub fn wait(&self, n: usize) -> Result<()> {
        self.op(n, -1, 0, None)
            .map_err(|errno| Error::sys(format!("semop({}, {{{n}, -1, 0}}, 1)", self.id), errno))
    }

    /// `semop(id, {n, delta, 0})`: adds `delta` (which may be negative) in one step.
    pub fn add(&self, n: usize, delta: i16) -> Result<()> {
        self.op(n, delta, 0, None).map_err(|errno| {
            Error::sys(format!("semop({}, {{{n}, {delta:+}, 0}}, 1)", self.id), errno)
        })
    }

    /// `semop(id, {n, 0, 0})`: blocks until the value is zero (a barrier's wait).
    pub fn wait_for_zero(&self, n: usize) -> Result<()> {
        self.op(n, 0, 0, None)
            .map_err(|errno| Error::sys(format!("semop({}, {{{n}, 0, 0}}, 1)", self.id), errno))
    }

    /// `semtimedop(id, {n, -1, 0}, 1, timeout)`: like [`wait`](Self::wait) but gives up after
    /// `timeout`, returning `false`.
    pub fn wait_timeout(&self, n: usize, timeout: Duration) -> Result<bool> {
        match self.op(n, -1, 0, Some(timeout)) {
            Ok(()) => Ok(true),
            Err(Errno::EAGAIN) => Ok(false),
            Err(errno) => Err(Error::sys(
                format!("semtimedop({}, {{{n}, -1, 0}}, 1, {timeout:?})", self.id),
                errno,
            )),
        }
    }

    /// `semop(id, {n, -1, SEM_UNDO})`: takes semaphore `n` as a lock. The guard gives it back
    /// when dropped; if the process dies holding it, the kernel gives it back (SEM_UNDO).
    pub fn lock(&self, n: usize) -> Result<SemaphoreGuard<'_>> {
        self.op(n, -1, libc::SEM_UNDO as i16, None).map_err(|errno| {
            Error::sys(format!("semop({}, {{{n}, -1, SEM_UNDO}}, 1)", self.id), errno)
        })?;
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
    // SAFETY: IPC_RMID takes no fourth argument.
    if unsafe { libc::semctl(id, 0, libc::IPC_RMID) } == -1 {
        return Err(Error::sys(format!("semctl({id}, 0, IPC_RMID)"), Errno::last()));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::getpid;

    #[test]
    fn values_operations_and_removal() {
        let set = SemaphoreSet::create(Key::PRIVATE, 2, 0o600).unwrap();
        let id = set.id();
        assert_eq!(set.len(), 2);
        assert_eq!(set.value(0).unwrap(), 0, "Linux starts semaphores at 0");
        set.post(0).unwrap();
        assert_eq!(set.value(0).unwrap(), 1);
        assert_eq!(set.last_pid(0).unwrap(), getpid().as_raw());
        set.wait(0).unwrap();
        assert!(
            !set.wait_timeout(0, Duration::from_millis(5)).unwrap(),
            "nothing to take: times out"
        );
        set.set_value(1, 1).unwrap();
        {
            let _guard = set.lock(1).unwrap();
            assert_eq!(set.value(1).unwrap(), 0);
            assert_eq!(set.waiting(1).unwrap(), 0);
        }
        assert_eq!(set.value(1).unwrap(), 1, "the guard gave it back");
        drop(set);
        assert!(remove(id).is_err(), "dropping the owner removed the set");
    }

    #[test]
    fn an_opened_set_is_not_removed_on_drop() {
        let here = std::env::current_dir().unwrap();
        let key = Key::ftok(&here, 202).unwrap();
        let owner = SemaphoreSet::create(key, 1, 0o600).unwrap();
        let opened = SemaphoreSet::open(key).unwrap();
        assert_eq!(opened.len(), 1);
        assert!(!opened.removes_on_drop());
        drop(opened);
        assert_eq!(owner.value(0).unwrap(), 0);
        assert_eq!(SemaphoreSet::create(key, 1, 0o600).unwrap_err().errno(), Some(Errno::EEXIST));
    }
}
