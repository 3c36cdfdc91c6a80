//! Verdict corpus: ex05, a valid alternative.
//! expect: pass
//! The lock is a process-shared POSIX semaphore (sem_init pshared 1, value 1) in the segment:
//! each load and store happen between its sem_wait and its sem_post.

use shm_workbook::unnamed_sem::UnnamedSemaphore;
use shm_workbook::{Key, Narrator, Region, Result, Segment, cleanup, exercise_data, process};

const WORKERS: u64 = 3;
const SEM_AT: usize = 64;

fn load_counter(memory: &Region) -> u64 {
    u64::from_ne_bytes(memory.load(0, 8).try_into().expect("8 bytes"))
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let increments = exercise_data::number("increments", 100);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 128, 0o600)?;
    let memory = segment.attach()?;
    let lock = UnnamedSemaphore::init(&memory, SEM_AT, 1, 1)?;

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..increments {
                lock.wait()?;
                let value = load_counter(&memory);
                memory.store(0, &(value + 1).to_ne_bytes())?;
                lock.post()?;
            }
            Ok(())
        })?);
    }
    process::wait_all(workers)?;
    let expected = WORKERS * increments;
    parent.say(format!("counter: {} (expected {expected})", load_counter(&memory)));
    Ok(())
}
