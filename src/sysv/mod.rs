//! System V IPC: keys, and the three kinds of object a key names.
//!
//! | module | C |
//! |---|---|
//! | [`key`] | `ftok`, `IPC_PRIVATE` |
//! | [`shm`] | `shmget`, `shmat`, `shmdt`, `shmctl`: shared memory segments |
//! | [`sem`] | `semget`, `semop`, `semctl`: semaphore sets |
//! | [`msg`] | `msgget`, `msgsnd`, `msgrcv`, `msgctl`: message queues |
//!
//! nix has no System V IPC, so these wrap `libc` directly. Every call is recorded with the
//! arguments it was made with and its result (see [`crate::call`]).

pub mod key;
pub mod msg;
pub mod sem;
pub mod shm;

use crate::call::octal;

/// The flags of `shmget`, `semget` or `msgget` as C (and strace) write them, from the number
/// actually passed: `IPC_CREAT|IPC_EXCL|0600`, or `0`.
pub fn ipc_flags(flags: i32) -> String {
    let mut parts = Vec::new();
    if flags & libc::IPC_CREAT != 0 {
        parts.push("IPC_CREAT".to_owned());
    }
    if flags & libc::IPC_EXCL != 0 {
        parts.push("IPC_EXCL".to_owned());
    }
    let mode = (flags & 0o777) as u32;
    if mode != 0 || parts.is_empty() {
        parts.push(if mode == 0 { "0".to_owned() } else { octal(mode) });
    }
    parts.join("|")
}
