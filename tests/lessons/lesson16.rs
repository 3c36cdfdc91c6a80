//! lesson16: an unnamed semaphore and a futex word in the segment, each promise checked on what
//! the student sees and in the trace; the counted system calls; a holder that dies; faults.

use crate::common;

use common::run;

/// The text of part `n` (from its heading to the next one).
fn part(stdout: &str, n: u32) -> &str {
    let start = stdout.find(&format!("== {n}. ")).unwrap_or_else(|| panic!("no part {n}"));
    let rest = &stdout[start..];
    let end = rest.find(&format!("== {}. ", n + 1)).unwrap_or(rest.len());
    &rest[..end]
}

/// Whether this test process may trace its own children (the lesson's part 4 needs it): not
/// under a tracer, and not where Yama's ptrace_scope forbids it.
fn ptrace_allowed() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let traced = status.lines().any(|l| l.starts_with("TracerPid:") && l.trim() != "TracerPid:\t0");
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .map_or(0, |s| s.trim().parse().unwrap_or(0));
    !traced && scope < 2
}

#[test]
fn each_part_shows_its_promise_kept_or_broken() {
    let run = run("lesson16", &["--fast", "--workers", "3", "--pairs", "500"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let out = &run.stdout;

    let one = part(out, 1);
    assert!(one.contains("total: 6000 of 6000"), "{one}");
    let inits: Vec<_> = run.calls_named("sem_init").map(|c| c.args[1..].join(" ")).collect();
    assert_eq!(inits, ["1 1", "0 0", "1 1", "1 1"], "pshared and value of each sem_init");
    // pshared 0: the post happened (value 1) and the waiter in another process timed out.
    let waited: Vec<_> = run.calls_named("sem_timedwait").collect();
    assert_eq!(waited[0].role, "waiter");
    assert_eq!(waited[0].errno.as_deref(), Some("ETIMEDOUT"), "{one}");
    assert!(one.contains("/* sval = 1 */) = 0   (still 1: posted"), "{one}");

    let two = part(out, 2);
    // (The library's own waits make futex calls too: these are the lesson's, by their arguments.)
    let wake = run.calls_named("futex").find(|c| c.args[1..] == ["FUTEX_WAKE", "1"]).unwrap();
    assert_eq!(wake.result.as_deref(), Some("1"), "the wake reached the other process: {two}");
    let wait = run
        .calls_named("futex")
        .find(|c| {
            c.role == "waiter" && c.args.get(3).is_some_and(|t| t == "{tv_sec=10, tv_nsec=0}")
        })
        .unwrap();
    assert_eq!(wait.result.as_deref(), Some("0"), "woken, not timed out: {two}");
    assert_ne!(wait.args[0], wake.args[0], "two addresses, one word: {two}");

    let three = part(out, 3);
    let patient = |t: &String| t == "{tv_sec=0, tv_nsec=100000000}";
    let waits: Vec<_> = run
        .calls_named("futex")
        .filter(|c| c.role == "waiter" && c.args.get(3).is_some_and(patient))
        .collect();
    let ends: Vec<_> = waits.iter().map(|c| (c.args[2].as_str(), c.errno.as_deref())).collect();
    assert_eq!(ends, [("1", Some("ETIMEDOUT")), ("0", Some("EAGAIN"))], "{three}");
    assert_eq!(three.matches("FUTEX_WAKE, 1) = 0   (").count(), 2, "both wakes lost: {three}");

    let four = part(out, 4);
    if ptrace_allowed() {
        assert!(four.contains("500 pairs of sem_wait/sem_post: system calls: none"), "{four}");
        let semop = four.lines().find(|l| l.contains("pairs of semop -1/+1")).unwrap();
        assert!(semop.ends_with("semtimedop 1000") || semop.ends_with("semop 1000"), "{semop}");
    } else {
        assert!(four.contains("not counted here"), "{four}");
    }

    let five = part(out, 5);
    assert!(five.contains("/* sval = 0 */) = 0   (0: still taken"), "{five}");
    let last = waited.last().unwrap();
    assert_eq!((last.role.as_str(), last.errno.as_deref()), ("parent", Some("ETIMEDOUT")));
    assert!(five.contains(", 0, GETVAL) = 1   (1: the kernel undid"), "{five}");
    assert_eq!(run.calls_named("sem_destroy").count(), 4, "every semaphore is destroyed");
    run.assert_nothing_left();
}

#[test]
fn bad_flags_are_refused() {
    for words in [&["--workers", "1"][..], &["--pairs", "0"], &["--pairs"]] {
        let run = run("lesson16", words);
        assert_eq!(run.code(), Some(2), "{words:?}: {}", run.stderr);
    }
}

#[test]
fn ctrl_c_while_a_holder_sleeps_leaves_nothing() {
    let run = common::interrupt_when(
        "lesson16",
        &[],
        "(holding it, and about to be killed)",
        nix::sys::signal::Signal::SIGINT,
    );
    assert_eq!(run.code(), Some(130), "{}", run.stderr);
    run.assert_nothing_left();
}

/// The children of process `pid`.
fn children_of(pid: u32) -> Vec<i32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_whitespace().filter_map(|c| c.parse().ok()).collect()
}

#[test]
fn a_counted_child_killed_while_it_is_traced_ends_the_lesson_and_leaves_nothing() {
    use std::io::{BufRead, BufReader, Read};
    let trace = common::TraceFile::new();
    // Many semop pairs, each stopped twice by ptrace: the second counted child runs for long.
    let mut lesson = common::lesson("lesson16")
        .args(["--fast", "--pairs", "2000000", "--trace", trace.path()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(lesson.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("pairs of sem_wait/sem_post: ") {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "ended early:\n{seen}");
        seen.push_str(&line);
    }
    // The second counted child: the second `ptrace(PTRACE_TRACEME)` of the trace.
    let counted = loop {
        let traced: Vec<i32> =
            trace.calls().iter().filter(|c| c.call == "ptrace").map(|c| c.pid).collect();
        if let Some(&child) = traced.get(1) {
            break child;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(children_of(lesson.id()).contains(&counted), "it is the lesson's child");
    std::thread::sleep(std::time::Duration::from_millis(100)); // well inside its pairs
    let pid = nix::unistd::Pid::from_raw(counted);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let watchdog = common::Watchdog::new(
        &lesson,
        std::time::Duration::from_secs(30),
        nix::sys::signal::Signal::SIGKILL,
    );
    let status = lesson.wait().unwrap();
    drop(watchdog);
    stdout.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    lesson.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "an error, not a hang or a signal:\n{seen}\n{stderr}");
    // Killed while counted, or (on a loaded machine) just before: either way it is named.
    assert!(
        stderr.contains(&format!("process {counted} "))
            || stderr.contains(&format!("child {counted} ")),
        "{stderr}"
    );
    let stdout = shm_workbook::fold::unfold(&seen);
    let run = common::Run { stdout, printed: seen, stderr, status, calls: trace.calls() };
    run.assert_nothing_left();
}
