//! # Exercise 03: The last one out removes the segment
//!
//! Goal: a publisher leaves a message in a segment and exits; a reader, started after it,
//! reads the message. Then nobody removes the segment: it stays in `ipcs -m` until the machine
//! reboots, as the document's programs leave theirs. Detaching never destroys a segment; only
//! IPC_RMID does, and any process with permission may ask for it, not only the creator.
//!
//! Follows lesson 03 (`cargo run --bin lesson03`).
//!
//! What the checker does: runs the program 50 times with jitter and compares `/proc/sysvipc/shm`
//! before and after each run. The reader must print `Reader read: <the message>`; a segment
//! left behind is a failure (the checker names the call that made it, and removes it). The
//! message comes from `exercise_data`: the checker draws a new one for each run (by hand it is
//! `the meeting moved to room 42`), so that a reader which prints a constant cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex03`; by hand: `cargo run --example ex03`, then
//! `ipcs -m` (and `ipcrm -m <shmid>` to clean up after the unsolved version).

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let message = exercise_data::text("message", "the meeting moved to room 42");
    let parent = Narrator::new("parent");
    let mut scratch = ScratchDir::new("ex03")?;
    // ftok_unused: passes over a key that another segment holds (another user's, another run's).
    let key = Key::ftok_unused(scratch.create_file("board", b"")?, b'B')?.key();
    parent.call_note("the publisher and the reader find the segment by this key");

    let publisher = process::spawn("publisher", |out| {
        let mut segment = Segment::create(key, SIZE, 0o600)?;
        out.call();
        segment.attach()?.store_c_string(0, &message)?;
        out.say("left a message; the segment must outlive me, so I do not remove it");
        segment.disown(); // on purpose: the reader comes after this process has gone
        Ok(())
    })?;
    publisher.wait()?;

    let reader = process::spawn("reader", |out| {
        let segment = Segment::open(key, 0)?;
        out.call();
        let memory = segment.attach_read_only()?;
        out.say(format!("Reader read: {}", memory.load_c_string(0)));
        // TODO: this reader is the last process that needs the segment: remove it (IPC_RMID).
        Ok(())
    })?;
    reader.wait()?;
    Ok(())
}
