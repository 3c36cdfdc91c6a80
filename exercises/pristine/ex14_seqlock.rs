//! # Exercise 14: A sequence lock's reader must retry
//!
//! Goal: a writer updates a shared configuration (a window's width, height and area, and the
//! version they belong to) 100 times, while two readers read it over and over; no reader may
//! ever see fields from two different versions (a *torn read*). The writer uses a sequence
//! lock, which never blocks it: it makes the sequence odd, writes the fields, and makes it even
//! again. The reader loads the sequence before and after reading the fields, and then ignores
//! what it learned. Make it read again when the writer was at work (an odd sequence) or when
//! the sequence changed while it read.
//!
//! Follows lesson 14 (`cargo run --bin lesson14`).
//!
//! What the checker does: runs the program 50 times with jitter (which pauses the writer in the
//! middle of its updates) and expects each reader to print `... reads, 0 torn` and the parent
//! `final: version 100, 740 x 580, area 429200`, with nothing left behind. The number of updates
//! comes from `exercise_data`: the checker draws it for each run (by hand it is 100), so that a
//! final line written as a constant cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex14`; by hand: `cargo run --example ex14`.

use shm_workbook::shared::{AtomicU32, Ordering, fence};
use std::time::Duration;

use shm_workbook::Shareable;
use shm_workbook::{Key, Narrator, Region, Result, Segment, cleanup, exercise_data, process};

const READERS: usize = 2;
const FIELDS_AT: usize = 64; // version, width, height, area: 8 bytes each, after the header

#[repr(C)]
struct Header {
    sequence: AtomicU32, // odd while the writer writes
    done: AtomicU32,     // 1 once the writer has finished
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Header {}

/// The fields of version `v`: [version, width, height, area].
fn of_version(v: u64) -> [u64; 4] {
    let (width, height) = (640 + v % 1000, 480 + v % 700);
    [v, width, height, width * height]
}

fn write_fields(memory: &Region, fields: [u64; 4]) -> Result<()> {
    (0..4).try_for_each(|i| memory.store(FIELDS_AT + 8 * i, &fields[i].to_ne_bytes()))
}

fn read_fields(memory: &Region) -> [u64; 4] {
    std::array::from_fn(|i| {
        u64::from_ne_bytes(memory.load(FIELDS_AT + 8 * i, 8).try_into().expect("8 bytes"))
    })
}

fn write(header: &Header, memory: &Region, fields: [u64; 4]) -> Result<()> {
    let sequence = header.sequence.load(Ordering::Relaxed);
    header.sequence.store(sequence + 1, Ordering::Relaxed); // odd: writing
    fence(Ordering::Release); // the odd value is visible before any field changes
    write_fields(memory, fields)?;
    header.sequence.store(sequence + 2, Ordering::Release); // even: the fields are whole
    Ok(())
}

fn read(header: &Header, memory: &Region) -> [u64; 4] {
    // TODO: retry (loop) while `before` is odd, or while `after` differs from `before`.
    let _before = header.sequence.load(Ordering::Acquire);
    let fields = read_fields(memory);
    fence(Ordering::Acquire); // the field loads come before the second load of the sequence
    let _after = header.sequence.load(Ordering::Relaxed);
    fields
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let updates = exercise_data::number("updates", 100);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, FIELDS_AT + 32, 0o600)?;
    let memory = segment.attach()?;
    let header: &Header = memory.view()?;
    write(header, &memory, of_version(0))?;

    let mut readers = Vec::new();
    for number in 1..=READERS {
        readers.push(process::spawn(&format!("reader {number}"), |out| {
            let (mut reads, mut torn) = (0, 0);
            loop {
                let finished = header.done.load(Ordering::Acquire) == 1;
                let fields = read(header, &memory);
                reads += 1;
                torn += u32::from(fields != of_version(fields[0]));
                if finished {
                    break;
                }
                std::thread::sleep(Duration::from_micros(50)); // and again in a moment
            }
            out.say(format!("{reads} reads, {torn} torn"));
            Ok(())
        })?);
    }
    let writer = process::spawn("writer", |_| {
        for version in 1..=updates {
            write(header, &memory, of_version(version))?;
            std::thread::sleep(Duration::from_micros(100)); // a configuration changes now and then
        }
        header.done.store(1, Ordering::Release);
        Ok(())
    })?;
    readers.push(writer);
    process::wait_all(readers)?;
    let [version, width, height, area] = read_fields(&memory);
    parent.say(format!("final: version {version}, {width} x {height}, area {area}"));
    Ok(())
}
