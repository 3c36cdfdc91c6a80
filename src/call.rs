//! What a lesson prints about a system call comes from the call itself.
//!
//! Every wrapper in this library that makes a call a lesson teaches (`shmget`, `shmat`, `semop`,
//! `shm_open`, `fork`, ...) builds a [`Call`] from the arguments it really passed and the
//! result it really got, and records it here. A lesson then prints the most recent one with
//! [`Narrator::call`](crate::Narrator::call), adding only its own words:
//!
//! ```no_run
//! # use shm_workbook::{Key, Lesson, Result, Segment};
//! # fn main() -> Result<()> {
//! # let lesson = Lesson::start("lesson01");
//! let parent = lesson.narrator("parent");
//! let segment = Segment::create(Key::PRIVATE, 1024, 0o600)?;
//! parent.call_note("created before fork(), so the child inherits the id");
//! // [parent 4242] shmget(IPC_PRIVATE, 1024, IPC_CREAT|IPC_EXCL|0600) = 32769   (created ...)
//! # Ok(()) }
//! ```
//!
//! so the text cannot drift from what the process did: a test runs every lesson under
//! `strace -f` and checks each recorded call against the kernel's view of the same run.
//!
//! With `--trace FILE`, every recorded call is also written to `FILE` as one line of JSON
//! (see [`Call::json`]), from every process of the run, each line in one `write(2)`.

use std::cell::RefCell;
use std::fmt::{self, Display};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use nix::errno::Errno;

use crate::error::Error;
use crate::json::Json;

/// One argument of a call, written as C would write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    text: String,
    comment: Option<String>,
}

impl Arg {
    /// An argument shown exactly as `text` (`IPC_PRIVATE`, `1024`, `SHM_RDONLY`).
    pub fn new(text: impl Display) -> Arg {
        Arg { text: text.to_string(), comment: None }
    }

    /// A C string literal: `"/shm-workbook-demo"`.
    pub fn string(text: &str) -> Arg {
        Arg::new(format!("{text:?}"))
    }

    /// A pointer: `NULL` or `0x7f3a1c000000`.
    pub fn pointer(address: usize) -> Arg {
        if address == 0 { Arg::new("NULL") } else { Arg::new(format!("{address:#x}")) }
    }

    /// Adds a C comment after the value: `104 /* sizeof(Record) */`.
    pub fn with_comment(mut self, comment: impl Display) -> Arg {
        self.comment = Some(comment.to_string());
        self
    }

    /// The value alone, without its comment: what `strace` would show.
    pub fn value(&self) -> &str {
        &self.text
    }
}

impl Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.comment {
            Some(comment) => write!(f, "{} /* {comment} */", self.text),
            None => f.write_str(&self.text),
        }
    }
}

/// A size argument that says where it comes from: `104 /* sizeof(Record) */`.
pub fn size_of<T>() -> Arg {
    let name = std::any::type_name::<T>();
    let short = name.rsplit("::").next().unwrap_or(name);
    Arg::new(std::mem::size_of::<T>()).with_comment(format!("sizeof({short})"))
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned this value (written as C would print it: `32769`, `0x7f3a1c000000`, `0`).
    Returned(String),
    /// It returned -1 (or `MAP_FAILED`, `(void *) -1`) and set `errno`.
    Failed(Errno),
}

/// A system call (or C library call) as it was made: its name, its arguments and its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    name: &'static str,
    args: Vec<Arg>,
    outcome: Outcome,
    pid: i32,
    time_ns: u64,
    started_ns: u64,
    helper: bool,
}

impl Call {
    /// The call's name, as in C: `shmget`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its arguments.
    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    /// How it ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The errno, if it failed.
    pub fn errno(&self) -> Option<Errno> {
        match self.outcome {
            Outcome::Failed(errno) => Some(errno),
            Outcome::Returned(_) => None,
        }
    }

