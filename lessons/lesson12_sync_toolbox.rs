//! # Lesson 12: the synchronization toolbox
//!
//! What it shows: five tools for processes that share memory, each in a short step that checks
//! its own promise and prints the evidence.
//!
//! 1. A System V binary semaphore as a mutex: never more than one process inside.
//! 2. A process-shared, robust pthread mutex inside the segment: its owner dies holding it, the
//!    next `lock` reports `EOWNERDEAD`, the data is repaired and the mutex made consistent.
//! 3. A counting semaphore: at most K of N workers inside at once.
//! 4. An atomic `fetch_add` counter: exact without any lock.
//! 5. A barrier (a semaphore that everybody decrements, then waits to see at zero): nobody
//!    leaves before the last one arrives.
//!
//! It answers the source documents' interview question "how would you synchronize several
//! processes writing to shared memory?" (seed 000, question 7) with working code.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson12
//! cargo run --bin lesson12 -- --workers 6 --inside 3
//! cargo run --bin lesson12 -- --step   # pause at each tool: look at it with ipcs
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use shm_workbook::Shareable;
use shm_workbook::lesson::LessonFlag;
use shm_workbook::process::{self, Exit};
use shm_workbook::pthread::{Locked, SharedMutex};
use shm_workbook::wait::{self, Partner, Policy};
use shm_workbook::{Attachment, Error, Key, Lesson, Narrator, Result, Segment, SemaphoreSet};

const FLAGS: &[LessonFlag] = &[
    LessonFlag::number("--workers", "N", "how many worker processes each step starts", 5, (2, 32)),
    LessonFlag::number(
        "--inside",
        "K",
        "how many workers the counting semaphore lets in at once",
        2,
        (1, 31),
    ),
];

/// Counters the steps share; every field is an atomic.
#[repr(C)]
struct Board {
    inside: AtomicU32,
    most_inside: AtomicU32,
    total: AtomicU64,
    /// Two values that must always be equal: the data the robust mutex protects.
    pair: [AtomicU64; 2],
    next_event: AtomicU32,
    /// For the barrier: `(worker << 1) | departed`, in the order things happened.
    events: [AtomicU32; 128],
}

// SAFETY: #[repr(C)], only atomics (valid for any bit pattern, zero included), no pointers.
unsafe impl Shareable for Board {}

impl Board {
    /// Someone entered: count them and remember the highest count seen.
    fn enter(&self) {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_inside.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }

    fn reset(&self) {
        self.inside.store(0, Ordering::SeqCst);
        self.most_inside.store(0, Ordering::SeqCst);
        self.total.store(0, Ordering::SeqCst);
        self.pair.iter().for_each(|half| half.store(0, Ordering::SeqCst));
        self.next_event.store(0, Ordering::SeqCst);
    }
}

fn main() -> Result<()> {
    let lesson = Lesson::start_with("lesson12", FLAGS);
    let workers = lesson.number("--workers") as u32;
    let allowed = (lesson.number("--inside") as u32).min(workers - 1);

    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, 4096, 0o600)?;
    parent.call_note("the shmid: a board of counters, and a mutex at offset 2048");
    let memory = segment.attach()?;
    parent.call_note("inherited by every worker");
    let board: &Board = memory.view()?;

    lesson.part("1. A binary semaphore as a mutex");
    binary_semaphore(&lesson, board, workers)?;

    lesson.part("2. A robust, process-shared pthread mutex whose owner dies");
    robust_mutex(&lesson, &memory, board)?;

    lesson.part(format!("3. A counting semaphore: at most {allowed} of {workers} inside"));
    counting_semaphore(&lesson, board, workers, allowed)?;

    lesson.part("4. An atomic counter");
    let look = format!(
        "In another terminal:  ipcs -m -i {}   the board, with the counter in it\n\
         and:  ipcs -s   no new set: fetch_add needs no semaphore, no system call at all.",
        segment.id()
    );
    lesson.step(&parent, &look);
    atomic_counter(&lesson, board, workers)?;

    lesson.part("5. A barrier");
    barrier(&lesson, board, workers)?;
    Ok(())
}

/// A short stay in a critical section, long enough for others to try to get in.
fn linger(lesson: &Lesson) {
    std::thread::sleep(if lesson.fast() {
        Duration::from_micros(200)
    } else {
        Duration::from_millis(20)
    });
}

