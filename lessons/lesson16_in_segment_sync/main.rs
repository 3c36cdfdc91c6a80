//! # Lesson 16: synchronization that lives in the segment
//!
//! What it shows: locks and wake-ups whose whole state is a few bytes of shared memory, as
//! systems written today use them instead of a System V semaphore set.
//!
//! 1. A POSIX unnamed semaphore, `sem_init(sem, 1, 1)`, in the segment: several processes
//!    count through it, exactly. The same with `pshared` 0: a `sem_post` that wakes nobody.
//! 2. A futex word shared by two processes: one sleeps in `FUTEX_WAIT`, the other wakes it.
//! 3. A lost wake-up: the waiter checks, the wake lands before it sleeps, and it sleeps on.
//!    Then the fix: `FUTEX_WAIT` compares the word first, and returns `EAGAIN`.
//! 4. The cost: the lesson traces a child with `ptrace` and counts its system calls.
//!    Uncontended `sem_wait`/`sem_post` pairs make none; each `semop` is one.
//! 5. A holder that dies: the unnamed semaphore stays taken; `SEM_UNDO` gives a set's back.
//!
//! The classic documents synchronize with `semget`; issue 23 asks for what is used today.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson16
//! cargo run --bin lesson16 -- --workers 6 --pairs 100000
//! cargo run --bin lesson16 -- --step   # pause in each part: look with ipcs and ps
//! ```

mod asleep;
mod syscall_count;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use shm_workbook::Shareable;
use shm_workbook::futex::{self, Woke};
use shm_workbook::lesson::LessonFlag;
use shm_workbook::process::{self, Exit};
use shm_workbook::unnamed_sem::UnnamedSemaphore;
use shm_workbook::wait::{self, Partner, Policy};
use shm_workbook::{Attachment, Error, Key, Lesson, Result, Segment, SemaphoreSet};
use syscall_count::Stopper;

const FLAGS: &[LessonFlag] = &[
    LessonFlag::number("--workers", "N", "how many processes count in part 1", 4, (2, 32)),
    LessonFlag::number(
        "--pairs",
        "N",
        "how many wait/post pairs part 4 counts",
        1000,
        (1, 1 << 24),
    ),
];

/// Where each part's `sem_t` lives in the segment (after the board, aligned).
const SEM_AT: usize = 1024;

/// The words the processes share; every field is an atomic.
#[repr(C)]
struct Board {
    /// Part 1's counter: a read and a write, correct only under the semaphore.
    total: AtomicU64,
    /// The futex word of parts 2 and 3: 0 = not ready, 1 = ready.
    ready: AtomicU32,
    /// The waiter has checked `ready` (part 3), or is about to sleep (parts 1 and 2).
    checked: AtomicU32,
    /// Part 3: the wake has been sent, the waiter may go on to sleep.
    sent: AtomicU32,
    /// Part 4: 1 = the child is traced, 2 = it may not be; part 5: 1 = the holder holds it.
    said: AtomicU32,
}

// SAFETY: #[repr(C)], only atomics (valid for any bit pattern, zero included), no pointers.
unsafe impl Shareable for Board {}

impl Board {
    fn reset(&self) {
        self.total.store(0, Ordering::SeqCst);
        for word in [&self.ready, &self.checked, &self.sent, &self.said] {
            word.store(0, Ordering::SeqCst);
        }
    }
}

fn main() -> Result<()> {
    let lesson = Lesson::start_with("lesson16", FLAGS);
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, 4096, 0o600)?;
    parent.call_note("one segment: a board of words, and each part's sem_t at offset 1024");
    let memory = segment.attach()?;
    parent.call_note("inherited by every child");
    let board: &Board = memory.view()?;

    lesson.part("1. An unnamed semaphore in the segment, shared by processes");
    shared_semaphore(&lesson, &memory, board)?;
    private_semaphore(&lesson, &memory, board)?;

    lesson.part("2. A futex word shared by two processes");
    shared_futex(&lesson, &segment, board)?;

    lesson.part("3. A lost wake-up, and the compare that prevents it");
    lost_wake_up(&lesson, board, false)?;
    lost_wake_up(&lesson, board, true)?;

    lesson.part("4. What a wait costs: system calls, counted");
    cost(&lesson, &memory, board)?;

    lesson.part("5. A holder dies");
    holder_dies(&lesson, &memory, board)?;
    Ok(())
}

