//! Verdict corpus: ex07, a cheat.
//! expect: fail
//! reason: the turns are taken with raw libc::semop around the library; the library's set
//! only appears in the trace.

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
    let id = semaphore.id();
    let semop = |delta: i16| {
        let mut op = libc::sembuf { sem_num: 0, sem_op: delta, sem_flg: libc::SEM_UNDO as i16 };
        // SAFETY: `op` is one valid sembuf, and its count is 1.
        unsafe { libc::semop(id, &mut op, 1) }
    };
    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            semop(-1);
            let line = format!("Process {} writing to shared memory.\n", writer.pid());
            let end = memory.load_c_string(0).len();
            memory.store_c_string(end, &line)?;
            semop(1);
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
