//! Verdict corpus: ex11, a cheat.
//! expect: fail
//! reason: the reader is a forked child that loads from the mapping it inherited; it never
//! opens the object by name.

use shm_workbook::{Narrator, Result, SharedObject, cleanup, exercise_data, posix, process};

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
    let reader = process::spawn("reader", |out| {
        out.say(format!("Reader read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    reader.wait()
}
