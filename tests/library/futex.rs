use shm_workbook::call::{self};
use shm_workbook::futex::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[test]
fn waiting_on_a_changed_word_returns_at_once() {
    let word = AtomicU32::new(5);
    assert_eq!(wait(&word, 4, None).unwrap(), Woke::Changed);
    assert_eq!(wait(&word, 5, Some(Duration::from_millis(1))).unwrap(), Woke::TimedOut);
    assert_eq!(wake(&word, 1).unwrap(), 0, "nobody sleeps on it");
    store_and_wake(&word, 6).unwrap();
    assert_eq!(word.load(Ordering::Acquire), 6);
    assert_eq!(call::last().unwrap().args()[1].value(), "FUTEX_WAKE");
}
