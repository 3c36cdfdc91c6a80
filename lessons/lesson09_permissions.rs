//! # Lesson 09: Permissions and access control
//!
//! Being written: see the issue tracker.

use shm_workbook::{Lesson, Result};

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson09");
    lesson.narrator("parent").explain("this lesson is being written");
    Ok(())
}
