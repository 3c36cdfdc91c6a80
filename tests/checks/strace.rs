//! Every call a lesson prints is the call its process made: each lesson runs with `--fast`
//! under `strace -f`, and every call the library recorded (the `--trace` file, which is where
//! every printed call comes from) must match a system call of the same process, in the same
//! order, with the same name, first argument, flags and result. Every line of the story that
//! shows a call must be one of those recorded calls, word for word.
//!
//! glibc makes some calls under another name; the table in [`expected`] lists each
//! substitution with the reason. Without strace the test says so and passes, unless
//! `SHM_WORKBOOK_REQUIRE_STRACE` is set (as `.ci/run` does, after installing strace).

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{TraceCall, TraceFile, lesson_path, printed_call};

/// The system calls strace watches: those the recorded calls become.
const SYSCALLS: &str = "shmget,shmat,shmdt,shmctl,semget,semop,semtimedop,semctl,msgget,msgsnd,\
    msgrcv,msgctl,openat,close,unlink,ftruncate,fstat,newfstatat,statx,stat,mmap,munmap,mq_open,\
    mq_unlink,mq_timedsend,mq_timedreceive,clone,clone3,fork,vfork,wait4,kill,futex,pipe,pipe2,\
    socketpair,sched_setaffinity,ptrace,memfd_create,fcntl,socket,bind,listen,accept,accept4,\
    connect,sendmsg,recvmsg";

/// One system call as strace printed it.
#[derive(Clone, Debug)]
struct Syscall {
    name: String,
    args: Vec<String>,
    result: String,
}

/// What a recorded call must look like in strace: which system calls may stand for it, and
/// which of their arguments must agree with which of ours.
struct Expected {
    /// System call names that may carry this call.
    syscalls: &'static [&'static str],
    /// Pairs (our argument, strace's argument) that must be equal after normalising.
    same: Vec<(String, String)>,
    /// Whether the results must be equal (false where the C function returns something other
    /// than its system call, as ftok returns a key where stat returns 0).
    same_result: bool,
}

