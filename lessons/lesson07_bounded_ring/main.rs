//! # Lesson 07: producers and consumers over a bounded ring
//!
//! What it shows: the classic bounded buffer between processes. K slots in shared memory and
//! System V semaphores: `FREE` counts empty slots (starts at K), `FILLED` counts items waiting
//! (starts at 0), and two locks keep producers from claiming the same slot and consumers from
//! taking the same item. A full ring makes producers wait (back-pressure); an empty ring makes
//! consumers sleep in the kernel, using no CPU.
//!
//! The source documents mention producer/consumer as shared memory's typical use (seeds 000
//! and 002) but only show the one-message flag of lesson 06; this is the general form.
//! - Part 1: one producer, one slow consumer, a ring of 4: the producer blocks when it is full.
//! - Part 2: a slow producer: the waiting consumer sleeps in `semop` (its CPU time is printed).
//! - Part 3: several producers and consumers; every item is checked to arrive exactly once.
//! - Part 4: the same, with a producer killed in the middle: nobody deadlocks, nothing leaks.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson07
//! cargo run --bin lesson07 -- --step   # pause in each part: `ipcs -s -i` shows who waits
//! cargo run --release --bin lesson07 -- --producers 3 --consumers 2 --items 200000
//! ```

mod flags;
mod tally;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use shm_workbook::Shareable;
use shm_workbook::process::{self, Child, Exit};
use shm_workbook::{Error, Key, Lesson, Narrator, Result, Segment, SemaphoreSet, call};
use tally::Tally;

/// The most slots a ring may have (`--slots`).
const MAX_SLOTS: usize = 64;

// ANCHOR: ring
/// The ring as it lies in shared memory.
#[repr(C)]
struct Ring {
    /// How many items were ever put in: the next free slot is `head % K`. Producers only, under
    /// the producers' lock.
    head: AtomicU64,
    /// How many items were ever taken out: the next item is `tail % K`. Consumers only, under
    /// the consumers' lock.
    tail: AtomicU64,
    /// Set by the parent when no producer will put anything any more.
    done: AtomicU32,
    slots: [Slot; MAX_SLOTS],
}

/// One item: who produced it and its number, so that the consumers can check every item.
#[repr(C)]
struct Slot {
    producer: AtomicU32,
    sequence: AtomicU64,
}

// SAFETY: both are #[repr(C)], made only of atomics (valid for every bit pattern, zero
// included), with no pointers.
unsafe impl Shareable for Ring {}
// SAFETY: as above.
unsafe impl Shareable for Slot {}

/// The semaphores of the set.
const FREE: usize = 0; // empty slots: starts at K
const FILLED: usize = 1; // items waiting: starts at 0
const PRODUCERS_LOCK: usize = 2; // one producer at a time claims a slot
const CONSUMERS_LOCK: usize = 3; // one consumer at a time takes an item
// ANCHOR_END: ring

/// Everything both sides need.
struct Shared<'a> {
    ring: &'a Ring,
    slots: u64,
    semaphores: &'a SemaphoreSet,
}

// ANCHOR: put_take
impl Shared<'_> {
    /// Waits for a free slot, fills it, and announces the item.
    fn put(&self, producer: u32, sequence: u64) -> Result<()> {
        self.semaphores.wait(FREE)?; // blocks while the ring is full: back-pressure
        self.fill(producer, sequence)
    }

    /// Fills the free slot taken with `wait(FREE)`, and announces the item.
    fn fill(&self, producer: u32, sequence: u64) -> Result<()> {
        let _claim = self.semaphores.lock(PRODUCERS_LOCK)?; // SEM_UNDO: a dead producer lets go
        let head = self.ring.head.load(Ordering::Relaxed);
        let slot = &self.ring.slots[(head % self.slots) as usize];
        slot.producer.store(producer, Ordering::Relaxed);
        slot.sequence.store(sequence, Ordering::Relaxed);
        self.ring.head.store(head + 1, Ordering::Release); // the slot is complete before head moves
        self.semaphores.post(FILLED) // wakes one consumer
    }

    /// Waits for an item and takes it; `None` once the producers are done and the ring is empty.
    fn take(&self) -> Result<Option<(u32, u64)>> {
        loop {
            self.semaphores.wait(FILLED)?; // sleeps in the kernel while the ring is empty
            let _turn = self.semaphores.lock(CONSUMERS_LOCK)?;
            let tail = self.ring.tail.load(Ordering::Relaxed);
            if tail == self.ring.head.load(Ordering::Acquire) {
                if self.ring.done.load(Ordering::Acquire) == 1 {
                    self.semaphores.post(FILLED)?; // pass the wake-up on to the next consumer
                    return Ok(None);
                }
                continue;
            }
            let slot = &self.ring.slots[(tail % self.slots) as usize];
            let item =
                (slot.producer.load(Ordering::Relaxed), slot.sequence.load(Ordering::Relaxed));
            self.ring.tail.store(tail + 1, Ordering::Relaxed);
            self.semaphores.post(FREE)?; // the slot may be reused
            return Ok(Some(item));
        }
    }

    /// Tells the consumers that nothing more will come, and wakes every one of them.
    fn finish(&self, consumers: u64) -> Result<()> {
        self.ring.done.store(1, Ordering::Release);
        (0..consumers).try_for_each(|_| self.semaphores.post(FILLED))
    }
}
// ANCHOR_END: put_take

