//! # Exercise 08, solved: SEM_UNDO, so that the kernel gives the semaphore back
//!
//! `lock` is `semop(id, {LOCK, -1, SEM_UNDO})`: the kernel notes that this process owes +1 to
//! LOCK, and when the process ends, however it ends, it applies that +1. Writer 1 crashes
//! holding LOCK, and LOCK is free again the moment it dies.

use shm_workbook::process::Exit;
use shm_workbook::{Key, Narrator, Result, SemaphoreSet, cleanup, process};

const LOCK: usize = 0;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let parent = Narrator::new("parent");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(LOCK, 1)?;
    parent.call_note("LOCK = 1: free");

    let first = process::spawn("writer 1", |writer| {
        let _held = set.lock(LOCK)?;
        writer.call_note("holding LOCK, with SEM_UNDO");
        writer.say("writing... and crashing before giving LOCK back");
        std::process::exit(3) // a crash: the kernel gives LOCK back
    })?;
    if let Exit::Code(code) = first.wait_exit()? {
        parent.say(format!("writer 1 crashed (exit status {code})"));
    }

    let mut others = Vec::new();
    for number in 2..=3 {
        others.push(process::spawn(&format!("writer {number}"), |writer| {
            let held = set.lock(LOCK)?;
            writer.call_note("holding LOCK");
            drop(held);
            writer.call_note("gave LOCK back");
            Ok(())
        })?);
    }
    process::wait_all(others)?;
    parent.say("every writer had its turn");
    Ok(())
}
