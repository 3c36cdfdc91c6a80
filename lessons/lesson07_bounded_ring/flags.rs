//! The flags lesson 07 takes beyond every lesson's own: how many processes, items and slots
//! Parts 3 and 4 use.

use shm_workbook::lesson::LessonFlag;

use super::MAX_SLOTS;

/// `--producers`, `--consumers`, `--items` and `--slots`, with their defaults and ranges.
pub const FLAGS: &[LessonFlag] = &[
    LessonFlag::number("--producers", "P", "producer processes in Parts 3 and 4", 2, (1, 8)),
    LessonFlag::number("--consumers", "C", "consumer processes in Parts 3 and 4", 2, (1, 8)),
    LessonFlag::number(
        "--items",
        "N",
        "items per producer in Parts 3 and 4 (--fast: 5000)",
        100_000,
        (1, 1_000_000),
    ),
    LessonFlag::number(
        "--slots",
        "K",
        "slots in the ring in Parts 3 and 4",
        8,
        (1, MAX_SLOTS as u64),
    ),
];
