//! Lesson 13's story within a terminal's width. The narrator folds every line itself (see
//! [`shm_workbook::fold`]); these are the names lesson 13's code has used for it.

use std::fmt::Display;

use shm_workbook::narrate::Narrator;

pub use shm_workbook::fold::columns;

/// An explanation, folded by the narrator to fit [`columns`].
pub fn explain(out: &Narrator, text: impl Display) {
    out.explain(text);
}

/// The last call with its note; the narrator moves the note below the call when the two do
/// not fit on one line.
pub fn call_note(out: &Narrator, note: impl Display) {
    out.call_note(note);
}
