//! Verdict corpus: ex05, a cheat.
//! expect: fail
//! reason: the workers count with an atomic fetch_add; the semaphore set the exercise is about
//! is created but never taken.

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, exercise_data, process};

const WORKERS: u64 = 3;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let increments = exercise_data::number("increments", 100);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 8, 0o600)?;
    let memory = segment.attach()?;
    let counter: &AtomicU64 = memory.view()?;
    let lock = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    lock.set_value(0, 1)?;

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..increments {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })?);
    }
    process::wait_all(workers)?;
    let expected = WORKERS * increments;
    parent.say(format!("counter: {} (expected {expected})", counter.load(Ordering::SeqCst)));
    Ok(())
}
