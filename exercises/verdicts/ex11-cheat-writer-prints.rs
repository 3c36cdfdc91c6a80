//! Verdict corpus: ex11, a cheat.
//! expect: fail
//! reason: no reader runs: the writer prints the reader's line itself from its own mapping.

use shm_workbook::{Narrator, Result, SharedObject, cleanup, exercise_data, posix};

const SIZE: usize = 4096;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    writer()
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
    out.say(format!("Reader read: {}", memory.load_c_string(0)));
    Ok(())
}
