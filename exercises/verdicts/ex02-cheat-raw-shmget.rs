//! Verdict corpus: ex02, a cheat.
//! expect: fail
//! reason: the child finds the segment with a raw libc::shmget around the library, on the
//! fixed key 1234 without IPC_EXCL, so two copies may still meet.

use shm_workbook::{Error, Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;
const KEY: i32 = 1234;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let segment = Segment::create_or_open(Key::from_raw(KEY), SIZE, 0o600)?;
    let memory = segment.attach()?;
    memory.store_c_string(0, &format!("greetings from process {}", parent.pid()))?;

    let child = process::spawn("child", |child| {
        // SAFETY: shmget takes plain integers.
        let id = unsafe { libc::shmget(KEY, 0, 0) };
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