    /// The process that made it.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The call without its result, as a C programmer writes it: `shmat(7, NULL, SHM_RDONLY)`.
    pub fn c_text(&self) -> String {
        let args: Vec<String> = self.args.iter().map(Arg::to_string).collect();
        format!("{}({})", self.name, args.join(", "))
    }

    /// The result as printed after ` = `: `32769`, or `-1 EACCES`.
    pub fn result_text(&self) -> String {
        match &self.outcome {
            Outcome::Returned(value) => value.clone(),
            Outcome::Failed(errno) => format!("-1 {errno:?}"),
        }
    }

    /// An [`Error`] for this call when it failed, with the meaning of its errno for this call.
    pub fn error(&self) -> Error {
        Error::sys(self.c_text(), self.errno().unwrap_or(Errno::UnknownErrno))
    }

    /// The call as one JSON object, the form `--trace` writes:
    ///
    /// ```json
    /// {"kind":"call","seq":4,"t_ns":81234567890,"pid":4242,"role":"parent","call":"shmget",
    ///  "args":["IPC_PRIVATE","1024","IPC_CREAT|IPC_EXCL|0600"],"result":"32769","errno":null,
    ///  "helper":false,"text":"shmget(IPC_PRIVATE, 1024, IPC_CREAT|IPC_EXCL|0600) = 32769"}
    /// ```
    ///
    /// `args` holds each argument's value without its C comment (as `strace` shows it);
    /// `result` is null and `errno` a name such as `"EACCES"` when the call failed; `t_ns` is
    /// when the call ended and `t0_ns` when it began (0 if the trace was off then), both
    /// `CLOCK_MONOTONIC` in nanoseconds, comparable between the processes of one run; `seq`
    /// counts the lines written by one process; `helper` is true for a call the library made
    /// on the way to another (the `IPC_STAT` after `shmat` that finds the segment's size).
    pub fn json(&self, seq: u64, role: &str) -> Json {
        let (result, errno) = match &self.outcome {
            Outcome::Returned(value) => (Json::from(value.as_str()), Json::Null),
            Outcome::Failed(errno) => (Json::Null, Json::from(format!("{errno:?}"))),
        };
        Json::object([
            ("kind", Json::from("call")),
            ("seq", Json::from(seq)),
            ("t_ns", Json::from(self.time_ns)),
            ("t0_ns", Json::from(self.started_ns)),
            ("pid", Json::from(i64::from(self.pid))),
            ("role", Json::from(role)),
            ("call", Json::from(self.name)),
            ("args", Json::Array(self.args.iter().map(|arg| Json::from(arg.value())).collect())),
            ("result", result),
            ("errno", errno),
            ("helper", Json::Bool(self.helper)),
            ("text", Json::from(self.to_string())),
        ])
    }
}

impl Display for Call {
    /// `shmget(IPC_PRIVATE, 1024, IPC_CREAT|IPC_EXCL|0600) = 32769`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.c_text(), self.result_text())
    }
}

/// A call being described: give its arguments, then record how it ended.
#[must_use = "a call is recorded only by .returned(...) or .failed(...)"]
pub struct CallBuilder {
    name: &'static str,
    args: Vec<Arg>,
    quiet: bool,
    off: bool,
    /// When the call began (0 without the trace): a call that synchronizes (a `semop` that
    /// posts) may have taken effect at any moment between its start and its end.
    started_ns: u64,
}

/// Starts describing a call to `name` (as C names it).
pub fn make(name: &'static str) -> CallBuilder {
    crate::jitter::point();
    let off = UNRECORDED.with(|depth| depth.get() > 0);
    let started_ns = if off || !tracing() { 0 } else { monotonic_ns() };
    CallBuilder { name, args: Vec::new(), quiet: false, off, started_ns }
}

