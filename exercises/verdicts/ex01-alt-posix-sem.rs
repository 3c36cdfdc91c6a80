//! Verdict corpus: ex01, a valid alternative.
//! expect: pass
//! The child waits on a process-shared POSIX semaphore (sem_init pshared 1, value 0) that
//! lives in the segment; the parent posts it after its store.

use shm_workbook::unnamed_sem::UnnamedSemaphore;
use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;
const SEM_AT: usize = 512;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let written = UnnamedSemaphore::init(&memory, SEM_AT, 1, 0)?;
    parent.call_note("0: not written yet");

    let child = process::spawn("child", |child| {
        written.wait()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;

    memory.store_c_string(0, &message)?;
    written.post()?;
    child.wait()?;
    Ok(())
}
