//! Verdict corpus: ex03, a cheat.
//! expect: fail
//! reason: the reader removes the segment with a raw libc::shmctl(IPC_RMID) around the library
//! instead of the library's call.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "the meeting moved to room 42");
    let _parent = Narrator::new("parent");
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
        let memory = segment.attach_read_only()?;
        out.say(format!("Reader read: {}", memory.load_c_string(0)));
        memory.detach()?;
        // SAFETY: IPC_RMID reads no buffer; a null pointer is allowed.
        unsafe { libc::shmctl(segment.id(), libc::IPC_RMID, std::ptr::null_mut()) };
        Ok(())
    })?;
    reader.wait()?;
    Ok(())
}
