//! # Lesson 10: Every way the calls fail
//!
//! Being written: see the issue tracker.

use shm_workbook::{Lesson, Result};

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson10");
    lesson.narrator("parent").explain("this lesson is being written");
    Ok(())
}
