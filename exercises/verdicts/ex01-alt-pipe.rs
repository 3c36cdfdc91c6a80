//! Verdict corpus: ex01, a valid alternative.
//! expect: pass
//! The child blocks reading one byte from a pipe (the library's, so the trace has the read and
//! the write); the parent writes that byte after its store.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, pipe, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let (read_end, write_end) = pipe::pipe()?;

    let child = process::spawn("child", |child| {
        let mut byte = [0u8; 1];
        read_end.read(&mut byte)?; // blocks until the parent has written
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;

    let memory = segment.attach()?;
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));
    write_end.write(b"w")?; // after the store: the child's read ends now
    child.wait()?;
    Ok(())
}
