//! Verdict corpus: ex02, a cheat.
//! expect: fail
//! reason: the segment has a key of its own, but the child prints a greeting built from
//! getppid(); it never opens nor reads the segment.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, process};

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
        let parent = nix::unistd::getppid();
        child.say(format!("Child read: greetings from process {parent}"));
        Ok(())
    })?;
    child.wait()?;
    Ok(())
}
