//! # Lesson 01: parent writes, child reads
//!
//! What it shows: a System V shared memory segment created with `IPC_PRIVATE` *before*
//! `fork()`, so that parent and child both know its id. The parent attaches and writes
//! "Hello from parent!"; the child attaches and prints `Child read: Hello from parent!`; the
//! parent removes the segment.
//!
//! It reproduces the Chapter 7 program of the source documents (seed 001), then corrects it:
//! - Part 1 runs it the document's way: the child sleeps one second and hopes the parent has
//!   written by then.
//! - Part 2 shows that this is luck, not synchronization: without the sleep the child may read
//!   an empty segment (we count how often), and a parent delayed longer than the sleep makes
//!   the sleeping child read nothing at all.
//! - Part 3 does it right: the child waits on a semaphore that the parent raises only after
//!   writing, so the read cannot come first, whatever the scheduler does.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson01             # the whole story
//! cargo run --bin lesson01 -- --step   # pause in every part, saying what `ipcs -m` shows
//! cargo run --bin lesson01 -- --help
//! ```
//!
//! Things to try: run it under load (`yes > /dev/null &` twice) and watch Part 2's counts
//! change; press Ctrl-C at a `--step` pause, then check `ipcs -m` is as it was.

use std::time::Duration;

use rand::RngExt;
use shm_workbook::{Key, Lesson, Result, Segment, SemaphoreSet, process};

/// The segment's size, as in the document.
const SIZE: usize = 1024;
/// What the parent writes.
const MESSAGE: &str = "Hello from parent!";

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson01");

    lesson.part("Part 1: the document's way (the child sleeps and hopes)");
    documents_way(&lesson)?;

    lesson.part("Part 2: why sleeping is not synchronization");
    let parent = lesson.narrator("parent");
    parent.explain(
        "the same program without the one-second sleep, many times over: fork, both attach, the \
         child reads at once",
    );
    count_reads_without_sleep(&lesson, Duration::ZERO)?;
    parent.explain(
        "on an idle machine the parent usually wins: a new child needs some microseconds to start",
    );
    parent.explain(format!(
        "now the parent is held up for 0 to 200 µs before it writes, as on a busy machine \
         (--seed {} repeats the delays):",
        lesson.seed()
    ));
    count_reads_without_sleep(&lesson, Duration::from_micros(200))?;
    parent.explain(
        "the outcome is the scheduler's choice, not the program's: a test that passes proves \
         nothing",
    );
    parent_slower_than_the_sleep(&lesson)?;

    lesson.part("Part 3: the correct way (the child waits on a semaphore)");
    with_a_semaphore(&lesson)?;
    Ok(())
}

// ANCHOR: documents_way
/// The program as the document wrote it, with mode 0600 instead of 0666.
fn documents_way(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    parent.call_note("the shmid, made before the fork, so the child inherits it");

    // The document sleeps one second; --fast shortens it, which changes nothing here.
    let nap = if lesson.fast() { Duration::from_millis(20) } else { Duration::from_secs(1) };
    let child = process::spawn("child", |child| {
        child.explain(format!("sleeps {nap:?}, hoping the parent writes in the meantime"));
        std::thread::sleep(nap);
        let memory = segment.attach()?;
        child.call();
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(()) // dropping `memory` detaches: shmdt
    })?;
    parent.call_note("the child's pid");

    let memory = segment.attach()?;
    parent.call();
    memory.store_c_string(0, MESSAGE)?;
    parent
        .line()
        .text("wrote ")
        .value(format!("{MESSAGE:?}"))
        .text(format!(" ({} bytes)", MESSAGE.len()))
        .print();
    memory.detach()?;
    parent.call();

    let child_pid = child.pid();
    child.wait()?;
    parent.call_note("the child exited with status 0");
    let shmid = segment.id();
    lesson.step(
        &parent,
        &format!(
            "Both have detached, and the segment is still there: detaching never removes one.\n\
             In another terminal, run:  ipcs -m -i {shmid}\n\
             nattch 0; cpid {}: the parent made it; lpid: the last to attach or detach,\n\
             the child {child_pid} if its sleep outlasted the parent's write.",
            parent.pid()
        ),
    );
    segment.remove()?;
    parent.call_note("segment removed");
    Ok(())
}
// ANCHOR_END: documents_way

// ANCHOR: count_reads
/// What each child saw, stored by the child where the parent reads it after `wait`.
const OUTCOME_AT: usize = 512;
const SAW_NOTHING: u8 = 1;
const SAW_PART: u8 = 2;
const SAW_ALL: u8 = 3;

