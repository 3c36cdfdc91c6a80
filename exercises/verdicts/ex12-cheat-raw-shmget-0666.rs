//! Verdict corpus: ex12, a cheat.
//! expect: fail
//! reason: the segment is created 0666 with a raw libc::shmget around the library; any user
//! may read the token.

use shm_workbook::{Narrator, Result, Segment, cleanup, process};

const SIZE: usize = 64;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let service = Narrator::new("service");
    // SAFETY: shmget takes plain integers.
    let id = unsafe { libc::shmget(libc::IPC_PRIVATE, SIZE, libc::IPC_CREAT | 0o666) };
    let segment = Segment::from_id(id);
    let memory = segment.attach()?;
    let token = format!("{:016x}{:016x}", rand_word(), rand_word());
    memory.store_c_string(0, &token)?;
    service.say("stored a session token");
    let helper = process::spawn("helper", |out| {
        let memory = segment.attach_read_only()?;
        out.say(format!("helper sees a token of {} characters", memory.load_c_string(0).len()));
        Ok(())
    })?;
    helper.wait()?;
    memory.detach()?;
    // SAFETY: IPC_RMID reads no buffer; a null pointer is allowed.
    unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    Ok(())
}

/// 64 random bits from the kernel.
fn rand_word() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into `bytes`.
    unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    u64::from_ne_bytes(bytes)
}
