//! Verdict corpus: ex02, a cheat.
//! expect: fail
//! reason: the segment is IPC_PRIVATE and the child uses the inherited shmid; it never opens
//! the segment by key as an unrelated process must.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let message = format!("greetings from process {}", parent.pid());
    memory.store_c_string(0, &message)?;

    let child = process::spawn("child", |child| {
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    child.wait()?;
    Ok(())
}
