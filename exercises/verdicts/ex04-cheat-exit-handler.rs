//! Verdict corpus: ex04, a cheat.
//! expect: fail
//! reason: its own handler calls _exit(130) at once: the run stops, but the segment and the
//! set stay behind.

use shm_workbook::shared::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use shm_workbook::{Error, Key, Narrator, Result, Segment, SemaphoreSet, process};

extern "C" fn on_signal(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(130) }
}

fn main() -> Result<()> {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only calls _exit.
    unsafe { sigaction(Signal::SIGINT, &action) }
        .map_err(|err| Error::other("sigaction", err.to_string()))?;
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(0, 1)?;
    let memory = segment.attach()?;
    let counter: &AtomicU64 = memory.view()?;

    let _worker = process::spawn("worker", |_| {
        loop {
            let turn = set.lock(0)?;
            counter.fetch_add(1, Ordering::Relaxed);
            drop(turn);
            std::thread::sleep(Duration::from_millis(1));
        }
    })?;
    parent.say("serving; press Ctrl-C to stop");
    loop {
        std::thread::sleep(Duration::from_millis(20));
        parent.say(format!("counter: {}", counter.load(Ordering::Relaxed)));
    }
}
