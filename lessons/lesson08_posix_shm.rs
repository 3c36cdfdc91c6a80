//! # Lesson 08: POSIX shared memory
//!
//! Being written: see the issue tracker.

use shm_workbook::{Lesson, Result};

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson08");
    lesson.narrator("parent").explain("this lesson is being written");
    Ok(())
}
