//! # Exercise 05: A lost update, fixed with a semaphore
//!
//! Goal: three workers each add one to a shared counter 100 times; the counter must end at
//! exactly 300. Each increment is two steps, a load and then a store: when two workers load the
//! same value, both store value + 1, and one increment vanishes (a *lost update*). Make the load
//! and the store one step that no other worker can cut in two: hold a semaphore around them.
//!
//! Follows lesson 04 (`cargo run --bin lesson04`), Part 3.
//!
//! What the checker does: runs the program 50 times with jitter (which widens the gap between
//! the load and the store) and expects `counter: 300 (expected 300)` every time, a semaphore
//! set in the trace (this exercise is about the semaphore; exercise 06 uses an atomic), and
//! nothing left behind. The number of increments comes from `exercise_data`: the checker draws
//! it for each run (by hand it is 100), so that a program which prints 300 cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex05`; by hand: `cargo run --example ex05`.

use shm_workbook::{Key, Narrator, Region, Result, Segment, cleanup, exercise_data, process};

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
    // TODO: create a set of one semaphore, set to 1 (free), to guard the counter.

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..increments {
                // TODO: hold the semaphore (SemaphoreSet::lock) from the load to the store.
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