thread_local! {
    static UNRECORDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs `work` without recording its calls: for a benchmark's measured loop, where writing
/// down a million `msgsnd`s would be measured too. Nothing in it can be printed with
/// [`Narrator::call`](crate::Narrator::call) or appears in the trace.
pub fn unrecorded<T>(work: impl FnOnce() -> T) -> T {
    UNRECORDED.with(|depth| depth.set(depth.get() + 1));
    let result = work();
    UNRECORDED.with(|depth| depth.set(depth.get() - 1));
    result
}

impl CallBuilder {
    /// Adds an argument written as `value` displays.
    pub fn arg(mut self, value: impl Display) -> Self {
        if !self.off {
            self.args.push(Arg::new(value));
        }
        self
    }

    /// Adds an argument built with [`Arg`]'s constructors.
    pub fn arg_with(mut self, arg: Arg) -> Self {
        if !self.off {
            self.args.push(arg);
        }
        self
    }

    /// A call the library makes on the way to another (the `IPC_STAT` that finds a segment's
    /// size after `shmat`): it goes to the trace, but [`Narrator::call`] prints the main call.
    ///
    /// [`Narrator::call`]: crate::Narrator::call
    pub fn helper(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// The call returned `value`; records it and returns it.
    pub fn returned(self, value: impl Display) -> Call {
        self.finish(Outcome::Returned(value.to_string()))
    }

    /// The call failed with `errno`; records it and returns it.
    pub fn failed(self, errno: Errno) -> Call {
        self.finish(Outcome::Failed(errno))
    }

    /// Records `Ok(value)` as returned and `Err(errno)` as failed.
    pub fn ended<T: Display>(self, result: std::result::Result<T, Errno>) -> Call {
        match result {
            Ok(value) => self.returned(value),
            Err(errno) => self.failed(errno),
        }
    }

    fn finish(self, outcome: Outcome) -> Call {
        let off = self.off;
        let call = Call {
            name: self.name,
            args: self.args,
            outcome,
            pid: if off { 0 } else { nix::unistd::getpid().as_raw() },
            time_ns: if off { 0 } else { monotonic_ns() },
            started_ns: self.started_ns,
            helper: self.quiet,
        };
        if !off {
            record(&call, self.quiet);
        }
        call
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock every line of the trace is stamped with.
pub(crate) fn monotonic_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec on our stack.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// What this process has recorded: the last main call, whether it was printed, the role.
#[derive(Default)]
struct Journal {
    last: Option<Call>,
    shown: bool,
    seq: u64,
    role: Option<String>,
    pid: i32,
}

thread_local! {
    static JOURNAL: RefCell<Journal> = RefCell::new(Journal::default());
}

/// The file `--trace` writes to, or -1.
static TRACE_FD: AtomicI32 = AtomicI32::new(-1);
/// How many calls were recorded in this process (for tests of the library).
static RECORDED: AtomicU64 = AtomicU64::new(0);

/// The environment variable that turns the trace on for a program that is not a lesson (an
/// exercise run by the checker): `SHM_WORKBOOK_TRACE=<file>` appends to that file.
pub const TRACE_VARIABLE: &str = "SHM_WORKBOOK_TRACE";

static TRACE_FROM_ENV: std::sync::Once = std::sync::Once::new();

/// Opens the trace named by [`TRACE_VARIABLE`] once per run (children inherit it), appending, so
/// that several processes started by a checker can share one file.
fn trace_from_environment() {
    TRACE_FROM_ENV.call_once(|| {
        if TRACE_FD.load(Ordering::Relaxed) >= 0 {
            return;
        }
        let Some(path) = std::env::var_os(TRACE_VARIABLE) else { return };
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(fd) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .and_then(out_of_the_way)
        {
            TRACE_FD.store(fd, Ordering::Relaxed);
        }
    });
}

fn record(call: &Call, quiet: bool) {
    RECORDED.fetch_add(1, Ordering::Relaxed);
    trace_from_environment();
    JOURNAL.with(|journal| {
        let mut journal = journal.borrow_mut();
        if journal.pid != call.pid {
            // A forked child starts with its parent's journal: what it holds is not ours.
            journal.last = None;
            journal.seq = 0;
            journal.pid = call.pid;
        }
        journal.seq += 1;
        let fd = TRACE_FD.load(Ordering::Relaxed);
        if fd >= 0 {
            let role = journal.role.clone().unwrap_or_else(|| "process".to_owned());
            let mut line = call.json(journal.seq, &role).render_line();
            line.push('\n');
            // SAFETY: `fd` was opened by `trace_to` and is never closed while the run lasts.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            write_all(fd, line.as_bytes());
        }
        if !quiet {
            journal.last = Some(call.clone());
            journal.shown = false;
        }
    });
}

/// Writes an event that is not a call to the trace (nothing is printed): a step of the story a
/// tool may want to replay, such as lesson04's `load`, `add` and `store` of a shared counter.
/// The line has `"kind":"event"`, `"event"`, the usual `seq`, `t_ns`, `pid` and `role`, and
/// `fields`. Does nothing without `--trace`, or inside [`unrecorded`].
pub fn event(name: &str, fields: &[(&str, Json)]) {
    let mut pairs = vec![("event", Json::from(name))];
    pairs.extend(fields.iter().map(|(key, value)| (*key, value.clone())));
    write_line("event", pairs);
}

/// Writes one line of `kind` to the trace with the usual `seq`, `t_ns`, `pid` and `role`
/// before `fields` (for [`event`] and the evidence of loads and stores). Does nothing without
/// the trace, or inside [`unrecorded`].
pub(crate) fn write_line(kind: &str, fields: Vec<(&str, Json)>) {
    trace_from_environment();
    let fd = TRACE_FD.load(Ordering::Relaxed);
    if fd < 0 || UNRECORDED.with(|depth| depth.get() > 0) {
        return;
    }
    let pid = nix::unistd::getpid().as_raw();
    let (seq, role) = JOURNAL.with(|journal| {
        let mut journal = journal.borrow_mut();
        if journal.pid != pid {
            journal.last = None;
            journal.seq = 0;
            journal.pid = pid;
        }
        journal.seq += 1;
        (journal.seq, journal.role.clone().unwrap_or_else(|| "process".to_owned()))
    });
    let mut pairs = vec![
        ("kind", Json::from(kind)),
        ("seq", Json::from(seq)),
        ("t_ns", Json::from(monotonic_ns())),
        ("pid", Json::from(i64::from(pid))),
        ("role", Json::from(role)),
    ];
    pairs.extend(fields);
    let mut line = Json::object(pairs).render_line();
    line.push('\n');
    // SAFETY: `fd` was opened by `trace_to` and is never closed while the run lasts.
    write_all(unsafe { BorrowedFd::borrow_raw(fd) }, line.as_bytes());
}

/// How many lines this process has written to the trace (calls and events).
pub(crate) fn lines_written() -> u64 {
    let pid = nix::unistd::getpid().as_raw();
    JOURNAL.with(|journal| {
        let journal = journal.borrow();
        if journal.pid == pid { journal.seq } else { 0 }
    })
}

/// Whether recording is off here (inside [`unrecorded`]).
pub(crate) fn silenced() -> bool {
    UNRECORDED.with(|depth| depth.get() > 0)
}

/// Whether `--trace` is on in this process (a lesson may skip work that only feeds the trace).
pub fn tracing() -> bool {
    trace_from_environment();
    TRACE_FD.load(Ordering::Relaxed) >= 0
}

fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return,
            Ok(written) => bytes = &bytes[written..],
            Err(Errno::EINTR) => continue,
            // A full disk must not stop the lesson: the trace is a record, not the story.
            Err(_) => return,
        }
    }
}

/// The last main call this process recorded, if it was not printed yet; marks it printed.
pub(crate) fn take_unshown() -> Option<Call> {
    JOURNAL.with(|journal| {
        let mut journal = journal.borrow_mut();
        let mine = journal.pid == nix::unistd::getpid().as_raw();
        if !mine || journal.shown {
            return None;
        }
        journal.shown = true;
        journal.last.clone()
    })
}

/// The last main call this process recorded, printed or not.
pub fn last() -> Option<Call> {
    JOURNAL.with(|journal| {
        let journal = journal.borrow();
        (journal.pid == nix::unistd::getpid().as_raw()).then(|| journal.last.clone()).flatten()
    })
}

/// Names the role this process plays in the trace (`parent`, `writer 2`); the first narrator
/// made in a process names it, and a forked child is renamed by [`process::spawn`].
///
/// [`process::spawn`]: crate::process::spawn
pub fn set_role(role: &str, replace: bool) {
    JOURNAL.with(|journal| {
        let mut journal = journal.borrow_mut();
        let pid = nix::unistd::getpid().as_raw();
        if journal.pid != pid {
            journal.last = None;
            journal.seq = 0;
            journal.pid = pid;
            journal.role = None;
        }
        if replace || journal.role.is_none() {
            journal.role = Some(role.to_owned());
        }
    });
}

/// `--trace FILE`: from now on every recorded call is also appended to `path` as one line of
/// JSON. The file is created (0600) or emptied.
pub fn trace_to(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // O_APPEND, so that the lines of several processes sharing this descriptor never
    // overwrite each other.
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_APPEND))
        .map_err(std::io::Error::from)?;
    TRACE_FD.store(out_of_the_way(file)?, Ordering::Relaxed);
    Ok(())
}

