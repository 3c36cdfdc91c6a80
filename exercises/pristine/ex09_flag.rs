//! # Exercise 09: A flag, a fork, and a partner that never comes
//!
//! Goal: a producer hands five messages to a consumer through a one-slot mailbox: a flag says
//! whether the slot is EMPTY or FULL. This is the document's producer/consumer (002), and it has
//! its two faults: it forks *before* creating the segment, so the consumer's `shmget` without
//! IPC_CREAT may run first and fail with ENOENT; and each side spins on the flag, so once its
//! partner is gone it spins for ever. (The document's flag is a plain `int`, a data race that
//! lets the compiler read it once and loop for ever; here it is an atomic, but the loops still
//! never notice a partner that died.)
//!
//! Follows lesson 06 (`cargo run --bin lesson06`).
//!
//! What the checker does: runs the program 50 times with jitter (which may let the consumer run
//! first after the fork), expects `consumed: message 1` to `message 5` in order; in some runs it
//! kills the consumer (SIGKILL) after message 2, and then the producer must stop with an error
//! within seconds instead of spinning. Nothing may be left behind. The number of messages comes
//! from `exercise_data`: the checker draws it for each run (by hand it is 5), so that a consumer
//! which counts to 5 by itself cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex09`; by hand: `cargo run --example ex09`.

use shm_workbook::shared::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use shm_workbook::Shareable;
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
    // TODO: create the segment here, before fork(), so that it exists when the consumer looks.

    let consumer = process::spawn("consumer", |out| {
        let segment = Segment::open(key, 0)?; // shmget(key, 0, 0): no IPC_CREAT
        out.call();
        let memory = segment.attach()?;
        let mailbox: &Mailbox = memory.view()?;
        for _ in 0..messages {
            // TODO: wait with shm_workbook::wait::wait_while, which ends with an error when the
            // partner dies (Partner::parent() here), and hand back with wait::publish.
            while mailbox.flag.load(Ordering::Acquire) == EMPTY {
                std::hint::spin_loop();
            }
            out.say(format!("consumed: {}", mailbox.get()));
            std::thread::sleep(Duration::from_millis(5)); // handling the message takes a moment
            mailbox.flag.store(EMPTY, Ordering::Release);
        }
        Ok(())
    })?;

    let segment = Segment::create_for::<Mailbox>(key, 0o600)?;
    producer.call_note("created after the fork, as in the document");
    let memory = segment.attach()?;
    let mailbox: &Mailbox = memory.view()?;
    for n in 1..=messages {
        // TODO: the same here, with Partner::Child(consumer.pid()).
        while mailbox.flag.load(Ordering::Acquire) == FULL {
            std::hint::spin_loop();
        }
        mailbox.put(&format!("message {n}"));
        mailbox.flag.store(FULL, Ordering::Release);
    }
    consumer.wait()?;
    Ok(())
}
