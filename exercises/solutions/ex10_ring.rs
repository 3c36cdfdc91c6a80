//! # Exercise 10, solved: wait for an item first, then take the lock
//!
//! Both sides now wait for their counting semaphore (FREE or FILLED) *before* they take MUTEX,
//! and hold MUTEX only while they move an index, a moment in which they never wait for the
//! other side. A process that sleeps holding a lock its partner needs to wake it deadlocks;
//! one that sleeps holding nothing cannot.

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
    set.wait(FILLED)?; // an item, or sleep until there is one (holding nothing)
    let _mutex = set.lock(MUTEX)?;
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