fn expected(call: &TraceCall) -> Option<Expected> {
    let arg = |i: usize| call.args.get(i).cloned().unwrap_or_default();
    let plain = |syscalls, pairs: &[(usize, usize)]| Expected {
        syscalls,
        same: pairs
            .iter()
            .map(|&(ours, theirs)| (format!("#{ours}"), format!("#{theirs}")))
            .collect(),
        same_result: true,
    };
    Some(match call.call.as_str() {
        "shmget" => plain(&["shmget"], &[(0, 0), (1, 1), (2, 2)]),
        "shmat" => plain(&["shmat"], &[(0, 0), (2, 2)]),
        "shmdt" => plain(&["shmdt"], &[(0, 0)]),
        "shmctl" => plain(&["shmctl"], &[(0, 0), (1, 1)]),
        "semget" => plain(&["semget"], &[(0, 0), (1, 1), (2, 2)]),
        "semctl" => plain(&["semctl"], &[(0, 0), (1, 1), (2, 2)]),
        // glibc makes semop as semtimedop with a NULL timeout on x86-64.
        "semop" | "semtimedop" => Expected {
            syscalls: &["semop", "semtimedop"],
            same: vec![("#0".into(), "#0".into()), (sembuf(&arg(1)), "#sembuf".into())],
            same_result: true,
        },
        "msgget" => plain(&["msgget"], &[(0, 0), (1, 1)]),
        "msgsnd" => plain(&["msgsnd"], &[(0, 0), (2, 2)]),
        "msgrcv" => plain(&["msgrcv"], &[(0, 0), (2, 2), (3, 3)]),
        "msgctl" => plain(&["msgctl"], &[(0, 0), (1, 1)]),
        // glibc opens "/dev/shm/<name>" itself, adding O_NOFOLLOW|O_CLOEXEC.
        // glibc strips the name's leading slashes; a name that is then empty or holds another
        // '/' it refuses with EINVAL without any system call.
        "shm_open" => {
            let name = arg(0).trim_matches('"').trim_start_matches('/').to_owned();
            if call.errno.as_deref() == Some("EINVAL") && (name.is_empty() || name.contains('/')) {
                return Some(Expected { syscalls: &[], same: Vec::new(), same_result: false });
            }
            Expected {
                syscalls: &["openat"],
                same: vec![
                    (format!("\"/dev/shm/{name}\""), "#1".into()),
                    (flag_set(&arg(1)), "#flags1".into()),
                ],
                same_result: true,
            }
        }
        // glibc unlinks "/dev/shm/<name>".
        "shm_unlink" => Expected {
            syscalls: &["unlink"],
            same: vec![(
                format!("\"/dev/shm/{}\"", arg(0).trim_matches('"').trim_start_matches('/')),
                "#0".into(),
            )],
            same_result: true,
        },
        "ftruncate" => plain(&["ftruncate"], &[(0, 0), (1, 1)]),
        "close" => plain(&["close"], &[(0, 0)]),
        // glibc's pipe is pipe2(fds, 0).
        "pipe" => plain(&["pipe", "pipe2"], &[(0, 0)]),
        "socketpair" => plain(&["socketpair"], &[(0, 0), (1, 1), (2, 2), (3, 3)]),
        "sched_setaffinity" => plain(&["sched_setaffinity"], &[(0, 0), (1, 1), (2, 2)]),
        // glibc's fstat is newfstatat(fd, "", &st, AT_EMPTY_PATH).
        "fstat" => plain(&["fstat", "newfstatat"], &[(0, 0)]),
        "mmap" => plain(&["mmap"], &[(1, 1), (2, 2), (3, 3), (4, 4)]),
        "munmap" => plain(&["munmap"], &[(0, 0), (1, 1)]),
        // The kernel's mq_open takes the name without its leading slash (glibc strips it).
        "mq_open" => Expected {
            syscalls: &["mq_open"],
            same: vec![
                (format!("\"{}", arg(0).trim_start_matches("\"/")), "#0".into()),
                (flag_set(&arg(1)), "#flags1".into()),
            ],
            same_result: true,
        },
        "mq_unlink" => Expected {
            syscalls: &["mq_unlink"],
            same: vec![(format!("\"{}", arg(0).trim_start_matches("\"/")), "#0".into())],
            same_result: true,
        },
        // mq_send and mq_receive are the timed system calls with no timeout.
        "mq_send" => plain(&["mq_timedsend"], &[(0, 0), (2, 2)]),
        "mq_receive" => plain(&["mq_timedreceive"], &[(0, 0), (2, 2)]),
        // ftok is a C library function: it stats the file and builds the key from the inode.
        "ftok" => Expected {
            syscalls: &["newfstatat", "statx", "stat"],
            same: vec![(arg(0), "#path".into())],
            same_result: false,
        },
        // glibc's fork is clone(..., SIGCHLD) (or clone3).
        "fork" => plain(&["clone", "clone3", "fork"], &[]),
        // waitpid is wait4 with a NULL rusage.
        "waitpid" => plain(&["wait4"], &[(0, 0), (2, 2)]),
        "kill" => plain(&["kill"], &[(0, 0), (1, 1)]),
        "futex" => plain(&["futex"], &[(0, 0), (1, 1), (2, 2)]),
        "memfd_create" => plain(&["memfd_create"], &[(0, 0), (1, 1)]),
        // F_GET_SEALS returns the seals as a number, which strace follows with their names.
        "fcntl" if call.args.len() == 2 => plain(&["fcntl", "fcntl64"], &[(0, 0), (1, 1)]),
        "fcntl" => plain(&["fcntl", "fcntl64"], &[(0, 0), (1, 1), (2, 2)]),
        "socket" => plain(&["socket"], &[(0, 0), (1, 1), (2, 2)]),
        "bind" | "connect" => plain(&["bind", "connect"], &[(0, 0), (2, 2)]),
        "listen" => plain(&["listen"], &[(0, 0), (1, 1)]),
        "accept" => plain(&["accept", "accept4"], &[(0, 0)]),
        // The descriptor passed in SCM_RIGHTS ("SCM_RIGHTS {5}" in the comment on &msg) is the
        // one strace shows in the control message, and a message without one has none.
        "sendmsg" | "recvmsg" => {
            let passed = call
                .text
                .split_once("SCM_RIGHTS {")
                .and_then(|(_, rest)| rest.split_once('}'))
                .map_or("none".to_owned(), |(fd, _)| format!("[{fd}]"));
            let mut expected = plain(&["sendmsg", "recvmsg"], &[(0, 0), (2, 2)]);
            expected.same.push((passed, "#cmsg_data".into()));
            expected
        }
        "ptrace" => plain(&["ptrace"], &[(0, 0)]),
        // A POSIX unnamed semaphore lives in memory: sem_init, sem_getvalue and sem_destroy
        // make no system call, and sem_wait, sem_trywait and sem_post one only when they must
        // sleep or wake (a futex); a sem_timedwait that timed out slept in one.
        "sem_timedwait" if call.errno.as_deref() == Some("ETIMEDOUT") => {
            Expected { syscalls: &["futex"], same: Vec::new(), same_result: true }
        }
        "sem_init" | "sem_destroy" | "sem_getvalue" | "sem_wait" | "sem_trywait" | "sem_post"
        | "sem_timedwait" => Expected { syscalls: &[], same: Vec::new(), same_result: false },
        // A robust process-shared mutex lives in memory too: glibc locks and unlocks it with
        // atomic instructions, and makes a futex call only to sleep or to wake a sleeper.
        "pthread_mutex_lock" | "pthread_mutex_unlock" | "pthread_mutex_consistent" => {
            Expected { syscalls: &[], same: Vec::new(), same_result: false }
        }
        _ => return None,
    })
}

