//! Verdict corpus: ex11, a cheat.
//! expect: fail
//! reason: the reader is a program of its own, but it prints the message it already knows
//! without opening or mapping the object.

use std::process::Command;

use shm_workbook::{Error, Narrator, Result, SharedObject, cleanup, exercise_data, posix};

const SIZE: usize = 4096;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
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
    Ok(())
}

fn reader(_name: &str) -> Result<()> {
    let message = exercise_data::text("message", "Hello through /dev/shm!");
    let out = Narrator::new("reader");
    out.say(format!("Reader read: {message}"));
    Ok(())
}
