//! One error type for every lesson: which call failed, the errno, what it means here, and
//! what to do about it.
//!
//! A lesson's `main` returns `Result<(), Error>`. When it returns an error, Rust prints it with
//! `Debug` after `Error: ` and exits with status 1; our `Debug` is the readable text, so a student
//! sees a sentence and a hint, never a backtrace.

use std::fmt;

use nix::errno::Errno;

/// The result type of every fallible call in the workbook.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed call, described for a student.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    call: String,
    errno: Option<Errno>,
    meaning: String,
    hint: Option<String>,
}

impl Error {
    /// A system call failed with `errno`. `call` is written the way a C programmer would write
    /// it, for example `shmget(0x41020001, 1024, IPC_CREAT|IPC_EXCL|0600)`. The meaning comes
    /// from [`meaning_of`] for the call's name, falling back to `strerror`.
    pub fn sys(call: impl Into<String>, errno: Errno) -> Error {
        let call = call.into();
        let name = call.split('(').next().unwrap_or(&call).trim();
        let meaning =
            meaning_of(name, errno).map(str::to_owned).unwrap_or_else(|| errno.desc().to_owned());
        Error { call, errno: Some(errno), meaning, hint: None }
    }

    /// Something that is not a system call went wrong (a child failed, a check did not hold).
    pub fn other(call: impl Into<String>, meaning: impl Into<String>) -> Error {
        Error { call: call.into(), errno: None, meaning: meaning.into(), hint: None }
    }

    /// An I/O error from the standard library, for example while creating a temporary file.
    pub fn io(call: impl Into<String>, err: std::io::Error) -> Error {
        match err.raw_os_error() {
            Some(code) => Error::sys(call, Errno::from_raw(code)),
            None => Error::other(call, err.to_string()),
        }
    }

    /// Adds what the student can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// Replaces the generic meaning with one that fits this situation.
    pub fn with_meaning(mut self, meaning: impl Into<String>) -> Error {
        self.meaning = meaning.into();
        self
    }

    /// The call as a C programmer would write it.
    pub fn call(&self) -> &str {
        &self.call
    }

    /// The errno, when a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// What the failure means in this situation.
    pub fn meaning(&self) -> &str {
        &self.meaning
    }

    /// What to do about it, if there is something to do.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

/// What an errno means for a given call: the sentence the man page's ERRORS section would
/// give, in the words a student needs. `None` when we have nothing better than `strerror`.
pub fn meaning_of(call: &str, errno: Errno) -> Option<&'static str> {
    use Errno::*;
    Some(match (call, errno) {
        ("ftok", ENOENT) => {
            "the file does not exist (ftok needs an existing file: it builds the key from its \
             inode)"
        }
        ("ftok", EACCES) => "a directory on the path cannot be searched",
        ("shmget", ENOENT) => "no segment has this key, and IPC_CREAT was not given",
        ("shmget", EEXIST) => {
            "a segment with this key already exists, and IPC_CREAT|IPC_EXCL asked for a new one"
        }
        ("shmget", EINVAL) => {
            "the size is below SHMMIN or above SHMMAX, or larger than the existing segment with \
             this key"
        }
        ("shmget", EACCES) => {
            "a segment with this key exists, but its mode does not let you have the access you \
             asked for"
        }
        ("shmget", ENOSPC) => {
            "the system limit on segments (SHMMNI) or on shared memory pages (SHMALL) is reached"
        }
        ("shmget", ENOMEM) => "the kernel could not allocate memory for the segment",
        ("shmat", EINVAL) => {
            "no segment has this id (it was never created, or it was removed), or the address is \
             bad"
        }
        ("shmat", EACCES) => {
            "the segment's mode does not allow this attach (read-write needs write permission)"
        }
        ("shmat", EIDRM) => "the segment was removed",
        ("shmdt", EINVAL) => "no segment is attached at this address",
        ("shmctl", EINVAL) => {
            "no segment has this id (it was never created, or it was already removed)"
        }
        ("shmctl", EPERM) => {
            "only the owner, the creator or a privileged process may change or remove the segment"
        }
        ("shmctl", EACCES) => "IPC_STAT needs read permission on the segment",
        ("shmctl", EIDRM) => "the segment was removed",
        ("semget", ENOENT) => "no semaphore set has this key, and IPC_CREAT was not given",
        ("semget", EEXIST) => {
            "a semaphore set with this key already exists, and IPC_CREAT|IPC_EXCL asked for a new \
             one"
        }
        ("semget", EACCES) => {
            "a semaphore set with this key exists, but its mode does not let you use it"
        }
        ("semget", ENOSPC) => {
            "the system limit on semaphore sets (SEMMNI) or semaphores (SEMMNS) is reached"
        }
        ("semop" | "semtimedop", EIDRM) => {
            "the semaphore set was removed while this process waited on it"
        }
        ("semop" | "semtimedop", EINVAL) => "no semaphore set has this id (it was removed?)",
        ("semop" | "semtimedop", EINTR) => "a signal interrupted the wait",
        ("semop" | "semtimedop", EAGAIN) => {
            "the operation would have had to wait (IPC_NOWAIT) or the timeout expired"
        }
        ("semctl", EINVAL) => {
            "no semaphore set has this id, or the semaphore number is out of range"
        }
        ("semctl", EPERM) => {
            "only the owner, the creator or a privileged process may change or remove the set"
        }
        ("semctl", ERANGE) => "the value is outside 0..=SEMVMX",
        ("fork", EAGAIN) => "the limit on processes for this user (ulimit -u) is reached",
        ("shm_open", ENOENT) => {
            "no POSIX shared memory object has this name, and O_CREAT was not given"
        }
        ("shm_open", EEXIST) => {
            "an object with this name already exists, and O_CREAT|O_EXCL asked for a new one"
        }
        ("shm_open", EINVAL) => {
            "the name is not valid: it must start with '/' and contain no other '/'"
        }
        ("shm_open", EACCES) => "the object's mode does not allow this access",
        _ => return None,
    })
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno {
            Some(errno) => writeln!(f, "{} failed: {errno:?} ({})", self.call, errno.desc())?,
            None => writeln!(f, "{} failed", self.call)?,
        }
        write!(f, "  what it means: {}", self.meaning)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  what to do:    {hint}")?;
        }
        Ok(())
    }
}

/// `Debug` is the text of `Display`, folded at spaces to fit stderr's terminal (100 columns
/// when it is not one): `main` returning `Err` prints `Error: ` and `Debug`, and a student
/// should read a sentence, not a struct, nor a line wider than the window.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns = crate::fold::columns_of(libc::STDERR_FILENO);
        let text = self.to_string();
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            // The first line follows `Error: `; a meaning or a hint goes on under its start.
            let (first, lead) = if i == 0 { (columns - 7, "    ") } else { (columns, HANG) };
            lines.extend(crate::fold::wrap(line, first, columns - lead.len(), lead));
        }
        f.write_str(&lines.join("\n"))
    }
}

/// Where the text of `  what it means: ` and `  what to do:    ` starts.
const HANG: &str = "                 ";

impl std::error::Error for Error {}
