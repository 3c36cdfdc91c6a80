//! # Exercise 06, solved: `fetch_add` takes a ticket in one atomic step
//!
//! `fetch_add(1)` adds one and returns the value it replaced, in one instruction (`lock xadd`
//! on x86-64) that no other process can cut in two: every worker gets a different ticket.
//! Relaxed is enough: the dispenser only has to count; nothing else is published through it.

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::{Key, Narrator, Region, Result, Segment, cleanup, exercise_data, process};

const WORKERS: usize = 3;
/// Where the tally starts: one byte per ticket, after the 8 bytes of the dispenser.
const TALLY: usize = 8;

/// Takes the next ticket from the dispenser (the first 8 bytes of the segment).
fn take_ticket(memory: &Region) -> Result<u64> {
    let dispenser: &AtomicU64 = memory.view()?;
    Ok(dispenser.fetch_add(1, Ordering::Relaxed))
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let tickets = exercise_data::number("tickets", 5000) as usize;
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, TALLY + WORKERS * tickets, 0o600)?;
    parent.call_note("the dispenser, then one byte per ticket");
    let memory = segment.attach()?;

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..tickets {
                let ticket = take_ticket(&memory)? as usize;
                // Count who got this ticket (an atomic add: several workers may hold it).
                if let Some(tally) = memory.bytes().get(TALLY + ticket) {
                    tally.fetch_add(1, Ordering::Relaxed);
                }
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
