//! POSIX unnamed semaphores: a `sem_t` that lives inside shared memory.
//!
//! | C | here |
//! |---|---|
//! | `sem_init(sem, 1, value)` | [`UnnamedSemaphore::init`] (`pshared` 1: between processes) |
//! | `sem_wait(sem)` | [`UnnamedSemaphore::wait`] |
//! | `sem_trywait(sem)` | [`UnnamedSemaphore::try_wait`] |
//! | `sem_timedwait(sem, &deadline)` | [`UnnamedSemaphore::wait_timeout`] |
//! | `sem_post(sem)` | [`UnnamedSemaphore::post`] |
//! | `sem_getvalue(sem, &sval)` | [`UnnamedSemaphore::value`] |
//! | `sem_destroy(sem)` | [`UnnamedSemaphore::destroy`] |
//!
//! These are C library functions, not system calls. glibc keeps the value in the `sem_t`
//! itself and changes it with atomic instructions; only a `sem_wait` that must block, and a
//! `sem_post` that finds a sleeper, call `futex(2)`. So each call is recorded with its real
//! arguments and result, as the others are, but `strace` shows a system call only for those.
//!
//! Nothing undoes a `sem_wait` of a process that dies: the value stays taken (lesson 16).

use std::marker::PhantomData;
use std::time::Duration;

use nix::errno::Errno;

use crate::call::{self, Arg};
use crate::error::{Error, Result};
use crate::region::{ReadWrite, Region};

/// A `sem_t` at some offset of a shared region. The bytes are only ever touched through the
/// `sem_*` functions, which are made for concurrent use by several processes (`pshared` 1).
#[derive(Debug)]
pub struct UnnamedSemaphore<'a> {
    raw: *mut libc::sem_t,
    _memory: PhantomData<&'a Region<ReadWrite>>,
}

/// `sizeof(sem_t)`: the bytes a semaphore takes in the region.
pub const SIZE: usize = std::mem::size_of::<libc::sem_t>();

impl<'a> UnnamedSemaphore<'a> {
    /// Where the semaphore lives: checked to fit inside the region and to be aligned.
    fn place(memory: &'a Region<ReadWrite>, offset: usize) -> Result<UnnamedSemaphore<'a>> {
        let align = std::mem::align_of::<libc::sem_t>();
        let address = memory.address().wrapping_add(offset);
        if offset.checked_add(SIZE).is_none_or(|end| end > memory.len())
            || !address.is_multiple_of(align)
        {
            return Err(Error::other(
                "sem_t placement",
                format!("offset {offset} does not hold {SIZE} bytes aligned to {align}"),
            ));
        }
        // SAFETY: the offset was checked to lie inside the region, which outlives 'a.
        let raw = unsafe { memory.as_mut_ptr().add(offset) }.cast();
        Ok(UnnamedSemaphore { raw, _memory: PhantomData })
    }

    /// `sem_init(sem, pshared, value)` at `offset` of `memory`. Do it once, in one process,
    /// before any other process uses it. `pshared` 1 shares it between processes; 0 only
    /// between the threads of one process (see lesson 16 for why that is wrong across fork).
    pub fn init(
        memory: &'a Region<ReadWrite>,
        offset: usize,
        pshared: i32,
        value: u32,
    ) -> Result<UnnamedSemaphore<'a>> {
        let sem = UnnamedSemaphore::place(memory, offset)?;
        let made = call::make("sem_init").arg_with(sem.address()).arg(pshared).arg(value);
        // SAFETY: `raw` points to SIZE aligned bytes inside the shared region; no process
        // uses them as a semaphore before this call returns (the caller's promise above).
        let status = unsafe { libc::sem_init(sem.raw, pshared, value) };
        check(made, status)?;
        Ok(sem)
    }

    fn address(&self) -> Arg {
        Arg::pointer(self.raw as usize)
    }

    /// The semaphore's address in this process.
    pub fn as_ptr(&self) -> *const libc::sem_t {
        self.raw
    }

