//! Jitter: random short delays and yields at the places where processes meet (every call the
//! library records, every load and store through a [`Region`](crate::Region)), so that a race
//! which hides on an idle machine shows up within a few runs.
//!
//! Off unless the environment variable `SHM_WORKBOOK_JITTER` holds a seed (the exercise checker
//! sets it, and prints the seed so that a failing run can be repeated). Each process draws from
//! its own stream: the first process from the seed, a forked child from its parent's stream as
//! it was at the fork, so a run with the same seed delays the same places in the same processes,
//! whatever pids they get. When it is off, a jitter point costs one relaxed load.
//!
//! Under the checker's controlled schedule (`SHM_WORKBOOK_SCHEDULE` names its socket), a point
//! does not draw at all: the process says it has come to a point and waits until the checker
//! says it is its turn, so that the checker, not the machine, decides who goes next.
//!
//! Now and then (a few times per process at most) a point lets the other processes of the process
//! group run first: it waits while any of them is runnable (a few milliseconds at most) or asleep
//! on a timer (`nanosleep`, up to a few seconds), as a busy machine may hold a process back at
//! any point for as long as it likes. A program that sleeps to let its partner go first loses
//! that bet here, every time the point falls before the partner's work.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// The environment variable that turns jitter on: `SHM_WORKBOOK_JITTER=<seed>`.
pub const VARIABLE: &str = "SHM_WORKBOOK_JITTER";

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

thread_local! {
    /// (pid the stream belongs to, the stream, how many more times it may let the others run
    /// first).
    static STREAM: RefCell<Option<(i32, SmallRng, u32)>> = const { RefCell::new(None) };
}

fn seed() -> Option<u64> {
    std::env::var(VARIABLE).ok()?.trim().parse().ok()
}

/// Whether jitter is on in this process.
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        OFF => false,
        ON => true,
        _ => {
            let on = seed().is_some();
            STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
            on
        }
    }
}

/// What a point does.
enum Pause {
    Yield,
    Sleep(Duration),
    OthersFirst,
}

/// How many times a process lets the others run first, at most: enough to upset the order of
/// what a program does early (its first calls after a fork), and cheap for a long run.
const OTHERS_FIRST_PER_PROCESS: u32 = 3;

/// Mixed into a parent's next draw to seed a forked child's stream.
const CHILD: u64 = 0x9e37_79b9_7f4a_7c15;

/// A place where another process could get in: sometimes yields the CPU, sometimes sleeps a
/// few tens of microseconds, rarely lets the others run first, usually does nothing. Under a
/// controlled schedule, waits for its turn instead.
pub fn point() {
    point_before(b'p');
}

/// [`point`], before a load: the checker's controlled schedule knows that the step it lets go
/// changes no memory (it need not try a preemption before each load of a spin loop).
pub fn load_point() {
    point_before(b'l');
}

fn point_before(what: u8) {
    if take_turn(what) {
        return;
    }
    if !enabled() {
        return;
    }
    let pid = nix::unistd::getpid().as_raw();
    let pause = STREAM.with(|stream| {
        let mut stream = stream.borrow_mut();
        let seed = match stream.as_mut() {
            Some((owner, _, _)) if *owner == pid => None,
            // A forked child: its stream follows from its parent's at the fork.
            Some((_, inherited, _)) => Some(inherited.random::<u64>() ^ CHILD),
            None => Some(seed().unwrap_or(0)),
        };
        if let Some(seed) = seed {
            *stream = Some((pid, SmallRng::seed_from_u64(seed), OTHERS_FIRST_PER_PROCESS));
        }
        let (_, rng, others_first) = stream.as_mut().expect("just made");
        match rng.random_range(0..64u32) {
            0..=7 => Some(Pause::Yield),
            8..=11 => Some(Pause::Sleep(Duration::from_micros(rng.random_range(1..200)))),
            24..=27 if *others_first > 0 => {
                *others_first -= 1;
                Some(Pause::OthersFirst)
            }
            _ => None,
        }
    });
    match pause {
        Some(Pause::Yield) => std::thread::yield_now(),
        Some(Pause::Sleep(pause)) => std::thread::sleep(pause),
        Some(Pause::OthersFirst) => let_the_others_run(pid, TIMER_WAIT),
        None => {}
    }
}

