//! Sleeping on a word of shared memory: `futex(2)` wait and wake.
//!
//! A futex lets a process sleep in the kernel until a 32-bit word changes, instead of spinning
//! on it. The word lives in shared memory; the kernel keys the sleepers by the physical page,
//! so processes that map the page at different addresses still meet (these are *shared*
//! futexes: no `FUTEX_PRIVATE_FLAG`). How long to spin before sleeping, and how to notice a
//! partner that died, is the job of [`crate::wait`].

use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::errno::Errno;

use crate::call::{self, Arg};
use crate::error::Result;
use crate::shared::Word;

/// How a `FUTEX_WAIT` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woke {
    /// Woken by `FUTEX_WAKE` (or spuriously): re-check the word.
    Woken,
    /// The word already differed from the expected value (`EAGAIN`).
    Changed,
    /// The timeout passed (`ETIMEDOUT`).
    TimedOut,
    /// A signal arrived (`EINTR`).
    Interrupted,
}

/// `futex(word, FUTEX_WAIT, expected, timeout)`: sleeps while `*word == expected`, for at
/// most `timeout` (`None`: as long as it takes). Callers re-check the word in a loop.
pub fn wait(word: &impl Word, expected: u32, timeout: Option<Duration>) -> Result<Woke> {
    let word = word.raw();
    let spec = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs() as libc::time_t,
        tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
    });
    let spec_ptr = spec.as_ref().map_or(std::ptr::null(), |spec| spec as *const libc::timespec);
    let made = call::make("futex")
        .arg_with(Arg::pointer(word.as_ptr() as usize))
        .arg("FUTEX_WAIT")
        .arg(expected)
        .arg(match &spec {
            None => "NULL".to_owned(),
            Some(spec) => format!("{{tv_sec={}, tv_nsec={}}}", spec.tv_sec, spec.tv_nsec),
        });
    // SAFETY: FUTEX_WAIT reads the aligned u32 behind `word`, which stays valid for the call,
    // and the timeout, which is null or lives on our stack; the other arguments are unused.
    let status = unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, spec_ptr)
    };
    if status == 0 {
        made.returned(0);
        return Ok(Woke::Woken);
    }
    let errno = Errno::last();
    let call = made.failed(errno);
    match errno {
        Errno::EAGAIN => Ok(Woke::Changed),
        Errno::ETIMEDOUT => Ok(Woke::TimedOut),
        Errno::EINTR => Ok(Woke::Interrupted),
        _ => Err(call.error()),
    }
}

/// `futex(word, FUTEX_WAKE, n)`: wakes up to `n` processes sleeping on `word`; returns how many.
pub fn wake(word: &impl Word, n: u32) -> Result<u32> {
    let word = word.raw();
    let made =
        call::make("futex").arg_with(Arg::pointer(word.as_ptr() as usize)).arg("FUTEX_WAKE").arg(n);
    // SAFETY: FUTEX_WAKE only uses the address as a key; no memory is read or written.
    let woken = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n) };
    if woken == -1 {
        return Err(made.failed(Errno::last()).error());
    }
    made.returned(woken);
    Ok(woken as u32)
}

/// Stores `value` (Release) and wakes every process sleeping on `word`.
pub fn store_and_wake(word: &impl Word, value: u32) -> Result<()> {
    word.store_word(value, Ordering::Release);
    wake(word, i32::MAX as u32).map(drop)
}
