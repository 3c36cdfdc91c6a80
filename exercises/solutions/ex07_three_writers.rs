//! # Exercise 07, solved: each writer appends after the text that is there (`strcat`, not
//! `strcpy`)
//!
//! Under the semaphore, a writer finds the end of the text (the first 0 byte) and writes its
//! line there, followed by a new 0. Finding the end and writing must both happen while the
//! semaphore is held: otherwise two writers could find the same end.

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
            let end = memory.load_c_string(0).len();
            memory.store_c_string(end, &line)?;
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
