//! Verdict corpus: ex03, a cheat.
//! expect: fail
//! reason: nothing is shared: the publisher makes no segment and the reader prints the message
//! it already knows.

use shm_workbook::{Narrator, Result, cleanup, process};

const MESSAGE: &str = "the meeting moved to room 42";

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let _parent = Narrator::new("parent");
    let publisher = process::spawn("publisher", |out| {
        out.say("left a message");
        Ok(())
    })?;
    publisher.wait()?;
    let reader = process::spawn("reader", |out| {
        out.say(format!("Reader read: {MESSAGE}"));
        Ok(())
    })?;
    reader.wait()?;
    Ok(())
}
