//! # Lesson 06: producer and consumer through a flag
//!
//! What it shows: the simplest hand-over between two processes: a record in shared memory
//! with a flag and a message. The producer writes a message and raises the flag; the consumer
//! waits for the flag, reads the message and lowers it; five messages, then `END`.
//!
//! It reproduces the flag-based producer/consumer of the source documents (seed 002), with the
//! same record (`{ flag, message[100] }`) and the same lines (`Producer wrote: Message N`,
//! `Consumer read: Message N`, `Consumer received END signal. Exiting...`), and corrects it:
//! - Part 1: the document forks *before* the segment exists, so its consumer's `shmget` (no
//!   IPC_CREAT) can fail with ENOENT while its producer spins for ever. Shown here.
//! - Part 2: the flag is an atomic, stored with Release after the message and loaded with
//!   Acquire before reading it. (The document's plain `int` flag is a data race: compiled with
//!   -O2, the loops never see the other side's store and the pair hangs.) The consumer still
//!   busy-waits: its CPU time is printed against the wall time.
//! - Part 3: a polite wait: spin briefly, then sleep in the kernel on the flag (futex), and
//!   the CPU time drops to almost nothing.
//! - Every wait names the process it waits for: if the other side dies, the wait ends with an
//!   error instead of spinning for ever (as the document's producer does).
//! - `--messages N` turns it into a stress run: N numbered messages, checked for loss,
//!   duplication and order, with the rate.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson06
//! cargo run --release --bin lesson06 -- --messages 1000000
//! ```

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use shm_workbook::lesson::LessonFlag;
use shm_workbook::process::{self, Exit};
use shm_workbook::shm::Shareable;
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Error, Key, Lesson, Narrator, Result, ScratchDir, Segment, call};

const FLAGS: &[LessonFlag] = &[LessonFlag::number(
    "--messages",
    "N",
    "instead of the story, a stress run with N numbered messages",
    1_000_000,
    (1, 100_000_000),
)];

// ANCHOR: mailbox
/// The document's record, `struct { int flag; char message[100]; }`, with an atomic flag.
#[repr(C)]
struct Mailbox {
    /// EMPTY: the producer may write. FULL: a complete message waits for the consumer.
    flag: AtomicU32,
    message: [AtomicU8; 100],
}

const EMPTY: u32 = 0;
const FULL: u32 = 1;

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern; zero is EMPTY and an empty
// message), no pointers.
unsafe impl Shareable for Mailbox {}

impl Mailbox {
    fn write(&self, text: &str) {
        let bytes = text.as_bytes();
        for (cell, byte) in self.message.iter().zip(bytes.iter().chain([&0u8])) {
            cell.store(*byte, Ordering::Relaxed);
        }
    }

