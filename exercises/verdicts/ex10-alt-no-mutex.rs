//! Verdict corpus: ex10, a valid alternative.
//! expect: pass
//! One producer and one consumer: the producer alone writes head and the consumer alone writes
//! tail, so FREE and FILLED order the slots and no MUTEX is needed (nothing can deadlock).

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

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let items = exercise_data::number("items", 20);
    let parent = Narrator::new("parent");
    let segment = Segment::create_for::<Ring>(Key::PRIVATE, 0o600)?;
    let memory = segment.attach()?;
    let ring: &Ring = memory.view()?;
    let set = SemaphoreSet::create(Key::PRIVATE, 2, 0o600)?;
    set.set_value(FREE, SLOTS as i32)?;
    set.set_value(FILLED, 0)?;

    let producer = process::spawn("producer", |_| {
        for item in 1..=items {
            set.wait(FREE)?;
            let head = ring.head.load(Ordering::Relaxed);
            ring.slots[head as usize % SLOTS].store(item, Ordering::Relaxed);
            ring.head.store(head + 1, Ordering::Relaxed);
            set.post(FILLED)?;
        }
        Ok(())
    })?;
    let consumer = process::spawn("consumer", |out| {
        for _ in 0..items {
            set.wait(FILLED)?;
            let tail = ring.tail.load(Ordering::Relaxed);
            let item = ring.slots[tail as usize % SLOTS].load(Ordering::Relaxed);
            ring.tail.store(tail + 1, Ordering::Relaxed);
            set.post(FREE)?;
            out.say(format!("took item {item}"));
        }
        Ok(())
    })?;
    process::wait_all(vec![producer, consumer])?;
    parent.say("all items passed through the ring");
    Ok(())
}
