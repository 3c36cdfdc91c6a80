//! Lesson 16's observing: waiting until a process sleeps, from its state in `/proc/PID/stat`.

use std::time::{Duration, Instant};

use nix::unistd::Pid;
use shm_workbook::procfs;

/// Waits (polling `/proc/PID/stat`, for up to `timeout`) until process `pid` sleeps (state `S`).
/// For *observing* only, never for synchronizing: the lesson wakes a process already asleep in
/// `FUTEX_WAIT` (to show the wake reaching it) once it has said it is about to sleep, and
/// between that and the sleep it does nothing else that sleeps. `false` if it did not sleep in
/// time, or ended.
pub fn wait_until_asleep(pid: Pid, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match procfs::process_stat(pid.as_raw()).map(|stat| stat.state()) {
            Some('S') => return true,
            Some('Z' | 'X') | None => return false,
            _ => std::thread::sleep(Duration::from_micros(200)),
        }
    }
    false
}
