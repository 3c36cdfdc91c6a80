//! # Lesson 14: sharing a configuration between processes
//!
//! What it shows: one writer keeps updating a configuration record whose fields must agree
//! with each other, while several readers read it all the time. Without a protocol, readers
//! see *torn* records (half old, half new); with a sequence lock they never do, and they never
//! make the writer wait.
//!
//! The source documents name configuration sharing as a use case of shared memory (seed 000)
//! without showing how to do it safely; this lesson does.
//! - Part 1: fields written and read one by one: count the torn reads, and show one.
//! - Part 2: a sequence lock: the writer makes a counter odd while it writes and even when done;
//!   a reader retries whenever the counter was odd or changed during its read. Zero torn reads.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson14
//! cargo run --release --bin lesson14 -- --updates 5000000 --readers 3
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

use shm_workbook::lesson::LessonFlag;
use shm_workbook::process::{self, Child};
use shm_workbook::shm::Shareable;
use shm_workbook::{Key, Lesson, Narrator, Result, Segment};

const FLAGS: &[LessonFlag] = &[
    LessonFlag::number(
        "--updates",
        "N",
        "how many times the writer changes the configuration (--fast: 50000)",
        1_000_000,
        (1, 100_000_000),
    ),
    LessonFlag::number("--readers", "R", "reader processes", 2, (1, 8)),
];

// ANCHOR: config
/// The configuration: a window of `width` x `height`, its `area`, and the `version` they belong
/// to. A reader must never see fields from two different versions.
#[repr(C)]
struct Config {
    /// The sequence lock: odd while the writer is writing, even when the record is stable.
    sequence: AtomicU64,
    version: AtomicU64,
    width: AtomicU64,
    height: AtomicU64,
    area: AtomicU64,
}

/// One reading of the record.
#[derive(Clone, Copy, Debug)]
struct Snapshot {
    version: u64,
    width: u64,
    height: u64,
    area: u64,
}

impl Snapshot {
    /// The values version `v` should have.
    fn of_version(v: u64) -> Snapshot {
        let (width, height) = (640 + v % 1000, 480 + v % 700);
        Snapshot { version: v, width, height, area: width * height }
    }

    fn is_consistent(&self) -> bool {
        let expected = Snapshot::of_version(self.version);
        (self.width, self.height, self.area) == (expected.width, expected.height, expected.area)
    }
}
// ANCHOR_END: config

