//! Verdict corpus: ex10, a valid alternative.
//! expect: pass
//! FREE, FILLED and MUTEX are process-shared POSIX semaphores in the segment, after the ring;
//! each side waits for its counting semaphore before it takes MUTEX.

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::unnamed_sem::UnnamedSemaphore as Sem;
use shm_workbook::{Key, Narrator, Result, Segment, Shareable, cleanup, exercise_data, process};

const SLOTS: usize = 4;

#[repr(C)]
struct Ring {
    head: AtomicU64, // items ever put in
    tail: AtomicU64, // items ever taken out
    slots: [AtomicU64; SLOTS],
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Ring {}

struct Sems<'a> {
    free: Sem<'a>,
    filled: Sem<'a>,
    mutex: Sem<'a>,
}

fn put(ring: &Ring, sems: &Sems, item: u64) -> Result<()> {
    sems.free.wait()?;
    sems.mutex.wait()?;
    let head = ring.head.load(Ordering::Relaxed);
    ring.slots[head as usize % SLOTS].store(item, Ordering::Relaxed);
    ring.head.store(head + 1, Ordering::Relaxed);
    sems.mutex.post()?;
    sems.filled.post()
}

fn take(ring: &Ring, sems: &Sems) -> Result<u64> {
    sems.filled.wait()?;
    sems.mutex.wait()?;
    let tail = ring.tail.load(Ordering::Relaxed);
    let item = ring.slots[tail as usize % SLOTS].load(Ordering::Relaxed);
    ring.tail.store(tail + 1, Ordering::Relaxed);
    sems.mutex.post()?;
    sems.free.post()?;
    Ok(item)
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let items = exercise_data::number("items", 20);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 512, 0o600)?;
    let memory = segment.attach()?;
    let ring: &Ring = memory.view()?;
    let sems = Sems {
        free: Sem::init(&memory, 128, 1, SLOTS as u32)?,
        filled: Sem::init(&memory, 192, 1, 0)?,
        mutex: Sem::init(&memory, 256, 1, 1)?,
    };

    let producer =
        process::spawn("producer", |_| (1..=items).try_for_each(|i| put(ring, &sems, i)))?;
    let consumer = process::spawn("consumer", |out| {
        for _ in 0..items {
            out.say(format!("took item {}", take(ring, &sems)?));
        }
        Ok(())
    })?;
    process::wait_all(vec![producer, consumer])?;
    parent.say("all items passed through the ring");
    Ok(())
}