/// A ring of `slots` slots and its semaphore set, created by the calling process; with
/// `show_values`, each SETVAL is printed too.
fn create_ring(out: &Narrator, slots: u64, show_values: bool) -> Result<(Segment, SemaphoreSet)> {
    let segment = Segment::create_for::<Ring>(Key::PRIVATE, 0o600)?;
    out.call_note("the ring");
    let semaphores = SemaphoreSet::create(Key::PRIVATE, 4, 0o600)?;
    out.call_note("four semaphores: FREE, FILLED and the two locks");
    let values = [
        (FREE, slots as i32, "FREE: every slot is empty"),
        (FILLED, 0, "FILLED: no item yet"),
        (PRODUCERS_LOCK, 1, "the producers' lock: open"),
        (CONSUMERS_LOCK, 1, "the consumers' lock: open"),
    ];
    for (n, value, meaning) in values {
        semaphores.set_value(n, value)?;
        if show_values {
            out.call_note(meaning);
        }
    }
    if !show_values {
        out.explain(format!(
            "FREE = {slots}, FILLED = 0, the two locks = 1 (SETVAL, as in Part 1)"
        ));
    }
    Ok((segment, semaphores))
}

fn main() -> Result<()> {
    let lesson = Lesson::start_with("lesson07", flags::FLAGS);
    let given = |flag| lesson.options().extra.contains_key(flag);
    let items = if lesson.fast() && !given("--items") { 5_000 } else { lesson.number("--items") };
    let (producers, consumers) = (lesson.number("--producers"), lesson.number("--consumers"));
    let slots = lesson.number("--slots");

    lesson.part("Part 1: a full ring makes the producer wait (back-pressure)");
    back_pressure(&lesson)?;

    lesson.part("Part 2: an empty ring makes the consumer sleep");
    sleeping_consumer(&lesson)?;

    lesson
        .part(format!("Part 3: {producers} producers, {consumers} consumers, {items} items each"));
    many(&lesson, producers, consumers, items, slots, false)?;

    lesson.part("Part 4: the same, and a producer is killed half-way");
    // At least two producers (one survives) and two slots (a producer killed between taking a
    // free slot and filling it costs the ring that slot for good).
    many(&lesson, producers.max(2), consumers, items, slots.max(2), true)?;
    Ok(())
}

// ANCHOR: back_pressure
fn back_pressure(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let (segment, semaphores) = create_ring(&parent, 4, true)?;
    let memory = segment.attach()?;
    let shared = Shared { ring: memory.view()?, slots: 4, semaphores: &semaphores };
    let pause = if lesson.fast() { Duration::from_millis(20) } else { Duration::from_millis(150) };

    let producer = process::spawn("producer", |out| {
        for item in 1..=8 {
            let full = semaphores.value(FREE)? == 0;
            semaphores.wait(FREE)?; // blocks while the ring is full
            if full {
                out.call_note(format!(
                    "the ring was full: item {item} waited here for a free slot"
                ));
            }
            shared.fill(1, item)?;
            out.line()
                .text(format!("put item {item}"))
                .note(format!("free slots: {}", semaphores.value(FREE)?))
                .print();
        }
        Ok(())
    })?;
    if lesson.stepping() {
        semaphores.wait_for_waiters(FREE, 1, Duration::from_secs(5))?;
        let (semid, pid) = (semaphores.id(), producer.pid());
        lesson.step(
            &parent,
            &format!(
                "The ring is full, no consumer yet, and the producer {pid} waits for a slot.\n\
                 In another terminal, run:  ipcs -s -i {semid}\n\
                 semnum 0 (FREE): value 0, ncount 1 (the producer); semnum 1 (FILLED): value 4."
            ),
        );
    }
    let consumer = process::spawn("consumer", |out| {
        for _ in 1..=8 {
            std::thread::sleep(pause); // a slow consumer
            if let Some((_, item)) = shared.take()? {
                out.line().text(format!("took item {item}")).print();
            }
        }
        Ok(())
    })?;
    producer.wait()?;
    consumer.wait()?;
    parent.explain(
        "the producer ran ahead by 4 items, the size of the ring, and then had to wait for each \
         free slot",
    );
    Ok(())
}
// ANCHOR_END: back_pressure

