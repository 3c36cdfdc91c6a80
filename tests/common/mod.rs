//! Running the real lesson binaries and checking the kernel's state afterwards.
#![allow(dead_code)] // each test file uses a different part of this module

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// A finished run of a lesson.
pub struct Run {
    /// The story, each folded line joined again (see `shm_workbook::fold::unfold`): what a
    /// line of it says can be found whatever the width it was folded to.
    pub stdout: String,
    /// The story exactly as printed, folded lines and all.
    pub printed: String,
    pub stderr: String,
    pub status: std::process::ExitStatus,
    /// Every call the run's processes made through the library, from its `--trace` file.
    pub calls: Vec<TraceCall>,
}

/// One line of a `--trace` file.
#[derive(Clone, Debug)]
pub struct TraceCall {
    pub pid: i32,
    pub role: String,
    pub call: String,
    pub args: Vec<String>,
    pub result: Option<String>,
    pub errno: Option<String>,
    pub text: String,
    /// When it was made: CLOCK_MONOTONIC, in nanoseconds.
    pub t_ns: u64,
}

/// The names of the calls a lesson may print: a line of the story that starts with one of
/// these and a parenthesis is a printed call.
pub const CALL_NAMES: &[&str] = &[
    "ftok",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "shm_open",
    "shm_unlink",
    "ftruncate",
    "fstat",
    "mmap",
    "munmap",
    "mq_open",
    "mq_send",
    "mq_receive",
    "mq_unlink",
    "close",
    "fork",
    "waitpid",
    "wait",
    "kill",
    "futex",
    "pipe",
    "socketpair",
    "sched_setaffinity",
    "ptrace",
    "sem_init",
    "sem_wait",
    "sem_trywait",
    "sem_timedwait",
    "sem_post",
    "sem_getvalue",
    "sem_destroy",
];

/// The call a line of the story prints, if it prints one: the text after the `[role pid]`
/// prefix when it starts with a known call name and a parenthesis.
pub fn printed_call(line: &str) -> Option<(i32, &str)> {
    let rest = line.strip_prefix('[')?;
    let (prefix, text) = rest.split_once("] ")?;
    let pid = prefix.split_whitespace().last()?.parse().ok()?;
    let text = text.trim_start();
    let name = text.split('(').next()?;
    (CALL_NAMES.contains(&name) && text.len() > name.len()).then_some((pid, text))
}

/// A trace file for one run, removed when dropped.
pub struct TraceFile(std::path::PathBuf);

impl TraceFile {
    pub fn new() -> TraceFile {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        TraceFile(
            std::env::temp_dir()
                .join(format!("shm-workbook-test-{}-{n}.trace.jsonl", std::process::id())),
        )
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary path")
    }

    /// The calls written so far (none if the lesson never started).
    pub fn calls(&self) -> Vec<TraceCall> {
        let text = std::fs::read_to_string(&self.0).unwrap_or_default();
        text.lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|err| panic!("a trace line is not JSON ({err}): {line}"))
            })
            .filter(|value| value["kind"] == "call")
            .map(|value| {
                let text = |key: &str| value[key].as_str().map(str::to_owned);
                TraceCall {
                    pid: value["pid"].as_i64().expect("pid") as i32,
                    role: text("role").expect("role"),
                    call: text("call").expect("call"),
                    args: value["args"]
                        .as_array()
                        .expect("args")
                        .iter()
                        .map(|arg| arg.as_str().expect("a string argument").to_owned())
                        .collect(),
                    result: text("result"),
                    errno: text("errno"),
                    text: text("text").expect("text"),
                    t_ns: value["t_ns"].as_u64().unwrap_or(0),
                }
            })
            .collect()
    }
}

impl Drop for TraceFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Run {
    /// A run from what it printed on stdout (as printed: folded lines are joined here),
    /// stderr, its status and its trace.
    pub fn new(
        printed: String,
        stderr: String,
        status: std::process::ExitStatus,
        calls: Vec<TraceCall>,
    ) -> Run {
        Run { stdout: shm_workbook::fold::unfold(&printed), printed, stderr, status, calls }
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The calls named `name` (`shmget`), in the order they were recorded.
    pub fn calls_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a TraceCall> + 'a {
        self.calls.iter().filter(move |call| call.call == name)
    }

    /// Every line of the story that prints a call (`[role pid] name(...) = ...`) is, word for
    /// word, a call that process recorded: nothing printed was typed by hand.
    pub fn assert_printed_calls_were_made(&self) {
        for line in self.stdout.lines() {
            let Some((pid, text)) = printed_call(line) else { continue };
            assert!(
                self.calls.iter().any(|call| call.pid == pid && text.starts_with(&call.text)),
                "printed a call its process did not record: {line}\n{}",
                self.stdout
            );
        }
    }

