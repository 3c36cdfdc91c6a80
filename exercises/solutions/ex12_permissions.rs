//! # Exercise 12, solved: mode 0600, and a read-only attachment for the helper
//!
//! 0600 gives read and write to the owner and nothing to group and others: another user's
//! `shmat` fails with EACCES. The helper attaches with SHM_RDONLY: the library hands it a
//! `Region<ReadOnly>`, which offers loads only, so a store does not even compile (and a write
//! through a raw pointer would fault with SIGSEGV).

use std::time::Duration;

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 64;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let service = Narrator::new("service");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    service.call_note("the token's segment: this user only");
    let memory = segment.attach()?;
    let token = format!("{:016x}{:016x}", rand_word(), rand_word());
    memory.store_c_string(0, &token)?;
    service.say("stored a session token");

    let helper = process::spawn("helper", |out| {
        let memory = segment.attach_read_only()?;
        out.call_note("loads only");
        out.say(format!("helper sees a token of {} characters", memory.load_c_string(0).len()));
        Ok(())
    })?;
    helper.wait()?;
    if std::env::args().any(|arg| arg == "--pause") {
        service.say(format!("look at `ipcs -m -i {}` now; ten seconds", segment.id()));
        std::thread::sleep(Duration::from_secs(10));
    }
    Ok(()) // dropping `segment` removes it
}

/// 64 random bits from the kernel (a token must not be guessable).
fn rand_word() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into `bytes`.
    unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    u64::from_ne_bytes(bytes)
}
