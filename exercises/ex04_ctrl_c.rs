//! # Exercise 04: Ctrl-C must not leave anything behind
//!
//! Goal: a small counting service. The parent creates a segment and a semaphore set, a worker
//! adds one to a counter in the segment every millisecond, and the parent reports the count,
//! until you press Ctrl-C. Ctrl-C sends SIGINT to every process of the terminal's foreground
//! group, and SIGINT's default action ends a process at once: no destructor runs, so nobody
//! calls IPC_RMID, and the segment and the semaphore set stay in `ipcs` for good.
//!
//! Follows lesson 03 (`cargo run --bin lesson03`) and the workbook's rule that `ipcs` looks the
//! same after a run as before, Ctrl-C included.
//!
//! What the checker does: runs the service 50 times with jitter and presses Ctrl-C (SIGINT to
//! the whole process group, as a terminal does) at a random moment of each run. The run must
//! then stop within a few seconds, with no segment, semaphore set or process left behind. The
//! Ctrl-C must find the service at work: not ended already, and not idle (no load, store or
//! semaphore operation in the trace) for the 30 ms before it.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex04`; by hand: `cargo run --example ex04`, press
//! Ctrl-C, then look at `ipcs -m -s`.

use shm_workbook::shared::{AtomicU64, Ordering};
use std::time::Duration;

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, process};

fn main() -> Result<()> {
    // TODO: make SIGINT (and SIGTERM, SIGHUP) remove what this run created and stop the worker
    // before the process exits. The library has a handler that does exactly that (see
    // `shm_workbook::cleanup`); or write your own that sets a flag which both loops check, and
    // return from them normally, so that the destructors run.
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
    parent.call_note("the counter lives here");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("one semaphore: the counter's lock");
    set.set_value(0, 1)?;
    let memory = segment.attach()?;
    let counter: &AtomicU64 = memory.view()?;

    let _worker = process::spawn("worker", |_| {
        loop {
            let turn = set.lock(0)?;
            counter.fetch_add(1, Ordering::Relaxed);
            drop(turn);
            std::thread::sleep(Duration::from_millis(1));
        }
    })?;
    parent.say("serving; press Ctrl-C to stop");
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let _turn = set.lock(0)?;
        parent.say(format!("counter: {}", counter.load(Ordering::Relaxed)));
    }
}
