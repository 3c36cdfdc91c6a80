//! Verdict corpus: ex04, a cheat.
//! expect: fail
//! reason: the service's work is commented out: it ends before the Ctrl-C arrives, so the
//! cleanup on a signal is never shown to work.

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup};

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let _segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(0, 1)?;
    // let worker = process::spawn("worker", ...)?;
    // loop { ... report the counter ... }
    parent.say("serving; press Ctrl-C to stop");
    Ok(())
}