    /// Checks the kernel's tables for everything this run created (read from its trace): no
    /// segment, semaphore set or queue it created is left, no POSIX object it created exists,
    /// and no process of the run is still alive (a zombie included).
    pub fn assert_nothing_left(&self) {
        assert_nothing_created_is_left(&self.calls, &self.stdout);
    }

    /// Fails with the whole output, so that a failing test shows what the student saw.
    pub fn assert_success(&self) {
        assert_eq!(self.code(), Some(0), "the lesson failed:\n{}\n{}", self.stdout, self.stderr);
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout.lines()
    }
}

/// The path of a lesson's binary: cargo's, or a copy's in `SHM_WORKBOOK_BIN_DIR` (for running
/// a test binary as another user, who may not reach cargo's target directory).
pub fn lesson_path(bin: &str) -> std::path::PathBuf {
    let path = match bin {
        "lesson01" => env!("CARGO_BIN_EXE_lesson01"),
        "lesson02" => env!("CARGO_BIN_EXE_lesson02"),
        "lesson03" => env!("CARGO_BIN_EXE_lesson03"),
        "lesson04" => env!("CARGO_BIN_EXE_lesson04"),
        "lesson05" => env!("CARGO_BIN_EXE_lesson05"),
        "lesson06" => env!("CARGO_BIN_EXE_lesson06"),
        "lesson07" => env!("CARGO_BIN_EXE_lesson07"),
        "lesson08" => env!("CARGO_BIN_EXE_lesson08"),
        "lesson09" => env!("CARGO_BIN_EXE_lesson09"),
        "lesson10" => env!("CARGO_BIN_EXE_lesson10"),
        "lesson11" => env!("CARGO_BIN_EXE_lesson11"),
        "lesson12" => env!("CARGO_BIN_EXE_lesson12"),
        "lesson13" => env!("CARGO_BIN_EXE_lesson13"),
        "lesson14" => env!("CARGO_BIN_EXE_lesson14"),
        "lesson15" => env!("CARGO_BIN_EXE_lesson15"),
        "lesson16" => env!("CARGO_BIN_EXE_lesson16"),
        other => panic!("no binary {other}"),
    };
    match std::env::var_os("SHM_WORKBOOK_BIN_DIR") {
        Some(dir) => Path::new(&dir).join(bin),
        None => Path::new(path).to_path_buf(),
    }
}

/// The command for a lesson binary, with colour off through NO_COLOR.
pub fn lesson(bin: &str) -> Command {
    let mut command = Command::new(lesson_path(bin));
    command.env("NO_COLOR", "1").stdin(Stdio::null());
    command
}

/// Runs a lesson to the end with the given flags (and `--trace` to a file of the test's).
pub fn run(bin: &str, args: &[&str]) -> Run {
    let mut command = lesson(bin);
    command.args(args);
    run_command(command)
}

/// Runs a prepared lesson command to the end, adding `--trace` to a file of the test's.
pub fn run_command(mut command: Command) -> Run {
    let trace = TraceFile::new();
    command.args(["--trace", trace.path()]);
    // A binary copied by a test beside this one may still be open for writing in a child that
    // another test thread has just forked (until that child execs): exec then fails with
    // ETXTBSY for a moment. Try again, briefly.
    let mut tries = 0;
    let output = loop {
        match command.output() {
            Err(err) if err.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other.expect("the lesson binary runs"),
        }
    };
    Run::new(
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status,
        trace.calls(),
    )
}

/// What a trace says the run created, and which processes it had.
#[derive(Debug, Default)]
pub struct Created {
    pub shmids: BTreeSet<i32>,
    pub semids: BTreeSet<i32>,
    pub msqids: BTreeSet<i32>,
    pub posix_names: BTreeSet<String>,
    pub queue_names: BTreeSet<String>,
    pub pids: BTreeSet<i32>,
}

pub fn created_in(calls: &[TraceCall]) -> Created {
    let mut created = Created::default();
    for call in calls {
        created.pids.insert(call.pid);
        let number = call.result.as_deref().and_then(|r| r.parse::<i32>().ok());
        let creates =
            call.args.iter().any(|arg| arg.contains("IPC_CREAT") || arg.contains("O_CREAT"));
        match (call.call.as_str(), number) {
            ("shmget", Some(id)) if creates => {
                created.shmids.insert(id);
            }
            ("semget", Some(id)) if creates => {
                created.semids.insert(id);
            }
            ("msgget", Some(id)) if creates => {
                created.msqids.insert(id);
            }
            ("shm_open", Some(_)) if creates => {
                created.posix_names.insert(call.args[0].trim_matches('"').to_owned());
            }
            ("mq_open", Some(_)) if creates => {
                created.queue_names.insert(call.args[0].trim_matches('"').to_owned());
            }
            ("fork", Some(pid)) => {
                created.pids.insert(pid);
            }
            _ => {}
        }
    }
    created
}

