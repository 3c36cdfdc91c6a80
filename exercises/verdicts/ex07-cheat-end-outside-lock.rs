//! Verdict corpus: ex07, a cheat.
//! expect: fail
//! reason: the writer finds the end of the text before it takes the semaphore, so two writers
//! may find the same end.

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
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            let line = format!("Process {} writing to shared memory.\n", writer.pid());
            let end = memory.load_c_string(0).len();
            let _held = semaphore.lock(0)?;
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
