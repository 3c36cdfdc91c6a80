//! Verdict corpus: ex09, a cheat.
//! expect: fail
//! reason: only the first fault is fixed: each side spins on the flag for ever, so a killed
//! consumer leaves the producer spinning.

use shm_workbook::shared::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use shm_workbook::Shareable;
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

    fn get(&self) -> String {
        let len = self.len.load(Ordering::Relaxed) as usize;
        let bytes: Vec<u8> = self.text[..len].iter().map(|c| c.load(Ordering::Relaxed)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
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
        for _ in 0..messages {
            while mailbox.flag.load(Ordering::Acquire) == EMPTY {
                std::thread::yield_now();
            }
            out.say(format!("consumed: {}", mailbox.get()));
            std::thread::sleep(Duration::from_millis(5));
            mailbox.flag.store(EMPTY, Ordering::Release);
        }
        Ok(())
    })?;

    let memory = segment.attach()?;
    let mailbox: &Mailbox = memory.view()?;
    for n in 1..=messages {
        while mailbox.flag.load(Ordering::Acquire) == FULL {
            std::thread::yield_now();
        }
        mailbox.put(&format!("message {n}"));
        mailbox.flag.store(FULL, Ordering::Release);
    }
    consumer.wait()?;
    Ok(())
}
