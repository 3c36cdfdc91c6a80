//! The list of lessons. `Cargo.toml`, `lessons/`, `book/src/SUMMARY.md` and `quizzes/` must
//! agree with it; `tests/checks/catalogue.rs` checks that they do.

/// One lesson of the workbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessonInfo {
    /// 1, 2, ...
    pub number: u32,
    /// The binary: `cargo run --bin lesson01`.
    pub bin: &'static str,
    /// The source file, relative to the repository root.
    pub source: &'static str,
    /// A short title.
    pub title: &'static str,
    /// What it shows, in one sentence (printed by `--help`).
    pub summary: &'static str,
    /// The program or section of the source documents it reproduces.
    pub reproduces: &'static str,
    /// The book chapter, relative to the repository root.
    pub chapter: &'static str,
    /// The quiz file, relative to the repository root.
    pub quiz: &'static str,
}

/// Where `--step` pauses differently from what the common flag promises (at least once in
/// every part), as the lesson's `--help` says it.
pub fn step_note(bin: &str) -> Option<&'static str> {
    match bin {
        "lesson06" => Some("Part 4 runs, and pauses, only where a C compiler (cc) is installed"),
        _ => None,
    }
}

/// Every lesson, in order.
pub const LESSONS: &[LessonInfo] = &[
    LessonInfo {
        number: 1,
        bin: "lesson01",
        source: "lessons/lesson01_parent_child.rs",
        title: "Parent writes, child reads",
        summary: "A System V segment created before fork(): the parent writes, the child reads; \
                  why sleep(1) is not synchronization, and a semaphore that is.",
        reproduces: "seed 001, Chapter 7: the parent/child shmget program",
        chapter: "book/src/lesson01.md",
        quiz: "quizzes/lesson01.toml",
    },
    LessonInfo {
        number: 2,
        bin: "lesson02",
        source: "lessons/lesson02_ftok_keys.rs",
        title: "Keys: ftok and named segments",
        summary: "ftok turns a file into a key that unrelated processes share; what happens when \
                  the file is missing; the same path and id give the same key; two programs with \
                  one fixed key share a segment unawares.",
        reproduces: "seed 004: the ftok parent/child program",
        chapter: "book/src/lesson02.md",
        quiz: "quizzes/lesson02.toml",
    },
    LessonInfo {
        number: 3,
        bin: "lesson03",
        source: "lessons/lesson03_segment_lifecycle/main.rs",
        title: "A segment's life",
        summary: "Create, attach, detach and remove a segment, with IPC_STAT and /proc/sysvipc/shm \
                  at each stage; a segment outlives its creator; IPC_RMID while attached marks it \
                  and the last detach frees it.",
        reproduces: "seeds 000 and 003: the lifespan and cleanup sections",
        chapter: "book/src/lesson03.md",
        quiz: "quizzes/lesson03.toml",
    },
    LessonInfo {
        number: 4,
        bin: "lesson04",
        source: "lessons/lesson04_race_condition/main.rs",
        title: "A race condition you can watch",
        summary: "Processes increment a shared counter with a separate read and write; a trace \
                  shows updates being lost, a count shows how many; fetch_add and a semaphore make \
                  it exact.",
        reproduces: "seed 001: the race-condition visualizer; seed 000: race conditions",
        chapter: "book/src/lesson04.md",
        quiz: "quizzes/lesson04.toml",
    },
    LessonInfo {
        number: 5,
        bin: "lesson05",
        source: "lessons/lesson05_three_writers.rs",
        title: "Three writers under a semaphore",
        summary: "A System V semaphore as a lock for three writer processes; why only the last \
                  message survives the document's program; a writer killed while holding the lock, \
                  without and with SEM_UNDO.",
        reproduces: "seed 000: the three-writer semaphore program",
        chapter: "book/src/lesson05.md",
        quiz: "quizzes/lesson05.toml",
    },
    LessonInfo {
        number: 6,
        bin: "lesson06",
        source: "lessons/lesson06_flag_handoff/main.rs",
        title: "Producer and consumer through a flag",
        summary: "A flag and a message in shared memory: the document's fork-before-create and \
                  plain-int bugs, an atomic flag with Release/Acquire, busy-waiting's CPU cost, a \
                  futex wait, a stress run, and the document's C built with your cc -O2: hung, \
                  interrupted, its leftover segment found.",
        reproduces: "seed 002: the flag-based producer/consumer program",
        chapter: "book/src/lesson06.md",
        quiz: "quizzes/lesson06.toml",
    },
    LessonInfo {
        number: 7,
        bin: "lesson07",
        source: "lessons/lesson07_bounded_ring/main.rs",
        title: "Producers and consumers over a bounded ring",
        summary: "K slots and counting semaphores (FREE, FILLED) plus two locks: back-pressure, \
                  consumers asleep in the kernel, several producers and consumers with every item \
                  checked, and a producer killed half-way.",
        reproduces: "seeds 000 and 002: producer/consumer as shared memory's typical use",
        chapter: "book/src/lesson07.md",
        quiz: "quizzes/lesson07.toml",
    },
    LessonInfo {
        number: 8,
        bin: "lesson08",
        source: "lessons/lesson08_posix_shm.rs",
        title: "POSIX shared memory",
        summary: "shm_open, ftruncate, mmap, munmap and shm_unlink, with a second process that \
                  reads what the first wrote; the object in /dev/shm; write/read/unlink from two \
                  terminals; SysV versus POSIX.",
        reproduces: "seed 001: the POSIX shared memory program",
        chapter: "book/src/lesson08.md",
        quiz: "quizzes/lesson08.toml",
    },
    LessonInfo {
        number: 9,
        bin: "lesson09",
        source: "lessons/lesson09_permissions/main.rs",
        title: "Permissions and access control",
        summary: "Modes 0600, 0640 and 0666 seen through IPC_STAT and ipcs; a real EACCES from \
                  another user; SHM_RDONLY and the SIGSEGV of a write through it; IPC_SET and who \
                  may use it.",
        reproduces: "seeds 000 and 003: the permissions and access control sections",
        chapter: "book/src/lesson09.md",
        quiz: "quizzes/lesson09.toml",
    },
    LessonInfo {
        number: 10,
        bin: "lesson10",
        source: "lessons/lesson10_error_handling/main.rs",
        title: "Every way the calls fail",
        summary: "Each failure of shmget, shmat, shm_open and ftok provoked on purpose and \
                  checked: the errno, what it means, and the C idiom (-1, (void *) -1, errno) it \
                  replaces.",
        reproduces: "seeds 000 and 003: the error handling sections",
        chapter: "book/src/lesson10.md",
        quiz: "quizzes/lesson10.toml",
    },
    LessonInfo {
        number: 11,
        bin: "lesson11",
        source: "lessons/lesson11_under_the_hood/main.rs",
        title: "Under the hood: mappings, addresses, pages",
        summary: "One segment at different virtual addresses in two processes, its line in \
                  /proc/self/maps, the same physical frame in pagemap, pages that arrive on first \
                  touch, and two attachments in one process.",
        reproduces: "seed 003: how shared memory works internally",
        chapter: "book/src/lesson11.md",
        quiz: "quizzes/lesson11.toml",
    },
    LessonInfo {
        number: 12,
        bin: "lesson12",
        source: "lessons/lesson12_sync_toolbox.rs",
        title: "The synchronization toolbox",
        summary: "A binary semaphore as a mutex, a robust process-shared pthread mutex whose owner \
                  dies, a counting semaphore, an atomic counter and a barrier, each checking its \
                  own promise.",
        reproduces: "seed 000: interview question 7 (synchronizing several writers)",
        chapter: "book/src/lesson12.md",
        quiz: "quizzes/lesson12.toml",
    },
    LessonInfo {
        number: 13,
        bin: "lesson13",
        source: "lessons/lesson13_ipc_benchmark/main.rs",
        title: "Shared memory against other IPC, measured",
        summary: "Throughput and round-trip latency of pipes, Unix sockets, SysV and POSIX message \
                  queues and shared memory (ring, spin, futex, semaphore), measured on this \
                  machine, each transfer verified.",
        reproduces: "every seed: the claim that shared memory is the fastest IPC",
        chapter: "book/src/lesson13.md",
        quiz: "quizzes/lesson13.toml",
    },
    LessonInfo {
        number: 14,
        bin: "lesson14",
        source: "lessons/lesson14_shared_config.rs",
        title: "Sharing a configuration",
        summary: "One writer updates a record whose fields must agree, several readers read it: \
                  torn reads without a protocol, none with a sequence lock that never blocks the \
                  writer.",
        reproduces: "seed 000: configuration sharing as a use case",
        chapter: "book/src/lesson14.md",
        quiz: "quizzes/lesson14.toml",
    },
    LessonInfo {
        number: 15,
        bin: "lesson15",
        source: "lessons/lesson15_memfd_seals/main.rs",
        title: "A memfd, sealed and passed",
        summary: "Two processes meet over a Unix socket: one makes memory with memfd_create and \
                  passes the descriptor with SCM_RIGHTS; a shrink under the reader raises SIGBUS; \
                  seals forbid it; nothing is left when the last holder goes.",
        reproduces: "beyond the documents: memfd, file seals and SCM_RIGHTS, as Wayland and \
                     PipeWire share buffers",
        chapter: "book/src/lesson15.md",
        quiz: "quizzes/lesson15.toml",
    },
    LessonInfo {
        number: 16,
        bin: "lesson16",
        source: "lessons/lesson16_in_segment_sync/main.rs",
        title: "Synchronization that lives in the segment",
        summary: "A POSIX unnamed semaphore and a futex word inside shared memory, used by several \
                  processes: pshared, a lost wake-up and the compare that prevents it, the system \
                  calls each wait costs (counted), and a holder that dies.",
        reproduces: "issue 23: what systems written today use instead of semget",
        chapter: "book/src/lesson16.md",
        quiz: "quizzes/lesson16.toml",
    },
];

/// The lesson whose binary is `bin`.
pub fn find(bin: &str) -> Option<&'static LessonInfo> {
    LESSONS.iter().find(|lesson| lesson.bin == bin)
}
