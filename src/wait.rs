//! How a process waits for another one to change a word of shared memory: one policy, named,
//! for every lesson that waits, and the check that the other process is still alive.
//!
//! Each policy, what it costs, and what it suits:
//!
//! - [`Policy::Spin`] costs a whole CPU while it waits. It suits a partner running on another
//!   CPU, about to write.
//! - [`Policy::Sleep`] costs a system call (and a wake-up, some microseconds) per wait. It suits
//!   long or unknown waits.
//! - [`Policy::SpinThenSleep`] costs a short spin, then sleep. It suits most hand-offs: fast when
//!   the partner is quick, cheap when it is not.
//!
//! Every wait is given the [`Partner`] it waits for, and ends with an error naming it if the
//! partner dies, instead of waiting forever for a write that will never come. A System V
//! semaphore is waited for the same way: [`take`] (a lock, whose holder the kernel names) and
//! [`take_posted`] (an event a partner posts).

use std::sync::atomic::Ordering;

use crate::shared::Word;
use std::time::Duration;

use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::futex;
use crate::sysv::sem::SemaphoreSet;

/// How many times [`Policy::SpinThenSleep`] checks the word before it sleeps: enough to catch
/// a partner that is writing right now. Each check is a load and `spin_loop()` (the x86 `pause`
/// instruction, which lasts from about 10 to 140 cycles depending on the CPU), so the budget
/// lasts about 12 µs on the machine the workbook was written on (a 2.6 GHz Intel Xeon under
/// KVM; 20 µs in a debug build). Measured there by timing `wait_while` with
/// `SpinThenSleep { spins: 60_000 }` against `spins: 0` on a word nobody changes (each then
/// sleeps once until its slice times out): 11.5 ns per check, median of 31 pairs, release
/// build; the same loop in C took 12 to 13 µs per 1000.
pub const SPIN_BUDGET: u32 = 1000;

/// How often a spinning wait checks that its partner is alive (every this many checks).
const SPINS_PER_LIVENESS_CHECK: u32 = 1 << 16;

/// How long a sleeping wait sleeps before it checks that its partner is alive.
const SLEEP_SLICE: Duration = Duration::from_millis(10);

/// How long one `semtimedop` of [`take`] waits before it checks that the holder is alive.
const SEMAPHORE_SLICE: Duration = Duration::from_millis(100);

/// How to wait for a word of shared memory to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Load the word again and again. Fastest reaction; burns a CPU, and on a machine with one
    /// free CPU it can keep the partner from running at all.
    Spin,
    /// Sleep in the kernel with `futex(FUTEX_WAIT)` until the partner wakes us.
    Sleep,
    /// Spin up to `spins` times, then sleep.
    SpinThenSleep {
        /// The spin budget; [`SPIN_BUDGET`] is the workbook's choice.
        spins: u32,
    },
}

impl Policy {
    /// Spin for [`SPIN_BUDGET`] checks, then sleep: what the lessons use unless they are
    /// comparing the ways to wait.
    pub const DEFAULT: Policy = Policy::SpinThenSleep { spins: SPIN_BUDGET };

    /// The policy's name, as the lessons print it.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Spin => "spin",
            Policy::Sleep => "sleep on a futex",
            Policy::SpinThenSleep { .. } => "spin, then sleep on a futex",
        }
    }
}

/// The process a wait depends on: if it dies, the wait ends with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partner {
    /// A child of ours (checked with `waitid(WNOWAIT)`, which does not reap it).
    Child(Pid),
    /// Our parent, whose pid we knew when we were forked (checked with `getppid`).
    Parent(Pid),
    /// Another process, a sibling for instance (alive while `/proc/<pid>/stat` exists and
    /// does not say it is a zombie).
    Other(Pid),
}

impl Partner {
    /// The parent of this process, as it is now.
    pub fn parent() -> Partner {
        Partner::Parent(nix::unistd::getppid())
    }

    /// Whether the partner has ended.
    pub fn has_died(self) -> bool {
        match self {
            Partner::Child(pid) => {
                use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
                let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
                !matches!(waitid(Id::Pid(pid), flags), Ok(WaitStatus::StillAlive))
            }
            Partner::Parent(pid) => nix::unistd::getppid() != pid,
            Partner::Other(pid) => {
                crate::procfs::process_stat(pid.as_raw()).is_none_or(|stat| stat.has_ended())
            }
        }
    }

