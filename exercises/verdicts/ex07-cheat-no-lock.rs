//! Verdict corpus: ex07, a cheat.
//! expect: fail
//! reason: no semaphore at all: two writers may find the same end and one line is lost.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;
const WRITERS: usize = 3;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
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
