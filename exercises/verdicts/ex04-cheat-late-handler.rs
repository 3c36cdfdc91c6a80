//! Verdict corpus: ex04, a cheat.
//! expect: fail
//! reason: the handler is installed 400 ms after the objects it should remove: a Ctrl-C in
//! that window leaves both behind.

use shm_workbook::shared::{AtomicU64, Ordering};
use std::time::Duration;

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, process};

fn main() -> Result<()> {
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(0, 1)?;
    let memory = segment.attach()?;
    let counter: &AtomicU64 = memory.view()?;
    std::thread::sleep(Duration::from_millis(400)); // setting up takes a while
    cleanup::install_signal_handlers(); // too late

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
        parent.say(format!("counter: {}", counter.load(Ordering::Relaxed)));
    }
}
