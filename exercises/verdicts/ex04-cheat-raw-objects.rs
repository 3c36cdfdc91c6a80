//! Verdict corpus: ex04, a cheat.
//! expect: fail
//! reason: the objects are made with raw libc::shmget and libc::semget around the library, so
//! its handler does not know them and a Ctrl-C leaves both behind.

use shm_workbook::shared::{AtomicU64, Ordering};
use std::time::Duration;

use shm_workbook::{Narrator, Result, Segment, SemaphoreSet, cleanup, process};

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let parent = Narrator::new("parent");
    // SAFETY: shmget and semget take plain integers.
    let (shmid, semid) = unsafe {
        (libc::shmget(libc::IPC_PRIVATE, 64, 0o600), libc::semget(libc::IPC_PRIVATE, 1, 0o600))
    };
    let set = SemaphoreSet::from_id(semid)?;
    set.set_value(0, 1)?;
    let memory = Segment::from_id(shmid).attach()?;
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