/// The document's program without the sleep, many times. Before writing, the parent is held
/// up for a random time up to `parent_delay` (0: not at all), as a busy machine would.
fn count_reads_without_sleep(lesson: &Lesson, parent_delay: Duration) -> Result<()> {
    let parent = lesson.narrator("parent");
    let trials = if lesson.fast() { 40 } else { 400 };
    let mut rng = lesson.rng();
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let results = segment.attach()?;
    let mut counts = [0u32; 4];
    for _ in 0..trials {
        results.store(0, &[0; OUTCOME_AT + 1])?; // an empty segment, as shmget gives it
        let child = process::spawn("child", |_| {
            let memory = segment.attach()?;
            let outcome = match memory.load_c_string(0).as_str() {
                "" => SAW_NOTHING,
                MESSAGE => SAW_ALL,
                _ => SAW_PART,
            };
            memory.store(OUTCOME_AT, &[outcome])
        })?;
        busy_for(parent_delay.mul_f64(rng.random::<f64>()));
        let memory = segment.attach()?;
        memory.store_c_string(0, MESSAGE)?;
        drop(memory);
        child.wait()?; // after wait, the child's store is visible to us
        counts[usize::from(results.load(OUTCOME_AT, 1)[0])] += 1;
    }
    let [_, nothing, part, all] = counts;
    parent
        .line()
        .text("the child read nothing ")
        .value(nothing)
        .text(" times, part of the message ")
        .value(part)
        .text(", all of it ")
        .value(all)
        .text(format!(" (out of {trials} runs)"))
        .print();
    Ok(())
}

/// Keeps the CPU busy for `duration`: a stand-in for a page fault, a printf, a preemption.
fn busy_for(duration: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < duration {
        std::hint::spin_loop();
    }
}
// ANCHOR_END: count_reads

// ANCHOR: slow_parent
/// A parent held up for longer than the child's sleep (a busy machine, a page fault, a
/// debugger). To make that certain, the parent here writes only after the child has finished.
fn parent_slower_than_the_sleep(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let nap = if lesson.fast() { Duration::from_millis(20) } else { Duration::from_millis(500) };
    parent.explain(
        "again with the sleep, but this time the parent is held up for longer than the child \
         sleeps",
    );
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let child = process::spawn("child", |child| {
        std::thread::sleep(nap);
        let memory = segment.attach()?;
        let text = memory.load_c_string(0);
        let note =
            if text.is_empty() { "empty: the parent has not written yet" } else { "unexpected" };
        child.line().text(format!("Child read: {text}")).note(note).print();
        Ok(())
    })?;
    child.wait()?; // the delay: however long the child sleeps, the parent is later
    let memory = segment.attach()?;
    memory.store_c_string(0, MESSAGE)?;
    parent
        .line()
        .text("wrote ")
        .value(format!("{MESSAGE:?}"))
        .text(", too late: nobody reads it")
        .print();
    parent.explain(
        "sleeping only makes the wrong order unlikely on an idle machine; nothing forbids it",
    );
    lesson.step(
        &parent,
        &format!(
            "The message is in the segment now, and nobody will read it.\n\
             In another terminal, run:  ipcs -m -i {}\n\
             nattch 1 (only the parent): the child that read too early has exited.",
            segment.id()
        ),
    );
    Ok(())
}
// ANCHOR_END: slow_parent

// ANCHOR: with_a_semaphore
/// The child blocks in semop until the parent, after writing, adds one to the semaphore.
fn with_a_semaphore(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    parent.call_note("the shmid");
    let written = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("the semid: a set of one semaphore");
    written.set_value(0, 0)?;
    parent.call_note("0 means: not written yet");

    let child = process::spawn("child", |child| {
        let memory = segment.attach()?;
        child.call();
        child.explain("takes one from the semaphore: at 0 that must wait for the parent");
        written.wait(0)?;
        child.call_note("returned only once the parent had added one");
        child.say(format!("Child read: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    parent.call_note("the child's pid");
    let memory = segment.attach()?;
    parent.call();

    if lesson.options().step {
        segment.wait_for_attachments(2, Duration::from_secs(5))?;
        lesson.step(&parent, &ipcs_hint(&segment, written.id()));
    }

    memory.store_c_string(0, MESSAGE)?;
    parent
        .line()
        .text("wrote ")
        .value(format!("{MESSAGE:?}"))
        .text(format!(" ({} bytes)", MESSAGE.len()))
        .print();
    written.post(0)?;
    parent.call_note("now, and only now, the child may read");
    memory.detach()?;
    parent.call();

    child.wait()?;
    parent.call_note("the child exited with status 0");
    segment.remove()?;
    parent.call_note("segment removed");
    written.remove()?;
    parent.call_note("semaphore set removed");
    Ok(())
}
// ANCHOR_END: with_a_semaphore

/// What `ipcs -m` shows at the pause.
fn ipcs_hint(segment: &Segment, semid: i32) -> String {
    format!(
        "Both processes are attached and the child is blocked in semop.\n\
         In another terminal, run:  ipcs -m\n\
         You will see a line for this segment:\n  \
         key 0x00000000 (IPC_PRIVATE: no key to find it by), shmid {shmid}, owner {owner},\n  \
         perms 600, bytes {SIZE}, nattch 2 (parent and child), no status.\n\
         `ipcs -m -p` adds the creator's pid and the last pid to attach; `ipcs -s` shows semid \
         {semid}.",
        shmid = segment.id(),
        owner = shm_workbook::lesson::user_name(),
    )
}
