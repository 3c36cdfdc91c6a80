//! Verdict corpus: ex08, a cheat.
//! expect: fail
//! reason: writer 1 exits before it takes the lock, so no writer ever dies holding it.

use shm_workbook::process::Exit;
use shm_workbook::{Key, Narrator, Result, SemaphoreSet, cleanup, process};

const LOCK: usize = 0;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(LOCK, 1)?;
    let first = process::spawn("writer 1", |writer| {
        writer.say("writing... and crashing before giving LOCK back");
        std::process::exit(3) // before `set.wait(LOCK)`
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
            Ok(())
        })?);
    }
    process::wait_all(others)?;
    parent.say("every writer had its turn");
    Ok(())
}
