//! # Exercise 11, solved: the reader is a program of its own, and opens the object by name
//!
//! The writer starts the reader with `Command` (fork and exec): the new program inherits no
//! descriptor and no mapping of the writer's, only its command line. It opens the object by
//! name (`shm_open(name, O_RDONLY, 0)`), maps it read-only, and prints the text. The writer
//! waits for it, then unlinks the name; the memory goes with the last mapping.

use std::process::Command;

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

    let program = std::env::current_exe().map_err(|err| Error::io("current_exe()", err))?;
    let status = Command::new(program)
        .args(["read", &name])
        .status()
        .map_err(|err| Error::io("starting the reader", err))?;
    if !status.success() {
        return Err(Error::other("the reader", format!("it ended with {status}")));
    }
    Ok(()) // dropping `object` unlinks the name: shm_unlink
}

/// `ex11 read NAME`: the reader, a process that knows only the name.
fn reader(name: &str) -> Result<()> {
    let out = Narrator::new("reader");
    let object = SharedObject::open_read_only(name)?;
    out.call_note("by name: nothing was inherited");
    let memory = object.map_read_only(SIZE)?;
    out.call();
    out.say(format!("Reader read: {}", memory.load_c_string(0)));
    Ok(())
}
