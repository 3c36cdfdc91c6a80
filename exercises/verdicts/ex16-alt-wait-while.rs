//! Verdict corpus: ex16, a valid alternative.
//! expect: pass
//! The waiter uses the library's wait_while with the Sleep policy: it sleeps with FUTEX_WAIT
//! on the value it checked, and notices a parent that died.

use shm_workbook::shared::{AtomicU32, Ordering};

use shm_workbook::Shareable;
use shm_workbook::futex;
use shm_workbook::wait::{self, Partner, Policy};
use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const MESSAGE_AT: usize = 64;

#[repr(C)]
struct Header {
    ready: AtomicU32,
}

// SAFETY: #[repr(C)], one atomic (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Header {}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "hello from the parent");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 4096, 0o600)?;
    let memory = segment.attach()?;
    let header: &Header = memory.view()?;

    let waiter = process::spawn("waiter", |out| {
        wait::wait_while(&header.ready, 0, Policy::Sleep, Partner::parent())?;
        out.say(format!("got: {}", memory.load_c_string(MESSAGE_AT)));
        Ok(())
    })?;

    memory.store_c_string(MESSAGE_AT, &message)?;
    header.ready.store(1, Ordering::Release);
    let woken = futex::wake(&header.ready, 1)?;
    parent.say(format!("woke {woken} waiter(s)"));
    waiter.wait()?;
    Ok(())
}
