//! Verdict corpus: ex03, a valid alternative.
//! expect: pass
//! The parent, the last process that knows the key, opens the segment by key after the reader
//! has gone and removes it.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "the meeting moved to room 42");
    let parent = Narrator::new("parent");
    let mut scratch = ScratchDir::new("ex03")?;
    let key = Key::ftok(scratch.create_file("board", b"")?, b'B')?;

    let publisher = process::spawn("publisher", |out| {
        let mut segment = Segment::create(key, SIZE, 0o600)?;
        out.call();
        segment.attach()?.store_c_string(0, &message)?;
        segment.disown();
        Ok(())
    })?;
    publisher.wait()?;

    let reader = process::spawn("reader", |out| {
        let segment = Segment::open(key, 0)?;
        out.call();
        let memory = segment.attach_read_only()?;
        out.say(format!("Reader read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    reader.wait()?;
    Segment::open(key, 0)?.remove()?;
    parent.call_note("the last one out removes it");
    Ok(())
}
