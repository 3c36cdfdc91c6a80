//! lesson01 as a student runs it: the story, the exit status, and nothing left behind.

mod common;

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
    // The parent prints "wrote" before its semop(+1); the child prints only after its semop(-1)
    // returns. (The parent's own semop line may come after the child's: both are fine.)
    let wrote = part3.find("wrote \"Hello from parent!\"").expect("the parent writes");
    let waits = part3.find("{0, -1, 0}").expect("the child waits");
    let read = part3.find(MESSAGE_LINE).expect("the child reads");
    assert!(wrote < read && waits < read, "the read comes after the write:\n{part3}");
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
    let run = interrupt_at_the_pause("lesson01", nix::sys::signal::Signal::SIGINT);
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
