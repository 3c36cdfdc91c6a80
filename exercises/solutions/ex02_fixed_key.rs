//! # Exercise 02, solved: a key made from a file that only this run has
//!
//! `ftok` builds a key from a file's inode and device: a file that this run creates in its own
//! private directory gives a key that another run (whose file has another inode) does not get.
//! And `Segment::create` asks for IPC_CREAT|IPC_EXCL: should a key ever be taken after all,
//! the program stops with EEXIST instead of writing into somebody else's segment.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let parent = Narrator::new("parent");
    let mut scratch = ScratchDir::new("ex02")?;
    let path = scratch.create_file("key", b"")?;
    let key = Key::ftok(&path, b'K')?;
    parent.call_note("a key from a file of this run");
    let segment = Segment::create(key, SIZE, 0o600)?;
    parent.call_note("IPC_EXCL: a taken key is an error, not a shared segment");
    let memory = segment.attach()?;
    let message = format!("greetings from process {}", parent.pid());
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));

    let child = process::spawn("child", |child| {
        let segment = Segment::open(key, 0)?; // by key, as an unrelated program would
        child.call();
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    child.wait()?;
    Ok(()) // dropping `segment` removes it, and `scratch` its directory
}
