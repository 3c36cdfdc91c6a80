//! # Exercise 01, solved: the child waits on a semaphore that the parent posts after writing
//!
//! The semaphore starts at 0. The child's `wait` (semop -1) cannot return before the parent's
//! `post` (semop +1), and the parent posts only after its store: whatever the scheduler does,
//! the read comes after the write. A semaphore operation is a system call that takes the set's
//! lock, so what the parent stored before `post` is visible to the child after `wait`.

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    parent.call_note("made before fork(), so the child inherits the shmid");
    let written = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    written.set_value(0, 0)?;
    parent.call_note("0: not written yet");

    let child = process::spawn("child", |child| {
        written.wait(0)?;
        child.call_note("returns only after the parent's post");
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;

    let memory = segment.attach()?;
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));
    written.post(0)?;
    parent.call_note("now, and only now, the child may read");

    child.wait()?;
    Ok(()) // dropping `segment` and `written` removes them
}
