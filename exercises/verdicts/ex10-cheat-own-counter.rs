//! Verdict corpus: ex10, a cheat.
//! expect: fail
//! reason: the consumer takes items in the right order but prints "took item n" from its own
//! counter, not the item it took; the producer puts zeros.

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::Shareable;
use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, exercise_data, process};

const SLOTS: usize = 4;

#[repr(C)]
struct Ring {
    head: AtomicU64, // items ever put in
    tail: AtomicU64, // items ever taken out
    slots: [AtomicU64; SLOTS],
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Ring {}

const FREE: usize = 0;
const FILLED: usize = 1;
const MUTEX: usize = 2;

fn put(ring: &Ring, set: &SemaphoreSet, item: u64) -> Result<()> {
    set.wait(FREE)?;
    let _mutex = set.lock(MUTEX)?;
    let head = ring.head.load(Ordering::Relaxed);
    ring.slots[head as usize % SLOTS].store(item, Ordering::Relaxed);
    ring.head.store(head + 1, Ordering::Relaxed);
    set.post(FILLED)
}

fn take(ring: &Ring, set: &SemaphoreSet) -> Result<u64> {
    set.wait(FILLED)?;
    let _mutex = set.lock(MUTEX)?;
    let tail = ring.tail.load(Ordering::Relaxed);
    let item = ring.slots[tail as usize % SLOTS].load(Ordering::Relaxed);
    ring.tail.store(tail + 1, Ordering::Relaxed);
    set.post(FREE)?;
    Ok(item)
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let items = exercise_data::number("items", 20);
    let parent = Narrator::new("parent");
    let segment = Segment::create_for::<Ring>(Key::PRIVATE, 0o600)?;
    let memory = segment.attach()?;
    let ring: &Ring = memory.view()?;
    let set = SemaphoreSet::create(Key::PRIVATE, 3, 0o600)?;
    set.set_value(FREE, SLOTS as i32)?;
    set.set_value(FILLED, 0)?;
    set.set_value(MUTEX, 1)?;

    let producer =
        process::spawn("producer", |_| (1..=items).try_for_each(|_| put(ring, &set, 0)))?;
    let consumer = process::spawn("consumer", |out| {
        for n in 1..=items {
            take(ring, &set)?;
            out.say(format!("took item {n}"));
        }
        Ok(())
    })?;
    process::wait_all(vec![producer, consumer])?;
    parent.say("all items passed through the ring");
    Ok(())
}
