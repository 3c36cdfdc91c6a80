//! Verdict corpus: ex02, a cheat.
//! expect: fail
//! reason: the child prints a greeting built from getppid(); it never opens nor reads the
//! segment, which still uses the fixed key 1234.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let segment = Segment::create_or_open(Key::from_raw(1234), SIZE, 0o666)?;
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