/// `{0, -1, SEM_UNDO}` as strace writes one sembuf: `sem_num=0, sem_op=-1, sem_flg=SEM_UNDO`.
fn sembuf(ours: &str) -> String {
    let inner = ours.trim_matches(|c| c == '{' || c == '}');
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    let (num, op, flg) = (parts[0], parts[1].trim_start_matches('+'), parts[2]);
    format!("sem_num={num}, sem_op={op}, sem_flg={flg}")
}

/// Flags written `O_RDWR|O_CREAT`, as a sorted set, without the ones glibc adds.
fn flag_set(flags: &str) -> String {
    let mut set: Vec<&str> = flags
        .split('|')
        .map(str::trim)
        .filter(|flag| !matches!(*flag, "O_NOFOLLOW" | "O_CLOEXEC" | "O_LARGEFILE"))
        .collect();
    set.sort_unstable();
    set.join("|")
}

/// The value strace shows for `key` of `syscall` (`#2`: the third argument).
fn strace_value(syscall: &Syscall, key: &str) -> Option<String> {
    let arg = |i: usize| syscall.args.get(i).cloned();
    match key {
        "#sembuf" => arg(1)
            .map(|a| a.trim_matches(|c| c == '[' || c == ']' || c == '{' || c == '}').to_owned()),
        "#flags1" => arg(if syscall.name == "openat" { 2 } else { 1 }).map(|f| flag_set(&f)),
        "#path" => syscall.args.iter().find(|a| a.starts_with('"') && a.len() > 2).cloned(),
        "#cmsg_data" => {
            Some(arg(1)?.split_once("cmsg_data=").map_or("none".to_owned(), |(_, rest)| {
                rest.split_inclusive(']').next().unwrap_or(rest).to_owned()
            }))
        }
        _ => {
            let i: usize = key.trim_start_matches('#').parse().ok()?;
            // For openat, our argument 0 (the path) is strace's argument 1, and so on.
            arg(i).map(|a| normalise(&a))
        }
    }
}

/// Writes a value the way both sides can agree on: without the `IPC_64|` strace adds to ctl
/// commands, numbers without leading zeros (`000` is `0`, `0x0900c1a9` is `0x900c1a9`).
fn normalise(value: &str) -> String {
    let value = value.trim().trim_start_matches("IPC_64|");
    let part = |piece: &str| {
        if let Some(hex) = piece.strip_prefix("0x") {
            return u64::from_str_radix(hex, 16).map_or(piece.to_owned(), |n| format!("{n:#x}"));
        }
        if !piece.is_empty() && piece.chars().all(|c| c.is_ascii_digit()) {
            let trimmed = piece.trim_start_matches('0');
            return if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() };
        }
        piece.to_owned()
    };
    value.split('|').map(part).collect::<Vec<_>>().join("|")
}

