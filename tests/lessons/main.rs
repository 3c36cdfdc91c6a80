//! Each lesson as a student runs it, checked against the kernel: one module per lesson
//! (`cargo test --test lessons lesson05::`). One test binary for all sixteen, so that a cold
//! `cargo test` builds and links one program rather than sixteen.

#[path = "../common/mod.rs"]
mod common;

mod lesson01;
mod lesson02;
mod lesson03;
mod lesson04;
mod lesson05;
mod lesson06;
mod lesson07;
mod lesson08;
mod lesson09;
mod lesson10;
mod lesson11;
mod lesson12;
mod lesson13;
mod lesson14;
mod lesson15;
mod lesson16;
