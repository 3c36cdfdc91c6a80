//! lesson01 as a student runs it: the story, the exit status, and nothing left behind.

use crate::common;

use common::{interrupt_at_the_pause, process_exists, run};

const MESSAGE_LINE: &str = "Child read: Hello from parent!";

#[test]
fn the_child_reads_exactly_the_parents_message_and_nothing_is_left() {
    let run = run("lesson01", &["--fast"]);
    run.assert_success();
    let child_lines: Vec<&str> = run.lines().filter(|line| line.starts_with("[child ")).collect();
    let reads: Vec<&str> = child_lines
        .iter()
        .filter_map(|line| line.split("] ").nth(1))
        .filter(|text| text.starts_with("Child read:"))
        .collect();
    // Part 1 (the document's way), Part 2's late parent (empty), Part 3 (the semaphore).
    assert_eq!(reads.len(), 3, "three reads are narrated:\n{}", run.stdout);
    assert_eq!(reads[0], MESSAGE_LINE);
    assert!(
        reads[1].starts_with("Child read:    (empty"),
        "the late parent's child reads nothing: {}",
        reads[1]
    );
    assert_eq!(reads[2], MESSAGE_LINE, "the semaphore version reads the whole message");
    assert!(!run.stdout.contains('\x1b'), "NO_COLOR and a pipe mean no escape codes");
    assert!(run.stderr.is_empty(), "nothing on stderr: {}", run.stderr);
    run.assert_nothing_left();
}

#[test]
fn the_semaphore_orders_the_read_after_the_write() {
    let run = run("lesson01", &["--fast"]);
    run.assert_success();
    let part3 = run.stdout.split("Part 3").nth(1).expect("a Part 3");
    // The parent prints "wrote" before its semop(+1); the child prints its semop(-1) only once
    // it has returned, and reads after that. (The parent's own semop line may come after the
    // child's: both are fine.)
    let wrote = part3.find("wrote \"Hello from parent!\"").expect("the parent writes");
    let waited = part3.find("{0, -1, 0}, 1) = 0").expect("the child's wait returns");
    let read = part3.find(MESSAGE_LINE).expect("the child reads");
    assert!(wrote < waited && waited < read, "the read comes after the write:\n{part3}");
}

/// The call text of a printed line: `[role pid] shmat(7, NULL, 0) = 0x7f00   (note)` gives
/// `shmat(7, NULL, 0) = 0x7f00`; `None` for a line that prints no call.
fn printed_call(line: &str) -> Option<&str> {
    let text = line.split_once("] ")?.1;
    let text = text.split("   (").next()?;
    let name_end = text.find('(')?;
    let is_call = text[..name_end].chars().all(|c| c.is_ascii_lowercase() || c == '_')
        && name_end > 0
        && text.contains(") = ");
    is_call.then_some(text)
}

#[test]
fn the_trace_holds_the_calls_the_lesson_teaches_with_their_real_arguments() {
    let run = run("lesson01", &["--fast"]);
    run.assert_success();
    let parent = run.calls_named("shmget").next().expect("a shmget").pid;
    let by = |name: &str, pid: i32| -> Vec<&common::TraceCall> {
        run.calls.iter().filter(|call| call.call == name && call.pid == pid).collect()
    };
    // Part 1 and Part 3 create their segments with the flags really passed (IPC_EXCL too).
    let shmgets = by("shmget", parent);
    assert!(shmgets.len() >= 2, "{shmgets:?}");
    for call in &shmgets {
        assert_eq!(call.args, ["IPC_PRIVATE", "1024", "IPC_CREAT|IPC_EXCL|0600"], "{}", call.text);
    }
    let semget = run.calls_named("semget").next().expect("Part 3 makes a semaphore set");
    assert_eq!(semget.args, ["IPC_PRIVATE", "1", "IPC_CREAT|IPC_EXCL|0600"], "{}", semget.text);
    let semid = semget.result.clone().expect("a semid");
    let last_shmid = shmgets.last().unwrap().result.clone().expect("a shmid");

    // Part 3: the child attaches the parent's segment and waits; the parent posts.
    let fork = by("fork", parent).last().copied().expect("a fork");
    let child: i32 = fork.result.as_deref().unwrap().parse().unwrap();
    let attach = by("shmat", child);
    assert_eq!(attach.len(), 1);
    assert_eq!(attach[0].args, [last_shmid.as_str(), "NULL", "0"]);
    let waits = by("semop", child);
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].args, [semid.as_str(), "{0, -1, 0}", "1"]);
    assert_eq!(waits[0].result.as_deref(), Some("0"));
    let posts = by("semop", parent);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].args, [semid.as_str(), "{0, +1, 0}", "1"]);
    let reaped = by("waitpid", parent);
    let reaped = reaped.last().expect("a waitpid");
    assert_eq!(reaped.args, [child.to_string().as_str(), "&status", "0"]);
    assert_eq!(reaped.result, Some(child.to_string()));
    assert!(
        by("shmctl", parent)
            .iter()
            .any(|call| call.args == [last_shmid.as_str(), "IPC_RMID", "NULL"])
    );
    assert!(by("semctl", parent).iter().any(|call| call.args == [semid.as_str(), "0", "IPC_RMID"]));

    // Every call the story prints is one the trace recorded, in the process that printed it.
    let texts: Vec<(i32, &str)> = run.calls.iter().map(|c| (c.pid, c.text.as_str())).collect();
    let mut printed = 0;
    for line in run.lines() {
        if let Some(call) = printed_call(line) {
            let pid: i32 =
                line.split(']').next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
            assert!(texts.contains(&(pid, call)), "printed but not made: {line}");
            printed += 1;
        }
    }
    assert!(printed >= 19, "the story prints its calls:\n{}", run.stdout);
}

