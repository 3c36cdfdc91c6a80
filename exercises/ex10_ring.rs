//! # Exercise 10: A bounded ring that deadlocks
//!
//! Goal: a producer puts 20 numbered items into a ring of 4 slots and a consumer takes them
//! out, in order. Three semaphores keep them in step: FREE counts the empty slots, FILLED the
//! items waiting, and MUTEX lets one side at a time move the ring's indexes. The consumer takes
//! MUTEX *before* it waits for an item: when the ring is empty it sleeps holding MUTEX, and the
//! producer, who needs MUTEX to put an item in, can never wake it. Find the order that cannot
//! deadlock.
//!
//! Follows lesson 07 (`cargo run --bin lesson07`).
//!
//! What the checker does: runs the program 50 times with jitter and expects `took item 1` to
//! `took item 20`, each once and in order. A run that does not end in time is reported as the
//! kernel sees it: which process waits in `semop` on which semaphore, with its value, how many
//! wait for it, and who changed it last. The number of items comes from `exercise_data`: the
//! checker draws it for each run (by hand it is 20), so that a consumer which counts to 20 by
//! itself cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex10`; by hand: `cargo run --example ex10` (when it
//! hangs, look at `ipcs -s -i <semid>` in another terminal, then press Ctrl-C).

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::Shareable;
use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, exercise_data, process};

const SLOTS: usize = 4;
const FREE: usize = 0; // empty slots: starts at SLOTS
const FILLED: usize = 1; // items waiting: starts at 0
const MUTEX: usize = 2; // the indexes' lock: starts at 1

#[repr(C)]
struct Ring {
    head: AtomicU64, // items ever put in
    tail: AtomicU64, // items ever taken out
    slots: [AtomicU64; SLOTS],
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Ring {}

fn put(ring: &Ring, set: &SemaphoreSet, item: u64) -> Result<()> {
    set.wait(FREE)?; // a free slot, or sleep until there is one
    let _mutex = set.lock(MUTEX)?;
    let head = ring.head.load(Ordering::Relaxed);
    ring.slots[head as usize % SLOTS].store(item, Ordering::Relaxed);
    ring.head.store(head + 1, Ordering::Relaxed);
    set.post(FILLED) // one more item
}

fn take(ring: &Ring, set: &SemaphoreSet) -> Result<u64> {
    // TODO: these two waits are in the wrong order: put's order is the one that works.
    let _mutex = set.lock(MUTEX)?;
    set.wait(FILLED)?; // an item, or sleep until there is one (holding MUTEX!)
    let tail = ring.tail.load(Ordering::Relaxed);
    let item = ring.slots[tail as usize % SLOTS].load(Ordering::Relaxed);
    ring.tail.store(tail + 1, Ordering::Relaxed);
    set.post(FREE)?; // one more free slot
    Ok(item)
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let items = exercise_data::number("items", 20);
    let parent = Narrator::new("parent");
    let segment = Segment::create_for::<Ring>(Key::PRIVATE, 0o600)?;
    parent.call_note("the ring");
    let memory = segment.attach()?;
    let ring: &Ring = memory.view()?;
    let set = SemaphoreSet::create(Key::PRIVATE, 3, 0o600)?;
    parent.call_note("FREE, FILLED, MUTEX");
    set.set_value(FREE, SLOTS as i32)?;
    set.set_value(FILLED, 0)?;
    set.set_value(MUTEX, 1)?;

    let producer =
        process::spawn("producer", |_| (1..=items).try_for_each(|i| put(ring, &set, i)))?;
    let consumer = process::spawn("consumer", |out| {
        for _ in 0..items {
            out.say(format!("took item {}", take(ring, &set)?));
        }
        Ok(())
    })?;
    process::wait_all(vec![producer, consumer])?;
    parent.say("all items passed through the ring");
    Ok(())
}
