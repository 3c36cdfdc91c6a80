//! # Lesson 04: a race condition you can watch
//!
//! What it shows: several processes add one to a counter in shared memory, each with a separate
//! read and write. When two of them read the same value, both write the same sum, and one
//! increment vanishes: a *lost update*.
//!
//! The source documents point students at a race-condition visualizer (seed 001) and list race
//! conditions as the first problem of shared memory (seed 000); this is the terminal version:
//! - Part 1 traces a few increments with random delays, event by event, in each process's
//!   colour: you see two processes read the same value and one write overwrite the other.
//!   `--step` replays the finished run one event per Enter ("event 3 of 18"); `--seed N`
//!   repeats the same delays.
//! - Part 2 counts the damage with many increments: expected total, actual total, lost updates.
//! - Part 3 does the same work correctly, twice: with an atomic `fetch_add`, and with the read
//!   and write under a semaphore. Both are exact every time.
//!
//! The racy counter is still made of atomics (a load, then a store), so the program has no
//! undefined behaviour: the race is in the logic, not in the memory model.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson04
//! cargo run --bin lesson04 -- --step --seed 7              # pause in each part; Part 1's trace
//!                                                          # replayed one event per Enter
//! cargo run --bin lesson04 -- --processes 4 --increments 1000000
//! ```

mod replay;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use replay::Replay;
use shm_workbook::Shareable;
use shm_workbook::call;
use shm_workbook::json::Json;
use shm_workbook::lesson::LessonFlag;
use shm_workbook::process::{self, Child};
use shm_workbook::{Key, Lesson, Narrator, Result, Segment, SemaphoreSet};

const FLAGS: &[LessonFlag] = &[
    LessonFlag::number("--processes", "N", "how many processes increment the counter", 3, (2, 16)),
    LessonFlag::number(
        "--increments",
        "M",
        "increments per process in Parts 2 and 3 (--fast: 5000)",
        200_000,
        (1, 10_000_000),
    ),
    LessonFlag::number(
        "--rounds",
        "R",
        "how often Part 3 repeats each correct version (--fast: 2)",
        5,
        (1, 100),
    ),
];

/// At most this many increments per process for the semaphore version of Part 3.
const SEMAPHORE_INCREMENTS: u64 = 10_000;
/// Increments per process in the traced run of Part 1: few, so the trace stays readable.
const TRACED_INCREMENTS: u64 = 3;
const MAX_EVENTS: usize = 2 * 16 * TRACED_INCREMENTS as usize;

fn main() -> Result<()> {
    let lesson = Lesson::start_with("lesson04", FLAGS);
    let processes = lesson.number("--processes");
    // --fast keeps the run well under a second, unless the numbers are given explicitly.
    let given = |flag| lesson.options().extra.contains_key(flag);
    let increments =
        if lesson.fast() && !given("--increments") { 5_000 } else { lesson.number("--increments") };
    let rounds = if lesson.fast() && !given("--rounds") { 2 } else { lesson.number("--rounds") };

    lesson.part("Part 1: watch the race (a traced run)");
    traced_race(&lesson, processes)?;

    lesson.part("Part 2: count the lost updates");
    let parent = lesson.narrator("parent");
    let counted = count(&lesson, Version::ReadThenWrite, processes, increments)?;
    report(&parent, Version::ReadThenWrite, processes * increments, counted);
    parent.explain(
        "the count differs from run to run, and can even come out right: a race is possible, not \
         certain",
    );

    lesson.part("Part 3: the same work, done right");
    // Two system calls per increment make the semaphore version slow: it does fewer.
    for (version, each) in [
        (Version::FetchAdd, increments),
        (Version::Semaphore, increments.min(SEMAPHORE_INCREMENTS)),
    ] {
        let mut exact = 0;
        let started = Instant::now();
        for _ in 0..rounds {
            let counted = count(&lesson, version, processes, each)?;
            exact += u64::from(counted == processes * each);
        }
        parent
            .line()
            .text(format!("{}: ", version.describe()))
            .value(format!("exact in {exact} of {rounds} rounds"))
            .note(format!(
                "{processes} x {each} increments, {:.0?} per round",
                started.elapsed() / rounds as u32
            ))
            .print();
    }
    parent.explain(
        "fetch_add makes read-add-write one indivisible step; the semaphore lets one process at a \
         time do all three",
    );
    Ok(())
}

