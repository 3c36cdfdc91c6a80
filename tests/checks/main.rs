//! What holds across the workbook: the catalogue, the book and its transcripts, the quizzes,
//! the library's floors, line widths, `--step` pauses, every printed call against strace, run
//! files, closed pipes. One module per check (`cargo test --test checks transcripts::`), in one
//! test binary, so that a cold `cargo test` builds and links one program rather than twelve.
//!
//! The library's own tests (`tests/library.rs`) and the fault campaign (`tests/faults.rs`) are
//! binaries of their own: the first installs the library's SIGCHLD and SIGINT handlers in the
//! test process, the second makes it a child subreaper and plants objects other tests would
//! see; neither may share a process with the tests here.

#[path = "../common/mod.rs"]
mod common;

mod book;
mod catalogue;
mod closed_pipe;
mod layers;
mod narration;
mod quizzes;
mod run_files;
mod source_width;
mod steps;
mod strace;
mod transcripts;
mod width;
