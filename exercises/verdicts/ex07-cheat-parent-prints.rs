//! Verdict corpus: ex07, a cheat.
//! expect: fail
//! reason: the writers still overwrite offset 0; the parent prints the three lines from the
//! pids it knows instead of what the segment holds.

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, process};

const SIZE: usize = 1024;
const WRITERS: usize = 3;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let semaphore = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    semaphore.set_value(0, 1)?;
    let mut writers = Vec::new();
    let mut text = String::new();
    for number in 1..=WRITERS {
        let writer = process::spawn(&format!("writer {number}"), |writer| {
            let _held = semaphore.lock(0)?;
            let line = format!("Process {} writing to shared memory.\n", writer.pid());
            memory.store_c_string(0, &line)?;
            writer.say("wrote my line");
            Ok(())
        })?;
        text += &format!("Process {} writing to shared memory.\n", writer.pid());
        writers.push(writer);
    }
    process::wait_all(writers)?;
    parent.say("Shared memory contains:");
    for line in text.lines() {
        parent.say(format!("  {line}"));
    }
    Ok(())
}