    /// `sem_wait(sem)`: takes one, blocking while the value is 0. An interrupted wait (a
    /// child's death interrupts every wait of the library) ends with that child's error.
    pub fn wait(&self) -> Result<()> {
        loop {
            let made = call::make("sem_wait").arg_with(self.address());
            // SAFETY: `raw` points to a semaphore initialised by `init`, inside a live region;
            // the sem_* functions synchronize concurrent use from several processes.
            let status = unsafe { libc::sem_wait(self.raw) };
            match check(made, status) {
                Err(err) if err.errno() == Some(Errno::EINTR) => interrupted()?,
                other => return other,
            }
        }
    }

    /// `sem_trywait(sem)`: takes one if the value is positive; `false` (EAGAIN) if it is 0.
    pub fn try_wait(&self) -> Result<bool> {
        let made = call::make("sem_trywait").arg_with(self.address());
        // SAFETY: as in `wait`.
        let status = unsafe { libc::sem_trywait(self.raw) };
        match check(made, status) {
            Ok(()) => Ok(true),
            Err(err) if err.errno() == Some(Errno::EAGAIN) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// `sem_timedwait(sem, &deadline)`, the deadline `timeout` from now on `CLOCK_REALTIME`
    /// (as POSIX asks): takes one, or gives up at the deadline and returns `false`.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = realtime_after(timeout);
        loop {
            let made = call::make("sem_timedwait").arg_with(self.address()).arg_with(
                Arg::new(format!("{{tv_sec={}, tv_nsec={}}}", deadline.tv_sec, deadline.tv_nsec))
                    .with_comment(format!("now + {timeout:?}")),
            );
            // SAFETY: as in `wait`; `deadline` is a valid timespec on our stack.
            let status = unsafe { libc::sem_timedwait(self.raw, &deadline) };
            match check(made, status) {
                Ok(()) => return Ok(true),
                Err(err) if err.errno() == Some(Errno::ETIMEDOUT) => return Ok(false),
                Err(err) if err.errno() == Some(Errno::EINTR) => interrupted()?,
                Err(err) => return Err(err),
            }
        }
    }

    /// `sem_post(sem)`: gives one back, waking a process blocked in `sem_wait` if there is one.
    pub fn post(&self) -> Result<()> {
        let made = call::make("sem_post").arg_with(self.address());
        // SAFETY: as in `wait`.
        check(made, unsafe { libc::sem_post(self.raw) })
    }

    /// `sem_getvalue(sem, &sval)`: the value now (0 when it is taken).
    pub fn value(&self) -> Result<i32> {
        let mut sval: libc::c_int = 0;
        // SAFETY: as in `wait`; `sval` is an int on our stack.
        let status = unsafe { libc::sem_getvalue(self.raw, &mut sval) };
        let made = call::make("sem_getvalue")
            .arg_with(self.address())
            .arg_with(Arg::new("&sval").with_comment(format!("sval = {sval}")));
        check(made, status).map(|()| sval)
    }

    /// `sem_destroy(sem)`: the semaphore is no longer used. Call it once, when no process
    /// waits on it and none will use it again.
    pub fn destroy(self) -> Result<()> {
        let made = call::make("sem_destroy").arg_with(self.address());
        // SAFETY: as in `wait`; `self` is consumed, so this process uses it no more.
        check(made, unsafe { libc::sem_destroy(self.raw) })
    }
}

/// The time `timeout` from now on `CLOCK_REALTIME`, as `sem_timedwait` wants its deadline.
fn realtime_after(timeout: Duration) -> libc::timespec {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec on our stack.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let nanos = now.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
    libc::timespec {
        tv_sec: now.tv_sec + timeout.as_secs() as libc::time_t + (nanos / 1_000_000_000) as i64,
        tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
    }
}

/// A wait interrupted by a signal: the error of a child that died, or `Ok` to wait again.
fn interrupted() -> Result<()> {
    crate::cleanup::child_failure().map_or(Ok(()), Err)
}

/// Records how a `sem_*` call ended; -1 becomes the error of that call.
fn check(made: call::CallBuilder, status: libc::c_int) -> Result<()> {
    if status == -1 {
        let errno = Errno::last();
        let err = made.failed(errno).error();
        return Err(match errno {
            Errno::EINVAL => err.with_hint("the address is not a semaphore made by sem_init"),
            _ => err,
        });
    }
    made.returned(status);
    Ok(())
}
