//! Verdict corpus: ex07, a valid alternative.
//! expect: pass
//! The writers take turns under a process-shared POSIX semaphore (sem_init pshared 1) kept at
//! the end of the segment, and each appends after the text there.

use shm_workbook::unnamed_sem::UnnamedSemaphore;
use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;
const WRITERS: usize = 3;
const SEM_AT: usize = 960;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let turn = UnnamedSemaphore::init(&memory, SEM_AT, 1, 1)?;
    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            turn.wait()?;
            let line = format!("Process {} writing to shared memory.\n", writer.pid());
            let end = memory.load_c_string(0).len();
            memory.store_c_string(end, &line)?;
            turn.post()?;
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
