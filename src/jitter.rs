//! Jitter: random short delays and yields at the places where processes meet (every call the
//! library records, every load and store through a [`Region`](crate::Region)), so that a race
//! which hides on an idle machine shows up within a few runs.
//!
//! Off unless the environment variable `SHM_WORKBOOK_JITTER` holds a seed (the exercise checker
//! sets it, and prints the seed so that a failing run can be repeated). Each process draws from
//! its own stream, made from the seed and its pid, so a run with the same seed and the same
//! pids delays the same places. When it is off, a jitter point costs one relaxed load.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// The environment variable that turns jitter on: `SHM_WORKBOOK_JITTER=<seed>`.
pub const VARIABLE: &str = "SHM_WORKBOOK_JITTER";

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

thread_local! {
    /// (pid the stream belongs to, the stream).
    static STREAM: RefCell<Option<(i32, SmallRng)>> = const { RefCell::new(None) };
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

/// A place where another process could get in: sometimes yields the CPU, sometimes sleeps a
/// few tens of microseconds, usually does nothing.
pub fn point() {
    if !enabled() {
        return;
    }
    let pid = nix::unistd::getpid().as_raw();
    let pause = STREAM.with(|stream| {
        let mut stream = stream.borrow_mut();
        if stream.as_ref().is_none_or(|(owner, _)| *owner != pid) {
            let seed = seed().unwrap_or(0) ^ (u64::from(pid.unsigned_abs()) << 32);
            *stream = Some((pid, SmallRng::seed_from_u64(seed)));
        }
        let (_, rng) = stream.as_mut().expect("just made");
        match rng.random_range(0..16u32) {
            0..=3 => Some(Duration::ZERO),
            4..=5 => Some(Duration::from_micros(rng.random_range(1..200))),
            _ => None,
        }
    });
    match pause {
        Some(Duration::ZERO) => std::thread::yield_now(),
        Some(pause) => std::thread::sleep(pause),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_without_the_variable_and_cheap() {
        if std::env::var_os(VARIABLE).is_none() {
            assert!(!enabled());
            let start = std::time::Instant::now();
            for _ in 0..100_000 {
                point();
            }
            assert!(start.elapsed() < Duration::from_secs(1));
        }
    }
}
