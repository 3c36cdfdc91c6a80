//! # Exercise 16: A wake-up that comes too early
//!
//! Goal: a waiter (a child) sleeps until its parent has written a message into the segment and
//! set the word `ready` to 1; the parent then wakes it with `FUTEX_WAKE`. The waiter checks
//! `ready`, and while it is 0 it sleeps with `FUTEX_WAIT`. But the value it passes is the one
//! `ready` holds as it goes to sleep, not the one it checked: when the parent's store and wake
//! come between the check and the sleep, the wake finds nobody asleep, and the waiter then
//! sleeps for ever (a *lost wake-up*). The parent writes as soon as the waiter says it has
//! looked (the word `looked`), so its store and wake come in that window more often than not.
//! Make the waiter sleep only while `ready` still holds the value it checked.
//!
//! Follows lesson 16 (`cargo run --bin lesson16`).
//!
//! What the checker does: runs the program 50 times with jitter (which pauses the waiter between
//! its check and its sleep) and expects the waiter to print `got: <the message>`, no wait to end
//! by a timeout, and nothing left behind. The message comes from `exercise_data`: the checker
//! draws a new one for each run (by hand it is `hello from the parent`), so that a waiter which
//! prints a constant cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex16`; by hand: `cargo run --example ex16`.

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
            if header.ready.load(Ordering::Acquire) == 1 {
                break; // the check: the message is there
            }
            publish(&header.looked, 1, Policy::DEFAULT)?; // tells the parent: looked
            out.say("not ready: sleeping"); // (the message is not there: reading it now would race)
            // TODO: the value passed must be the one checked above, not the one `ready` holds
            // now: a wake that came in between is lost, and this sleep never ends.
            futex::wait(&header.ready, header.ready.load(Ordering::Acquire), None)?;
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