// ANCHOR: sleeping_consumer
fn sleeping_consumer(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let (segment, semaphores) = create_ring(&parent, 4, false)?;
    let memory = segment.attach()?;
    let shared = Shared { ring: memory.view()?, slots: 4, semaphores: &semaphores };
    let pause = if lesson.fast() { Duration::from_millis(5) } else { Duration::from_millis(200) };

    let consumer = process::spawn("consumer", |out| {
        let stopwatch = process::Stopwatch::start()?;
        while let Some((_, item)) = shared.take()? {
            out.line().text(format!("took item {item}")).print();
        }
        stopwatch.report(out, Some("asleep in semop while the ring was empty"))
    })?;
    if lesson.stepping() {
        semaphores.wait_for_waiters(FILLED, 1, Duration::from_secs(5))?;
        let (semid, pid) = (semaphores.id(), consumer.pid());
        lesson.step(
            &parent,
            &format!(
                "The ring is empty and the consumer sleeps in the kernel.\n\
                 In another terminal:  ps -o pid,stat,time,wchan -p {pid}   (S, no CPU time)\n\
                 and:  ipcs -s -i {semid}   semnum 1 (FILLED): value 0, ncount 1"
            ),
        );
    }
    for item in 1..=5 {
        std::thread::sleep(pause); // a slow producer
        shared.put(1, item)?;
    }
    // While the consumer waits, the kernel counts it.
    std::thread::sleep(pause / 2);
    semaphores.waiting(FILLED)?;
    parent.call_note("GETNCNT of FILLED: how many consumers sleep in semop, waiting for an item");
    shared.finish(1)?;
    consumer.wait()
}
// ANCHOR_END: sleeping_consumer

// ANCHOR: many
fn many(
    lesson: &Lesson,
    producers: u64,
    consumers: u64,
    items: u64,
    slots: u64,
    kill_one: bool,
) -> Result<()> {
    let parent = lesson.narrator("parent");
    let (segment, semaphores) = create_ring(&parent, slots, false)?;
    let memory = segment.attach()?;
    let shared = Shared { ring: memory.view()?, slots, semaphores: &semaphores };
    let tally = Segment::create(Key::PRIVATE, (producers * items) as usize, 0o600)?;
    parent.call_note("one byte per item: how many times it was consumed");
    let tally = Tally::new(tally, producers, items)?;
    let started = Instant::now();

    // The children's millions of semops are not recorded: the trace would slow them down.
    let mut consumer_children: Vec<Child> = Vec::new();
    for c in 1..=consumers {
        consumer_children.push(process::spawn(&format!("consumer {c}"), |_| {
            call::unrecorded(|| {
                while let Some((producer, sequence)) = shared.take()? {
                    tally.seen(producer, sequence);
                }
                Ok(())
            })
        })?);
    }
    if lesson.stepping() && !kill_one {
        semaphores.wait_for_waiters(FILLED, consumers as i32, Duration::from_secs(5))?;
        lesson.step(
            &parent,
            &format!(
                "{consumers} consumers sleep on FILLED; the producers start after Enter.\n\
                 In another terminal:  ipcs -s -i {}   (semnum 1: ncount {consumers})\n\
                 and:  ipcs -m -i {}   the tally, one byte per item, nattch {}",
                semaphores.id(),
                tally.id(),
                consumers + 1
            ),
        );
    }
    let mut producer_children: Vec<Child> = Vec::new();
    for p in 1..=producers {
        producer_children.push(process::spawn(&format!("producer {p}"), |_| {
            call::unrecorded(|| (1..=items).try_for_each(|sequence| shared.put(p as u32, sequence)))
        })?);
    }

    let mut killed = None;
    if kill_one {
        // Wait until about half of everything has gone through, then kill producer 1.
        let deadline = Instant::now() + Duration::from_secs(60);
        while shared.ring.tail.load(Ordering::Relaxed) < producers * items / 2 {
            if Instant::now() > deadline {
                return Err(Error::other("waiting for half of the items", "no progress in 60 s"));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let victim = &producer_children[0];
        victim.signal(Signal::SIGKILL)?;
        parent.call_note("producer 1 dies, perhaps holding the producers' lock");
        killed = Some(1);
        lesson.step(
            &parent,
            &format!(
                "Producer 1 is dead and not yet reaped: in another terminal,\n  \
                 ps -o pid,stat -p {}   (Z: a zombie until this process waits for it)\n  \
                 ipcs -s -i {}   semnum 2, the producers' lock: if producer 1 died holding it,\n  \
                 SEM_UNDO has given it back (value 1, or 0 held by the living producer)",
                victim.pid(),
                semaphores.id()
            ),
        );
    }
    for (p, child) in (1..=producers).zip(producer_children) {
        match child.wait_exit()? {
            Exit::Code(0) => {}
            Exit::Signal(Signal::SIGKILL) if killed == Some(p) => {}
            other => {
                return Err(Error::other(
                    format!("waiting for producer {p}"),
                    format!("ended with {other:?}"),
                ));
            }
        }
    }
    shared.finish(consumers)?; // no more items: let the consumers drain the ring and stop
    for consumer in consumer_children {
        consumer.wait()?;
    }
    let elapsed = started.elapsed();
    tally.check(&parent, killed)?;
    let total = shared.ring.tail.load(Ordering::Relaxed);
    parent
        .line()
        .value(total)
        .text(" items through a ring of ")
        .value(slots)
        .text(format!(" slots in {elapsed:.2?}"))
        .note(format!("{:.0} items/s", total as f64 / elapsed.as_secs_f64()))
        .print();
    Ok(())
}
// ANCHOR_END: many
