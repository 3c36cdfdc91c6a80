//! # Exercise 09, solved: create before fork, and waits that notice a dead partner
//!
//! The segment exists before the fork, so the consumer's `shmget` without IPC_CREAT always
//! finds it. Each side waits with `wait_while`, which spins a little, then sleeps on a futex,
//! and checks now and then that its partner is alive: a dead partner ends the wait with an
//! error that names it. `publish` stores the flag (Release) and wakes a sleeping partner.

use shm_workbook::shared::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use shm_workbook::Shareable;
use shm_workbook::wait::{self, Partner, Policy};
use shm_workbook::{Key, Narrator, Result, ScratchDir, Segment, cleanup, exercise_data, process};

const EMPTY: u32 = 0;
const FULL: u32 = 1;

/// A one-slot mailbox: the flag says who may touch the text.
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
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let messages = exercise_data::number("messages", 5) as u32;
    let producer = Narrator::new("producer");
    let mut scratch = ScratchDir::new("ex09")?;
    // ftok_unused: passes over a key that another segment holds (another user's, another run's).
    let key = Key::ftok_unused(scratch.create_file("mailbox", b"")?, b'M')?.key();
    let segment = Segment::create_for::<Mailbox>(key, 0o600)?;
    producer.call_note("created before the fork: the consumer will find it");

    let consumer = process::spawn("consumer", |out| {
        let segment = Segment::open(key, 0)?; // shmget(key, 0, 0): no IPC_CREAT
        out.call();
        let memory = segment.attach()?;
        let mailbox: &Mailbox = memory.view()?;
        for _ in 0..messages {
            wait::wait_while(&mailbox.flag, EMPTY, Policy::DEFAULT, Partner::parent())?;
            out.say(format!("consumed: {}", mailbox.get()));
            std::thread::sleep(Duration::from_millis(5)); // handling the message takes a moment
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