#[test]
fn the_race_report_adds_up() {
    let run = run("lesson01", &["--fast", "--seed", "3"]);
    run.assert_success();
    let reports: Vec<&str> =
        run.lines().filter(|line| line.contains("the child read nothing")).collect();
    assert_eq!(reports.len(), 2);
    for report in reports {
        let numbers: Vec<u32> = report
            .split(|c: char| !c.is_ascii_digit())
            .filter(|piece| !piece.is_empty())
            .map(|piece| piece.parse().unwrap())
            .collect();
        // [pid, nothing, part, all, trials]
        let [_, nothing, part, all, trials] = numbers[..] else {
            panic!("unexpected report: {report}")
        };
        assert_eq!(nothing + part + all, trials, "{report}");
    }
}

#[test]
fn an_unknown_flag_prints_usage_and_exits_2() {
    let run = run("lesson01", &["--bogus"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("unknown flag `--bogus`"), "{}", run.stderr);
    assert!(run.stderr.contains("Usage: cargo run --bin lesson01"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing runs: {}", run.stdout);
    // Short, and the problem last, where it does not scroll away; the full help on request.
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.len() <= 3, "a short usage, not the whole help:\n{}", run.stderr);
    assert_eq!(lines.last(), Some(&"lesson01: unknown flag `--bogus`"), "{}", run.stderr);
    assert!(run.stderr.contains("-- --help   lists every flag"), "{}", run.stderr);
    let run = common::run("lesson01", &["--seed", "many"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("--seed needs a whole number"), "{}", run.stderr);
}

#[test]
fn help_describes_the_lesson_and_its_flags() {
    let run = run("lesson01", &["--help"]);
    run.assert_success();
    for text in ["Parent writes, child reads", "--fast", "--step", "--seed N", "--no-color"] {
        assert!(run.stdout.contains(text), "--help lacks {text}:\n{}", run.stdout);
    }
}

#[test]
fn ctrl_c_at_the_pause_removes_everything_and_exits_130() {
    // Part 3's pause, the third: both processes attached, the child blocked in semop.
    let run = common::interrupt_when_after_pauses(
        "lesson01",
        &["--fast", "--step"],
        2,
        "[Enter] to continue",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stdout.contains("run:  ipcs -m") && stdout.contains("nattch 2"),
        "the pause says what ipcs shows:\n{stdout}"
    );
    assert!(stderr.contains("[SIGINT] stopping: removed 2 object(s)"), "{stderr}");
    assert!(stderr.contains("reaped 1 child"), "{stderr}");
    let created = common::created_in(&run.calls);
    assert!(
        !created.shmids.is_empty() && !created.semids.is_empty(),
        "the run had a segment and a semaphore set:\n{stdout}"
    );
    run.assert_nothing_left();
    for pid in created.pids {
        assert!(!process_exists(pid));
    }
}

#[test]
fn sigterm_at_the_pause_cleans_up_and_exits_143() {
    let run = interrupt_at_the_pause("lesson01", nix::sys::signal::Signal::SIGTERM);
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(143), "{stderr}");
    run.assert_nothing_left();
}