/// Our value for `key` (`#2`, or a literal already in strace's form).
fn our_value(call: &TraceCall, key: &str) -> String {
    match key.strip_prefix('#').and_then(|i| i.parse::<usize>().ok()) {
        Some(i) => normalise(call.args.get(i).map(String::as_str).unwrap_or("")),
        None => key.to_owned(),
    }
}

fn result_matches(call: &TraceCall, syscall: &Syscall, same_result: bool) -> bool {
    // A call interrupted by a signal whose handler has no SA_RESTART shows in strace as
    // `? ERESTARTSYS` (or another ERESTART code): the kernel turns it into EINTR on the way
    // out, after strace has looked.
    if syscall.result.starts_with("? ERESTART") {
        return call.errno.as_deref() == Some("EINTR");
    }
    let failed = syscall.result.starts_with("-1 ");
    match (&call.errno, failed) {
        (Some(errno), true) => syscall.result.split_whitespace().nth(1) == Some(errno.as_str()),
        (None, false) => {
            !same_result || call.result.as_deref() == syscall.result.split_whitespace().next()
        }
        _ => false,
    }
}

fn matches(call: &TraceCall, syscall: &Syscall) -> bool {
    let Some(expected) = expected(call) else { return false };
    if !expected.syscalls.contains(&syscall.name.as_str()) {
        return false;
    }
    if call.call == "fork" {
        // clone's flags must ask for SIGCHLD, as fork's do (a thread's clone would not).
        if !syscall.args.iter().any(|a| a.contains("SIGCHLD") || a.contains("exit_signal=SIGCHLD"))
        {
            return false;
        }
    }
    let args_agree = expected.same.iter().all(|(ours, theirs)| {
        let ours = if ours.starts_with('#') { our_value(call, ours) } else { ours.clone() };
        strace_value(syscall, theirs).is_some_and(|theirs| theirs == ours)
    });
    args_agree && result_matches(call, syscall, expected.same_result)
}

/// Parses one line of an `strace -ff` file: `name(arg, arg, ...) = result`.
fn parse_syscall(line: &str) -> Option<Syscall> {
    let open = line.find('(')?;
    let name = line[..open].trim().to_owned();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut args = Vec::new();
    let mut current = String::new();
    let mut end = None;
    for (i, c) in line[open + 1..].char_indices() {
        if in_string {
            current.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                current.push(c);
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' if depth == 0 => {
                end = Some(open + 1 + i);
                break;
            }
            ')' | ']' | '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => {
                args.push(current.trim().to_owned());
                current.clear();
            }
            c => current.push(c),
        }
    }
    let end = end?;
    if !current.trim().is_empty() {
        args.push(current.trim().to_owned());
    }
    let result = line[end + 1..].trim().strip_prefix('=')?.trim().to_owned();
    Some(Syscall { name, args, result })
}

/// Runs `bin` with `args` under `strace -ff`, with a trace; returns its stdout, the recorded
/// calls, and the system calls of each process.
fn traced_run(bin: &str, args: &[&str]) -> (String, Vec<TraceCall>, BTreeMap<i32, Vec<Syscall>>) {
    traced_run_watching(bin, args, SYSCALLS)
}

