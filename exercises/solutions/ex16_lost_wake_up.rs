//! # Exercise 16, solved: the waiter sleeps only while the word holds the value it checked
//!
//! The waiter keeps the value it checked and passes that one to `FUTEX_WAIT`. The kernel loads
//! the word, compares it with that value and starts the sleep in one step with respect to the
//! parent's `FUTEX_WAKE`: if the parent stored 1 after the check, the wait returns `EAGAIN` at
//! once instead of sleeping, and the loop finds the message. A wake before the sleep can no
//! longer be lost.

use shm_workbook::shared::{AtomicU32, Ordering};

use shm_workbook::Shareable;
use shm_workbook::futex;
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const MESSAGE_AT: usize = 64; // the message, a C string, after the header

#[repr(C)]
struct Header {
    ready: AtomicU32,  // 0: no message yet; 1: the message is written (the futex word)
    looked: AtomicU32, // 1 once the waiter has checked `ready` and found no message
}

// SAFETY: #[repr(C)], one atomic (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Header {}

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let message = exercise_data::text("message", "hello from the parent");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 4096, 0o600)?;
    let memory = segment.attach()?;
    let header: &Header = memory.view()?;

    let waiter = process::spawn("waiter", |out| {
        loop {
            let seen = header.ready.load(Ordering::Acquire);
            if seen == 1 {
                break; // the check: the message is there
            }
            publish(&header.looked, 1, Policy::DEFAULT)?; // tells the parent: looked
            out.say("not ready: sleeping"); // (the message is not there: reading it now would race)
            futex::wait(&header.ready, seen, None)?; // sleeps only if `ready` is still `seen`
        }
        out.say(format!("got: {}", memory.load_c_string(MESSAGE_AT)));
        Ok(())
    })?;

    // The parent writes once the waiter has looked: its store and wake land while the waiter is
    // between its check and its sleep, the moment the document's program leaves to chance.
    wait_while(&header.looked, 0, Policy::Spin, Partner::Child(waiter.pid()))?;
    memory.store_c_string(MESSAGE_AT, &message)?;
    header.ready.store(1, Ordering::Release); // the message before the word
    let woken = futex::wake(&header.ready, 1)?;
    parent.say(format!("woke {woken} waiter(s)"));
    waiter.wait()?;
    Ok(())
}
