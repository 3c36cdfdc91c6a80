//! # Exercise 04, solved: a handler for SIGINT, SIGTERM and SIGHUP that cleans up
//!
//! The library's handler, installed first thing, removes every IPC object this process created
//! (a forked child removes only its own, so never the parent's), stops and reaps the children,
//! and exits with 128 + the signal's number (130 for Ctrl-C). A handler may call only
//! async-signal-safe functions: it reads a table of atomics filled in when each object was
//! created, and calls `shmctl`, `semctl`, `kill`, `waitpid` and `_exit`.

use shm_workbook::shared::{AtomicU64, Ordering};
use std::time::Duration;

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, process};

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // before anything is created, and before the fork
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
