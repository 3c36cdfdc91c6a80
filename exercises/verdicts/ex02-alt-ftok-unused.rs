//! Verdict corpus: ex02, a valid alternative.
//! expect: pass
//! The key comes from `Key::ftok_unused` on a file of this run: a key already taken is passed
//! over, and the segment is still created with IPC_EXCL.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let mut scratch = ScratchDir::new("ex02")?;
    let path = scratch.create_file("key", b"")?;
    let key = Key::ftok_unused(&path, b'Q')?.key();
    let segment = Segment::create(key, SIZE, 0o600)?;
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