/// How long the waits that must time out last: short with `--fast`.
fn timeout(lesson: &Lesson) -> Duration {
    Duration::from_millis(if lesson.fast() { 100 } else { 1000 })
}

// ANCHOR: shared_semaphore
fn shared_semaphore(lesson: &Lesson, memory: &Attachment, board: &Board) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let sem = UnnamedSemaphore::init(memory, SEM_AT, 1, 1)?;
    parent.call_note("pshared 1: for processes; value 1: unlocked");
    let look = format!(
        "In another terminal, run:  ipcs -s\n\
         No new set: the semaphore is {} bytes at offset {SEM_AT} of the segment.\n\
         It is not a kernel object, so no ipcs lists it.\n\
         Then:  ipcs -m   the segment that holds it.",
        shm_workbook::unnamed_sem::SIZE
    );
    lesson.step(&parent, &look);
    let workers = lesson.number("--workers") as u32;
    let rounds = 2000;
    let mut children = Vec::new();
    for worker in 1..=workers {
        children.push(process::spawn(&format!("worker {worker}"), |_| {
            shm_workbook::call::unrecorded(|| {
                for _ in 0..rounds {
                    sem.wait()?;
                    let before = board.total.load(Ordering::Relaxed);
                    board.total.store(before + 1, Ordering::Relaxed); // safe only under the lock
                    sem.post()?;
                }
                Ok(())
            })
        })?);
    }
    process::wait_all(children)?;
    let total = board.total.load(Ordering::SeqCst);
    let expected = u64::from(workers * rounds);
    let line = parent.line().text("total: ").value(total).text(format!(" of {expected}"));
    line.note("nothing lost: one process at a time").print();
    if total != expected {
        return Err(Error::other("the unnamed semaphore", "it let two workers in at once"));
    }
    sem.value()?;
    parent.call_note("1 again: unlocked");
    sem.destroy()?;
    parent.call_note("no process uses it any more");
    Ok(())
}
// ANCHOR_END: shared_semaphore

// ANCHOR: private_semaphore
fn private_semaphore(lesson: &Lesson, memory: &Attachment, board: &Board) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let sem = UnnamedSemaphore::init(memory, SEM_AT + 64, 0, 0)?;
    parent.call_note("pshared 0: for the threads of ONE process; value 0");
    let patience = timeout(lesson);
    let waiter = process::spawn("waiter", |out| {
        board.checked.store(1, Ordering::SeqCst); // about to sleep: nothing else sleeps first
        let got = sem.wait_timeout(patience)?;
        out.call_note(if got { "woken" } else { "nobody woke it" });
        Ok(())
    })?;
    wait::wait_while(&board.checked, 0, Policy::DEFAULT, Partner::Child(waiter.pid()))?;
    asleep::wait_until_asleep(waiter.pid(), Duration::from_secs(5));
    lesson.step(
        &parent,
        &format!(
            "The waiter sleeps in sem_timedwait:  ps -o pid,stat,wchan:20 -p {}",
            waiter.pid()
        ),
    );
    sem.post()?;
    parent.call_note("the value is 1 now, but its wake-up was private to this process");
    waiter.wait()?;
    sem.value()?;
    parent.call_note("still 1: posted, and the waiter gave up all the same");
    parent.explain(
        "with pshared 0, glibc's futex calls carry FUTEX_PRIVATE_FLAG: the kernel looks for \
         sleepers in the caller's own address space, and the waiter is in another one",
    );
    sem.destroy()?;
    Ok(())
}
// ANCHOR_END: private_semaphore

