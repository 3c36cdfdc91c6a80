//! lesson04: the correct versions are exact every time; the racy report adds up. Whether a
//! race actually happens in a given run is never asserted: it may not.

use crate::common;

use common::{number_after, run};

/// (expected, actual, lost) from a line `...: expected X, actual Y, lost updates Z`.
fn report(line: &str) -> (u64, u64, u64) {
    (
        number_after(line, "expected "),
        number_after(line, "actual "),
        number_after(line, "lost updates "),
    )
}

#[test]
fn the_racy_reports_are_consistent() {
    let run = run("lesson04", &["--fast"]);
    run.assert_success();
    let reports: Vec<&str> =
        run.lines().filter(|l| l.contains("load, then store: expected ")).collect();
    assert_eq!(reports.len(), 2, "one for the trace, one for the count:\n{}", run.stdout);
    let (expected, actual, lost) = report(reports[0]);
    assert_eq!(expected, 9, "3 processes x 3 traced increments");
    assert!(actual <= expected && lost == expected - actual, "{}", reports[0]);
    let (expected, actual, lost) = report(reports[1]);
    assert_eq!(expected, 3 * 5_000);
    assert!(actual <= expected && lost == expected - actual, "{}", reports[1]);
    run.assert_nothing_left();
}

#[test]
fn the_trace_shows_every_read_and_write_of_every_process() {
    let run = run("lesson04", &["--fast", "--processes", "4", "--seed", "11"]);
    run.assert_success();
    let trace = run.stdout.split("Part 2").next().unwrap();
    for worker in 1..=4 {
        let mine = |what: &str| {
            trace
                .lines()
                .filter(|l| l.starts_with(&format!("[worker {worker} ")) && l.contains(what))
                .count()
        };
        assert_eq!(mine("] read  counter = "), 3, "worker {worker}:\n{trace}");
        assert_eq!(mine("] write counter = "), 3, "worker {worker}:\n{trace}");
    }
    // Every write marked as lost really went backwards or sideways.
    let mut highest = 0;
    for line in trace.lines().filter(|l| l.contains("write counter = ")) {
        let value: u64 = line
            .split("write counter = ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(line.contains("LOST UPDATE"), value <= highest, "{line}");
        highest = highest.max(value);
    }
}

#[test]
fn fetch_add_and_the_semaphore_are_exact_in_every_round() {
    let run = run("lesson04", &["--fast", "--rounds", "8", "--increments", "2000"]);
    run.assert_success();
    assert!(run.stdout.contains("fetch_add: exact in 8 of 8 rounds"), "{}", run.stdout);
    assert!(
        run.stdout.contains("load and store under a semaphore: exact in 8 of 8 rounds"),
        "{}",
        run.stdout
    );
    run.assert_nothing_left();
}

#[test]
fn the_trace_holds_the_segments_and_semaphores_with_their_real_arguments() {
    let run = run("lesson04", &["--fast", "--rounds", "3"]);
    run.assert_success();
    let shmgets: Vec<_> = run.calls_named("shmget").collect();
    // Part 1's traced segment, Part 2's counter, and one per round of each correct version.
    assert_eq!(shmgets.len(), 1 + 1 + 2 * 3, "{shmgets:?}");
    assert!(shmgets[0].text.contains("/* sizeof(Shared) */"), "{}", shmgets[0].text);
    assert!(shmgets[1..].iter().all(|call| call.text.contains(", 8 /* sizeof(AtomicU64) */, ")));
    for call in &shmgets {
        assert_eq!(call.args[0], "IPC_PRIVATE");
        assert_eq!(call.args[2], "IPC_CREAT|IPC_EXCL|0600", "{}", call.text);
    }
    let printed = run.lines().find(|l| l.contains("shmget(")).expect("the shmget is printed");
    assert!(printed.contains(&shmgets[0].text), "printed as made: {printed}");
    // Each count() makes a lock set to 1, used only by the semaphore version.
    let semgets: Vec<_> = run.calls_named("semget").collect();
    assert_eq!(semgets.len(), shmgets.len() - 1);
    for semget in &semgets {
        assert_eq!(semget.args, ["IPC_PRIVATE", "1", "IPC_CREAT|IPC_EXCL|0600"]);
        let semid = semget.result.as_deref().unwrap();
        assert!(
            run.calls_named("semctl").any(|c| c.args == [semid, "0", "SETVAL", "1"]),
            "semid {semid} starts unlocked"
        );
    }
    // The workers' 2 x 5000 semops per round are left out of the trace (process::spawn_unrecorded).
    assert_eq!(run.calls_named("semop").count(), 0);
    run.assert_nothing_left();
}

#[test]
fn out_of_range_numbers_are_refused() {
    let run = run("lesson04", &["--processes", "1"]);
    assert_eq!(run.code(), Some(2));
    assert!(
        run.stderr.contains("--processes needs a whole number from 2 to 16, not `1`"),
        "{}",
        run.stderr
    );
    // The refusal is short; --help lists the lesson's own flags.
    assert!(run.stderr.contains("lesson04 -- --help   lists every flag"), "{}", run.stderr);
    let help = common::run("lesson04", &["--help"]);
    assert!(help.stdout.contains("--increments M"), "{}", help.stdout);
}

#[test]
fn step_says_once_that_it_replays_the_finished_run_and_counts_the_events() {
    use std::io::Write;
    let trace = common::TraceFile::new();
    let mut child = common::lesson("lesson04")
        .args(["--fast", "--step", "--seed", "7", "--trace", trace.path()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&[b'\n'; 200]).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = shm_workbook::fold::unfold(&String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "{stdout}");
    let part1 = stdout.split("== Part 2").next().unwrap();
    let said = "replaying the run that just finished, one event at a time";
    assert_eq!(part1.matches(said).count(), 1, "said once:\n{part1}");
    // The pause comes first, then the replay: the run has finished before any event shows.
    assert!(part1.find("] paused: ").unwrap() < part1.find(said).unwrap(), "{part1}");
    let events: Vec<&str> = part1.lines().filter(|l| l.contains(" counter = ")).collect();
    assert_eq!(events.len(), 18, "3 workers x 3 increments x (read, write):\n{part1}");
    for (n, line) in events.iter().enumerate() {
        assert!(line.contains(&format!("event {} of 18)", n + 1)), "{line}");
    }
    assert!(part1.contains("press Enter for each of its 18 events"), "{part1}");
}

#[test]
fn ctrl_c_while_workers_count_leaves_nothing() {
    let run = common::interrupt_when(
        "lesson04",
        &["--increments", "5000000"],
        "== Part 2",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    // The workers may or may not have been forked yet: only the cleanup is certain.
    assert!(stderr.contains("[SIGINT] stopping"), "{stderr}");
    run.assert_nothing_left();
}
