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
//! cargo run --bin lesson05 -- --step   # pause in each part; in Part 3 while a dead writer
//!                                      # holds the semaphore: `ipcs -s -i <semid>`
//! ```
//!
//! Things to try: change the writers' count; remove the lock from Part 2 and run it a few times
//! with `--fast` (lines of the log overwrite each other).

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use shm_workbook::Shareable;
use shm_workbook::process::{self, Exit};
use shm_workbook::wait::{self, Partner};
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
    parent.call_note("the shmid");
    let memory = segment.attach()?;
    parent.call_note("inherited by each child");
    let semaphore = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("the semid");
    semaphore.set_value(LOCK, 1)?;
    parent.call_note("1: free");

    let mut writers = Vec::new();
    for number in 1..=WRITERS {
        writers.push(process::spawn(&format!("writer {number}"), |writer| {
            let pid = writer.pid();
            wait::take(&semaphore, LOCK)?; // as the document does: no SEM_UNDO (see Part 3)
            writer.say(format!("Process {pid} is writing to shared memory."));
            memory.store_c_string(0, &format!("Process {pid} writing to shared memory."))?;
            std::thread::sleep(hold_time(lesson));
            writer.say(format!("Shared memory contains: {}", memory.load_c_string(0)));
            semaphore.post(LOCK)
        })?);
    }
    process::wait_all(writers)?; // in the order they end; if one fails, the others are stopped
    lesson.step(
        &parent,
        &format!(
            "The three writers are done. In another terminal, run:  ipcs -s -i {}\n\
             value 1: free again; pid: the writer that gave it back last.\n\
             Then:  ipcs -m -i {}   nattch 1: the writers' attachments ended with them.",
            semaphore.id(),
            segment.id()
        ),
    );
    parent.explain("all three wrote to offset 0, so each message replaced the one before:");
    parent.line().text("final contents: ").value(format!("{:?}", memory.load_c_string(0))).print();
    parent.explain(
        "the semaphore kept the writers from mixing their bytes, but two of the three messages are \
         lost",
    );
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
            writer.call_note("holding the lock");
            log.append(&format!("Process {pid} writing to shared memory.\n"))?;
            std::thread::sleep(hold_time(lesson));
            drop(guard);
            // Printed after the release: the next writer's "holding" line may come first.
            writer.call_note("released");
            Ok(())
        })?);
    }
    process::wait_all(writers)?;
    lesson.step(
        &parent,
        &format!(
            "In another terminal, run:  ipcs -s -i {}\n\
             value 1 and ncount 0: each writer's SEM_UNDO lock was given back; nobody waits.",
            semaphore.id()
        ),
    );
    parent.explain(
        "a release and the next writer's take are printed by two processes at once: either line \
         may come first",
    );
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
    parent.call_note("0: the lock, 1: \"I hold it\"");
    const HOLDING: usize = 1; // writer 1 posts here once it holds the lock
    set.set_value(LOCK, 1)?;
    parent.call_note("1: free");

    let victim = process::spawn("writer 1", |writer| {
        if undo {
            std::mem::forget(set.lock(LOCK)?); // never released: the process dies first
        } else {
            set.wait(LOCK)?;
        }
        writer.call_note("holding the semaphore, and about to crash");
        set.post(HOLDING)?;
        std::thread::sleep(Duration::from_secs(3600));
        Ok(())
    })?;
    let pid = victim.pid();
    wait::take_posted(&set, HOLDING, Partner::Child(pid))?;
    if !undo {
        let semid = set.id();
        lesson.step(
            &parent,
            &format!(
                "writer 1 holds semaphore {semid} and is still alive.\n\
                 Run:  ipcs -s -i {semid}\n\
                 semnum 0 has value 0, and its pid is writer 1's, {pid}."
            ),
        );
    }
    victim.signal(Signal::SIGKILL)?;
    parent.call_note("writer 1 dies, holding the semaphore");
    let exit = victim.wait_exit()?;
    if exit != Exit::Signal(Signal::SIGKILL) {
        return Err(Error::other(
            "reaping writer 1",
            format!("expected death by SIGKILL, got {exit:?}"),
        ));
    }
    parent.call_note("writer 1 was killed by SIGKILL");
    set.value(LOCK)?;
    parent.call_note(if undo {
        "the kernel undid writer 1's -1"
    } else {
        "still taken, by a dead process"
    });
    set.last_pid(LOCK)?;
    parent.call_note("the last process to operate on it");

    let patience = if lesson.fast() { Duration::from_millis(100) } else { Duration::from_secs(2) };
    let next = process::spawn("writer 2", |writer| {
        writer.explain(format!("waits for the semaphore, for at most {patience:?}"));
        if set.wait_timeout(LOCK, patience)? {
            writer.call_note("got the semaphore: writing");
            set.post(LOCK)?;
            writer.call_note("and gave it back");
        } else {
            writer.call_note(format!(
                "timed out after {patience:?}: with semop and no timeout, this writer would wait \
                 forever"
            ));
        }
        Ok(())
    })?;
    if !undo {
        // While writer 2 waits, the kernel counts it.
        std::thread::sleep(patience / 2);
        set.waiting(LOCK)?;
        parent.call_note("processes waiting for the semaphore");
    }
    next.wait()?;
    Ok(())
}
// ANCHOR_END: dies_holding
