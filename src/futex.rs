//! Sleeping on a word of shared memory: `futex(2)` wait and wake, and a process's CPU time.
//!
//! A futex lets a process sleep in the kernel until a 32-bit word changes, instead of spinning
//! on it. The word lives in shared memory; the kernel keys the sleepers by the physical page,
//! so processes that map the page at different addresses still meet (these are *shared*
//! futexes: no `FUTEX_PRIVATE_FLAG`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::errno::Errno;

use crate::error::{Error, Result};

/// `futex(word, FUTEX_WAIT, expected)`: sleeps while `*word == expected`. Returns when woken,
/// when the word already differs, or on a spurious wake-up: callers re-check in a loop.
pub fn wait(word: &AtomicU32, expected: u32) -> Result<()> {
    // SAFETY: FUTEX_WAIT reads the aligned u32 behind `word`, which stays valid for the call;
    // the timeout pointer is null (wait indefinitely) and the other arguments are unused.
    let status = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            std::ptr::null::<libc::timespec>(),
        )
    };
    if status == -1 {
        match Errno::last() {
            // The word changed before we slept, or a signal arrived: the caller re-checks.
            Errno::EAGAIN | Errno::EINTR => {}
            errno => {
                return Err(Error::sys(
                    format!("futex({:p}, FUTEX_WAIT, {expected})", word.as_ptr()),
                    errno,
                ));
            }
        }
    }
    Ok(())
}

/// Like [`wait_while`], but gives up with an error if the process `partner` exits first, so a
/// partner that fails cannot leave us asleep forever. Sleeps in slices of 10 ms, checking on
/// the partner between them (without reaping it: `waitid` with `WNOWAIT`).
pub fn wait_while_alive(word: &AtomicU32, current: u32, partner: nix::unistd::Pid) -> Result<u32> {
    loop {
        let value = word.load(Ordering::Acquire);
        if value != current {
            return Ok(value);
        }
        let ten_ms = libc::timespec { tv_sec: 0, tv_nsec: 10_000_000 };
        // SAFETY: FUTEX_WAIT reads the aligned u32 behind `word`, which stays valid for the
        // call, and the timeout that lives on our stack; the other arguments are unused.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, current, &ten_ms)
        };
        if word.load(Ordering::Acquire) == current && has_exited(partner) {
            return Err(Error::other(
                format!("futex({:p}, FUTEX_WAIT, {current})", word.as_ptr()),
                format!(
                    "process {partner} exited while we waited for it; its own message is above"
                ),
            ));
        }
    }
}

/// Whether `pid` (a child of ours) has exited, without reaping it.
fn has_exited(pid: nix::unistd::Pid) -> bool {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::Pid(pid), flags), Ok(WaitStatus::StillAlive))
}

/// `futex(word, FUTEX_WAKE, n)`: wakes up to `n` processes sleeping on `word`; returns how many.
pub fn wake(word: &AtomicU32, n: u32) -> Result<u32> {
    // SAFETY: FUTEX_WAKE only uses the address as a key; no memory is read or written.
    let woken = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n) };
    if woken == -1 {
        return Err(Error::sys(
            format!("futex({:p}, FUTEX_WAKE, {n})", word.as_ptr()),
            Errno::last(),
        ));
    }
    Ok(woken as u32)
}

/// Waits until `word` differs from `current`: spins `spins` times first (cheap when the other
/// side is about to write), then sleeps in the kernel. Returns the new value (Acquire).
pub fn wait_while(word: &AtomicU32, current: u32, spins: u32) -> Result<u32> {
    for _ in 0..spins {
        let now = word.load(Ordering::Acquire);
        if now != current {
            return Ok(now);
        }
        std::hint::spin_loop();
    }
    loop {
        let now = word.load(Ordering::Acquire);
        if now != current {
            return Ok(now);
        }
        wait(word, current)?;
    }
}

/// Stores `value` (Release) and wakes every process sleeping on `word`.
pub fn store_and_wake(word: &AtomicU32, value: u32) -> Result<()> {
    word.store(value, Ordering::Release);
    wake(word, u32::MAX >> 1).map(drop)
}

/// The CPU time this process has used so far, user plus system (`getrusage(RUSAGE_SELF)`).
pub fn cpu_time() -> Result<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage structure that `usage` points to.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == -1 {
        return Err(Error::sys("getrusage(RUSAGE_SELF, &usage)", Errno::last()));
    }
    // SAFETY: the call succeeded and filled the (zeroed) structure.
    let usage = unsafe { usage.assume_init() };
    let to_duration = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    Ok(to_duration(usage.ru_utime) + to_duration(usage.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_on_a_changed_word_returns_at_once() {
        let word = AtomicU32::new(5);
        wait(&word, 4).unwrap(); // EAGAIN: the word is not 4
        assert_eq!(wait_while(&word, 4, 10).unwrap(), 5);
        assert_eq!(wake(&word, 1).unwrap(), 0, "nobody sleeps on it");
        store_and_wake(&word, 6).unwrap();
        assert_eq!(word.load(Ordering::Acquire), 6);
    }

    #[test]
    fn cpu_time_grows_when_we_work() {
        let before = cpu_time().unwrap();
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(30) {
            std::hint::spin_loop();
        }
        assert!(cpu_time().unwrap() > before);
    }
}
