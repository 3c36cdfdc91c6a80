//! Verdict corpus: ex01, a cheat.
//! expect: fail
//! reason: the wait is a raw libc::semget and libc::semop around the library, so the trace
//! shows no wait at all.

use shm_workbook::{Error, Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const SIZE: usize = 1024;

fn semop(id: i32, delta: i16) -> Result<()> {
    let mut op = libc::sembuf { sem_num: 0, sem_op: delta, sem_flg: 0 };
    // SAFETY: `op` is one valid sembuf, and its count is 1.
    if unsafe { libc::semop(id, &mut op, 1) } == -1 {
        return Err(Error::other("semop", std::io::Error::last_os_error().to_string()));
    }
    Ok(())
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let message = exercise_data::text("message", "Hello from parent!");
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    // SAFETY: semget takes plain integers.
    let id = unsafe { libc::semget(libc::IPC_PRIVATE, 1, 0o600) };
    if id == -1 {
        return Err(Error::other("semget", std::io::Error::last_os_error().to_string()));
    }

    let child = process::spawn("child", |child| {
        semop(id, -1)?;
        let memory = segment.attach()?;
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;

    let memory = segment.attach()?;
    memory.store_c_string(0, &message)?;
    parent.say(format!("wrote {message:?}"));
    semop(id, 1)?;
    child.wait()?;
    // SAFETY: semctl IPC_RMID takes no fourth argument.
    unsafe { libc::semctl(id, 0, libc::IPC_RMID) };
    Ok(())
}
