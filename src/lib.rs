//! # shm-workbook: the helper library
//!
//! The lessons in `lessons/` teach shared-memory IPC on Linux; this library keeps them short by
//! holding the plumbing: safe wrappers over System V shared memory ([`shm`]) and semaphores
//! ([`sem`]), forked children that cannot become zombies ([`process`]), the coloured
//! per-process story ([`narrate`]), the flags every lesson takes ([`lesson`]), one error type
//! that explains itself ([`error`]), the cleanup that runs on Ctrl-C ([`cleanup`]), POSIX
//! shared memory objects ([`posix`]), a child that becomes another user when the lesson runs as
//! root ([`privilege`]), and readers of `/proc` that show where a process's memory lives
//! ([`procfs`]).
//! Lesson 10's failures provoked on purpose, each checked against the man page, are in [`failures`].
//!
//! The rules it keeps, so that a lesson keeps them too:
//! - only the process that created an IPC object removes it (never a forked child), on drop or
//!   on a signal: `ipcs` looks the same after a run as before;
//! - memory that two processes touch at once is reached through atomics or under a semaphore;
//! - every failure names the call, the errno, what it means, and what to do.

#![warn(missing_docs)]

pub mod bench;
pub mod call;
pub mod catalogue;
pub mod cleanup;
pub mod error;
pub mod failures;
pub mod futex;
pub mod jitter;
pub mod json;
pub mod lesson;
pub mod msg;
pub mod narrate;
pub mod posix;
pub mod privilege;
pub mod process;
pub mod procfs;
pub mod pthread;
pub mod region;
pub mod registry;
pub mod scratch;
pub mod sem;
pub mod shm;
pub mod wait;

pub use error::{Error, Result};
pub use lesson::Lesson;
pub use narrate::Narrator;
pub use posix::SharedObject;
pub use region::{Attachment, Mapping, ReadOnly, ReadWrite, Region};
pub use scratch::ScratchDir;
pub use sem::SemaphoreSet;
pub use shm::{Key, Segment};
