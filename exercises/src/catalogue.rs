//! The one list of exercises: what each is, which lesson it follows, how the checker runs it,
//! what the unsolved program fails with, and the hints. A test checks that `Cargo.toml`, the
//! files in `exercises/`, the book and this list agree.

use std::time::Duration;

use crate::judge::{self, Failure};
use crate::runner::Trial;

/// Something done to some runs from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPlan {
    /// Nothing.
    None,
    /// Every run: Ctrl-C (SIGINT to the process group) at a random moment before this.
    InterruptWithin(Duration),
    /// Every `every`-th run: SIGKILL the process in `role` once it has printed a line starting
    /// with `text`.
    KillAfterLine {
        /// Which runs.
        every: usize,
        /// Whose.
        role: &'static str,
        /// After which line.
        text: &'static str,
    },
}

/// One exercise.
#[derive(Clone, Copy, Debug)]
pub struct Exercise {
    /// `ex01`: the bin name, and what the checker's commands take.
    pub name: &'static str,
    /// The file the student edits, in `exercises/` (the same name in `pristine/` and
    /// `solutions/`).
    pub file: &'static str,
    /// A short title.
    pub title: &'static str,
    /// The lesson it follows (`lesson01`).
    pub lesson: &'static str,
    /// What the unsolved program fails with: the kinds of failure the checker reports for it
    /// (the start of the kind: `deadlock on FILLED` also matches `deadlock on FILLED and MUTEX`),
    /// which the tests expect.
    pub failures: &'static [&'static str],
    /// Whether two unordered accesses to the same plain bytes, one a store, fail a run (a
    /// **data race**, found in the trace even when the output looks right): true where the
    /// exercise is about ordering one process's writes before another's reads.
    pub ordering: bool,
    /// How many copies run at once.
    pub copies: usize,
    /// What is done to runs from outside.
    pub fault: FaultPlan,
    /// How long a run may last at most (a run in which nothing happens for
    /// [`PATIENCE`](crate::runner::PATIENCE) is reported as stuck sooner).
    pub timeout: Duration,
    /// The semaphores' names, by number, for reports.
    pub semaphores: &'static [&'static str],
    /// Whether the checker plays a hostile peer on a Unix socket (see [`crate::peer`]).
    pub peer: bool,
    /// Hints, from a nudge to nearly the answer.
    pub hints: &'static [&'static str],
    /// The exercise's own look at a run: `Some` failure, or `None` to leave it to the common
    /// checks.
    pub judge: fn(&Trial) -> Option<Failure>,
}

impl Exercise {
    /// Judges one run: the exercise's own judge first, then the checks every exercise gets.
    pub fn judge(&self, trial: &Trial) -> Option<Failure> {
        (self.judge)(trial)
            .or_else(|| crate::judge::common(self.semaphores, trial))
            .or_else(|| if self.ordering { crate::judge::data_race(trial) } else { None })
    }

    /// The book page: `book/src/exercises/ex01.md`.
    pub fn page(&self) -> String {
        format!("exercises/{}.md", self.name)
    }
}

const fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Every exercise, in the order they are done.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "ex01",
        file: "ex01_sleep.rs",
        title: "Sleeping is not waiting",
        lesson: "lesson01",
        failures: &["read before write"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &["WRITTEN"],
        hints: &[
            "The child must not read until the parent has written. What can the child wait on that \
             only the parent's write can end?",
            "A semaphore that starts at 0: the child's `wait(0)` (semop -1) blocks until the \
             parent's `post(0)` (semop +1), which the parent makes after its store.",
            "Import it with `use shm_workbook::SemaphoreSet;`. Before the fork: `let written = \
             SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?; written.set_value(0, 0)?;`. In the \
             child, `written.wait(0)?` instead of the sleep; in the parent, `written.post(0)?` \
             after the store.",
        ],
        judge: judge::ex01,
    },
    Exercise {
        name: "ex02",
        file: "ex02_fixed_key.rs",
        title: "A key of your own",
        lesson: "lesson02",
        failures: &["key collision"],
        ordering: false,
        copies: 2,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "Two programs that pick the same number meet in the same segment. What key could the \
             other copy not have?",
            "`ftok` makes a key from a file's inode: a file that this run creates (`use \
             shm_workbook::ScratchDir;`, `ScratchDir::new`, then `create_file`) has an inode no \
             other live file has.",
            "With `use shm_workbook::ScratchDir;`: `let mut scratch = ScratchDir::new(\"ex02\")?; \
             let key = Key::ftok(scratch.create_file(\"key\", b\"\")?, b'K')?;`, then \
             `Segment::create(key, ...)` (IPC_EXCL: a taken key is an error) and \
             `Segment::open(key, 0)` in the child.",
        ],
        judge: judge::ex02,
    },
    Exercise {
        name: "ex03",
        file: "ex03_last_one_out.rs",
        title: "The last one out removes the segment",
        lesson: "lesson03",
        failures: &["leaked segment"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "Detaching (shmdt) never destroys a segment; only IPC_RMID does. Which process is the \
             last one that needs this one?",
            "Any process with permission may remove a segment, not only its creator: the reader \
             can, once it has read.",
            "In the reader, after printing: `memory.detach()?; segment.remove()?;` (or open it \
             with `Segment::adopt(key)`, which removes it on drop).",
        ],
        judge: judge::ex03,
    },
    Exercise {
        name: "ex04",
        file: "ex04_ctrl_c.rs",
        title: "Ctrl-C must not leave anything behind",
        lesson: "lesson03",
        failures: &["left behind after Ctrl-C"],
        ordering: false,
        copies: 1,
        fault: FaultPlan::InterruptWithin(Duration::from_millis(40)),
        timeout: seconds(20),
        peer: false,
        semaphores: &["LOCK"],
        hints: &[
            "SIGINT's default action ends the process at once: no destructor runs. What can run \
             when the signal arrives?",
            "A signal handler, installed before anything is created. It may only call \
             async-signal-safe functions: `shmctl`, `semctl`, `kill`, `waitpid`, `_exit`...",
            "The library has one: `shm_workbook::cleanup::install_signal_handlers();` as the first \
             line of main. It removes what this process created, stops and reaps the children, and \
             exits with status 130.",
        ],
        judge: judge::ex04,
    },
    Exercise {
        name: "ex05",
        file: "ex05_lost_update.rs",
        title: "A lost update, fixed with a semaphore",
        lesson: "lesson04",
        failures: &["lost update"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &["LOCK"],
        hints: &[
            "Between a worker's load and its store, another worker can load the same value. What \
             keeps the others out of that gap?",
            "A semaphore at 1 used as a lock: take it (-1) before the load, give it back (+1) \
             after the store.",
            "With `use shm_workbook::SemaphoreSet;`: `let lock = \
             SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?; lock.set_value(0, 1)?;` before the \
             fork, then `let _held = lock.lock(0)?;` as the first line of the loop's body.",
        ],
        judge: judge::ex05,
    },
    Exercise {
        name: "ex06",
        file: "ex06_tickets.rs",
        title: "One ticket each, with fetch_add",
        lesson: "lesson04",
        failures: &["lost update"],
        ordering: false,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "Two workers that load the same number both take that ticket. Which single instruction \
             both reads the old value and writes the new one?",
            "An atomic's `fetch_add(1, ...)` returns the value it replaced, in one step nobody can \
             cut in two.",
            "With `use shm_workbook::shared::AtomicU64;`: `let dispenser: &AtomicU64 = \
             memory.view()?; Ok(dispenser.fetch_add(1, Ordering::Relaxed))`.",
        ],
        judge: judge::ex06,
    },
    Exercise {
        name: "ex07",
        file: "ex07_three_writers.rs",
        title: "Three writers, three lines",
        lesson: "lesson05",
        failures: &["lost message"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &["LOCK"],
        hints: &[
            "Each writer writes at offset 0, over the line before. Where should a writer's line go \
             instead?",
            "After the text already there: its end is the first 0 byte. Find it and write there, \
             while you hold the semaphore.",
            "`let end = memory.load_c_string(0).len(); memory.store_c_string(end, &line)?;`",
        ],
        judge: judge::ex07,
    },
    Exercise {
        name: "ex08",
        file: "ex08_sem_undo.rs",
        title: "A writer dies holding the semaphore",
        lesson: "lesson05",
        failures: &["deadlock on LOCK"],
        ordering: false,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &["LOCK"],
        hints: &[
            "Writer 1 never gives LOCK back, and nothing else will. Who could give it back for a \
             process that has died?",
            "The kernel, if the process asked it to: SEM_UNDO makes the kernel undo a process's \
             semaphore operations when it ends.",
            "`let _held = set.lock(LOCK)?;` (semop with SEM_UNDO) instead of `set.wait(LOCK)?`; in \
             writers 2 and 3, drop the guard to give LOCK back instead of `post`.",
        ],
        judge: judge::ex08,
    },
    Exercise {
        name: "ex09",
        file: "ex09_flag.rs",
        title: "A flag, a fork, and a partner that never comes",
        lesson: "lesson06",
        failures: &["fork before create", "hangs after its partner died"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::KillAfterLine { every: 4, role: "consumer", text: "consumed: message 2" },
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "Two problems: the consumer may look for the segment before it exists, and a spinning \
             wait never notices that its partner is gone.",
            "Create the segment before fork(). Then wait with `shm_workbook::wait::wait_while`, \
             which checks that the partner is alive and ends with an error if it is not.",
            "Move `Segment::create_for::<Mailbox>(key, 0o600)?` above the spawn and import `use \
             shm_workbook::wait::{self, Partner, Policy};`. Consumer: \
             `wait::wait_while(&mailbox.flag, EMPTY, Policy::DEFAULT, Partner::parent())?` and \
             `wait::publish(&mailbox.flag, EMPTY, Policy::DEFAULT)?`; producer: the same with FULL \
             and `Partner::Child(consumer.pid())`.",
        ],
        judge: judge::ex09,
    },
    Exercise {
        name: "ex10",
        file: "ex10_ring.rs",
        title: "A bounded ring that deadlocks",
        lesson: "lesson07",
        failures: &["deadlock on FILLED"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &["FREE", "FILLED", "MUTEX"],
        hints: &[
            "Look at who holds what when it stops: the consumer sleeps on FILLED while it holds \
             MUTEX, and the producer needs MUTEX to post FILLED.",
            "Never sleep on a counting semaphore while holding a lock the other side needs to wake \
             you. `put` waits for FREE first, then takes MUTEX.",
            "In `take`: `set.wait(FILLED)?;` first, then `let _mutex = set.lock(MUTEX)?;`.",
        ],
        judge: judge::ex10,
    },
    Exercise {
        name: "ex11",
        file: "ex11_posix_reader.rs",
        title: "A POSIX reader of its own",
        lesson: "lesson08",
        failures: &["no communication"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "Reading back your own mapping proves nothing. The reader must be another program, \
             which knows only the object's name.",
            "`std::process::Command` starts a program (fork and exec): it inherits no mapping. \
             Start this same program with the arguments `read` and the name.",
            "Writer, with `use std::process::Command;`: \
             `Command::new(std::env::current_exe().map_err(|e| Error::io(\"current_exe\", \
             e))?).args([\"read\", &name]).status()`. Reader: `let object = \
             SharedObject::open_read_only(name)?; let memory = object.map_read_only(SIZE)?;` then \
             print a line that starts with \"Reader read:\".",
        ],
        judge: judge::ex11,
    },
    Exercise {
        name: "ex12",
        file: "ex12_permissions.rs",
        title: "A token only you can read",
        lesson: "lesson09",
        failures: &["open to others"],
        ordering: false,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "The mode's three octal digits are for the owner, the group and everybody else. Who \
             needs the token?",
            "0600: read and write for the owner, nothing for the others. And a process that only \
             reads attaches with SHM_RDONLY.",
            "`Segment::create(Key::PRIVATE, SIZE, 0o600)`, and `segment.attach_read_only()?` in \
             the helper.",
        ],
        judge: judge::ex12,
    },
    Exercise {
        name: "ex13",
        file: "ex13_robust_mutex.rs",
        title: "The mutex's owner died",
        lesson: "lesson12",
        failures: &["mutex not made consistent"],
        ordering: false,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "`lock` tells you the previous owner died (Locked::OwnerDied): the data may be \
             half-updated, and the mutex is marked inconsistent.",
            "Repair the data from its invariant (a + b = total), then call `make_consistent` \
             before you unlock; otherwise the mutex is unusable for good (ENOTRECOVERABLE).",
            "`Locked::OwnerDied => { let a = accounts.a.load(SeqCst); accounts.b.store(total - a, \
             SeqCst); mutex.make_consistent()?; }`",
        ],
        judge: judge::ex13,
    },
    Exercise {
        name: "ex14",
        file: "ex14_seqlock.rs",
        title: "A sequence lock's reader must retry",
        lesson: "lesson14",
        failures: &["torn read"],
        ordering: false,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "The reader loads the sequence before and after reading the fields. What do the two \
             values tell it?",
            "An odd value means the writer was at work; two different values mean a write began or \
             ended while it read. In both cases the fields may belong to two versions: read again.",
            "`loop { let before = ...load(Ordering::Acquire); if before % 2 == 1 { continue; } let \
             fields = read_fields(memory); fence(Ordering::Acquire); if ...load(Ordering::Relaxed) \
             == before { return fields; } }`",
        ],
        judge: judge::ex14,
    },
    Exercise {
        name: "ex15",
        file: "ex15_sealed_client.rs",
        title: "A client that checks the seals",
        lesson: "lesson15",
        failures: &["mapped an unsealed buffer"],
        ordering: false,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: true,
        semaphores: &[],
        hints: &[
            "The server can change the file's size whenever it likes, unless the file is sealed. \
             What must the client know before it trusts the size it reads?",
            "Ask with F_GET_SEALS before fstat and mmap: with F_SEAL_SHRINK the size cannot go \
             down, and with F_SEAL_SEAL no one can change the set of seals any more. Without them, \
             refuse the buffer.",
            "With `use nix::fcntl::SealFlag;` and `use shm_workbook::memfd::Seals;`: `let missing \
             = memfd.seals()?.missing(Seals(SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_SEAL)); if \
             !missing.is_empty() { server.send_byte(b'r')?; out.say(format!(\"Client refused: \
             {missing} missing\")); return Ok(()); }`",
        ],
        judge: judge::ex15,
    },
    Exercise {
        name: "ex16",
        file: "ex16_lost_wake_up.rs",
        title: "A wake-up that comes too early",
        lesson: "lesson16",
        failures: &["lost wake-up"],
        ordering: true,
        copies: 1,
        fault: FaultPlan::None,
        timeout: seconds(20),
        peer: false,
        semaphores: &[],
        hints: &[
            "Between the check of `ready` and the sleep, the parent may store 1 and call \
             FUTEX_WAKE, which then wakes nobody. What does FUTEX_WAIT do with the value you pass \
             it?",
            "FUTEX_WAIT sleeps only if the word still holds the value passed, and returns EAGAIN \
             at once otherwise. Pass the value your check saw, and the kernel refuses to sleep \
             when it changed since.",
            "`let seen = header.ready.load(Ordering::Acquire); if seen == 1 { break; }` ... \
             `futex::wait(&header.ready, seen, None)?;`",
        ],
        judge: judge::ex16,
    },
];

/// The exercise called `name`.
pub fn find(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|exercise| exercise.name == name)
}
