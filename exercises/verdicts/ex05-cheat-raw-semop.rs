//! Verdict corpus: ex05, a cheat.
//! expect: fail
//! reason: the lock is taken with raw libc::semop around the library; the library's set is
//! made only to appear in the trace.

use shm_workbook::{
    Error, Key, Narrator, Region, Result, Segment, SemaphoreSet, cleanup, exercise_data, process,
};

const WORKERS: u64 = 3;

fn load_counter(memory: &Region) -> u64 {
    u64::from_ne_bytes(memory.load(0, 8).try_into().expect("8 bytes"))
}

fn semop(id: i32, delta: i16) -> Result<()> {
    let mut op = libc::sembuf { sem_num: 0, sem_op: delta, sem_flg: libc::SEM_UNDO as i16 };
    // SAFETY: `op` is one valid sembuf, and its count is 1.
    if unsafe { libc::semop(id, &mut op, 1) } == -1 {
        return Err(Error::other("semop", std::io::Error::last_os_error().to_string()));
    }
    Ok(())
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let increments = exercise_data::number("increments", 100);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 8, 0o600)?;
    let memory = segment.attach()?;
    let lock = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    lock.set_value(0, 1)?;
    let id = lock.id();

    let mut workers = Vec::new();
    for number in 1..=WORKERS {
        workers.push(process::spawn(&format!("worker {number}"), |_| {
            for _ in 0..increments {
                semop(id, -1)?;
                let value = load_counter(&memory);
                memory.store(0, &(value + 1).to_ne_bytes())?;
                semop(id, 1)?;
            }
            Ok(())
        })?);
    }
    process::wait_all(workers)?;
    let expected = WORKERS * increments;
    parent.say(format!("counter: {} (expected {expected})", load_counter(&memory)));
    Ok(())
}
