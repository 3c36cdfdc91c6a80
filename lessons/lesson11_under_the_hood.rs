//! # Lesson 11: Under the hood: mappings, addresses, pages
//!
//! Being written: see the issue tracker.

use shm_workbook::{Lesson, Result};

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson11");
    lesson.narrator("parent").explain("this lesson is being written");
    Ok(())
}
