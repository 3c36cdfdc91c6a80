//! # Exercise 08: A writer dies holding the semaphore
//!
//! Goal: three writers take turns under a semaphore. Writer 1 crashes while it holds it, as
//! programs do. The document takes its semaphore without SEM_UNDO, so nobody ever gives it
//! back: writers 2 and 3 wait for ever. Take it so that the kernel gives it back when its
//! holder dies. (Leave the crash where it is: it is the test.)
//!
//! Follows lesson 05 (`cargo run --bin lesson05`), Part 3.
//!
//! What the checker does: runs the program 50 times with jitter, stops a run that does not end
//! in time and reports what the kernel shows: which process waits in which call, on which
//! semaphore, its value, how many wait for it, and the pid that changed it last. A solved run
//! prints `every writer had its turn`, exits 0 and leaves nothing behind. Its trace must show
//! writer 1 taking LOCK with SEM_UNDO and giving nothing back before it dies, and LOCK, as the
//! checker reads it from the kernel while the run goes on, must never be above 1.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex08`; by hand: `cargo run --example ex08` (the
//! unsolved version hangs: look at `ipcs -s -i <semid>` in another terminal, then press Ctrl-C).

use shm_workbook::process::Exit;
use shm_workbook::{Key, Narrator, Result, SemaphoreSet, cleanup, process};

const LOCK: usize = 0;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let parent = Narrator::new("parent");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    set.set_value(LOCK, 1)?;
    parent.call_note("LOCK = 1: free");

    let first = process::spawn("writer 1", |writer| {
        // TODO: take LOCK so that the kernel undoes it if this process dies (SEM_UNDO).
        set.wait(LOCK)?;
        writer.call_note("holding LOCK");
        writer.say("writing... and crashing before giving LOCK back");
        std::process::exit(3) // a crash: no code of ours runs after this
    })?;
    if let Exit::Code(code) = first.wait_exit()? {
        parent.say(format!("writer 1 crashed (exit status {code})"));
    }

    let mut others = Vec::new();
    for number in 2..=3 {
        others.push(process::spawn(&format!("writer {number}"), |writer| {
            // TODO: the same here (and give LOCK back by dropping what `lock` returns).
            set.wait(LOCK)?;
            writer.call_note("holding LOCK");
            set.post(LOCK)?;
            writer.call_note("gave LOCK back");
            Ok(())
        })?);
    }
    process::wait_all(others)?;
    parent.say("every writer had its turn");
    Ok(())
}
