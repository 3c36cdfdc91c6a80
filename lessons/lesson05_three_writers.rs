//! # Lesson 05: three writers under a semaphore
//!
//! What it shows: a System V semaphore used as a lock, so that three processes take turns at one
//! shared segment; and what a lock held by a dead process does to the others.
//!
//! It reproduces the three-writer program of the source documents (seed 000): one segment, one
//! semaphore set to 1, three children that each take the semaphore, print
//! `Process <pid> is writing to shared memory.`, copy `Process <pid> writing to shared memory.`
//! into the segment, print `Shared memory contains: ...` and give the semaphore back. Then it
//! shows what the document misses:
//! - every writer copies to offset 0, so only the last message survives (Part 1 prints the
//!   final contents); Part 2 keeps all three in a shared log whose length is guarded by the
//!   same semaphore;
//! - the document's semaphore has no SEM_UNDO: a writer that dies holding it blocks the others
//!   forever. Part 3 kills a writer on purpose while it holds the semaphore, shows the next
//!   writer time out (`semtimedop`, not a hang), then does it again with SEM_UNDO, where the
//!   kernel gives the semaphore back.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson05
//! cargo run --bin lesson05 -- --step   # pause while a dead writer holds the semaphore: `ipcs -s -i <semid>`
//! ```
//!
//! Things to try: change the writers' count; remove the lock from Part 2 and run it a few times
//! with `--fast` (lines of the log overwrite each other).

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use shm_workbook::process::{self, Exit};
use shm_workbook::shm::Shareable;
use shm_workbook::{Error, Key, Lesson, Result, Segment, SemaphoreSet};

const SIZE: usize = 1024;
const WRITERS: usize = 3;
/// The one semaphore of the set: 1 means free, 0 means a writer holds it.
const LOCK: usize = 0;

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson05");

    lesson.part("Part 1: the document's program (three writers, one semaphore)");
    documents_program(&lesson)?;

    lesson.part("Part 2: keep every message (a shared log under the same semaphore)");
    shared_log(&lesson)?;

    lesson.part("Part 3: a writer dies holding the semaphore");
    writer_dies_holding_the_lock(&lesson, false)?;
    writer_dies_holding_the_lock(&lesson, true)?;
    Ok(())
}

/// How long a writer keeps the semaphore, so that the others visibly wait.
fn hold_time(lesson: &Lesson) -> Duration {
    if lesson.fast() { Duration::ZERO } else { Duration::from_millis(300) }
}

// ANCHOR: documents_program
/// Each writer takes the semaphore, copies its message to offset 0, prints the segment, and
/// gives the semaphore back.
fn documents_program(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    parent
        .typed_call("shmget(IPC_PRIVATE, 1024, IPC_CREAT|0600)", format!("shmid {}", segment.id()));
    let memory = segment.attach()?;
    parent.typed_call_note(
        format!("shmat({}, NULL, 0)", segment.id()),
        format!("{:#x}", memory.address()),
        "inherited by each child",
    );
    let semaphore = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent
        .typed_call("semget(IPC_PRIVATE, 1, IPC_CREAT|0600)", format!("semid {}", semaphore.id()));
    semaphore.set_value(LOCK, 1)?;
    parent.typed_call_note(format!("semctl({}, 0, SETVAL, 1)", semaphore.id()), 0, "1: free");

    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            let pid = writer.pid();
            semaphore.wait(LOCK)?; // as the document does: no SEM_UNDO (Part 3 shows the cost)
            writer.say(format!("Process {pid} is writing to shared memory."));
            memory.store_c_string(0, &format!("Process {pid} writing to shared memory."))?;
            std::thread::sleep(hold_time(lesson));
            writer.say(format!("Shared memory contains: {}", memory.load_c_string(0)));
            semaphore.post(LOCK)
        })?);
    }
    for writer in writers {
        writer.wait()?;
    }
    parent.explain("all three wrote to offset 0, so each message replaced the one before:");
    parent.line().text("final contents: ").value(format!("{:?}", memory.load_c_string(0))).print();
    parent.explain("the semaphore kept the writers from mixing their bytes, but two of the three messages are lost");
    Ok(())
}
// ANCHOR_END: documents_program

// ANCHOR: shared_log
/// The log as it lies in the segment: `#[repr(C)]`, so every process agrees on the layout.
#[repr(C)]
struct SharedLog {
    /// How many bytes of `text` are used; changed only under the semaphore.
    len: AtomicU32,
    text: [AtomicU8; SIZE - 4],
}

// SAFETY: SharedLog is #[repr(C)], holds only atomics (valid for every bit pattern, zero
// included) and no pointers.
unsafe impl Shareable for SharedLog {}

impl SharedLog {
    /// Appends `line` at the end. The caller must hold the semaphore: between reading `len`
    /// and storing the new one, no other writer may append.
    fn append(&self, line: &str) -> Result<()> {
        let start = self.len.load(Ordering::Relaxed) as usize;
        let end = start + line.len();
        if end > self.text.len() {
            return Err(Error::other("append", "the log is full"));
        }
        for (cell, byte) in self.text[start..end].iter().zip(line.bytes()) {
            cell.store(byte, Ordering::Relaxed);
        }
        self.len.store(end as u32, Ordering::Relaxed);
        Ok(())
    }

