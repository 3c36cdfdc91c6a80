//! Verdict corpus: ex12, a valid alternative.
//! expect: pass
//! The segment has a key of this run (ftok of a private file), mode 0600; the helper opens it
//! by key and attaches read-only.

use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, process};

const SIZE: usize = 64;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let service = Narrator::new("service");
    let mut scratch = ScratchDir::new("ex12")?;
    let key = Key::ftok(scratch.create_file("token", b"")?, b'T')?;
    let segment = Segment::create(key, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let token = format!("{:016x}{:016x}", rand_word(), rand_word());
    memory.store_c_string(0, &token)?;
    service.say("stored a session token");
    let helper = process::spawn("helper", |out| {
        let memory = Segment::open(key, 0)?.attach_read_only()?;
        out.say(format!("helper sees a token of {} characters", memory.load_c_string(0).len()));
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
