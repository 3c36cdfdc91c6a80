//! # Exercise 05, solved: the load and the store under one semaphore
//!
//! `lock` is `semop(id, {0, -1, SEM_UNDO})`: at most one worker holds the semaphore, so no
//! other worker can load the counter between this worker's load and store. The guard gives it
//! back when dropped, and the kernel does, thanks to SEM_UNDO, if a worker dies holding it.

use shm_workbook::{
    Key, Narrator, Region, Result, Segment, SemaphoreSet, cleanup, exercise_data, process,
};

const WORKERS: u64 = 3;

/// The counter: the first 8 bytes of the segment.
fn load_counter(memory: &Region) -> u64 {
    u64::from_ne_bytes(memory.load(0, 8).try_into().expect("8 bytes"))
}

fn store_counter(memory: &Region, value: u64) -> Result<()> {
    memory.store(0, &value.to_ne_bytes())
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let increments = exercise_data::number("increments", 100);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 8, 0o600)?;
    parent.call_note("the counter, 0 to start with");
    let memory = segment.attach()?;
    let lock = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    lock.set_value(0, 1)?;
    parent.call_note("1: free");

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..increments {
                let _held = lock.lock(0)?;
                let value = load_counter(&memory);
                store_counter(&memory, value + 1)?;
            } // `_held` is dropped at the end of each round: the semaphore is given back
            Ok(())
        })?);
    }
    process::wait_all(workers)?;
    let expected = WORKERS * increments;
    parent.say(format!("counter: {} (expected {expected})", load_counter(&memory)));
    Ok(())
}
