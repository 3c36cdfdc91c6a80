//! Verdict corpus: ex01, a cheat.
//! expect: fail
//! reason: the pipe that orders the store before the load is made with nix, around the
//! library: the trace shows nothing between the parent's store and the child's load.

use std::os::fd::AsFd;

use shm_workbook::{Error, Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let (read_end, write_end) =
        nix::unistd::pipe().map_err(|err| Error::other("pipe", err.to_string()))?;

    let child = process::spawn("child", |child| {
        let mut byte = [0u8; 1];
        nix::unistd::read(read_end.as_fd(), &mut byte)
            .map_err(|err| Error::other("read", err.to_string()))?;
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;

    let memory = segment.attach()?;
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));
    nix::unistd::write(write_end.as_fd(), b"w")
        .map_err(|err| Error::other("write", err.to_string()))?;
    child.wait()?;
    Ok(())
}