fn assert_nothing_created_is_left(calls: &[TraceCall], stdout: &str) {
    let created = created_in(calls);
    assert!(!created.pids.is_empty(), "the run recorded no call:\n{stdout}");
    for (table, ids) in
        [("shm", &created.shmids), ("sem", &created.semids), ("msg", &created.msqids)]
    {
        for (id, cpid, ctime) in sysvipc_rows_with_time(table) {
            assert!(!ids.contains(&id), "{table} id {id} was left behind:\n{stdout}");
            // A segment made by one of the run's pids, during the run (an older one is a
            // leftover of someone else whose pid the run happened to get again).
            if let Some(cpid) = cpid
                && ctime.is_none_or(|ctime| ctime + 1 >= run_started(calls))
            {
                assert!(
                    !created.pids.contains(&cpid),
                    "a segment created by pid {cpid} during the run was left behind"
                );
            }
        }
    }
    for name in &created.posix_names {
        let path = format!("/dev/shm{name}");
        assert!(!Path::new(&path).exists(), "{path} was left behind:\n{stdout}");
    }
    for name in &created.queue_names {
        assert!(
            !shm_workbook::posix::mq::posix_queue_exists(name),
            "POSIX message queue {name} was left behind:\n{stdout}"
        );
    }
    for pid in &created.pids {
        assert!(!process_exists(*pid), "process {pid} of the run still exists (or is a zombie)");
    }
}

/// What of `created` still exists: `shm 42`, `posix /name`, ... (a System V id counts only
/// while its creator is one of the run's pids, so a recycled id is not taken for it).
pub fn still_there(created: &Created) -> Vec<String> {
    let mut left = Vec::new();
    for (table, ids) in
        [("shm", &created.shmids), ("sem", &created.semids), ("msg", &created.msqids)]
    {
        for (id, cpid) in sysvipc_rows(table) {
            if ids.contains(&id) && cpid.is_none_or(|cpid| created.pids.contains(&cpid)) {
                left.push(format!("{table} {id}"));
            }
        }
    }
    for name in &created.posix_names {
        if Path::new(&format!("/dev/shm{name}")).exists() {
            left.push(format!("posix {name}"));
        }
    }
    for name in &created.queue_names {
        if shm_workbook::posix::mq::posix_queue_exists(name) {
            left.push(format!("mqueue {name}"));
        }
    }
    left
}

/// When the run's first call was made, in seconds since the epoch (from the trace's monotonic
/// times and the two clocks now).
fn run_started(calls: &[TraceCall]) -> i64 {
    let first = calls.iter().map(|call| call.t_ns).filter(|&t| t > 0).min().unwrap_or(0);
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec on our stack.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let monotonic = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64;
    wall - (monotonic.saturating_sub(first) / 1_000_000_000) as i64
}

/// Rows of a /proc/sysvipc table as (id, creator pid, ctime), the last two where the table
/// has them.
fn sysvipc_rows_with_time(table: &str) -> Vec<(i32, Option<i32>, Option<i64>)> {
    let text = std::fs::read_to_string(format!("/proc/sysvipc/{table}"))
        .expect("/proc/sysvipc is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    let column = |name: &str| header.iter().position(|&h| h == name);
    let (id_at, cpid_at, ctime_at) = (
        column("shmid").or(column("semid")).or(column("msqid")).expect("an id column"),
        column("cpid"),
        column("ctime"),
    );
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let number = |at: Option<usize>| at.and_then(|i| fields.get(i)?.parse().ok());
            (
                fields[id_at].parse().expect("a numeric id"),
                number(cpid_at).map(|n: i64| n as i32),
                number(ctime_at),
            )
        })
        .collect()
}

/// Rows of a /proc/sysvipc table as (id, creator pid if the table has one).
fn sysvipc_rows(table: &str) -> Vec<(i32, Option<i32>)> {
    let text = std::fs::read_to_string(format!("/proc/sysvipc/{table}"))
        .expect("/proc/sysvipc is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    let id_column = header
        .iter()
        .position(|&h| h == "shmid" || h == "semid" || h == "msqid")
        .expect("an id column");
    let cpid_column = header.iter().position(|&h| h == "cpid");
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let id = fields[id_column].parse().expect("a numeric id");
            let cpid = cpid_column.map(|c| fields[c].parse().expect("a numeric pid"));
            (id, cpid)
        })
        .collect()
}