/// Moves the trace's descriptor to a high number, so that tracing a run does not change the
/// descriptors the lesson's own calls get (its `shm_open` still returns 3, as without
/// `--trace`).
fn out_of_the_way(file: std::fs::File) -> std::io::Result<i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: F_DUPFD_CLOEXEC duplicates an open descriptor of ours; no memory is passed.
    let high = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 900) };
    if high == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(high) // `file` closes its low descriptor when dropped here
}

/// How many calls this process has recorded so far.
pub fn recorded() -> u64 {
    RECORDED.load(Ordering::Relaxed)
}

/// A permission mode written as C writes it, `0600`.
pub fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_written_as_c_with_its_result() {
        let call = make("shmget")
            .arg("IPC_PRIVATE")
            .arg_with(size_of::<[u64; 13]>())
            .arg("IPC_CREAT|IPC_EXCL|0600")
            .returned(32769);
        assert_eq!(
            call.to_string(),
            "shmget(IPC_PRIVATE, 104 /* sizeof([u64; 13]) */, IPC_CREAT|IPC_EXCL|0600) = 32769"
        );
        assert_eq!(last(), Some(call.clone()));
        assert_eq!(take_unshown(), Some(call.clone()));
        assert_eq!(take_unshown(), None, "a call is printed once");
        let json = call.json(1, "parent").render_line();
        assert!(json.contains(r#""args":["IPC_PRIVATE","104","IPC_CREAT|IPC_EXCL|0600"]"#));
        assert!(json.contains(r#""result":"32769","errno":null,"helper":false"#));
    }

    #[test]
    fn a_failed_call_shows_minus_one_and_the_errno() {
        let call =
            make("shmat").arg(7).arg_with(Arg::pointer(0)).arg("SHM_RDONLY").failed(Errno::EACCES);
        assert_eq!(call.to_string(), "shmat(7, NULL, SHM_RDONLY) = -1 EACCES");
        assert_eq!(call.error().errno(), Some(Errno::EACCES));
        assert!(call.json(2, "child").render_line().contains(r#""result":null,"errno":"EACCES""#));
    }

    #[test]
    fn helper_calls_are_traced_but_not_printed() {
        let main = make("shmat").arg(1).arg("NULL").arg(0).returned("0x1000");
        let _ = make("shmctl").arg(1).arg("IPC_STAT").arg("&ds").helper().returned(0);
        assert_eq!(take_unshown(), Some(main));
    }
}
