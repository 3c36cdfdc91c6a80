//! # Lesson 14: sharing a configuration between processes
//!
//! What it shows: one writer keeps updating a configuration record whose fields must agree
//! with each other, while several readers read it all the time. Without a protocol, readers
//! see *torn* records (half old, half new); with a sequence lock they never do, and they never
//! make the writer wait.
//!
//! The source documents name configuration sharing as a use case of shared memory (seed 000)
//! without showing how to do it safely; this lesson does.
//! - Part 1: fields written and read one by one: count the torn reads, and show one. How many
//!   varies from run to run, and can be 0 when the readers and the writer never overlap.
//! - Part 2: a sequence lock: the writer makes a counter odd while it writes and even when done;
//!   a reader retries whenever the counter was odd or changed during its read. Zero torn reads.
//! - A reader that waits for the writer names it: if the writer dies (even half-way through a
//!   write, leaving the counter odd), the readers stop with an error instead of spinning.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson14
//! cargo run --bin lesson14 -- --step   # pause in each part, while the readers are attached
//! cargo run --release --bin lesson14 -- --updates 5000000 --readers 3
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

use shm_workbook::Shareable;
use shm_workbook::lesson::LessonFlag;
use shm_workbook::process::{self, Child};
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Error, Key, Lesson, Narrator, Result, Segment};

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
    /// 32 bits, a futex word that the wait module can watch: 2 per update, so up to 2^31
    /// updates before it wraps (more than --updates allows).
    sequence: AtomicU32,
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
    /// The writer's pid, published by the parent once it has forked the writer (0 before).
    writer: AtomicU32,
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
/// Part 2, the writer: odd sequence, write, even sequence. It never waits for anyone, and
/// wakes no one: readers spin (a write lasts nanoseconds), so the even store is only a store.
fn write_seqlock(config: &Config, s: Snapshot) -> Result<()> {
    let sequence = config.sequence.load(Ordering::Relaxed);
    config.sequence.store(sequence + 1, Ordering::Relaxed); // odd: writing
    fence(Ordering::Release); // the odd value is visible before any field changes
    write_plain(config, s);
    publish(&config.sequence, sequence + 2, Policy::Spin) // even (Release): fields visible
}

/// Part 2, a reader: read the fields between two loads of the sequence; if the sequence was
/// odd, wait (spinning) for the writer to finish; if it changed in between, try again.
/// Returns the snapshot and the number of retries; an error if the writer dies meanwhile.
fn read_seqlock(config: &Config, writer: Partner) -> Result<(Snapshot, u64)> {
    let mut retries = 0;
    let mut before = config.sequence.load(Ordering::Acquire);
    loop {
        if before.is_multiple_of(2) {
            let snapshot = read_plain(config);
            fence(Ordering::Acquire); // the field loads happen before the second sequence load
            if config.sequence.load(Ordering::Relaxed) == before {
                return Ok((snapshot, retries));
            }
            before = config.sequence.load(Ordering::Acquire);
        } else {
            // (If the wait reports the writer gone, see whether it finished this write first.)
            before = wait_while(&config.sequence, before, Policy::Spin, writer)
                .or_else(|err| moved_on(config, before).ok_or(err))?;
        }
        retries += 1;
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
    let segment = Segment::create_for::<Board>(Key::PRIVATE, 0o600)?;
    parent.call_note("the configuration, and the readers' counts");
    let memory = segment.attach()?;
    let board: &Board = memory.view()?;
    write_plain(&board.config, Snapshot::of_version(0));

    let mut children: Vec<Child> = Vec::new();
    for r in 1..=readers {
        children.push(process::spawn(&format!("reader {r}"), |_| {
            let (mut reads, mut torn, mut retries) = (0u64, 0u64, 0u64);
            while board.writer_done.load(Ordering::Acquire) == 0 {
                let writer = writer_of(board);
                let snapshot = if seqlock {
                    let (snapshot, tries) = read_seqlock(&board.config, writer)?;
                    retries += tries;
                    snapshot
                } else {
                    read_plain(&board.config)
                };
                reads += 1;
                if reads.is_multiple_of(1 << 16) {
                    check_alive(board, writer)?; // a dead writer never says it is done
                }
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
    let reader_pids: Vec<String> = children.iter().map(|child| child.pid().to_string()).collect();
    let look = format!(
        "The readers read version 0 over and over; the writer starts after Enter.\n\
         In another terminal:  ipcs -m -i {}   (nattch {}: this process and the readers)\n\
         and:  ps -o pid,stat,time -p {}   (state R: they spin)",
        segment.id(),
        readers + 1,
        reader_pids.join(",")
    );
    lesson.step(&parent, &look);
    children.push(process::spawn("writer", |out| {
        for v in 1..=updates {
            if seqlock {
                write_seqlock(&board.config, Snapshot::of_version(v))?;
            } else {
                write_plain(&board.config, Snapshot::of_version(v));
            }
        }
        publish(&board.writer_done, 1, Policy::Spin)?;
        out.line()
            .text("wrote ")
            .value(updates)
            .text(" versions")
            .note("never waiting for a reader")
            .print();
        Ok(())
    })?);
    parent.call_note("the writer; the readers learn its pid, to notice if it dies");
    publish(&board.writer, children[children.len() - 1].pid().as_raw() as u32, Policy::Spin)?;
    for child in children {
        child.wait()?;
    }
    report(&parent, board, seqlock);
    Ok(())
}
// ANCHOR_END: run

/// The process a reader depends on: the writer once its pid is known, the parent before.
fn writer_of(board: &Board) -> Partner {
    match board.writer.load(Ordering::Acquire) {
        0 => Partner::parent(),
        pid => Partner::Other(nix::unistd::Pid::from_raw(pid as i32)),
    }
}

/// The sequence, if it has moved on from `before` (a writer may finish a write and then exit).
fn moved_on(config: &Config, before: u32) -> Option<u32> {
    Some(config.sequence.load(Ordering::Acquire)).filter(|&now| now != before)
}

/// An error if the writer has died without setting `writer_done` (it may have set it, and
/// exited, since this reader last looked).
fn check_alive(board: &Board, writer: Partner) -> Result<()> {
    if !writer.has_died() || board.writer_done.load(Ordering::Acquire) == 1 {
        return Ok(());
    }
    let pid = board.writer.load(Ordering::Relaxed);
    Err(Error::other(
        "reading the configuration",
        format!("the writer process {pid} ended before it said it was done"),
    ))
}

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
    if torn == 0 && !seqlock {
        out.explain(
            "no torn reading this time: none of the reads fell between two of the writer's stores \
             (a busy machine or a single core can keep the writer and the readers from running at \
             once). That is luck, not a protocol: run it again, or with --updates 1000000",
        );
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
