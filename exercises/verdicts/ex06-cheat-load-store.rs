//! Verdict corpus: ex06, a cheat.
//! expect: fail
//! reason: the ticket is still a load and then a store, two atomic steps another worker can
//! come between.

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::{Key, Narrator, Region, Result, Segment, cleanup, exercise_data, process};

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

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..tickets {
                let ticket = dispenser.load(Ordering::SeqCst);
                dispenser.store(ticket + 1, Ordering::SeqCst);
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
