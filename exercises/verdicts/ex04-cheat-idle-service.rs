//! Verdict corpus: ex04, a cheat.
//! expect: fail
//! reason: the service makes its objects and then only sleeps until the Ctrl-C: no worker, no
//! counting, so the clean-up is shown on a service that does nothing.

use std::time::Duration;

use shm_workbook::{Key, Narrator, Result, Segment, SemaphoreSet, cleanup};

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    let _segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(0, 1)?;
    parent.say("serving; press Ctrl-C to stop");
    loop {
        std::thread::sleep(Duration::from_millis(20)); // the work is gone
    }
}
