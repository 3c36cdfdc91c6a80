//! Verdict corpus: ex08, a valid alternative.
//! expect: pass
//! Writer 1 takes LOCK with SEM_UNDO (`lock`); writers 2 and 3, which give it back
//! themselves, take and give it with a plain wait and post, one after the other.

use shm_workbook::process::Exit;
use shm_workbook::{Key, Narrator, Result, SemaphoreSet, cleanup, process};

const LOCK: usize = 0;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(LOCK, 1)?;

    let first = process::spawn("writer 1", |writer| {
        let _held = set.lock(LOCK)?;
        writer.say("writing... and crashing before giving LOCK back");
        std::process::exit(3)
    })?;
    if let Exit::Code(code) = first.wait_exit()? {
        parent.say(format!("writer 1 crashed (exit status {code})"));
    }
    for number in 2..=3 {
        let writer = process::spawn(&format!("writer {number}"), |writer| {
            set.wait(LOCK)?;
            writer.call_note("holding LOCK");
            set.post(LOCK)?;
            Ok(())
        })?;
        writer.wait()?;
    }
    parent.say("every writer had its turn");
    Ok(())
}
