//! Verdict corpus: ex04, a valid alternative.
//! expect: pass
//! Its own handler (sigaction, installed first) only sets a flag; both loops see the flag and
//! return, so the destructors remove the segment and the set.

use shm_workbook::shared::{AtomicU64, Ordering};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use shm_workbook::{Error, Key, Narrator, Result, Segment, SemaphoreSet, process};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst); // an atomic store: async-signal-safe
}

fn install() -> Result<()> {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(signal, &action) }
            .map_err(|err| Error::other("sigaction", err.to_string()))?;
    }
    Ok(())
}

fn main() -> Result<()> {
    install()?;
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(0, 1)?;
    let memory = segment.attach()?;
    let counter: &AtomicU64 = memory.view()?;

    let worker = process::spawn("worker", |_| {
        while !STOP.load(Ordering::SeqCst) {
            match set.lock(0) {
                Ok(_turn) => counter.fetch_add(1, Ordering::Relaxed),
                Err(_) if STOP.load(Ordering::SeqCst) => break, // EINTR from semop
                Err(err) => return Err(err),
            };
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    })?;
    parent.say("serving; press Ctrl-C to stop");
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
        parent.say(format!("counter: {}", counter.load(Ordering::Relaxed)));
    }
    worker.wait_exit()?;
    Ok(()) // dropping `segment` and `set` removes them
}
