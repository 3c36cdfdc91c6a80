//! Verdict corpus: ex11, a valid alternative.
//! expect: pass
//! The reader is this program again, started with Command; it learns the name from the
//! environment variable EX11_OBJECT instead of its command line.

use std::process::Command;

use shm_workbook::{Error, Narrator, Result, SharedObject, cleanup, exercise_data, posix};

const SIZE: usize = 4096;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    match std::env::var("EX11_OBJECT") {
        Ok(name) => reader(&name),
        Err(_) => writer(),
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
        .env("EX11_OBJECT", &name)
        .status()
        .map_err(|err| Error::io("starting the reader", err))?;
    if !status.success() {
        return Err(Error::other("the reader", format!("it ended with {status}")));
    }
    Ok(())
}

fn reader(name: &str) -> Result<()> {
    let out = Narrator::new("reader");
    let object = SharedObject::open_read_only(name)?;
    out.call_note("by name: nothing was inherited");
    let memory = object.map_read_only(SIZE)?;
    out.say(format!("Reader read: {}", memory.load_c_string(0)));
    Ok(())
}
