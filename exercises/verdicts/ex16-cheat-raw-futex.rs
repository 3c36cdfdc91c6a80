//! Verdict corpus: ex16, a cheat.
//! expect: fail
//! reason: the waiter sleeps with a raw libc::syscall(SYS_futex) around the library, so the
//! trace shows no wait.

use shm_workbook::shared::{AtomicU32, Ordering};

use shm_workbook::Shareable;
use shm_workbook::futex;
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
        loop {
            let seen = header.ready.load(Ordering::Acquire);
            if seen == 1 {
                break;
            }
            let word = header.ready.as_ptr();
            // SAFETY: `word` points to a live, aligned u32 of the shared segment; FUTEX_WAIT
            // only reads it, and the timeout pointer may be null.
            unsafe {
                libc::syscall(libc::SYS_futex, word, libc::FUTEX_WAIT, seen, std::ptr::null::<u8>())
            };
        }
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