    fn contents(&self) -> String {
        let len = self.len.load(Ordering::Relaxed) as usize;
        let bytes: Vec<u8> = self.text[..len.min(self.text.len())]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn shared_log(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let memory = segment.attach()?;
    let log: &SharedLog = memory.view()?;
    let semaphore = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    semaphore.set_value(LOCK, 1)?;
    parent.explain(format!(
        "shmid {} holds {{ len, text }}; semid {} guards both, and each writer now appends",
        segment.id(),
        semaphore.id()
    ));

    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            let pid = writer.pid();
            let guard = semaphore.lock(LOCK)?; // SEM_UNDO from here on
            writer
                .line()
                .typed_call(format!("semop({}, {{0, -1, SEM_UNDO}}, 1)", semaphore.id()))
                .note("holding the lock")
                .print();
            log.append(&format!("Process {pid} writing to shared memory.\n"))?;
            std::thread::sleep(hold_time(lesson));
            // Said before giving the lock back, so the story never shows two holders at once.
            writer
                .line()
                .typed_call(format!("semop({}, {{0, +1, SEM_UNDO}}, 1)", semaphore.id()))
                .note("releasing")
                .print();
            drop(guard);
            Ok(())
        })?);
    }
    for writer in writers {
        writer.wait()?;
    }
    parent.say("the log after three writers:");
    for line in log.contents().lines() {
        parent.line().text("  ").value(line).print();
    }
    Ok(())
}
// ANCHOR_END: shared_log

// ANCHOR: dies_holding
/// Writer 1 takes the semaphore and is killed before it gives it back; writer 2 then tries to
/// take it, with a timeout so that the lesson cannot hang.
fn writer_dies_holding_the_lock(lesson: &Lesson, undo: bool) -> Result<()> {
    let parent = lesson.narrator("parent");
    let how = if undo { "with SEM_UNDO" } else { "without SEM_UNDO, as in the document" };
    parent.explain(format!("writer 1 takes the semaphore {how}, then is killed"));
    let set = SemaphoreSet::create(Key::PRIVATE, 2, 0o600)?;
    const HOLDING: usize = 1; // writer 1 posts here once it holds the lock
    set.set_value(LOCK, 1)?;
    parent.typed_call_note(
        "semget(IPC_PRIVATE, 2, IPC_CREAT|0600)",
        format!("semid {}", set.id()),
        "0: the lock, 1: \"I hold it\"",
    );

    let victim = process::spawn("writer 1", |writer| {
        if undo {
            std::mem::forget(set.lock(LOCK)?); // never released: the process dies first
        } else {
            set.wait(LOCK)?;
        }
        writer.explain("holding the semaphore, and about to crash");
        set.post(HOLDING)?;
        std::thread::sleep(Duration::from_secs(3600));
        Ok(())
    })?;
    set.wait(HOLDING)?;
    if !undo {
        lesson.step(&parent, &format!("writer 1 holds semaphore {} and is still alive.\nRun:  ipcs -s -i {}\nsemval is 0, and sempid is writer 1's pid.", set.id(), set.id()));
    }
    victim.signal(Signal::SIGKILL)?;
    let pid = victim.pid();
    let exit = victim.wait_exit()?;
    if exit != Exit::Signal(Signal::SIGKILL) {
        return Err(Error::other(
            "waitpid(writer 1)",
            format!("expected death by SIGKILL, got {exit:?}"),
        ));
    }
    parent.typed_call_note(format!("kill({pid}, SIGKILL)"), 0, "writer 1 is dead");
    parent.typed_call_note(
        format!("semctl({}, 0, GETVAL)", set.id()),
        set.value(LOCK)?,
        if undo { "the kernel undid writer 1's -1" } else { "still taken, by a dead process" },
    );
    parent.typed_call_note(
        format!("semctl({}, 0, GETPID)", set.id()),
        set.last_pid(LOCK)?,
        "the last process to operate on it",
    );

    let patience = if lesson.fast() { Duration::from_millis(100) } else { Duration::from_secs(2) };
    let next = process::spawn("writer 2", |writer| {
        writer
            .line()
            .typed_call(format!("semtimedop({}, {{0, -1, 0}}, 1, {patience:?})", set.id()))
            .note("waiting for the semaphore")
            .print();
        if set.wait_timeout(LOCK, patience)? {
            writer.say("got the semaphore: writing");
            set.post(LOCK)
        } else {
            writer
                .line()
                .text("timed out after ")
                .value(format!("{patience:?}"))
                .note("with semop and no timeout, this writer would wait forever")
                .print();
            Ok(())
        }
    })?;
    if !undo {
        // While writer 2 waits, the kernel counts it.
        std::thread::sleep(patience / 2);
        parent.typed_call_note(
            format!("semctl({}, 0, GETNCNT)", set.id()),
            set.waiting(LOCK)?,
            "processes waiting for the semaphore",
        );
    }
    next.wait()?;
    Ok(())
}
// ANCHOR_END: dies_holding
