//! # Exercise 07: Three writers, three lines
//!
//! Goal: three writers take turns under a semaphore, as in the document's three-writer program,
//! and each leaves the line `Process <pid> writing to shared memory.` in the segment. At the
//! end the parent prints the segment: all three lines must be there. Today every writer copies
//! its line to offset 0 (the document's `strcpy(shm, ...)`), so each one replaces the line
//! before it and only the last survives. The semaphore keeps the writers from mixing their
//! bytes; it cannot keep a line that the next writer overwrites.
//!
//! Follows lesson 05 (`cargo run --bin lesson05`), Parts 1 and 2.
//!
//! What the checker does: runs the program 50 times with jitter and expects, after
//! `Shared memory contains:`, one line per writer with that writer's own pid, each exactly once,
//! and nothing left behind.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex07`; by hand: `cargo run --example ex07`.

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, process};

const SIZE: usize = 1024;
const WRITERS: usize = 3;
const LOCK: usize = 0;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    parent.call_note("empty: every byte is 0");
    let memory = segment.attach()?;
    let semaphore = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    semaphore.set_value(LOCK, 1)?;
    parent.call_note("1: free");

    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            let _held = semaphore.lock(LOCK)?;
            let line = format!("Process {} writing to shared memory.\n", writer.pid());
            // TODO: add the line after what the writers before wrote, instead of at offset 0.
            memory.store_c_string(0, &line)?;
            writer.say("wrote my line");
            Ok(())
        })?);
    }
    process::wait_all(writers)?;
    parent.say("Shared memory contains:");
    for line in memory.load_c_string(0).lines() {
        parent.say(format!("  {line}"));
    }
    Ok(())
}
