//! # shm-workbook-tools: what the workbook's tools share
//!
//! The quiz runner (`quiz/`) and the exercise checker (`exercises/src/`) both keep a file for
//! the student in the data folder; [`store`] keeps it for them: its lock, its atomic write, a
//! damaged file kept aside. No lesson and no exercise uses it, so it is not part of the library
//! (`src/`) that a student's first `cargo run --bin lesson01` builds.

#![warn(missing_docs)]

pub mod store;
