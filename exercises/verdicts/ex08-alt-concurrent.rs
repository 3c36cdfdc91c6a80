//! Verdict corpus: ex08, a valid alternative.
//! expect: pass
//! Every writer takes LOCK with SEM_UNDO, and writers 2 and 3 start at once, waiting for LOCK
//! while writer 1 still holds it; the kernel gives it back when writer 1 dies.

use shm_workbook::process::Exit;
use shm_workbook::{Key, Narrator, Result, SemaphoreSet, cleanup, process};

const LOCK: usize = 0;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(LOCK, 1)?;

    let mut writers = vec![process::spawn("writer 1", |writer| {
        let _held = set.lock(LOCK)?;
        writer.say("writing... and crashing before giving LOCK back");
        std::process::exit(3)
    })?];
    for number in 2..=3 {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            let held = set.lock(LOCK)?;
            writer.call_note("holding LOCK");
            drop(held);
            Ok(())
        })?);
    }
    let first = writers.remove(0);
    if let Exit::Code(code) = first.wait_exit()? {
        parent.say(format!("writer 1 crashed (exit status {code})"));
    }
    process::wait_all(writers)?;
    parent.say("every writer had its turn");
    Ok(())
}
