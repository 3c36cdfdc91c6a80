//! Verdict corpus: ex05, a cheat.
//! expect: fail
//! reason: the semaphore starts at 2, so two workers may hold it at once and lose an update.

use shm_workbook::{
    Key, Narrator, Region, Result, Segment, SemaphoreSet, cleanup, exercise_data, process,
};

const WORKERS: u64 = 3;

fn load_counter(memory: &Region) -> u64 {
    u64::from_ne_bytes(memory.load(0, 8).try_into().expect("8 bytes"))
}

fn store_counter(memory: &Region, value: u64) -> Result<()> {
    memory.store(0, &value.to_ne_bytes())
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let increments = exercise_data::number("increments", 100);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 8, 0o600)?;
    let memory = segment.attach()?;
    let lock = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    lock.set_value(0, 2)?;

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..increments {
                let _held = lock.lock(0)?;
                let value = load_counter(&memory);
                store_counter(&memory, value + 1)?;
            }
            Ok(())
        })?);
    }
    process::wait_all(workers)?;
    let expected = WORKERS * increments;
    parent.say(format!("counter: {} (expected {expected})", load_counter(&memory)));
    Ok(())
}
