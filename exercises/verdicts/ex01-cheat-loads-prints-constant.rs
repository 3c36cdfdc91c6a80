//! Verdict corpus: ex01, a cheat.
//! expect: fail
//! reason: the child waits, attaches and loads the message as it should, then prints the
//! default message as a constant instead of what it loaded.

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
        let _ = memory.load_c_string(0);
        child.say("Child read: Hello from parent!");
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