// ANCHOR: shared_layout
/// The segment's layout: the counter, and a log of what each process did, for the trace.
#[repr(C)]
struct Shared {
    counter: AtomicU64,
    next_event: AtomicU32,
    events: [Event; MAX_EVENTS],
}

/// One read or write, recorded by the process that made it.
#[repr(C)]
struct Event {
    worker: AtomicU32,
    pid: AtomicU32,
    is_write: AtomicU32,
    value: AtomicU64,
}

// SAFETY: both types are #[repr(C)], made only of atomics (valid for any bit pattern, zero
// included), and hold no pointers.
unsafe impl Shareable for Shared {}
// SAFETY: as above.
unsafe impl Shareable for Event {}

impl Shared {
    /// Appends an event to the log (`fetch_add` hands each event its own slot).
    fn record(&self, worker: u32, is_write: bool, value: u64) {
        let slot = self.next_event.fetch_add(1, Ordering::Relaxed) as usize;
        if let Some(event) = self.events.get(slot) {
            event.worker.store(worker, Ordering::Relaxed);
            event.pid.store(std::process::id(), Ordering::Relaxed);
            event.is_write.store(u32::from(is_write), Ordering::Relaxed);
            event.value.store(value, Ordering::Relaxed);
        }
    }
}
// ANCHOR_END: shared_layout

// ANCHOR: racy_increment
/// The increment under study: read the counter, then write what was read plus one. Another
/// process may write between the two, and then its update is overwritten.
fn racy_increment(counter: &AtomicU64) {
    let seen = counter.load(Ordering::Relaxed);
    counter.store(seen + 1, Ordering::Relaxed);
}
// ANCHOR_END: racy_increment

fn traced_race(lesson: &Lesson, processes: u64) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create_for::<Shared>(Key::PRIVATE, 0o600)?;
    parent.call_note("the shmid: the counter and the log of events");
    let memory = segment.attach()?;
    parent.call();
    let shared: &Shared = memory.view()?;
    parent.explain(format!(
        "{processes} processes each add one {TRACED_INCREMENTS} times, pausing a random 0-500 µs \
         between read and write (--seed {} repeats it)",
        lesson.seed()
    ));

    let mut workers: Vec<Child> = Vec::new();
    for worker in 1..=processes {
        let mut rng = SmallRng::seed_from_u64(lesson.seed() ^ worker);
        workers.push(process::spawn(&format!("worker {worker}"), |_| {
            for _ in 0..TRACED_INCREMENTS {
                let delay = Duration::from_micros(rng.random_range(0..500));
                // racy_increment's two steps, each written to the log, with a pause between.
                let seen = shared.counter.load(Ordering::Relaxed);
                shared.record(worker as u32, false, seen);
                replay_step("load", seen);
                replay_step("add", seen + 1);
                std::thread::sleep(delay); // another process may write here
                shared.counter.store(seen + 1, Ordering::Relaxed);
                shared.record(worker as u32, true, seen + 1);
                replay_step("store", seen + 1);
                std::thread::sleep(Duration::from_micros(rng.random_range(0..500)));
            }
            Ok(())
        })?);
    }
    process::wait_all(workers)?; // in the order they end; if one fails, the others are stopped

    let recorded = (shared.next_event.load(Ordering::Relaxed) as usize).min(MAX_EVENTS);
    lesson.step(
        &parent,
        &format!(
            "The workers have finished; the segment logs their {recorded} reads and writes.\n\
             In another terminal, run:  ipcs -m -i {}\n\
             nattch 1 (only this process now); lpid is the last worker to detach, at its exit.",
            segment.id()
        ),
    );
    let mut replay = Replay::new(lesson, &parent, recorded);
    let mut highest_written = 0;
    for event in &shared.events[..recorded] {
        let counted = replay.next_event(); // with --step: waits for Enter, "event 3 of 18"
        let role = format!("worker {}", event.worker.load(Ordering::Relaxed));
        let out = Narrator::for_process(&role, event.pid.load(Ordering::Relaxed) as i32);
        let value = event.value.load(Ordering::Relaxed);
        let verb = if event.is_write.load(Ordering::Relaxed) == 0 { "read " } else { "write" };
        let lost = (verb == "write" && value <= highest_written)
            .then(|| format!("LOST UPDATE: the counter was already {highest_written}"));
        let notes: Vec<String> = lost.into_iter().chain(counted).collect();
        let line = out.line().text(format!("{verb} counter = ")).value(value);
        match notes.is_empty() {
            true => line.print(),
            false => line.note(notes.join("; ")).print(),
        }
        if verb == "write" {
            highest_written = highest_written.max(value);
        }
    }
    report(
        &parent,
        Version::ReadThenWrite,
        processes * TRACED_INCREMENTS,
        shared.counter.load(Ordering::Relaxed),
    );
    Ok(())
}

