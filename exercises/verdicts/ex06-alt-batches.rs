//! Verdict corpus: ex06, a valid alternative.
//! expect: pass
//! A worker takes ten tickets at a time with one fetch_add(10): the ten numbers it got are its
//! own.

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
            for _ in 0..tickets / 10 {
                let first = dispenser.fetch_add(10, Ordering::Relaxed) as usize;
                (first..first + 10).for_each(|ticket| count(&memory, ticket));
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