/// The whole number right after the first `label` in `text`.
pub fn number_after(text: &str, label: &str) -> u64 {
    let rest = text.split(label).nth(1).unwrap_or_else(|| panic!("no {label:?} in:\n{text}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after {label:?} in:\n{text}"))
}

/// Whether a pid exists, a zombie included.
pub fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Starts `bin` with `args`, reads its story until a line contains `marker`, and sends
/// `signal`. Returns the exit code, everything printed on stdout, and stderr.
pub fn interrupt_when(
    bin: &str,
    args: &[&str],
    marker: &str,
    signal: nix::sys::signal::Signal,
) -> Run {
    interrupt_run(bin, args, 0, marker, signal)
}

/// Like [`interrupt_when`], but first answers `pauses` `--step` pauses with Enter, so that the
/// signal lands at a later point of the story.
pub fn interrupt_when_after_pauses(
    bin: &str,
    args: &[&str],
    pauses: usize,
    marker: &str,
    signal: nix::sys::signal::Signal,
) -> Run {
    interrupt_run(bin, args, pauses, marker, signal)
}

/// Starts `bin` with `args` (and `--trace`), answers `pauses` `--step` pauses with Enter,
/// reads its story until a line contains `marker`, sends `signal`, and waits for the end.
pub fn interrupt_run(
    bin: &str,
    args: &[&str],
    mut pauses: usize,
    marker: &str,
    signal: nix::sys::signal::Signal,
) -> Run {
    use std::io::Write;
    let trace = TraceFile::new();
    let mut child = lesson(bin)
        .args(args)
        .args(["--trace", trace.path()])
        .stdin(Stdio::piped()) // kept open: a --step lesson waits for Enter
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lesson starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).unwrap();
        assert_ne!(read, 0, "the lesson ended before printing {marker:?}:\n{seen}");
        seen.push_str(&line);
        if pauses > 0 && line.contains("[Enter] to continue") {
            pauses -= 1;
            child.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
            continue;
        }
        if pauses == 0 && line.contains(marker) {
            break;
        }
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    seen.push_str(&rest);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    Run {
        stdout: shm_workbook::fold::unfold(&seen),
        printed: seen,
        stderr,
        status,
        calls: trace.calls(),
    }
}

/// Starts `bin` with --fast --step, waits for its first pause, and sends `signal`.
pub fn interrupt_at_the_pause(bin: &str, signal: nix::sys::signal::Signal) -> Run {
    let run = interrupt_when(bin, &["--fast", "--step"], "[Enter] to continue", signal);
    assert!(run.stdout.contains("ipcs -"), "the pause says what to look at:\n{}", run.stdout);
    run
}

/// Every Markdown page of the book: the chapters in book/src and their sub-pages
/// (book/src/lessonNN/), in path order.
pub fn book_pages() -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src"), &mut found);
    found.sort();
    found
}

/// Sends `signal` to a lesson still running `after` the watchdog was made, and only to that
/// lesson: the watchdog holds a pidfd for it (taken while the lesson is a child not yet
/// reaped), so once the lesson has ended and been reaped no other process can receive the
/// signal, even one that got the same pid. Its thread waits on that pidfd and ends as soon as
/// the lesson exits, so a test binary that runs many lessons keeps no timer behind a test.
pub struct Watchdog(std::thread::JoinHandle<bool>);

impl Watchdog {
    pub fn new(
        child: &std::process::Child,
        after: std::time::Duration,
        signal: nix::sys::signal::Signal,
    ) -> Watchdog {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: pidfd_open takes a pid and flags, and returns a new descriptor or -1. The pid
        // is our child's, not yet reaped (we hold its `Child`), so it names that process.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
        assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
        // SAFETY: the descriptor was just opened, and nothing else owns it.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let thread = std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            let deadline = std::time::Instant::now() + after;
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                let mut ready =
                    libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                let millis = left.as_millis().clamp(1, i32::MAX as u128) as i32;
                // SAFETY: poll reads and writes the one pollfd on our stack.
                if unsafe { libc::poll(&mut ready, 1, millis) } > 0 {
                    return false; // the lesson has ended
                }
            }
            // SAFETY: pidfd_send_signal takes our pidfd, a signal number, no siginfo and no
            // flags; a process already gone makes it fail with ESRCH, harmlessly.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    pidfd.as_raw_fd(),
                    signal as libc::c_int,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            true
        });
        Watchdog(thread)
    }

    /// Whether the lesson outlived its time and was sent the signal: call it once the lesson
    /// has ended (it waits for the watchdog's thread, which ends with the lesson).
    pub fn fired(self) -> bool {
        self.0.join().unwrap_or(false)
    }
}
