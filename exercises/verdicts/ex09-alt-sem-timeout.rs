//! Verdict corpus: ex09, a valid alternative.
//! expect: pass
//! The slot is guarded by two SysV semaphores, EMPTY and FULL, made before the fork. Each side
//! waits with semtimedop for 50 ms at a time and checks between waits that its partner lives.

use std::time::Duration;

use shm_workbook::wait::Partner;
use shm_workbook::{
    Error, Key, Narrator, Result, ScratchDir, Segment, SemaphoreSet, exercise_data,
};
use shm_workbook::{cleanup, process};

const EMPTY: usize = 0; // 1: the producer may write the slot
const FULL: usize = 1; // 1: the consumer may read it

fn wait(set: &SemaphoreSet, n: usize, partner: Partner) -> Result<()> {
    while !set.wait_timeout(n, Duration::from_millis(50))? {
        if partner.has_died() {
            return Err(Error::other("waiting", "my partner has died"));
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let messages = exercise_data::number("messages", 5) as u32;
    let producer = Narrator::new("producer");
    let mut scratch = ScratchDir::new("ex09")?;
    let key = Key::ftok(scratch.create_file("mailbox", b"")?, b'M')?;
    let segment = Segment::create(key, 64, 0o600)?;
    let set = SemaphoreSet::create(Key::PRIVATE, 2, 0o600)?;
    set.set_value(EMPTY, 1)?;
    set.set_value(FULL, 0)?;

    let consumer = process::spawn("consumer", |out| {
        let segment = Segment::open(key, 0)?;
        let memory = segment.attach()?;
        for _ in 0..messages {
            wait(&set, FULL, Partner::parent())?;
            out.say(format!("consumed: {}", memory.load_c_string(0)));
            std::thread::sleep(Duration::from_millis(5));
            set.post(EMPTY)?;
        }
        Ok(())
    })?;

    let memory = segment.attach()?;
    let partner = Partner::Child(consumer.pid());
    for n in 1..=messages {
        wait(&set, EMPTY, partner)?;
        memory.store_c_string(0, &format!("message {n}"))?;
        set.post(FULL)?;
    }
    producer.say("handed over every message");
    consumer.wait()?;
    Ok(())
}
