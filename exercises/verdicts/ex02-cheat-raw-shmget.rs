//! Verdict corpus: ex02, a cheat.
//! expect: fail
//! reason: the key is right, but the child finds the segment with a raw libc::shmget around
//! the library instead of the library's call.

use shm_workbook::{Error, Key, Narrator, Result, ScratchDir, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let mut scratch = ScratchDir::new("ex02")?;
    let key = Key::ftok(scratch.create_file("key", b"")?, b'K')?;
    let segment = Segment::create(key, SIZE, 0o600)?;
    let memory = segment.attach()?;
    memory.store_c_string(0, &format!("greetings from process {}", parent.pid()))?;

    let child = process::spawn("child", |child| {
        // SAFETY: shmget takes plain integers.
        let id = unsafe { libc::shmget(key.raw(), 0, 0) };
        if id == -1 {
            return Err(Error::other("shmget", std::io::Error::last_os_error().to_string()));
        }
        let memory = Segment::from_id(id).attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    child.wait()?;
    Ok(())
}
