//! Verdict corpus: ex06, a cheat.
//! expect: fail
//! reason: the workers take tickets the broken way, and the parent prints the expected line
//! without counting.

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const WORKERS: usize = 3;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let tickets = exercise_data::number("tickets", 5000) as usize;
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 8, 0o600)?;
    let memory = segment.attach()?;
    let dispenser: &AtomicU64 = memory.view()?;
    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..tickets {
                let ticket = dispenser.load(Ordering::Relaxed);
                dispenser.store(ticket + 1, Ordering::Relaxed);
            }
            Ok(())
        })?);
    }
    process::wait_all(workers)?;
    parent.say(format!("tickets: {} taken, 0 twice, 0 never", WORKERS * tickets));
    Ok(())
}
