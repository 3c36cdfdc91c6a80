//! Verdict corpus: ex03, a cheat.
//! expect: fail
//! reason: the publisher removes its segment as it exits; the reader finds nothing and prints a
//! constant instead of what it read.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "the meeting moved to room 42");
    let _parent = Narrator::new("parent");
    let mut scratch = ScratchDir::new("ex03")?;
    let key = Key::ftok(scratch.create_file("board", b"")?, b'B')?;

    let publisher = process::spawn("publisher", |out| {
        let segment = Segment::create(key, SIZE, 0o600)?;
        out.call();
        segment.attach()?.store_c_string(0, &message)?;
        Ok(()) // dropping `segment` removes it
    })?;
    publisher.wait()?;

    let reader = process::spawn("reader", |out| {
        let _ = Segment::open(key, 0); // ENOENT, ignored
        out.say(format!("Reader read: {message}"));
        Ok(())
    })?;
    reader.wait()?;
    Ok(())
}
