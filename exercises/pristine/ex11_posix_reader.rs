//! # Exercise 11: A POSIX reader of its own
//!
//! Goal: the writer creates a POSIX shared memory object, writes a message into it, and a
//! *separate program*, the reader, opens the object by its name, maps it and prints the message.
//! The document's POSIX example is one process that writes and reads back its own mapping: it
//! shows no communication at all, and neither does this program yet. Start the reader as a
//! program of its own, which inherits nothing (no descriptor, no mapping, only the name on its
//! command line), and write it.
//!
//! Follows lesson 08 (`cargo run --bin lesson08`).
//!
//! What the checker does: runs the program 50 times with jitter and reads the trace: the line
//! `Reader read: <the message>` must come from a process other than the writer, one that opened
//! the object by name itself (`shm_open` without O_CREAT) and mapped it. Nothing may be left in
//! `/dev/shm`. The message comes from `exercise_data`: the checker draws a new one for each run
//! (by hand it is `Hello through /dev/shm!`), so that a reader which prints a constant cannot
//! pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex11`; by hand: `cargo run --example ex11`.

use shm_workbook::{Error, Narrator, Result, SharedObject, cleanup, exercise_data, posix};

const SIZE: usize = 4096;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => writer(),
        [command, name] if command == "read" => reader(name),
        _ => Err(Error::other("ex11", "usage: ex11 [read NAME]")),
    }
}

fn writer() -> Result<()> {
    let message = exercise_data::text("message", "Hello through /dev/shm!");
    let out = Narrator::new("writer");
    let name = posix::name::unique_name("ex11");
    let object = SharedObject::create(&name, 0o600)?;
    out.call();
    object.set_len(SIZE as u64)?;
    let memory = object.map(SIZE)?;
    memory.store_c_string(0, &message)?;
    out.say(format!("wrote {message:?} into {name}"));

    // TODO: start the reader as a program of its own and wait for it:
    // std::process::Command::new(std::env::current_exe()...).args(["read", &name]).status()
    // (and fail if it fails). The two lines below are the document's: reading back our own
    // mapping, in our own process.
    let text = memory.load_c_string(0);
    out.say(format!("Reader read: {text}"));
    Ok(()) // dropping `object` unlinks the name: shm_unlink
}

/// `ex11 read NAME`: the reader, a process that knows only the name.
fn reader(name: &str) -> Result<()> {
    let out = Narrator::new("reader");
    // TODO: open the object named `name` (the writer made it), map SIZE bytes read-only and
    // print "Reader read: <the text>".
    out.say(format!("should read {name}"));
    Err(Error::other("reader", "not written yet"))
}