/// [`traced_run`], with strace watching `syscalls` (`all`: every one).
fn traced_run_watching(
    bin: &str,
    args: &[&str],
    syscalls: &str,
) -> (String, Vec<TraceCall>, BTreeMap<i32, Vec<Syscall>>) {
    let dir = TempDir::new(bin);
    let trace = TraceFile::new();
    let prefix = dir.0.join("strace");
    let output = std::process::Command::new("strace")
        .args(["-ff", "--seccomp-bpf", "-qq", "-s", "512", "-e"])
        .arg(format!("trace={syscalls}"))
        .arg("-o")
        .arg(&prefix)
        .arg(lesson_path(bin))
        .args(args)
        .args(["--trace", trace.path()])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("strace runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{bin} failed under strace:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut syscalls = BTreeMap::new();
    for entry in std::fs::read_dir(&dir.0).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("strace.").and_then(|pid| pid.parse().ok()) else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).unwrap();
        syscalls.insert(pid, text.lines().filter_map(parse_syscall).collect());
    }
    (stdout, trace.calls(), syscalls)
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        // Two tests may run one lesson at once: each gets a directory of its own.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let nth = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("shm-workbook-strace-{what}-{}-{nth}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn strace_available() -> bool {
    let found = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var_os("SHM_WORKBOOK_REQUIRE_STRACE").is_none(),
            "strace is required here (SHM_WORKBOOK_REQUIRE_STRACE is set) but is not installed"
        );
        eprintln!(
            "strace is not installed: the check that printed calls are the calls made is skipped \
             (install it with `apt-get install strace`; .ci/run does)"
        );
    }
    found
}

/// The whole check for one lesson run.
fn check(bin: &str, args: &[&str]) {
    if !strace_available() {
        return;
    }
    let (stdout, calls, syscalls) = traced_run(bin, args);
    assert!(!calls.is_empty(), "{bin} recorded no call:\n{stdout}");
    let mut problems = Vec::new();

    // 1. Every recorded call is a system call of the same process, in order.
    let mut cursor: BTreeMap<i32, usize> = BTreeMap::new();
    for call in &calls {
        match expected(call) {
            None => {
                problems.push(format!("no strace rule for the recorded call {}", call.text));
                continue;
            }
            // A call the C library refused by itself: there is no system call to find.
            Some(expected) if expected.syscalls.is_empty() => continue,
            Some(_) => {}
        }
        let Some(made) = syscalls.get(&call.pid) else {
            problems.push(format!("process {} ({}) has no strace output", call.pid, call.role));
            continue;
        };
        let from = *cursor.get(&call.pid).unwrap_or(&0);
        match made[from..].iter().position(|syscall| matches(call, syscall)) {
            Some(at) => {
                cursor.insert(call.pid, from + at + 1);
            }
            None => problems.push(format!(
                "[{} {}] recorded `{}`, but strace shows no such call after the previous one; \
                 its next calls were: {:?}",
                call.role,
                call.pid,
                call.text,
                made[from..]
                    .iter()
                    .take(4)
                    .map(|s| format!("{}{:?} = {}", s.name, s.args, s.result))
                    .collect::<Vec<_>>()
            )),
        }
    }

    // 2. Every call the story prints is a recorded call of the same process, word for word
    // (a call folded to fit the terminal read with its lines joined again).
    let mut printed = 0;
    for line in shm_workbook::fold::unfold(&stdout).lines() {
        let Some((pid, text)) = printed_call(line) else { continue };
        printed += 1;
        let recorded = calls.iter().any(|call| call.pid == pid && text.starts_with(&call.text));
        if !recorded {
            problems.push(format!("printed a call that was not made (or not as printed): {line}"));
        }
    }
    assert!(printed > 0, "{bin} printed no call at all:\n{stdout}");
    assert!(
        problems.is_empty(),
        "{bin} {args:?}: {} problem(s):\n- {}\n\nstory:\n{stdout}",
        problems.len(),
        problems.join("\n- ")
    );
}

