//! Lesson 07's proof that every item went through a queue exactly once: a segment with one
//! byte per item, which each consumer increments when it takes that item, and a check of
//! every byte afterwards.

use std::sync::atomic::Ordering;

use shm_workbook::error::{Error, Result};
use shm_workbook::narrate::Narrator;
use shm_workbook::region::Attachment;
use shm_workbook::shared::AtomicU8;
use shm_workbook::sysv::shm::Segment;

/// One byte per item of `producers` producers that each make `items` items numbered from 1.
#[derive(Debug)]
pub struct Tally {
    // Field order: the attachment detaches before the segment is removed.
    memory: Attachment,
    segment: Segment,
    producers: u64,
    items: u64,
}

impl Tally {
    /// The tally in `segment` (at least `producers * items` bytes, new and so all zero),
    /// attached by this process; forked consumers inherit the attachment.
    pub fn new(segment: Segment, producers: u64, items: u64) -> Result<Tally> {
        if segment.size() < (producers * items) as usize {
            return Err(Error::other("a tally", "the segment has less than a byte per item"));
        }
        let memory = segment.attach()?;
        Ok(Tally { memory, segment, producers, items })
    }

    /// The segment's id, for `ipcs -m -i`.
    pub fn id(&self) -> i32 {
        self.segment.id()
    }

    /// Counts one delivery of item `sequence` (from 1) of producer `producer` (from 1).
    pub fn seen(&self, producer: u32, sequence: u64) {
        let index = (u64::from(producer) - 1) * self.items + (sequence - 1);
        if let Some(count) = self.bytes().get(index as usize) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn bytes(&self) -> &[AtomicU8] {
        self.memory.bytes()
    }

    /// Every item of a surviving producer exactly once, the `killed` producer's at most once,
    /// printed one line per producer; an error naming the first producer for which that fails.
    pub fn check(&self, out: &Narrator, killed: Option<u64>) -> Result<()> {
        for (p, delivered) in self.deliveries(killed)? {
            let (who, what) = match killed == Some(p) {
                true => (format!("producer {p} (killed): "), " items delivered, none twice"),
                false => (format!("producer {p}: "), " items consumed exactly once"),
            };
            let count = format!("{delivered} of {}", self.items);
            out.line().text(who).value(count).text(what).print();
        }
        Ok(())
    }

    /// How many items of each producer arrived, once each checked as [`check`](Self::check)
    /// says.
    fn deliveries(&self, killed: Option<u64>) -> Result<Vec<(u64, u64)>> {
        let (producers, items) = (self.producers, self.items);
        let mut found = Vec::new();
        for p in 1..=producers {
            let counts: Vec<u8> = (0..items)
                .map(|s| self.bytes()[((p - 1) * items + s) as usize].load(Ordering::Relaxed))
                .collect();
            let delivered = counts.iter().filter(|&&c| c == 1).count() as u64;
            if counts.iter().any(|&c| c > 1) {
                return Err(Error::other(
                    "exactly-once check",
                    format!("an item of producer {p} was consumed twice"),
                ));
            }
            if killed != Some(p) && delivered != items {
                return Err(Error::other(
                    "exactly-once check",
                    format!("producer {p}: {delivered} of {items} items arrived"),
                ));
            }
            found.push((p, delivered));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_doubled_item_is_an_error_and_a_killed_producer_may_lose_some() {
        let segment = Segment::create(shm_workbook::Key::PRIVATE, 6, 0o600).unwrap();
        let tally = Tally::new(segment, 2, 3).unwrap();
        for sequence in 1..=3 {
            tally.seen(1, sequence);
        }
        tally.seen(2, 1);
        let err = tally.deliveries(None).unwrap_err();
        assert!(err.meaning().contains("producer 2: 1 of 3 items arrived"), "{err}");
        assert_eq!(tally.deliveries(Some(2)).unwrap(), [(1, 3), (2, 1)]);
        tally.seen(1, 2);
        let err = tally.deliveries(Some(2)).unwrap_err();
        assert!(err.meaning().contains("an item of producer 1 was consumed twice"), "{err}");
    }
}
