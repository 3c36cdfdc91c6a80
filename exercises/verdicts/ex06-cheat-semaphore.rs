//! Verdict corpus: ex06, a cheat.
//! expect: fail
//! reason: the load and the store are kept apart and wrapped in a semaphore, which the
//! exercise says it must not need (fetch_add, no lock, no system call).

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::{
    Key, Narrator, Region, Result, Segment, SemaphoreSet, cleanup, exercise_data, process,
};

const WORKERS: usize = 3;
const TALLY: usize = 8;

fn count(memory: &Region, ticket: usize) {
    if let Some(tally) = memory.bytes().get(TALLY + ticket) {
        tally.fetch_add(1, Ordering::Relaxed);
    }
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let tickets = exercise_data::number("tickets", 5000) as usize;
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, TALLY + WORKERS * tickets, 0o600)?;
    let memory = segment.attach()?;
    let dispenser: &AtomicU64 = memory.view()?;

    let lock = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    lock.set_value(0, 1)?;
    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..tickets {
                let held = lock.lock(0)?;
                let ticket = dispenser.load(Ordering::Relaxed);
                dispenser.store(ticket + 1, Ordering::Relaxed);
                drop(held);
                count(&memory, ticket as usize);
            }
            Ok(())
        })?);
    }
    process::wait_all(workers)?;
    let tally = memory.load(TALLY, WORKERS * tickets);
    let twice = tally.iter().filter(|&&count| count > 1).count();
    let never = tally.iter().filter(|&&count| count == 0).count();
    let taken = WORKERS * tickets;
    parent.say(format!("tickets: {taken} taken, {twice} twice, {never} never"));
    Ok(())
}