#[test]
fn the_parser_reads_strace_lines() {
    let line = r#"semtimedop(5, [{sem_num=0, sem_op=-1, sem_flg=SEM_UNDO}], 1, NULL) = 0"#;
    let syscall = parse_syscall(line).unwrap();
    assert_eq!(syscall.name, "semtimedop");
    assert_eq!(syscall.args.len(), 4);
    assert_eq!(syscall.result, "0");
    let failed =
        parse_syscall("shmat(7, NULL, SHM_RDONLY) = -1 EACCES (Permission denied)").unwrap();
    assert_eq!(failed.result, "-1 EACCES (Permission denied)");
    let call = TraceCall {
        pid: 1,
        role: "child".into(),
        call: "shmat".into(),
        args: vec!["7".into(), "NULL".into(), "SHM_RDONLY".into()],
        result: None,
        errno: Some("EACCES".into()),
        text: "shmat(7, NULL, SHM_RDONLY) = -1 EACCES".into(),
        t_ns: 0,
    };
    assert!(matches(&call, &failed));
    let wrong = TraceCall { args: vec!["7".into(), "NULL".into(), "0".into()], ..call.clone() };
    assert!(!matches(&wrong, &failed), "a different flag must not match");
    let semop = TraceCall {
        call: "semop".into(),
        args: vec!["5".into(), "{0, -1, SEM_UNDO}".into(), "1".into()],
        result: Some("0".into()),
        errno: None,
        text: "semop(5, {0, -1, SEM_UNDO}, 1) = 0".into(),
        ..call.clone()
    };
    assert!(matches(&semop, &syscall), "semop is made as semtimedop");
    let no_undo = TraceCall { args: vec!["5".into(), "{0, -1, 0}".into(), "1".into()], ..semop };
    assert!(!matches(&no_undo, &syscall), "SEM_UNDO must be there if printed");
    let open = parse_syscall(
        r#"openat(AT_FDCWD, "/dev/shm/x", O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600) = 3"#,
    )
    .unwrap();
    let shm_open = TraceCall {
        call: "shm_open".into(),
        args: vec!["\"/x\"".into(), "O_RDWR|O_CREAT|O_EXCL".into(), "0600".into()],
        result: Some("3".into()),
        errno: None,
        text: String::new(),
        ..call
    };
    assert!(matches(&shm_open, &open));
    let restarted = parse_syscall(
        "wait4(42, 0x7ffd, 0, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
    )
    .unwrap();
    let interrupted = TraceCall {
        call: "waitpid".into(),
        args: vec!["42".into(), "&status".into(), "0".into()],
        result: None,
        errno: Some("EINTR".into()),
        text: String::new(),
        ..shm_open.clone()
    };
    assert!(matches(&interrupted, &restarted), "EINTR is ERESTARTSYS in strace");
    assert_eq!(
        printed_call("[parent 42] shmget(IPC_PRIVATE, 8, 0) = 7   (why)"),
        Some((42, "shmget(IPC_PRIVATE, 8, 0) = 7   (why)"))
    );
    assert_eq!(printed_call("[parent 42] the shmget above"), None);
}

#[test]
fn the_descriptor_passed_in_scm_rights_must_be_the_one_strace_shows() {
    let line = r#"sendmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="f", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, MSG_NOSIGNAL) = 1"#;
    let syscall = parse_syscall(line).unwrap();
    let call = |text: &str| TraceCall {
        pid: 1,
        role: "server".into(),
        call: "sendmsg".into(),
        args: vec!["4".into(), "&msg".into(), "MSG_NOSIGNAL".into()],
        result: Some("1".into()),
        errno: None,
        text: text.into(),
        t_ns: 0,
    };
    let sent = "sendmsg(4, &msg /* 1 byte, SCM_RIGHTS {5} */, MSG_NOSIGNAL) = 1";
    assert!(matches(&call(sent), &syscall));
    assert!(!matches(&call(&sent.replace("{5}", "{6}")), &syscall), "another descriptor");
    let plain = "sendmsg(4, &msg /* 1 byte */, MSG_NOSIGNAL) = 1";
    assert!(!matches(&call(plain), &syscall), "a descriptor that was not printed");
}

#[test]
fn a_printed_call_that_was_not_made_is_caught() {
    // The check itself, fed a story that prints a call no process made.
    let calls = [TraceCall {
        pid: 42,
        role: "parent".into(),
        call: "semget".into(),
        args: vec!["IPC_PRIVATE".into(), "1".into(), "IPC_CREAT|IPC_EXCL|0600".into()],
        result: Some("3".into()),
        errno: None,
        text: "semget(IPC_PRIVATE, 1, IPC_CREAT|IPC_EXCL|0600) = 3".into(),
        t_ns: 0,
    }];
    let story = "[parent 42] semget(IPC_PRIVATE, 1, IPC_CREAT|0600) = 3";
    let (pid, text) = printed_call(story).unwrap();
    assert!(!calls.iter().any(|call| call.pid == pid && text.starts_with(&call.text)));
}

