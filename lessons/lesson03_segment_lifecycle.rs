//! # Lesson 03: A segment's life
//!
//! Being written: see the issue tracker.

use shm_workbook::{Lesson, Result};

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson03");
    lesson.narrator("parent").explain("this lesson is being written");
    Ok(())
}