// ANCHOR: binary_semaphore
fn binary_semaphore(lesson: &Lesson, board: &Board, workers: u32) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let mutex = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("the semid");
    mutex.set_value(0, 1)?;
    parent.call_note("1 = unlocked");
    lesson.step(
        &parent,
        &format!(
            "In another terminal, run:  ipcs -s\n\
             The set {semid} has nsems 1. `ipcs -s -i {semid}` shows its one semaphore: semval 1, \
             unlocked.\n\
             Then:  ipcs -m   the board's segment, nattch 1: each worker inherits the attachment \
             at fork().",
            semid = mutex.id()
        ),
    );
    let rounds = 20;
    let mut children = Vec::new();
    for worker in 1..=workers {
        children.push(process::spawn(&format!("worker {worker}"), |_| {
            for _ in 0..rounds {
                let _held = mutex.lock(0)?; // semop -1 with SEM_UNDO; +1 when `_held` drops
                board.enter();
                let before = board.total.load(Ordering::Relaxed);
                linger(lesson);
                // a read-modify-write, safe only under the lock
                board.total.store(before + 1, Ordering::Relaxed);
                board.leave();
            }
            Ok(())
        })?);
    }
    process::wait_all(children)?;
    let most = board.most_inside.load(Ordering::SeqCst);
    let total = board.total.load(Ordering::SeqCst);
    parent
        .line()
        .text("most workers inside at once: ")
        .value(most)
        .note("a mutex allows 1")
        .print();
    parent.line().text("total: ").value(total).text(format!(" of {}", workers * rounds)).print();
    if most != 1 || total != u64::from(workers * rounds) {
        return Err(Error::other("binary semaphore check", "the mutex let two workers in"));
    }
    Ok(())
}
// ANCHOR_END: binary_semaphore

// ANCHOR: robust_mutex
fn robust_mutex(lesson: &Lesson, memory: &Attachment, board: &Board) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    // The mutex lives after the board, at an offset aligned for it.
    let mutex = SharedMutex::init(memory, 2048)?;
    returned(&parent, "pthread_mutex_init", "0", "process-shared and robust, in the segment");
    let doomed = process::spawn("owner", |owner| {
        mutex.lock()?;
        returned(owner, "pthread_mutex_lock", "0", "holding it");
        board.pair[0].store(1, Ordering::SeqCst); // the first half of an update...
        owner.explain("updated the first half of the pair, and about to die before the second");
        wait::publish(&board.inside, 1, Policy::DEFAULT)?;
        std::thread::sleep(Duration::from_secs(3600));
        Ok(())
    })?;
    // Wait until the owner says it holds the mutex (an error if it dies first), then kill it.
    wait::wait_while(&board.inside, 0, Policy::DEFAULT, Partner::Child(doomed.pid()))?;
    lesson.step(
        &parent,
        &format!(
            "The owner, pid {owner}, holds the mutex and sleeps. In another terminal, run:  \
             ipcs -m\n\
             nattch 2: this process and the owner. The mutex itself lives in the segment, at \
             offset 2048: no ipcs shows it.\n\
             Then:  ps -o pid,stat,cmd -p {owner}   the owner, about to be killed with SIGKILL.",
            owner = doomed.pid()
        ),
    );
    doomed.signal(Signal::SIGKILL)?;
    parent.call_note("the owner dies holding the mutex");
    if doomed.wait_exit()? != Exit::Signal(Signal::SIGKILL) {
        return Err(Error::other("reaping the owner", "the owner did not die by SIGKILL"));
    }
    parent.call_note("killed by SIGKILL");

    match mutex.lock()? {
        Locked::OwnerDied => {
            returned(
                &parent,
                "pthread_mutex_lock",
                "EOWNERDEAD",
                "we own it now, but the data may be half-updated",
            );
            let pair = |board: &Board| {
                (board.pair[0].load(Ordering::SeqCst), board.pair[1].load(Ordering::SeqCst))
            };
            parent
                .line()
                .text("the data it protects: pair = ")
                .value(format!("{:?}", pair(board)))
                .note("half-updated")
                .print();
            // finish the update
            board.pair[1].store(board.pair[0].load(Ordering::SeqCst), Ordering::SeqCst);
            parent.line().text("repaired: pair = ").value(format!("{:?}", pair(board))).print();
            mutex.make_consistent()?;
            returned(&parent, "pthread_mutex_consistent", "0", "the mutex is usable again");
        }
        Locked::Acquired => {
            return Err(Error::other(
                "pthread_mutex_lock",
                "expected EOWNERDEAD after the owner died",
            ));
        }
    }
    mutex.unlock()?;
    let again = mutex.lock()?;
    let result = if again == Locked::Acquired { "0" } else { "EOWNERDEAD" };
    returned(&parent, "pthread_mutex_lock", result, "an ordinary lock again");
    mutex.unlock()?;
    parent.explain("without the robust attribute, this lock would have blocked forever");
    Ok(())
}

/// What a pthread function returned. These are C library functions, not system calls (an
/// uncontended lock makes none), so the library does not record them as calls: the lesson
/// says in words what each one returned.
fn returned(out: &Narrator, function: &str, result: &str, note: &str) {
    out.line().text(format!("{function} returned ")).value(result).note(note).print();
}