// ANCHOR: shared_futex
fn shared_futex(lesson: &Lesson, segment: &Segment, board: &Board) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let waiter = process::spawn("waiter", |out| {
        let mine = segment.attach()?; // a second attachment: another address, the same page
        out.call_note("the same segment again, at an address of its own");
        let board: &Board = mine.view()?;
        board.checked.store(1, Ordering::SeqCst);
        while board.ready.load(Ordering::Acquire) == 0 {
            match futex::wait(&board.ready, 0, Some(Duration::from_secs(10)))? {
                Woke::Woken => out.call_note("woken by the other process"),
                Woke::Changed => out.call_note("the word had changed already: no sleep"),
                Woke::TimedOut if Partner::parent().has_died() => {
                    return Err(Error::other("waiting for the parent", "the parent ended"));
                }
                Woke::TimedOut | Woke::Interrupted => {}
            }
        }
        out.say("ready is 1: going on");
        Ok(())
    })?;
    wait::wait_while(&board.checked, 0, Policy::DEFAULT, Partner::Child(waiter.pid()))?;
    asleep::wait_until_asleep(waiter.pid(), Duration::from_secs(5));
    lesson.step(
        &parent,
        &format!("The waiter sleeps on the word:  ps -o pid,stat,wchan:20 -p {}", waiter.pid()),
    );
    board.ready.store(1, Ordering::Release);
    parent.say("stored 1 in the word ready");
    let woken = futex::wake(&board.ready, 1)?;
    parent.call_note(match woken {
        1 => "1 process woken: no FUTEX_PRIVATE_FLAG, so the kernel keys it by the page",
        _ => "nobody woken: the waiter was not asleep yet, and will find the word changed",
    });
    waiter.wait()?;
    Ok(())
}
// ANCHOR_END: shared_futex

// ANCHOR: lost_wake_up
fn lost_wake_up(lesson: &Lesson, board: &Board, fixed: bool) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.reset();
    let patience = timeout(lesson);
    let waiter = process::spawn("waiter", |out| {
        let seen = board.ready.load(Ordering::Acquire); // 1. check
        out.line().text("checked: ready = ").value(seen).note("not ready: I will sleep").print();
        wait::publish(&board.checked, 1, Policy::DEFAULT)?;
        // 2. The lesson holds the waiter here until the wake is sent: the unlucky timing,
        // which happens once in many runs by chance, happens every time.
        wait::wait_while(&board.sent, 0, Policy::DEFAULT, Partner::parent())?;
        // 3. sleep
        let expected = if fixed { seen } else { board.ready.load(Ordering::Acquire) };
        match futex::wait(&board.ready, expected, Some(patience))? {
            Woke::TimedOut => out.call_note("slept the whole timeout: the wake came before"),
            Woke::Changed => out.call_note("EAGAIN: the word is no longer what I checked"),
            Woke::Woken | Woke::Interrupted => out.call_note("woken"),
        }
        Ok(())
    })?;
    wait::wait_while(&board.checked, 0, Policy::DEFAULT, Partner::Child(waiter.pid()))?;
    lesson.step_once(&parent, || {
        format!(
            "The waiter has checked, and is held before its sleep:  ps -o pid,stat -p {}",
            waiter.pid()
        )
    });
    board.ready.store(1, Ordering::Release);
    let woken = futex::wake(&board.ready, 1)?;
    parent.call_note(format!("ready = 1, and {woken} woken: the waiter is not asleep yet"));
    wait::publish(&board.sent, 1, Policy::DEFAULT)?;
    waiter.wait()?;
    parent.explain(if fixed {
        "the waiter passed the value it checked, 0: the kernel compares it with the word, \
         under the lock that the wake takes too, and refuses to sleep"
    } else {
        "the waiter passed the value it saw as it went to sleep: that compares nothing, like \
         pause(), and a wake sent before the sleep is lost"
    });
    Ok(())
}
// ANCHOR_END: lost_wake_up

