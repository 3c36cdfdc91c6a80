//! # Exercise 03, solved: the reader, the last process that needs the segment, removes it
//!
//! Any process with permission may remove a segment, not only its creator: after reading, the
//! reader calls IPC_RMID. Had it still been attached, the kernel would only have marked the
//! segment (`dest` in `ipcs -m`) and freed it at the last detach.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let message = exercise_data::text("message", "the meeting moved to room 42");
    let parent = Narrator::new("parent");
    let mut scratch = ScratchDir::new("ex03")?;
    // ftok_unused: passes over a key that another segment holds (another user's, another run's).
    let key = Key::ftok_unused(scratch.create_file("board", b"")?, b'B')?.key();
    parent.call_note("the publisher and the reader find the segment by this key");

    let publisher = process::spawn("publisher", |out| {
        let mut segment = Segment::create(key, SIZE, 0o600)?;
        out.call();
        segment.attach()?.store_c_string(0, &message)?;
        out.say("left a message; the segment must outlive me, so I do not remove it");
        segment.disown(); // on purpose: the reader comes after this process has gone
        Ok(())
    })?;
    publisher.wait()?;

    let reader = process::spawn("reader", |out| {
        let segment = Segment::open(key, 0)?;
        out.call();
        let memory = segment.attach_read_only()?;
        out.say(format!("Reader read: {}", memory.load_c_string(0)));
        memory.detach()?;
        segment.remove()?;
        out.call_note("the last user removes it");
        Ok(())
    })?;
    reader.wait()?;
    Ok(())
}
