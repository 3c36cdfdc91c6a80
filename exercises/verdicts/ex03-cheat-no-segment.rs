//! Verdict corpus: ex03, a cheat.
//! expect: fail
//! reason: nothing is shared: the publisher makes no segment and the reader prints the message
//! it already knows.

use shm_workbook::{Narrator, Result, cleanup, exercise_data, process};

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "the meeting moved to room 42");
    let _parent = Narrator::new("parent");
    let publisher = process::spawn("publisher", |out| {
        out.say("left a message");
        Ok(())
    })?;
    publisher.wait()?;
    let reader = process::spawn("reader", |out| {
        out.say(format!("Reader read: {message}"));
        Ok(())
    })?;
    reader.wait()?;
    Ok(())
}
