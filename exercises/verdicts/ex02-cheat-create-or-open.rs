//! Verdict corpus: ex02, a cheat.
//! expect: fail (a taken key is not refused)
//! The key is the parent's pid, so the two copies never meet, but the segment is made with
//! IPC_CREAT alone: a key someone else held would be opened, not refused (the second TODO).

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let key = Key::from_raw(0x4500_0000 | parent.pid());
    let segment = Segment::create_or_open(key, SIZE, 0o600)?;
    parent.call_note("IPC_EXCL: a taken key is an error");
    let memory = segment.attach()?;
    let message = format!("greetings from process {}", parent.pid());
    memory.store_c_string(0, &message)?;

    let child = process::spawn("child", |child| {
        let segment = Segment::open(key, 0)?;
        child.call();
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    child.wait()?;
    Ok(())
}
