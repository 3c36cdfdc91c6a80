//! Verdict corpus: ex01, a cheat.
//! expect: fail
//! reason: the child prints the message it already knows; it never attaches nor reads the
//! segment.

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let written = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    written.set_value(0, 0)?;

    let child = process::spawn("child", |child| {
        written.wait(0)?;
        child.say(format!("Child read: {message}"));
        Ok(())
    })?;

    let memory = segment.attach()?;
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));
    written.post(0)?;
    child.wait()?;
    Ok(())
}
