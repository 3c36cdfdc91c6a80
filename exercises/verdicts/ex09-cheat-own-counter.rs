//! Verdict corpus: ex09, a cheat.
//! expect: fail
//! reason: the consumer waits for each message but prints "message n" from its own counter,
//! not the text it could load from the slot.

use shm_workbook::shared::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use shm_workbook::Shareable;
use shm_workbook::wait::{self, Partner, Policy};
use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, exercise_data, process};

const EMPTY: u32 = 0;
const FULL: u32 = 1;

#[repr(C)]
struct Mailbox {
    flag: AtomicU32,
    len: AtomicU32,
    text: [AtomicU8; 56],
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Mailbox {}

impl Mailbox {
    fn put(&self, text: &str) {
        text.bytes().zip(&self.text).for_each(|(byte, cell)| cell.store(byte, Ordering::Relaxed));
        self.len.store(text.len().min(self.text.len()) as u32, Ordering::Relaxed);
    }
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let messages = exercise_data::number("messages", 5) as u32;
    let _producer = Narrator::new("producer");
    let mut scratch = ScratchDir::new("ex09")?;
    let key = Key::ftok(scratch.create_file("mailbox", b"")?, b'M')?;
    let segment = Segment::create_for::<Mailbox>(key, 0o600)?;

    let consumer = process::spawn("consumer", |out| {
        let segment = Segment::open(key, 0)?;
        let memory = segment.attach()?;
        let mailbox: &Mailbox = memory.view()?;
        for n in 1..=messages {
            wait::wait_while(&mailbox.flag, EMPTY, Policy::DEFAULT, Partner::parent())?;
            out.say(format!("consumed: message {n}"));
            std::thread::sleep(Duration::from_millis(5));
            wait::publish(&mailbox.flag, EMPTY, Policy::DEFAULT)?;
        }
        Ok(())
    })?;
    let memory = segment.attach()?;
    let mailbox: &Mailbox = memory.view()?;
    let partner = Partner::Child(consumer.pid());
    for n in 1..=messages {
        wait::wait_while(&mailbox.flag, FULL, Policy::DEFAULT, partner)?;
        mailbox.put(&format!("message {n}"));
        wait::publish(&mailbox.flag, FULL, Policy::DEFAULT)?;
    }
    consumer.wait()?;
    Ok(())
}
