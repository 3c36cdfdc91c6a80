//! Verdict corpus: ex02, a cheat.
//! expect: fail
//! reason: the key is ftok("/tmp"), the same for every copy, and the segment is opened without
//! IPC_EXCL: two copies meet in one segment.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let key = Key::ftok("/tmp", b'K')?;
    let segment = Segment::create_or_open(key, SIZE, 0o600)?;
    let memory = segment.attach()?;
    memory.store_c_string(0, &format!("greetings from process {}", parent.pid()))?;

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
