//! # Exercise 02: A key of your own
//!
//! Goal: two copies of this program started at the same moment (two students on one lab
//! server, or one student in two terminals) must never meet in the same segment. Today both use
//! the document's fixed key, 1234: whoever comes second silently opens the other's segment.
//!
//! Follows lesson 02 (`cargo run --bin lesson02`).
//!
//! What the checker does: starts two copies at once, 50 times, with jitter. In each copy the
//! child finds the segment by its key, as an unrelated process would, and must print
//! `Child read: greetings from process <its own parent's pid>`; both copies must exit 0 and
//! leave nothing behind.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex02`; by hand, in two terminals at once:
//! `cargo run --example ex02`.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 1024;

// TODO: a fixed number is shared by everyone who picks it. Make a key that only this run uses:
// ftok of a file this run creates (shm_workbook::ScratchDir makes a private directory).
const KEY: Key = Key::from_raw(1234);

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let parent = Narrator::new("parent");
    // TODO: and refuse a key that is taken (Segment::create: IPC_CREAT|IPC_EXCL) instead of
    // quietly opening whatever segment holds it.
    let segment = Segment::create_or_open(KEY, SIZE, 0o600)?;
    parent.call_note("IPC_CREAT without IPC_EXCL: create it, or open the one that is there");
    let memory = segment.attach()?;
    let message = format!("greetings from process {}", parent.pid());
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));

    let child = process::spawn("child", |child| {
        let segment = Segment::open(KEY, 0)?; // by key, as an unrelated program would
        child.call();
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    child.wait()?;
    Ok(()) // the copy that created the segment removes it here
}
