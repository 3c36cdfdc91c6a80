//! # shm-workbook: the helper library
//!
//! The lessons in `lessons/` teach shared-memory IPC on Linux; this library keeps them short by
//! holding the plumbing, one job per module:
//!
//! | module | its job |
//! |---|---|
//! | [`shm`], [`sem`], [`msg`] | System V shared memory, semaphore sets, message queues |
//! | [`posix`] | POSIX shared memory objects (`shm_open`, `ftruncate`, `mmap`, `shm_unlink`) |
//! | [`region`] | shared memory in this process, attached or mapped; read-only is a type |
//! | [`wait`], [`futex`] | how to wait for another process (spin, sleep, both) and notice it died |
//! | [`pthread`] | a robust, process-shared pthread mutex |
//! | [`call`] | the record of every call made, printed by the story and written by `--trace` |
//! | [`narrate`], [`lesson`] | the coloured story, one line per `write(2)`; the flags every lesson takes |
//! | [`fold`] | the story's lines folded to fit the terminal, and joined again |
//! | [`process`] | forked children: no zombie, no orphan, a dead child is an error |
//! | [`cleanup`], [`registry`] | nothing left behind: on Ctrl-C, and after a run killed outright |
//! | [`error`] | one error type: the call, the errno, what it means here, what to do |
//! | [`access`] | lesson 09's: a refusal told from a failure; a classmate's command and shmids |
//! | [`failures`] | lesson 10's failures provoked on purpose, each checked |
//! | [`privilege`], [`procfs`], [`scratch`] | another user for a child; `/proc` readers; private temporary files |
//! | [`jitter`] | random delays at every call, so a hidden race shows (the exercise checker) |
//! | [`bench`](mod@bench), [`json`] | lesson 13's measurements and report |
//! | [`cdemo`] | a C program built with the student's `cc` and run with a timeout (lesson 06) |
//! | [`tally`] | every item through a queue exactly once, counted in shared memory (lesson 07) |
//! | [`catalogue`] | the one list of lessons |
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

pub mod access;
pub mod bench;
pub mod call;
pub mod catalogue;
pub mod cdemo;
pub mod cleanup;
pub mod error;
pub mod failures;
pub mod fold;
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
pub mod tally;
pub mod wait;

pub use error::{Error, Result};
pub use lesson::Lesson;
pub use narrate::Narrator;
pub use posix::SharedObject;
pub use region::{Attachment, Mapping, ReadOnly, ReadWrite, Region};
pub use scratch::ScratchDir;
pub use sem::SemaphoreSet;
pub use shm::{Key, Segment};
