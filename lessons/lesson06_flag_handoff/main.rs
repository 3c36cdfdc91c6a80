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
//! - Part 4: the plain `int` flag for real, in C (`flag.c`, beside this file) built by your
//!   `cc -O2`: the loop as compiled, a run that hangs, a Ctrl-C, and the segment it leaves behind.
//! - Every wait names the process it waits for: if the other side dies, the wait ends with an
//!   error instead of spinning for ever (as the document's producer does).
//! - `--messages N` turns it into a stress run: N numbered messages, checked for loss,
//!   duplication and order, with the rate.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson06
//! cargo run --bin lesson06 -- --step   # pause in each part: look with `ps` and `ipcs -m`
//! cargo run --release --bin lesson06 -- --messages 1000000
//! ```

mod cdemo;

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cdemo::Build;
use nix::sys::signal::Signal;
use shm_workbook::Shareable;
use shm_workbook::lesson::LessonFlag;
use shm_workbook::process::{self, Exit};
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Error, Key, Lesson, Result, ScratchDir, Segment};
use shm_workbook::{call, cleanup};

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

    lesson.part("Part 4: the document's plain int flag, in C, built by your cc -O2");
    plain_int_in_c(&lesson)
}

// ANCHOR: consumer_before_segment
/// The consumer looks the segment up by key before the producer has created it.
fn consumer_before_segment(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("producer");
    let mut dir = ScratchDir::new("lesson06")?;
    let key = Key::ftok_unused(dir.create_file("shmfile", b"")?, 65)?.explain_to(&parent);
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
    let consumer_pid = consumer.pid();
    consumer.wait_exit()?; // the document's producer would be slower than this, some of the time
    let segment = Segment::create_for::<Mailbox>(key, 0o600)?;
    parent.call_note("too late: the consumer has given up");
    let shmid = segment.id();
    lesson.step(
        &parent,
        &format!(
            "In another terminal:  ipcs -m -i {shmid}   (nattch 0: no consumer)\n\
             and:  ps -p {consumer_pid}   (nothing: the consumer found no segment, and left)"
        ),
    );
    parent.explain(
        "the document's producer would now write Message 1 and spin for ever, waiting for a \
         consumer that is gone,",
    );
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
        let stopwatch = process::Stopwatch::start()?;
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
        stopwatch.report(consumer, None)
    })?;
    let the_consumer = Partner::Child(consumer.pid());
    let how = match policy {
        Policy::Spin => "spins: state R, its TIME column grows by a second a second",
        _ => "sleeps on the flag in futex(): state S, TIME stands still",
    };
    lesson.step(
        &producer,
        &format!(
            "The consumer waits for Message 1 and {how}.\n\
             In another terminal:  ps -o pid,stat,time,wchan -p {}",
            consumer.pid()
        ),
    );

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
                            "expected Message {expected}, got {message:?}: lost, duplicated or out \
                             of order"
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