/// What the readers found, added up in shared memory.
#[repr(C)]
struct Board {
    config: Config,
    writer_done: AtomicU32,
    reads: AtomicU64,
    torn: AtomicU64,
    retries: AtomicU64,
    /// One torn reading, kept to show it.
    example: [AtomicU64; 4],
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Board {}

// ANCHOR: unprotected
/// Part 1: each field stored and loaded on its own.
fn write_plain(config: &Config, s: Snapshot) {
    config.version.store(s.version, Ordering::Relaxed);
    config.width.store(s.width, Ordering::Relaxed);
    config.height.store(s.height, Ordering::Relaxed);
    config.area.store(s.area, Ordering::Relaxed);
}

fn read_plain(config: &Config) -> Snapshot {
    Snapshot {
        version: config.version.load(Ordering::Relaxed),
        width: config.width.load(Ordering::Relaxed),
        height: config.height.load(Ordering::Relaxed),
        area: config.area.load(Ordering::Relaxed),
    }
}
// ANCHOR_END: unprotected

// ANCHOR: seqlock
/// Part 2, the writer: odd sequence, write, even sequence. It never waits for anyone.
fn write_seqlock(config: &Config, s: Snapshot) {
    let sequence = config.sequence.load(Ordering::Relaxed);
    config.sequence.store(sequence + 1, Ordering::Relaxed); // odd: writing
    fence(Ordering::Release); // the odd value is visible before any field changes
    write_plain(config, s);
    config.sequence.store(sequence + 2, Ordering::Release); // even: stable, fields visible
}

/// Part 2, a reader: read the fields between two loads of the sequence; if the sequence was
/// odd, or changed in between, the writer was busy: try again. Returns the snapshot and the
/// number of retries.
fn read_seqlock(config: &Config) -> (Snapshot, u64) {
    let mut retries = 0;
    loop {
        let before = config.sequence.load(Ordering::Acquire);
        if before.is_multiple_of(2) {
            let snapshot = read_plain(config);
            fence(Ordering::Acquire); // the field loads happen before the second sequence load
            if config.sequence.load(Ordering::Relaxed) == before {
                return (snapshot, retries);
            }
        }
        retries += 1;
        std::hint::spin_loop();
    }
}
// ANCHOR_END: seqlock

fn main() -> Result<()> {
    let lesson = Lesson::start_with("lesson14", FLAGS);
    let given = |flag| lesson.options().extra.contains_key(flag);
    let updates =
        if lesson.fast() && !given("--updates") { 50_000 } else { lesson.number("--updates") };
    let readers = lesson.number("--readers");

    lesson.part("Part 1: no protocol, fields written and read one by one");
    run(&lesson, updates, readers, false)?;

    lesson.part("Part 2: a sequence lock");
    run(&lesson, updates, readers, true)?;
    Ok(())
}

// ANCHOR: run
fn run(lesson: &Lesson, updates: u64, readers: u64, seqlock: bool) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, std::mem::size_of::<Board>(), 0o600)?;
    parent.typed_call(
        "shmget(IPC_PRIVATE, sizeof(board), IPC_CREAT|0600)",
        format!("shmid {}", segment.id()),
    );
    let memory = segment.attach()?;
    let board: &Board = memory.view()?;
    write_plain(&board.config, Snapshot::of_version(0));

    let mut children: Vec<Child> = Vec::new();
    for r in 1..=readers {
        children.push(process::spawn(&format!("reader {r}"), |_| {
            let (mut reads, mut torn, mut retries) = (0u64, 0u64, 0u64);
            while board.writer_done.load(Ordering::Acquire) == 0 {
                let snapshot = if seqlock {
                    let (snapshot, tries) = read_seqlock(&board.config);
                    retries += tries;
                    snapshot
                } else {
                    read_plain(&board.config)
                };
                reads += 1;
                if !snapshot.is_consistent() {
                    if torn == 0 {
                        let fields =
                            [snapshot.version, snapshot.width, snapshot.height, snapshot.area];
                        for (cell, value) in board.example.iter().zip(fields) {
                            cell.store(value, Ordering::Relaxed);
                        }
                    }
                    torn += 1;
                }
            }
            board.reads.fetch_add(reads, Ordering::Relaxed);
            board.torn.fetch_add(torn, Ordering::Relaxed);
            board.retries.fetch_add(retries, Ordering::Relaxed);
            Ok(())
        })?);
    }
    children.push(process::spawn("writer", |out| {
        for v in 1..=updates {
            if seqlock {
                write_seqlock(&board.config, Snapshot::of_version(v))
            } else {
                write_plain(&board.config, Snapshot::of_version(v))
            }
        }
        board.writer_done.store(1, Ordering::Release);
        out.line()
            .text("wrote ")
            .value(updates)
            .text(" versions")
            .note("never waiting for a reader")
            .print();
        Ok(())
    })?);
    for child in children {
        child.wait()?;
    }
    report(&parent, board, seqlock);
    Ok(())
}
// ANCHOR_END: run

fn report(out: &Narrator, board: &Board, seqlock: bool) {
    let (reads, torn) = (board.reads.load(Ordering::Relaxed), board.torn.load(Ordering::Relaxed));
    let line = out.line().text("readers made ").value(reads).text(" reads; torn: ").value(torn);
    if seqlock {
        line.note(format!(
            "{} retries while the writer was busy",
            board.retries.load(Ordering::Relaxed)
        ))
        .print();
    } else {
        line.print();
    }
    if torn > 0 {
        let [version, width, height, area] =
            board.example.each_ref().map(|c| c.load(Ordering::Relaxed));
        let right = Snapshot::of_version(version);
        out.line()
            .text("for example: ")
            .value(format!("version {version}, {width} x {height}, area {area}"))
            .note(format!(
                "version {version} is {} x {}, area {}",
                right.width, right.height, right.area
            ))
            .print();
    }
}
