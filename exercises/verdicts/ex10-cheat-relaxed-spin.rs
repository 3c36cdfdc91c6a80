//! Verdict corpus: ex10, a cheat.
//! expect: fail
//! reason: the semaphore set is made but never used; the sides spin on head and tail with
//! Relaxed, so a slot's item is not ordered before the index that publishes it.

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

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let items = exercise_data::number("items", 20);
    let parent = Narrator::new("parent");
    let segment = Segment::create_for::<Ring>(Key::PRIVATE, 0o600)?;
    let memory = segment.attach()?;
    let ring: &Ring = memory.view()?;
    let set = SemaphoreSet::create(Key::PRIVATE, 3, 0o600)?;
    let _unused = set;

    let producer = process::spawn("producer", |_| {
        for item in 1..=items {
            let head = ring.head.load(Ordering::Relaxed);
            while head - ring.tail.load(Ordering::Relaxed) == SLOTS as u64 {
                std::thread::yield_now();
            }
            ring.slots[head as usize % SLOTS].store(item, Ordering::Relaxed);
            ring.head.store(head + 1, Ordering::Relaxed);
        }
        Ok(())
    })?;
    let consumer = process::spawn("consumer", |out| {
        for _ in 0..items {
            let tail = ring.tail.load(Ordering::Relaxed);
            while ring.head.load(Ordering::Relaxed) == tail {
                std::thread::yield_now();
            }
            let item = ring.slots[tail as usize % SLOTS].load(Ordering::Relaxed);
            ring.tail.store(tail + 1, Ordering::Relaxed);
            out.say(format!("took item {item}"));
        }
        Ok(())
    })?;
    process::wait_all(vec![producer, consumer])?;
    parent.say("all items passed through the ring");
    Ok(())
}