    fn read(&self) -> String {
        let bytes: Vec<u8> = self
            .message
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .take_while(|&b| b != 0)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
// ANCHOR_END: mailbox

fn main() -> Result<()> {
    let lesson = Lesson::start_with("lesson06", FLAGS);
    if lesson.options().extra.contains_key("--messages") {
        lesson.part(format!("Stress run: {} messages", lesson.number("--messages")));
        return stress(&lesson, lesson.number("--messages"));
    }

    lesson.part("Part 1: the document forks before the segment exists");
    consumer_before_segment(&lesson)?;

    lesson.part("Part 2: the protocol done right, still busy-waiting");
    five_messages(&lesson, Policy::Spin)?;

    lesson.part("Part 3: a polite wait (spin briefly, then sleep on the flag)");
    five_messages(&lesson, Policy::DEFAULT)?;
    Ok(())
}

// ANCHOR: consumer_before_segment
/// The consumer looks the segment up by key before the producer has created it.
fn consumer_before_segment(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("producer");
    let mut dir = ScratchDir::new("lesson06")?;
    let key = Key::ftok(dir.create_file("shmfile", b"")?, 65)?;
    let consumer = process::spawn("consumer", |consumer| {
        // No IPC_CREAT, as in the document: it only looks the key up.
        match Segment::open(key, std::mem::size_of::<Mailbox>()) {
            Ok(_) => consumer.call_note("found: this time the producer was first"),
            Err(err) => {
                consumer.call_note("no IPC_CREAT, as in the document: nobody has created it yet");
                consumer.explain(err.meaning());
            }
        }
        Ok(())
    })?;
    parent.call_note("the consumer, forked before any segment exists, as in the document");
    consumer.wait_exit()?; // the document's producer would be slower than this, some of the time
    let _segment = Segment::create_for::<Mailbox>(key, 0o600)?;
    parent.call_note("too late: the consumer has given up");
    parent.explain("the document's producer would now write Message 1 and spin for ever, waiting for a consumer that is gone,");
    parent.explain(
        "and its segment would stay behind. The fix: create the segment before forking, as below.",
    );
    Ok(())
}
// ANCHOR_END: consumer_before_segment

// ANCHOR: five_messages
/// Five messages and END, with the consumer's wall and CPU time. Each side waits for the
/// other as `policy` says, and names the process it waits for: if that one dies, the wait ends
/// with an error instead of lasting for ever.
fn five_messages(lesson: &Lesson, policy: Policy) -> Result<()> {
    let producer = lesson.narrator("producer");
    let segment = Segment::create_for::<Mailbox>(Key::PRIVATE, 0o600)?;
    producer.call_note("the shmid, made before the fork: the consumer inherits it");
    let memory = segment.attach()?;
    let mailbox: &Mailbox = memory.view()?;
    producer.explain(format!("both sides wait with the policy: {}", policy.name()));

    let consumer = process::spawn("consumer", |consumer| {
        let (wall, cpu) = (Instant::now(), process::cpu_time()?);
        loop {
            // Until a message is complete (Acquire: its bytes are visible), or the producer dies.
            wait_while(&mailbox.flag, EMPTY, policy, Partner::parent())?;
            let message = mailbox.read(); // safe: the producer does not touch it until EMPTY
            if message == "END" {
                consumer.say("Consumer received END signal. Exiting...");
                publish(&mailbox.flag, EMPTY, policy)?;
                break;
            }
            consumer.say(format!("Consumer read: {message}"));
            publish(&mailbox.flag, EMPTY, policy)?; // Release, and a wake-up if it may sleep
        }
        report_cpu(consumer, wall.elapsed(), process::cpu_time()? - cpu);
        Ok(())
    })?;
    let the_consumer = Partner::Child(consumer.pid());

    let pause = if lesson.fast() { Duration::from_millis(5) } else { Duration::from_millis(300) };
    for n in 1..=5 {
        std::thread::sleep(pause); // the producer has other work: the consumer waits meanwhile
        let message = format!("Message {n}");
        mailbox.write(&message);
        producer.say(format!("Producer wrote: {message}"));
        publish(&mailbox.flag, FULL, policy)?;
        if n == 1 && policy != Policy::Spin {
            producer.call_note("the wake-up: it returns how many sleepers it woke");
        }
        wait_while(&mailbox.flag, FULL, policy, the_consumer)?; // until the consumer has taken it
    }
    mailbox.write("END");
    publish(&mailbox.flag, FULL, policy)?;
    consumer.wait()?;
    drop(memory);
    segment.remove()?;
    producer.call_note("segment removed");
    Ok(())
}
// ANCHOR_END: five_messages

fn report_cpu(out: &Narrator, wall: Duration, cpu: Duration) {
    let share = 100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    out.line()
        .text("waited ")
        .value(format!("{wall:.2?}"))
        .text(" of wall time, using ")
        .value(format!("{cpu:.2?}"))
        .text(" of CPU time")
        .note(format!("{share:.0}% of a core"))
        .print();
}

// ANCHOR: stress
/// N numbered messages: the consumer checks that each is the one after the last. The loops
/// are not recorded (a million futex calls in the trace would be measured too).
fn stress(lesson: &Lesson, count: u64) -> Result<()> {
    let producer = lesson.narrator("producer");
    let segment = Segment::create_for::<Mailbox>(Key::PRIVATE, 0o600)?;
    producer.call();
    let memory = segment.attach()?;
    let mailbox: &Mailbox = memory.view()?;
    let policy = Policy::DEFAULT;
    producer.explain(format!("both sides wait with the policy: {}", policy.name()));
    let started = Instant::now();

    let consumer = process::spawn("consumer", |consumer| {
        let mut expected = 1;
        call::unrecorded(|| {
            loop {
                wait_while(&mailbox.flag, EMPTY, policy, Partner::parent())?;
                let message = mailbox.read();
                publish(&mailbox.flag, EMPTY, policy)?;
                if message == "END" {
                    return Ok(());
                }
                let number: u64 =
                    message.strip_prefix("Message ").and_then(|n| n.parse().ok()).unwrap_or(0);
                if number != expected {
                    return Err(Error::other(
                        "consumer check",
                        format!(
                            "expected Message {expected}, got {message:?}: lost, duplicated or out of order"
                        ),
                    ));
                }
                expected += 1;
            }
        })?;
        consumer
            .line()
            .text("received ")
            .value(expected - 1)
            .text(" messages, each exactly once and in order")
            .print();
        Ok(())
    })?;
    let the_consumer = Partner::Child(consumer.pid());

    call::unrecorded(|| {
        for n in 1..=count {
            mailbox.write(&format!("Message {n}"));
            publish(&mailbox.flag, FULL, policy)?;
            wait_while(&mailbox.flag, FULL, policy, the_consumer)?;
        }
        mailbox.write("END");
        publish(&mailbox.flag, FULL, policy)
    })?;
    let exit = consumer.wait_exit()?;
    let elapsed = started.elapsed();
    if exit != Exit::Code(0) {
        return Err(Error::other(
            "stress run",
            format!("the consumer failed ({exit:?}); its message is above"),
        ));
    }
    let rate = count as f64 / elapsed.as_secs_f64();
    producer
        .line()
        .value(count)
        .text(" messages in ")
        .value(format!("{elapsed:.2?}"))
        .text(": ")
        .value(format!("{rate:.0} messages/s"))
        .note("none lost, duplicated or reordered")
        .print();
    Ok(())
}
// ANCHOR_END: stress