/// How long [`let_the_others_run`] waits for runnable processes to block or end (counted from
/// the last time one of them was still asleep on a timer).
const RUNNABLE_WAIT: Duration = Duration::from_millis(5);
/// How long it waits, in all, for processes asleep on a timer to wake up and go on.
const TIMER_WAIT: Duration = Duration::from_secs(3);
/// Past `timer_wait` and this, it goes on whatever the others do: a point never hangs.
const WAIT_LONGER_AT_MOST: Duration = Duration::from_secs(1);

/// Processes found asleep on a timer for all of [`TIMER_WAIT`]: not waited for again.
static LONG_SLEEPERS: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

/// Waits while another process of this process group is runnable or asleep in `nanosleep`:
/// those may go on without us, so they go first. A process blocked on anything else (a
/// semaphore, a futex, a pipe, `waitpid`) waits for someone, perhaps for us: then we go on. A
/// process that sleeps on a timer again after waking up polls: it is waited for once.
fn let_the_others_run(me: i32, timer_wait: Duration) {
    // SAFETY: getpgrp takes no arguments and cannot fail.
    let group = unsafe { libc::getpgrp() };
    let start = Instant::now();
    let long_sleepers = LONG_SLEEPERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut others = group_members(group, me);
    others.retain(|pid| !long_sleepers.contains(pid));
    let (mut scanned, mut timer_seen) = (start, start);
    let (mut asleep, mut woke): (Vec<i32>, Vec<i32>) = (Vec::new(), Vec::new());
    loop {
        let (mut runnable, mut on_a_timer) = (false, false);
        for &pid in &others {
            let state = process_state(pid);
            runnable |= state == Some('R');
            if woke.contains(&pid) {
                continue;
            }
            if state == Some('S') && asleep_on_a_timer(pid) {
                on_a_timer = true;
                if !asleep.contains(&pid) {
                    asleep.push(pid);
                }
            } else if asleep.contains(&pid) {
                woke.push(pid);
                timer_seen = Instant::now(); // it goes on now: give it time to do its work
            }
        }
        let timer_waited = start.elapsed() >= timer_wait;
        // A sleeper that outlasts `timer_wait` no longer counts as "just seen": otherwise one long
        // sleep plus one runnable process (a spinner waiting for us) would keep us here forever.
        if on_a_timer && !timer_waited {
            timer_seen = Instant::now();
        }
        let wait =
            (on_a_timer && !timer_waited) || (runnable && timer_seen.elapsed() < RUNNABLE_WAIT);
        if !wait || start.elapsed() >= timer_wait + WAIT_LONGER_AT_MOST {
            if timer_waited {
                // Still asleep after all this time: a long sleep, not a poll. It was waited for
                // once; waiting again at every later point would only slow the run down.
                let still: Vec<i32> =
                    asleep.iter().filter(|p| !woke.contains(p)).copied().collect();
                LONG_SLEEPERS.lock().unwrap_or_else(|e| e.into_inner()).extend(still);
            }
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
        if scanned.elapsed() > Duration::from_millis(10) {
            others = group_members(group, me); // a child may have been forked meanwhile
            others.retain(|pid| !long_sleepers.contains(pid));
            scanned = Instant::now();
        }
    }
}

/// The other processes whose process group is `group`.
fn group_members(group: i32, me: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            pid != me
                && crate::procfs::process_stat(pid).and_then(|s| s.process_group()) == Some(group)
        })
        .collect()
}

fn process_state(pid: i32) -> Option<char> {
    Some(crate::procfs::process_stat(pid)?.state())
}