// ANCHOR_END: robust_mutex

// ANCHOR: counting_semaphore
fn counting_semaphore(lesson: &Lesson, board: &Board, workers: u32, allowed: u32) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let gate = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("the semid");
    gate.set_value(0, allowed as i32)?;
    parent.call_note(format!("{allowed} places"));
    lesson.step(
        &parent,
        &format!(
            "In another terminal, run:  ipcs -s -i {}\n\
             semval {allowed}: the places left. Each worker takes one with semop -1 and gives it \
             back with +1.",
            gate.id()
        ),
    );
    let mut children = Vec::new();
    for worker in 1..=workers {
        children.push(process::spawn(&format!("worker {worker}"), |out| {
            let _place = gate.lock(0)?; // takes one of the places, waiting if none is left
            board.enter();
            out.line()
                .text("in")
                .note(format!("{} inside", board.inside.load(Ordering::SeqCst)))
                .print();
            linger(lesson);
            board.leave();
            Ok(())
        })?);
    }
    process::wait_all(children)?;
    let most = board.most_inside.load(Ordering::SeqCst);
    parent
        .line()
        .text("most workers inside at once: ")
        .value(most)
        .note(format!("never above {allowed}"))
        .print();
    if most > allowed {
        return Err(Error::other(
            "counting semaphore check",
            format!("{most} workers were inside at once"),
        ));
    }
    Ok(())
}
// ANCHOR_END: counting_semaphore

// ANCHOR: atomic_counter
fn atomic_counter(lesson: &Lesson, board: &Board, workers: u32) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let each = 100_000u64;
    let mut children = Vec::new();
    for worker in 1..=workers {
        children.push(process::spawn(&format!("worker {worker}"), |_| {
            for _ in 0..each {
                board.total.fetch_add(1, Ordering::Relaxed); // one indivisible read-add-write
            }
            Ok(())
        })?);
    }
    process::wait_all(children)?;
    let total = board.total.load(Ordering::SeqCst);
    let expected = u64::from(workers) * each;
    parent
        .line()
        .text("fetch_add total: ")
        .value(total)
        .text(format!(" of {expected}"))
        .note("no lock, nothing lost")
        .print();
    if total != expected {
        return Err(Error::other("atomic counter check", format!("{total} instead of {expected}")));
    }
    Ok(())
}
// ANCHOR_END: atomic_counter

// ANCHOR: barrier
fn barrier(lesson: &Lesson, board: &Board, workers: u32) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let barrier = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("the semid");
    barrier.set_value(0, workers as i32)?;
    parent.call_note("one count per worker still to arrive");
    let look = format!(
        "In another terminal:  ipcs -s -i {}\n\
         value {workers}: each worker takes one off, then waits until it is 0 (zcount).",
        barrier.id()
    );
    lesson.step(&parent, &look);
    let record = |worker: u32, departed: bool| {
        let slot = board.next_event.fetch_add(1, Ordering::SeqCst) as usize;
        if let Some(event) = board.events.get(slot) {
            event.store(worker << 1 | u32::from(departed), Ordering::SeqCst);
        }
    };
    let mut children = Vec::new();
    for worker in 1..=workers {
        let mut rng = SmallRng::seed_from_u64(lesson.seed() ^ u64::from(worker));
        children.push(process::spawn(&format!("worker {worker}"), |_| {
            let scale = if lesson.fast() { 1 } else { 100 };
            // arrive at a random time
            std::thread::sleep(Duration::from_micros(rng.random_range(0..1000) * scale));
            record(worker, false);
            barrier.add(0, -1)?; // "I am here"
            barrier.wait_for_zero(0)?; // wait until everyone is
            record(worker, true);
            Ok(())
        })?);
    }
    process::wait_all(children)?;

    let count = board.next_event.load(Ordering::SeqCst) as usize;
    let events: Vec<u32> = board.events[..count].iter().map(|e| e.load(Ordering::SeqCst)).collect();
    let names = |departed: u32| -> Vec<String> {
        events.iter().filter(|e| *e & 1 == departed).map(|e| format!("w{}", e >> 1)).collect()
    };
    parent.line().text("arrivals:   ").value(names(0).join(" ")).print();
    parent.line().text("departures: ").value(names(1).join(" ")).print();
    let last_arrival = events.iter().rposition(|e| e & 1 == 0);
    let first_departure = events.iter().position(|e| e & 1 == 1);
    match (last_arrival, first_departure) {
        (Some(last), Some(first)) if last < first => {
            parent.explain("every arrival comes before the first departure: nobody passed early")
        }
        _ => {
            return Err(Error::other("barrier check", "a worker left before the last one arrived"));
        }
    }
    Ok(())
}
// ANCHOR_END: barrier
