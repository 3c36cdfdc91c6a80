//! The checker and the exercises, tested: one module per subject (`cargo test -p
//! shm-workbook-exercises --test workbook cli::`), in one test binary, so that a cold `cargo
//! test` builds and links one program rather than six, and builds the reference programs once.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod book_sample;
mod catalogue;
mod checker;
mod cli;
mod hints;
mod schedules;