// ANCHOR: cost
fn cost(lesson: &Lesson, memory: &Attachment, board: &Board) -> Result<()> {
    let parent = lesson.narrator("parent");
    let pairs = lesson.number("--pairs");
    let sem = UnnamedSemaphore::init(memory, SEM_AT + 128, 1, 1)?;
    parent.call_note("unlocked, and nobody else uses it: every wait is uncontended");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("a System V semaphore set, for comparison");
    set.set_value(0, 1)?;
    parent.call_note("unlocked too");
    let kinds: [(&str, &Pairs); 2] = [
        ("sem_wait/sem_post", &|n| {
            shm_workbook::call::unrecorded(|| {
                (0..n).try_for_each(|_| sem.wait().and_then(|()| sem.post()))
            })
        }),
        ("semop -1/+1", &|n| {
            shm_workbook::call::unrecorded(|| (0..n).try_for_each(|_| semop_pair(&set)))
        }),
    ];
    for (what, work) in kinds {
        board.reset();
        let child = process::spawn("counted", |out| {
            let refused = syscall_count::trace_me()?;
            if let Some(why) = &refused {
                out.call_note(why);
            }
            let stopper = Stopper::new(refused.is_none());
            work(1)?; // one pair first, so that nothing is allocated for the first time below
            wait::publish(&board.said, if refused.is_some() { 2 } else { 1 }, Policy::DEFAULT)?;
            stopper.bracket(); // the count starts
            work(pairs)?;
            stopper.bracket(); // and ends
            Ok(())
        })?;
        let said = wait::wait_while(&board.said, 0, Policy::DEFAULT, Partner::Child(child.pid()))?;
        let pid = child.pid();
        let look =
            || format!("The child is stopped, and traced by us:  grep Tracer /proc/{pid}/status");
        if said == 1 {
            let pause = || lesson.step_once(&parent, look);
            let tally = syscall_count::count_between_stops(pid, pause)?;
            let line = parent.line().text(format!("{pairs} pairs of {what}: system calls: "));
            line.value(tally.text()).print();
        } else {
            lesson.step_once(&parent, || {
                format!("Not traced by us:  grep Tracer /proc/{pid}/status")
            });
            parent.say(format!("{pairs} pairs of {what}: not counted here (strace -f -c can)"));
        }
        child.wait()?;
    }
    parent.explain(
        "sem_wait and sem_post change the value in the segment with atomic instructions; they \
         call futex() only to sleep or to wake a sleeper. semop always enters the kernel.",
    );
    sem.destroy()?;
    Ok(())
}

/// Work that makes `n` wait/post pairs.
type Pairs<'a> = dyn Fn(u64) -> Result<()> + 'a;

fn semop_pair(set: &SemaphoreSet) -> Result<()> {
    set.wait(0)?;
    set.post(0)
}
// ANCHOR_END: cost

// ANCHOR: holder_dies
fn holder_dies(lesson: &Lesson, memory: &Attachment, board: &Board) -> Result<()> {
    let parent = lesson.narrator("parent");
    let sem = UnnamedSemaphore::init(memory, SEM_AT + 192, 1, 1)?;
    parent.call_note("a lock, unlocked");
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("a System V set, for comparison");
    set.set_value(0, 1)?;
    parent.call_note("a System V lock, unlocked");
    for undo in [false, true] {
        board.reset();
        let holder = process::spawn("holder", |out| {
            if undo {
                std::mem::forget(set.lock(0)?); // semop -1 with SEM_UNDO, never given back
            } else {
                sem.wait()?;
            }
            out.call_note("holding it, and about to be killed");
            wait::publish(&board.said, 1, Policy::DEFAULT)?;
            std::thread::sleep(Duration::from_secs(3600));
            Ok(())
        })?;
        wait::wait_while(&board.said, 0, Policy::DEFAULT, Partner::Child(holder.pid()))?;
        lesson.step_once(&parent, || {
            format!("The holder sleeps with the lock:  ps -o pid,stat -p {}", holder.pid())
        });
        holder.signal(Signal::SIGKILL)?;
        parent.call_note("the holder dies inside its critical section");
        if holder.wait_exit()? != Exit::Signal(Signal::SIGKILL) {
            return Err(Error::other("reaping the holder", "it did not die by SIGKILL"));
        }
        if undo {
            set.value(0)?;
            parent.call_note("1: the kernel undid the dead process's -1, as SEM_UNDO asks");
        } else {
            sem.value()?;
            parent.call_note("0: still taken, by a process that no longer exists");
            sem.wait_timeout(timeout(lesson))?;
            parent.call_note("nobody will ever post it: without a timeout, a wait for ever");
            sem.post()?;
            parent.call_note("only a process that knows the holder died can give it back");
        }
    }
    parent.explain("a robust pthread mutex (lesson 12) tells the next owner with EOWNERDEAD");
    sem.destroy()?;
    Ok(())
}
// ANCHOR_END: holder_dies
