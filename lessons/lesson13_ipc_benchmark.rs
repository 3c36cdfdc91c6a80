//! # Lesson 13: Shared memory against pipes, sockets and queues, measured
//!
//! Being written: see the issue tracker.

use shm_workbook::{Lesson, Result};

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson13");
    lesson.narrator("parent").explain("this lesson is being written");
    Ok(())
}
