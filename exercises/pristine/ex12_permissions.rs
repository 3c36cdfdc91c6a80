//! # Exercise 12: A token only you can read
//!
//! Goal: a login service keeps a session token in a segment that its helper process reads. The
//! document creates every object with mode 0666: any user of the machine may then attach the
//! segment by its id (`ipcs -m` lists it for all to see), read the token, or write one of their
//! own. Give the segment to this user alone. And the helper only reads: attach it read-only,
//! so that a bug in the helper cannot change the token.
//!
//! Follows lesson 09 (`cargo run --bin lesson09`).
//!
//! What the checker does: runs the program 50 times with jitter and reads the kernel's table
//! of segments (/proc/sysvipc/shm) while it runs: every segment the run creates must be closed
//! to group and others (mode 0600 or stricter) at every look, however its mode was set. From
//! the trace: the helper must attach with SHM_RDONLY, and it must print `helper sees a token of
//! 32 characters`. Nothing may be left behind.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex12`; by hand: `cargo run --example ex12 -- --pause`
//! keeps the segment for ten seconds: look at its perms in `ipcs -m` meanwhile.

use std::time::Duration;

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 64;

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let service = Narrator::new("service");
    // TODO: a mode that lets this user, and nobody else, read and write.
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o666)?;
    service.call_note("the token's segment");
    let memory = segment.attach()?;
    let token = format!("{:016x}{:016x}", rand_word(), rand_word());
    memory.store_c_string(0, &token)?;
    service.say("stored a session token");

    let helper = process::spawn("helper", |out| {
        // TODO: the helper only reads: attach read-only (SHM_RDONLY).
        let memory = segment.attach()?;
        out.call();
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
