//! The quiz runner, tested as a student uses it: one module per subject (`cargo test -p
//! shm-workbook-quiz --test runner terminal::`), in one test binary, so that a cold `cargo test`
//! builds and links one program rather than four.

#[path = "../common/mod.rs"]
mod common;

mod arguments;
mod progress;
mod quiz;
mod terminal;
