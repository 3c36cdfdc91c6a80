//! The library's own tests, through its public API: one module per module of `src/`, named after
//! it. A test that needs a private item stays beside that item, in `src/`.

// An inline module, so that its files are found under tests/library/.
mod library {
    mod catalogue;
    mod error;
    mod flags;
    mod fold;
    mod futex;
    mod jitter;
    mod json;
    mod lesson;
    mod memfd;
    mod posix {
        mod mq;
        mod name;
        mod shm;
    }
    mod privilege;
    mod process;
    mod procfs;
    mod region;
    mod scratch;
    mod sysv {
        mod msg;
        mod sem;
        mod shm;
    }
    mod unnamed_sem;
    mod wait;
}
