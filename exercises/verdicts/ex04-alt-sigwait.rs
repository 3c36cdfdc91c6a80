//! Verdict corpus: ex04, a valid alternative.
//! expect: pass
//! SIGINT, SIGTERM and SIGHUP are blocked from the start; a thread of the parent takes them
//! with sigwait, the parent then kills and reaps the worker and returns, removing both objects.

use shm_workbook::shared::{AtomicU64, Ordering};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};
use shm_workbook::{Error, Key, Narrator, Result, Segment, SemaphoreSet, process};

static STOP: AtomicBool = AtomicBool::new(false);

fn main() -> Result<()> {
    let mut stops = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        stops.add(signal);
    }
    stops.thread_block().map_err(|err| Error::other("pthread_sigmask", err.to_string()))?;
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(0, 1)?;
    let memory = segment.attach()?;
    let counter: &AtomicU64 = memory.view()?;

    let worker = process::spawn("worker", |_| {
        loop {
            let turn = set.lock(0)?;
            counter.fetch_add(1, Ordering::Relaxed);
            drop(turn);
            std::thread::sleep(Duration::from_millis(1));
        }
    })?;
    std::thread::spawn(move || {
        let _ = stops.wait();
        STOP.store(true, Ordering::SeqCst);
    });
    parent.say("serving; press Ctrl-C to stop");
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
        parent.say(format!("counter: {}", counter.load(Ordering::Relaxed)));
    }
    worker.signal(Signal::SIGKILL)?;
    worker.wait_exit()?;
    Ok(()) // dropping `segment` and `set` removes them
}