macro_rules! lesson_tests {
    ($($name:ident: $bin:literal $args:expr;)*) => {$(
        #[test]
        fn $name() {
            check($bin, $args);
        }
    )*};
}

lesson_tests! {
    lesson01_prints_only_calls_it_made: "lesson01" &["--fast"];
    lesson02_prints_only_calls_it_made: "lesson02" &["--fast"];
    lesson03_prints_only_calls_it_made: "lesson03" &["--fast"];
    lesson04_prints_only_calls_it_made: "lesson04" &["--fast"];
    lesson05_prints_only_calls_it_made: "lesson05" &["--fast"];
    lesson06_prints_only_calls_it_made: "lesson06" &["--fast"];
    lesson07_prints_only_calls_it_made: "lesson07" &["--fast"];
    lesson08_prints_only_calls_it_made: "lesson08" &["--fast"];
    lesson09_prints_only_calls_it_made: "lesson09" &["--fast"];
    lesson10_prints_only_calls_it_made: "lesson10" &["--fast"];
    lesson11_prints_only_calls_it_made: "lesson11" &["--fast"];
    lesson12_prints_only_calls_it_made: "lesson12" &["--fast"];
    lesson13_prints_only_calls_it_made: "lesson13" &["--fast"];
    lesson14_prints_only_calls_it_made: "lesson14" &["--fast"];
    lesson15_prints_only_calls_it_made: "lesson15" &["--fast"];
    lesson16_prints_only_calls_it_made: "lesson16" &["--fast"];
}

/// Lesson 16 counts the system calls of uncontended `sem_wait`/`sem_post` pairs (none) and of
/// `semop` pairs (one each) with ptrace; strace counts them too. Under strace the lesson's child
/// cannot be traced by its parent as well (`PTRACE_TRACEME` fails with `EPERM`), but it does
/// the same pairs, and strace sees every system call they make.
#[test]
fn lesson16_uncontended_sem_pairs_make_no_system_call_and_semop_pairs_two() {
    if !strace_available() {
        return;
    }
    let pairs = 300;
    let (stdout, calls, syscalls) =
        traced_run_watching("lesson16", &["--fast", "--pairs", "300"], "all");
    let counted: Vec<&TraceCall> = calls.iter().filter(|c| c.call == "ptrace").collect();
    assert_eq!(counted.len(), 2, "two counted children:\n{stdout}");
    for call in &counted {
        assert_eq!(call.errno.as_deref(), Some("EPERM"), "strace traces it already: {call:?}");
    }
    // Each child brackets its pairs with two `kill(pid, 0)`: count what lies between them.
    let between = |pid: i32, names: &[&str]| {
        let made: &Vec<Syscall> = &syscalls[&pid];
        let bracket = |s: &Syscall| s.name == "kill" && s.args.get(1).is_some_and(|a| a == "0");
        let ends: Vec<usize> =
            made.iter().enumerate().filter(|(_, s)| bracket(s)).map(|(at, _)| at).collect();
        assert_eq!(ends.len(), 2, "two brackets in {pid}: {made:?}");
        let inside = &made[ends[0] + 1..ends[1]];
        inside.iter().filter(|s| names.is_empty() || names.contains(&s.name.as_str())).count()
    };
    let (sem_child, semop_child) = (counted[0].pid, counted[1].pid);
    // strace watched every system call: `&[]` counts them all.
    assert_eq!(between(sem_child, &[]), 0, "sem_wait/sem_post: no system call\n{stdout}");
    let sysv = between(semop_child, &["semop", "semtimedop"]);
    assert_eq!(sysv, 2 * pairs, "semop -1/+1: one system call each\n{stdout}");
    assert_eq!(between(semop_child, &[]), 2 * pairs, "and no other\n{stdout}");
    assert!(stdout.contains("pairs of sem_wait/sem_post: not counted here"), "{stdout}");
}
