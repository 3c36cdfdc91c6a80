//! A process-shared, robust pthread mutex that lives inside a shared memory segment.
//!
//! Each C call, and what does it here:
//!
//! - `pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)` + `setrobust(&a,
//!   PTHREAD_MUTEX_ROBUST)` + `pthread_mutex_init(m, &a)`: [`SharedMutex::init`]
//! - `pthread_mutex_lock(m)`, which may return `EOWNERDEAD`: [`SharedMutex::lock`]
//! - `pthread_mutex_consistent(m)`: [`SharedMutex::make_consistent`]
//! - `pthread_mutex_unlock(m)`: [`SharedMutex::unlock`]
//!
//! *Process-shared* lets processes other than the initialiser use it; *robust* means that when
//! its owner dies holding it, the next `lock` succeeds with `EOWNERDEAD` instead of blocking
//! forever, so the new owner can repair the data and mark the mutex consistent.

use std::marker::PhantomData;

use nix::errno::Errno;

use crate::call::{self, Arg};
use crate::error::{Error, Result};
use crate::region::Attachment;

/// A pthread mutex at some offset of an attachment.
#[derive(Debug)]
pub struct SharedMutex<'a> {
    raw: *mut libc::pthread_mutex_t,
    _memory: PhantomData<&'a Attachment>,
}

/// What `lock` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locked {
    /// The mutex was free (or freed) normally.
    Acquired,
    /// `EOWNERDEAD`: the previous owner died holding it. We own it now, but the data it
    /// protects may be half-updated: repair it, then call [`SharedMutex::make_consistent`].
    OwnerDied,
}

fn check(call: &str, status: libc::c_int) -> Result<()> {
    if status == 0 { Ok(()) } else { Err(Error::sys(call, Errno::from_raw(status))) }
}

/// Records a pthread call that returns 0 or an error number.
fn ended(made: call::CallBuilder, status: libc::c_int) -> Result<()> {
    if status == 0 {
        made.returned(0);
        Ok(())
    } else {
        Err(made.failed(Errno::from_raw(status)).error())
    }
}

impl<'a> SharedMutex<'a> {
    /// Where the mutex lives, checked to fit and to be aligned.
    fn place(memory: &'a Attachment, offset: usize) -> Result<SharedMutex<'a>> {
        let size = std::mem::size_of::<libc::pthread_mutex_t>();
        let align = std::mem::align_of::<libc::pthread_mutex_t>();
        if offset.checked_add(size).is_none_or(|end| end > memory.len())
            || !offset.is_multiple_of(align)
        {
            return Err(Error::other(
                "pthread_mutex_t placement",
                format!("offset {offset} does not fit {size} aligned bytes"),
            ));
        }
        // SAFETY: the offset was checked to lie inside the mapping, which outlives 'a.
        let raw = unsafe { memory.as_mut_ptr().add(offset) }.cast();
        Ok(SharedMutex { raw, _memory: PhantomData })
    }

    /// Initialises a process-shared, robust mutex at `offset`. Do it once, in one process,
    /// before any other process uses it.
    pub fn init(memory: &'a Attachment, offset: usize) -> Result<SharedMutex<'a>> {
        let mutex = SharedMutex::place(memory, offset)?;
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: each call gets a pointer to the attribute object being initialised, which
        // lives on our stack until destroyed below; `mutex.raw` points into the mapping.
        unsafe {
            check("pthread_mutexattr_init", libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
            let result = check(
                "pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED)",
                libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED),
            )
            .and_then(|()| {
                check(
                    "pthread_mutexattr_setrobust(PTHREAD_MUTEX_ROBUST)",
                    libc::pthread_mutexattr_setrobust(
                        attr.as_mut_ptr(),
                        libc::PTHREAD_MUTEX_ROBUST,
                    ),
                )
            })
            .and_then(|()| {
                check("pthread_mutex_init", libc::pthread_mutex_init(mutex.raw, attr.as_ptr()))
            });
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            result?;
        }
        Ok(mutex)
    }

    /// The mutex's address, as a call's argument.
    fn address(&self) -> Arg {
        Arg::pointer(self.raw as usize)
    }

    /// Locks it, blocking while another process holds it. Recorded as
    /// `pthread_mutex_lock(0x...) = 0` (or `= EOWNERDEAD`: the lock is ours, its owner died).
    pub fn lock(&self) -> Result<Locked> {
        let made = call::make("pthread_mutex_lock").arg_with(self.address());
        // SAFETY: `raw` points to a mutex initialised by `init` inside a live mapping; the
        // pthread functions synchronize concurrent use from several processes themselves.
        match unsafe { libc::pthread_mutex_lock(self.raw) } {
            0 => {
                made.returned(0);
                Ok(Locked::Acquired)
            }
            libc::EOWNERDEAD => {
                made.returned("EOWNERDEAD");
                Ok(Locked::OwnerDied)
            }
            errno => Err(made.failed(Errno::from_raw(errno)).error().with_hint(
                "ENOTRECOVERABLE means an owner died and the next one unlocked without calling \
                 pthread_mutex_consistent",
            )),
        }
    }

    /// Marks the state consistent again after [`Locked::OwnerDied`] (call it while holding it).
    pub fn make_consistent(&self) -> Result<()> {
        let made = call::make("pthread_mutex_consistent").arg_with(self.address());
        // SAFETY: as in `lock`.
        ended(made, unsafe { libc::pthread_mutex_consistent(self.raw) })
    }

    /// Unlocks it.
    pub fn unlock(&self) -> Result<()> {
        let made = call::make("pthread_mutex_unlock").arg_with(self.address());
        // SAFETY: as in `lock`.
        ended(made, unsafe { libc::pthread_mutex_unlock(self.raw) })
    }
}
