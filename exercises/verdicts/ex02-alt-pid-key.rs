//! Verdict corpus: ex02, a valid alternative.
//! expect: pass
//! The key is made from the parent's pid, which no other live process has, and the segment is
//! created with IPC_EXCL; the child opens it by that key.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let key = Key::from_raw(0x4500_0000 | parent.pid());
    let segment = Segment::create(key, SIZE, 0o600)?;
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