/// With `--trace FILE`, one line per step of the traced race (`"kind":"event"`, the worker's role,
/// the value loaded, computed or stored), which the book's race visualizer replays. Nothing
/// without `--trace`.
fn replay_step(step: &str, value: u64) {
    if call::tracing() {
        call::event(step, &[("value", Json::from(value))]);
    }
}

/// The three ways of adding one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    ReadThenWrite,
    FetchAdd,
    Semaphore,
}

impl Version {
    fn describe(self) -> &'static str {
        match self {
            Version::ReadThenWrite => "load, then store",
            Version::FetchAdd => "fetch_add",
            Version::Semaphore => "load and store under a semaphore",
        }
    }
}

// ANCHOR: count
/// `processes` processes each add one `increments` times; returns the final counter.
fn count(lesson: &Lesson, version: Version, processes: u64, increments: u64) -> Result<u64> {
    let segment = Segment::create_for::<AtomicU64>(Key::PRIVATE, 0o600)?;
    let memory = segment.attach()?;
    let counter: &AtomicU64 = memory.view()?;
    let lock = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    lock.set_value(0, 1)?;
    lesson.step_once(&lesson.narrator("parent"), || {
        let (shmid, semid) = (segment.id(), lock.id());
        format!(
            "The counter is ready, before any worker: in another terminal, run\n  \
             ipcs -m -i {shmid}   8 bytes, nattch 1: the {processes} workers attach by fork()\n  \
             ipcs -s -i {semid}   value 1: the lock that only the semaphore version takes"
        )
    });
    let mut workers = Vec::new();
    for worker in 1..=processes {
        // Unrecorded: the semaphore's two semops per increment would fill a trace file.
        let role = format!("worker {worker}");
        workers.push(process::spawn_unrecorded(&role, |_| {
            add_ones(version, counter, &lock, increments)
        })?);
    }
    process::wait_all(workers)?;
    Ok(counter.load(Ordering::Relaxed))
}

/// One worker's increments, made the way `version` makes them.
fn add_ones(version: Version, counter: &AtomicU64, lock: &SemaphoreSet, times: u64) -> Result<()> {
    for _ in 0..times {
        match version {
            Version::ReadThenWrite => racy_increment(counter),
            Version::FetchAdd => {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Version::Semaphore => {
                let _held = lock.lock(0)?;
                racy_increment(counter);
            }
        }
    }
    Ok(())
}
// ANCHOR_END: count

fn report(out: &Narrator, version: Version, expected: u64, actual: u64) {
    out.line()
        .text(format!("{}: expected ", version.describe()))
        .value(expected)
        .text(", actual ")
        .value(actual)
        .text(", lost updates ")
        .value(expected - actual)
        .print();
}
