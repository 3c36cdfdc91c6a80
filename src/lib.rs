//! # shm-workbook: the helper library
//!
//! The lessons in `lessons/` teach shared-memory IPC on Linux; this library keeps them short by
//! holding the plumbing, one job per module:
//!
//! From the top floor down:
//!
//! - **Harness.** [`narrate`] (the coloured story, one line per `write(2)`), [`lesson`] (the
//!   flags and pauses every lesson has), [`process`] (forked children: no zombie, no orphan),
//!   [`wait`] (waiting for a partner that may die), [`privilege`] (another user for a child).
//! - **Subject.** [`shared`] (the standard atomics, each access written down), [`sysv`]
//!   (`key`, `shm`, `sem`, `msg`), [`posix`] (`name`, `shm`, `mq`), [`region`] (memory
//!   attached or mapped; read-only is a type), and synchronization inside the segment:
//!   [`futex`], [`unnamed_sem`] (`sem_init`), [`pthread`] (a robust mutex); [`memfd`]
//!   and [`unix_socket`] (memory with no name, its seals, a descriptor passed over a socket);
//!   [`pipe`] (one byte through the kernel, to say "now").
//! - **Bookkeeping.** [`registry`], [`cleanup`], [`scratch`]: nothing left behind, on Ctrl-C and
//!   after a run killed outright.
//! - **Foundations.** [`error`] (one error type), [`call`] (the record of every call, printed by
//!   the story and written by `--trace`), [`procfs`] and [`flags`] (the one `/proc` and
//!   command-line reader), [`json`] (the one JSON writer and reader), [`fold`] (long lines
//!   folded to the terminal, and joined again), [`jitter`] (random delays for the checker),
//!   [`evidence`] (every load and store on shared memory, for the checker),
//!   [`exercise_data`] (an exercise's message, amounts and counts: drawn by the checker),
//!   [`catalogue`] (the one list of lessons). The progress store that the quiz runner and the
//!   checker share is not here: no lesson uses it (`tools/`, `shm-workbook-tools`).
//!
//! A module uses only what stands below it (`tests/checks/layers.rs` keeps the order;
//! ARCHITECTURE.md draws it). Machinery one lesson alone needs lives beside that lesson, in its
//! folder under `lessons/`.
//!
//! The rules it keeps, so that a lesson keeps them too:
//! - what a lesson prints about a call comes from the call: its real arguments and result;
//! - only the process that created an IPC object removes it (never a forked child), on drop or
//!   on a signal, and the next run removes what a killed run left: `ipcs` looks the same after
//!   a run as before;
//! - memory that two processes touch at once is reached through atomics or under a semaphore,
//!   and memory mapped read-only offers loads only;
//! - every wait on another process ends if that process dies;
//! - every failure names the call, the errno, what it means, and what to do.

#![warn(missing_docs)]

pub mod call;
pub mod catalogue;
pub mod cleanup;
pub mod error;
pub mod evidence;
pub mod exercise_data;
pub mod flags;
pub mod fold;
pub mod futex;
pub mod jitter;
pub mod json;
pub mod lesson;
pub mod memfd;
pub mod narrate;
pub mod pipe;
pub mod posix;
pub mod privilege;
pub mod process;
pub mod procfs;
pub mod pthread;
pub mod region;
pub mod registry;
pub mod scratch;
pub mod shared;
pub mod sysv;
pub mod unix_socket;
pub mod unnamed_sem;
pub mod wait;

pub use error::{Error, Result};
pub use lesson::Lesson;
pub use narrate::Narrator;
pub use posix::shm::SharedObject;
pub use region::{Attachment, Mapping, ReadOnly, ReadWrite, Region, Shareable};
pub use scratch::ScratchDir;
pub use sysv::key::Key;
pub use sysv::sem::SemaphoreSet;
pub use sysv::shm::Segment;
