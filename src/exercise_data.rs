//! An exercise's data: its message, its amounts, its counts. Run by hand, an exercise gets the
//! defaults written in its file; run by the checker, it gets the values the checker drew for that
//! run, so that a program which prints the expected result as a constant cannot pass.
//!
//! The checker puts the run's values in the environment variable [`VARIABLE`], as one JSON object
//! (`{"message":"amber otter 4821","amount":17}`); a forked child inherits them with the rest of
//! the environment, and a program started with `Command` gets them too.
//!
//! ```
//! use shm_workbook::exercise_data;
//! let message = exercise_data::text("message", "Hello from parent!");
//! let amount = exercise_data::number("amount", 10);
//! # let _ = (message, amount);
//! ```
//!
//! A name the variable does not hold, a value of the wrong kind, or a variable that does not
//! parse gives the default: the checker, which wrote the variable, then sees the default in the
//! output where it expected its own value, and says so.

use crate::json::{self, Json};

/// The environment variable that holds the run's data, a JSON object.
pub const VARIABLE: &str = "SHM_WORKBOOK_DATA";

/// The text `name`: the checker's, or `default` when run by hand.
pub fn text(name: &str, default: &str) -> String {
    text_in(std::env::var(VARIABLE).ok().as_deref(), name, default)
}

/// The number `name` (a whole number, 0 to 2^53): the checker's, or `default` when run by hand.
pub fn number(name: &str, default: u64) -> u64 {
    number_in(std::env::var(VARIABLE).ok().as_deref(), name, default)
}

/// The member `name` of the data `variable` holds, if it holds one.
fn value(variable: Option<&str>, name: &str) -> Option<Json> {
    match json::parse(variable?).ok()?.get(name) {
        Json::Null => None,
        value => Some(value.clone()),
    }
}

fn text_in(variable: Option<&str>, name: &str, default: &str) -> String {
    match value(variable, name) {
        Some(Json::String(text)) => text,
        _ => default.to_owned(),
    }
}

fn number_in(variable: Option<&str>, name: &str, default: u64) -> u64 {
    match value(variable, name) {
        Some(Json::Number(n))
            if (0.0..=9_007_199_254_740_992.0).contains(&n) && n.fract() == 0.0 =>
        {
            n as u64
        }
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = r#"{"message":"amber otter 4821","amount":17,"half":2.5,"minus":-1}"#;

    #[test]
    fn the_checker_s_values_come_first() {
        assert_eq!(text_in(Some(DATA), "message", "Hello"), "amber otter 4821");
        assert_eq!(number_in(Some(DATA), "amount", 10), 17);
    }

    #[test]
    fn by_hand_the_defaults() {
        assert_eq!(text_in(None, "message", "Hello"), "Hello");
        assert_eq!(number_in(None, "amount", 10), 10);
    }

    #[test]
    fn what_is_missing_or_wrong_gives_the_default() {
        assert_eq!(text_in(Some(DATA), "other", "Hello"), "Hello");
        assert_eq!(text_in(Some(DATA), "amount", "Hello"), "Hello");
        assert_eq!(number_in(Some(DATA), "message", 10), 10);
        assert_eq!(number_in(Some(DATA), "half", 10), 10);
        assert_eq!(number_in(Some(DATA), "minus", 10), 10);
        assert_eq!(number_in(Some("{not json"), "amount", 10), 10);
        assert_eq!(number_in(Some("[17]"), "amount", 10), 10);
    }
}
