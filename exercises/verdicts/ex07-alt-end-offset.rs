//! Verdict corpus: ex07, a valid alternative.
//! expect: pass
//! The first 8 bytes hold the text's end, an atomic offset. Under the semaphore, a writer
//! reserves its bytes with fetch_add and writes its line there; the text starts at offset 8.

use shm_workbook::shared::{AtomicU64, Ordering};

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, process};

const SIZE: usize = 1024;
const WRITERS: usize = 3;
const TEXT_AT: u64 = 8;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let end: &AtomicU64 = memory.view()?;
    end.store(TEXT_AT, Ordering::Relaxed);
    let semaphore = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    semaphore.set_value(0, 1)?;

    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            let _held = semaphore.lock(0)?;
            let line = format!("Process {} writing to shared memory.\n", writer.pid());
            let at = end.fetch_add(line.len() as u64, Ordering::Relaxed) as usize;
            memory.store(at, line.as_bytes())?;
            writer.say("wrote my line");
            Ok(())
        })?);
    }
    process::wait_all(writers)?;
    parent.say("Shared memory contains:");
    for line in memory.load_c_string(TEXT_AT as usize).lines() {
        parent.say(format!("  {line}"));
    }
    Ok(())
}