    fn pid(self) -> Pid {
        match self {
            Partner::Child(pid) | Partner::Parent(pid) | Partner::Other(pid) => pid,
        }
    }

    fn died(self, word: &impl Word, current: u32) -> Error {
        let who = match self {
            Partner::Child(_) => "child",
            Partner::Parent(_) => "parent",
            Partner::Other(_) => "partner",
        };
        Error::other(
            format!("waiting for the word at {:p} to leave {current}", word.raw().as_ptr()),
            format!(
                "the {who} process {} ended while we waited for it to change the word; its own \
                 message, if any, is above",
                self.pid()
            ),
        )
    }
}

/// Waits until `word` differs from `current`, as `policy` says, and returns the new value
/// (loaded with Acquire: what the partner wrote before its Release store is visible). Ends
/// with an error if `partner` dies first.
pub fn wait_while(word: &impl Word, current: u32, policy: Policy, partner: Partner) -> Result<u32> {
    let spins = match policy {
        Policy::Spin => u32::MAX,
        Policy::Sleep => 0,
        Policy::SpinThenSleep { spins } => spins,
    };
    let mut spun: u32 = 0;
    loop {
        let now = word.load_word(Ordering::Acquire);
        if now != current {
            return Ok(now);
        }
        if spun < spins {
            spun += 1;
            // Re-read the word after learning the partner ended: it may have written it and
            // then exited normally, which is not a death to report.
            if spun.is_multiple_of(SPINS_PER_LIVENESS_CHECK)
                && partner.has_died()
                && word.load_word(Ordering::Acquire) == current
            {
                return Err(partner.died(word, current));
            }
            if policy == Policy::Spin && spun == u32::MAX {
                spun = 0;
            }
            std::hint::spin_loop();
            continue;
        }
        match futex::wait(word, current, Some(SLEEP_SLICE))? {
            futex::Woke::Interrupted => {
                if word.load_word(Ordering::Acquire) == current
                    && let Some(err) = crate::cleanup::child_failure()
                {
                    return Err(err);
                }
            }
            futex::Woke::TimedOut => {
                if partner.has_died() && word.load_word(Ordering::Acquire) == current {
                    return Err(partner.died(word, current));
                }
            }
            futex::Woke::Woken | futex::Woke::Changed => {}
        }
    }
}

/// Stores `value` (Release) and, unless the policy only spins, wakes the processes sleeping on
/// `word`. A spinning waiter needs no wake-up, and skipping it saves a system call per hand-off.
pub fn publish(word: &impl Word, value: u32, policy: Policy) -> Result<()> {
    match policy {
        Policy::Spin => {
            word.store_word(value, Ordering::Release);
            Ok(())
        }
        Policy::Sleep | Policy::SpinThenSleep { .. } => futex::store_and_wake(word, value),
    }
}

// ANCHOR: take
/// `semop(id, {n, -1, 0})`: takes semaphore `n` of `set` as a lock, without SEM_UNDO, as the C
/// of the source documents does. The wait goes in slices (`semtimedop`, 100 ms each). When a
/// slice ends with the value still 0, it asks the kernel who holds the lock: the process that
/// operated on it last (`semctl(GETPID)`). If that process has died, the wait ends with an
/// error that names it, instead of a hang.
pub fn take(set: &SemaphoreSet, n: usize) -> Result<()> {
    take_watching(set, n, || Ok(Partner::Other(Pid::from_raw(set.last_pid(n)?))))
}

/// Like [`take`], for a semaphore that `partner` posts (an event, not a lock): the wait ends
/// with an error if `partner` dies first.
pub fn take_posted(set: &SemaphoreSet, n: usize, partner: Partner) -> Result<()> {
    take_watching(set, n, || Ok(partner))
}

/// Takes one from semaphore `n` in slices; after each slice that ends with the value still 0,
/// checks that the process `holder` names is alive.
fn take_watching(set: &SemaphoreSet, n: usize, holder: impl Fn() -> Result<Partner>) -> Result<()> {
    while !set.wait_timeout(n, SEMAPHORE_SLICE)? {
        // Who, then the value, then who again: a release and a new take meanwhile change who.
        let partner = holder()?;
        if set.value(n)? == 0 && partner.has_died() && holder()? == partner {
            return Err(Error::other(
                format!("waiting for semaphore {n} of set {}", set.id()),
                format!(
                    "process {} died before giving it back; without SEM_UNDO, nobody will",
                    partner.pid()
                ),
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: take
