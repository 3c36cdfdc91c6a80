//! Verdict corpus: ex08, a cheat.
//! expect: fail
//! reason: writer 1 takes LOCK with SEM_UNDO and posts it with a raw libc::semop, which the
//! trace does not show: a double release that only the kernel's value (2) reveals.

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
        let mut post = libc::sembuf { sem_num: LOCK as u16, sem_op: 1, sem_flg: 0 };
        // SAFETY: semop reads one sembuf from our stack.
        unsafe { libc::semop(set.id(), &mut post, 1) };
        writer.say("writing... and crashing before giving LOCK back");
        std::process::exit(3)
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
