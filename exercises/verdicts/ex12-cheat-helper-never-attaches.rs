//! Verdict corpus: ex12, a cheat.
//! expect: fail
//! reason: the helper never attaches the segment; it prints the token's known length.

use shm_workbook::{Key, Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 64;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let service = Narrator::new("service");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let token = format!("{:016x}{:016x}", rand_word(), rand_word());
    memory.store_c_string(0, &token)?;
    service.say("stored a session token");
    let helper = process::spawn("helper", |out| {
        out.say("helper sees a token of 32 characters");
        Ok(())
    })?;
    helper.wait()?;
    Ok(())
}

/// 64 random bits from the kernel.
fn rand_word() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into `bytes`.
    unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    u64::from_ne_bytes(bytes)
}
