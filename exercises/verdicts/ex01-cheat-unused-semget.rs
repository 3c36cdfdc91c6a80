//! Verdict corpus: ex01, a cheat.
//! expect: fail
//! reason: the child still sleeps and hopes; the semaphore set is made but never waited on.

use std::time::Duration;

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
        std::thread::sleep(Duration::from_millis(400));
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;

    let memory = segment.attach()?;
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));
    child.wait()?;
    Ok(())
}
