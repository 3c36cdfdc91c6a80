//! Lesson 04's replay: with `--step`, the finished run's events shown one per Enter
//! (`event 3 of 18`); without it, they print straight on.

use std::io::BufRead;

use shm_workbook::{Lesson, Narrator};

/// A finished run's events shown one at a time.
#[derive(Debug)]
pub struct Replay {
    step: bool,
    events: usize,
    shown: usize,
}

impl Replay {
    /// Steps through the record of a run that has finished, `events` events long: with
    /// `--step`, says once that it replays the run.
    pub fn new(lesson: &Lesson, out: &Narrator, events: usize) -> Replay {
        let step = lesson.stepping();
        if step {
            out.explain(format!(
                "replaying the run that just finished, one event at a time: press Enter for each \
                 of its {events} events"
            ));
        }
        Replay { step, events, shown: 0 }
    }

    /// Before showing the next event: with `--step`, waits for Enter (end of input goes on)
    /// and returns `event 3 of 18` for the event's line; without, returns `None` at once.
    pub fn next_event(&mut self) -> Option<String> {
        self.shown += 1;
        if !self.step {
            return None;
        }
        let _ = std::io::stdin().lock().read_line(&mut String::new());
        Some(format!("event {} of {}", self.shown, self.events))
    }
}
