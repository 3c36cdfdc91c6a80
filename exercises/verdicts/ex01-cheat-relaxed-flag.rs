//! Verdict corpus: ex01, a cheat.
//! expect: fail
//! reason: the flag is stored and loaded with Relaxed, so nothing orders the message's bytes
//! before it: a data race that x86 hides.

use shm_workbook::shared::{AtomicU32, Ordering};

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;
const TEXT_AT: usize = 64;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let flag: &AtomicU32 = memory.view()?;

    let child = process::spawn("child", |child| {
        while flag.load(Ordering::Relaxed) == 0 {
            std::hint::spin_loop();
        }
        child.say(format!("Child read: {}", memory.load_c_string(TEXT_AT)));
        Ok(())
    })?;

    memory.store_c_string(TEXT_AT, &message)?;
    parent.say(format!("wrote {message:?}"));
    flag.store(1, Ordering::Relaxed);
    child.wait()?;
    Ok(())
}