/// Whether the process sleeps in `nanosleep` or `clock_nanosleep` (its wait channel, readable
/// by any process of the same user, unlike `/proc/<pid>/syscall`).
fn asleep_on_a_timer(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/wchan"))
        .is_ok_and(|wchan| wchan.contains("nanosleep"))
}

/// The environment variable that hands the order of the run to the checker:
/// `SHM_WORKBOOK_SCHEDULE=<path of the checker's socket>`.
pub const SCHEDULE_VARIABLE: &str = "SHM_WORKBOOK_SCHEDULE";

static SCHEDULED: AtomicU8 = AtomicU8::new(UNKNOWN);

thread_local! {
    /// This process's connection to the checker's scheduler, and the pid it belongs to (a forked
    /// child inherits its parent's, which is not its own).
    static TURN: RefCell<Option<(i32, UnixStream)>> = const { RefCell::new(None) };
}

/// At a point under a controlled schedule: tells the checker, and waits for its turn. Returns
/// false when there is no schedule (or the checker has gone: the process then runs on freely).
fn take_turn(what: u8) -> bool {
    match SCHEDULED.load(Ordering::Relaxed) {
        OFF => return false,
        ON => {}
        _ => {
            let on = std::env::var_os(SCHEDULE_VARIABLE).is_some_and(|path| !path.is_empty());
            SCHEDULED.store(if on { ON } else { OFF }, Ordering::Relaxed);
            if !on {
                return false;
            }
        }
    }
    let pid = nix::unistd::getpid().as_raw();
    TURN.with(|turn| {
        let mut turn = turn.borrow_mut();
        if !matches!(&*turn, Some((owner, _)) if *owner == pid) {
            // Closing the inherited copy leaves the parent's connection open: the parent holds
            // the same socket through its own descriptor.
            *turn = None;
            match connect(pid) {
                Ok(stream) => *turn = Some((pid, stream)),
                Err(_) => {
                    SCHEDULED.store(OFF, Ordering::Relaxed);
                    return false;
                }
            }
        }
        let (_, stream) = turn.as_mut().expect("just connected");
        // One byte says "at a point" (and whether a load comes next); the checker's one byte
        // says "go on". read_exact retries a read a signal interrupted (the handler has run).
        let mut go = [0u8; 1];
        if stream.write_all(&[what]).and_then(|()| stream.read_exact(&mut go)).is_err() {
            *turn = None;
            SCHEDULED.store(OFF, Ordering::Relaxed);
            return false;
        }
        true
    })
}

/// Connects to the checker's scheduler and says who this is.
fn connect(pid: i32) -> std::io::Result<UnixStream> {
    let path = std::env::var_os(SCHEDULE_VARIABLE).unwrap_or_default();
    let mut stream = UnixStream::connect(path)?;
    stream.write_all(&pid.to_le_bytes())?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::{ForkResult, fork};

    /// Forks a child of this process group that runs `body` and never returns.
    fn child(body: fn() -> !) -> nix::unistd::Pid {
        // SAFETY: the child only sleeps and spins (no lock, no allocation) until it is killed.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => body(),
            ForkResult::Parent { child } => child,
        }
    }

    fn sleep_an_hour() -> ! {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    /// Asleep on a timer for a moment, then runnable for good: a spinner waiting for us.
    fn wake_then_spin() -> ! {
        std::thread::sleep(Duration::from_millis(100));
        loop {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn letting_the_others_run_ends_beside_a_long_sleeper_and_a_spinner() {
        let sleeper = child(sleep_an_hour);
        let spinner = child(wake_then_spin);
        let (done, returned) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let_the_others_run(nix::unistd::getpid().as_raw(), Duration::from_millis(300));
            let _ = done.send(());
        });
        let ended = returned.recv_timeout(Duration::from_secs(30));
        for pid in [sleeper, spinner] {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
        assert!(ended.is_ok(), "a jitter point waited forever for a spinner beside a sleeper");
    }
}
