//! # Exercise 06: One ticket each, with fetch_add
//!
//! Goal: three workers take 5000 numbered tickets each from a shared dispenser; each of the 15000
//! tickets must go to exactly one worker. Today a worker loads the next number, then stores
//! number + 1: two workers that load the same number both get that ticket, and the dispenser
//! loses a step. Make the load and the store one atomic instruction, `fetch_add`, which returns
//! the value it replaced: no lock, no system call.
//!
//! Follows lesson 04 (`cargo run --bin lesson04`), Part 3, and lesson 12's atomic counter.
//!
//! What the checker does: runs the program 50 times with jitter and expects
//! `tickets: 15000 taken, 0 twice, 0 never`, no semaphore set in the trace (the point is to need
//! none), and nothing left behind. The number of tickets comes from `exercise_data`: the checker
//! draws it for each run (by hand it is 5000), so that a program which prints 15000 cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex06`; by hand: `cargo run --example ex06`.

use shm_workbook::shared::Ordering;

use shm_workbook::{Key, Narrator, Region, Result, Segment, cleanup, exercise_data, process};

const WORKERS: usize = 3;
/// Where the tally starts: one byte per ticket, after the 8 bytes of the dispenser.
const TALLY: usize = 8;

/// Takes the next ticket from the dispenser (the first 8 bytes of the segment).
fn take_ticket(memory: &Region) -> Result<u64> {
    // TODO: one step: memory.view::<AtomicU64>()? gives the dispenser as an atomic.
    let ticket = u64::from_ne_bytes(memory.load(0, 8).try_into().expect("8 bytes"));
    memory.store(0, &(ticket + 1).to_ne_bytes())?;
    Ok(ticket)
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