// ANCHOR: plain_int_in_c
/// The document's protocol in C (`flag.c`, beside this file) built by the student's `cc -O2`:
/// its loop, its hang, a Ctrl-C, its leftover segment. The Rust only watches: no plain `int` in
/// Rust.
fn plain_int_in_c(lesson: &Lesson) -> Result<()> {
    let out = lesson.narrator("lesson");
    let Some(cc) = cdemo::compiler() else {
        out.explain("no C compiler (cc) here: Part 4 is skipped (install gcc to see it)");
        return Ok(());
    };
    let mut dir = ScratchDir::new("lesson06-c")?;
    let source = include_str!("flag.c");
    let program = match cdemo::compile(&cc, &mut dir, "flag", source, &["-O2"])? {
        Build::Built(program) => program,
        Build::Failed { command, message } => {
            out.explain(format!("`{command}` failed ({message}): Part 4 is skipped"));
            return Ok(());
        }
    };
    out.line().text("built ").value(program.command()).note(program.compiler()).print();
    cdemo::show_wait_loop(&out, &program); // its loop as compiled, and what it means

    let key = Key::ftok_unused(dir.create_file("shmfile", b"")?, 65)?.explain_to(&out);
    out.call_note("the key the C program is given");
    // Signals held: no Ctrl-C can fall between the program's start and the adoption.
    let (running, segment) = cleanup::with_signals_held(|| -> Result<_> {
        let made_first = "made before exec, and written down under this pid: the lesson's next run \
                          removes it if this run is killed";
        let size = std::mem::size_of::<Mailbox>();
        let running = cdemo::start(&program, &[&key.hex()], (key, size), made_first)?;
        out.call_note(format!("becomes the C program: flag {}", key.hex()));
        let segment = running.adopt_segment(key, Duration::from_secs(10))?;
        out.call_note(
            "the program's own shmget, IPC_CREAT without IPC_EXCL, opened it; the lesson takes \
             over its removal, on Ctrl-C too: the program never removes it",
        );
        Ok((running, segment))
    })?;
    let watch = segment.attach_read_only()?;
    out.call_note("to watch the flag from outside: loads only");

    // Once the producer has written, look at the segment until it stops changing: the hang.
    running.wait_until(Duration::from_secs(10), || !cdemo::look(&watch).1.is_empty());
    std::thread::sleep(Duration::from_millis(20)); // for its "Producer wrote" line to come out
    let consumer = running.children().pop();
    lesson.step(
        &out,
        "In another terminal: ps -C flag -o pid,ppid,stat,time,args   (both in state \
         R)\nand:  ipcs -m -p   (the segment's cpid is the C producer)",
    );
    let window = Duration::from_millis(if lesson.fast() { 150 } else { 2000 });
    let (now, still, unchanged) = running.until_unchanged(window, || cdemo::look(&watch));
    if running.has_ended() {
        let exit = running.wait()?;
        out.call_note(format!("the C program {} before it hung", cdemo::ended(exit)));
        out.explain(
            "so this build did not hang here (see its loop above); it is still a data race",
        );
        return Ok(());
    }
    let seen = format!("for {still:.1?} unchanged: flag {}, message {:?}", now.0, now.1);
    out.line()
        .text(seen)
        .note(match (unchanged, now.0) {
            (false, _) => "still changing: not hung (yet)",
            (true, 1) => "a message waits, and the consumer does not take it",
            (true, _) => "the consumer took it, and the producer does not see the 0",
        })
        .print();
    cdemo::show_states(&out, [("producer", Some(running.pid())), ("consumer", consumer)]);
    out.explain(
        "state R: running, never sleeping. Each side spins on the copy of the flag it loaded \
         before its loop: a hang that would last for ever",
    );

    running.signal(Signal::SIGINT)?;
    out.call_note("so Ctrl-C, as anyone would: SIGINT to the C producer, and to its consumer");
    if let Some(pid) = consumer {
        cdemo::kill(pid, Signal::SIGINT)?;
        out.call();
        let exit = running.reap_orphan(pid)?;
        out.call_note(format!(
            "{}: an orphan once its parent died, reaped by the lesson",
            cdemo::ended(exit)
        ));
    }
    watch.detach()?;
    out.call();

    out.explain(format!(
        "the C program is dead, its segment (key {}) is not: /proc/sysvipc/shm, which ipcs -m -p \
         reads, still lists it",
        key.hex()
    ));
    cdemo::show_leftovers(&out, &segment)?; // its row, and how to find such segments
    segment.remove()?;
    out.call_note(
        "removed. The workbook's own runs write down what they create, and each lesson's start-up \
         removes what a killed run left (src/registry.rs)",
    );
    let exit = running.wait()?;
    out.call_note(format!("the C producer, {}: no handler, no cleanup", cdemo::ended(exit)));
    Ok(())
}

// ANCHOR_END: plain_int_in_c
