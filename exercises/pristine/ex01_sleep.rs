//! # Exercise 01: Sleeping is not waiting
//!
//! Goal: the child prints the parent's message, `Child read: Hello from parent!`, on every run.
//! Today it does what the Chapter 7 program does: it sleeps, and hopes that the parent has
//! written by the time it wakes up. Make the child *wait for the parent* instead.
//!
//! Follows lesson 01 (`cargo run --bin lesson01`), Part 3.
//!
//! What the checker does: runs the program 50 times with jitter (random delays at every
//! shared-memory call; now and then one process is held back until the others are blocked or
//! done, as a busy machine may hold it). Each run must print `Child read: <the message>` once,
//! exit 0, and leave nothing behind (no segment, no semaphore set, no process). The message
//! comes from `exercise_data`: the checker draws a new one for each run (by hand it is `Hello
//! from parent!`), so that a child which prints what it already knows cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex01`; one run by hand: `cargo run --example ex01`.

use std::time::Duration;

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    parent.call_note("made before fork(), so the child inherits the shmid");
    // TODO: create a set of one semaphore (SemaphoreSet::create) and set it to 0: "not written".

    let child = process::spawn("child", |child| {
        // TODO: do not sleep: wait on the semaphore until the parent has written.
        // (The document sleeps a whole second; 50 ms is the same bet, and quicker to lose.)
        std::thread::sleep(Duration::from_millis(50));
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;

    let memory = segment.attach()?;
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));
    // TODO: now that the message is there, let the child go (post the semaphore).

    child.wait()?;
    Ok(()) // dropping `segment` removes it: shmctl(IPC_RMID)
}
