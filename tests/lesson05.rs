//! lesson05 as a student runs it: three writers take turns, the log keeps every message, and
//! a writer killed while holding the semaphore neither hangs the lesson nor leaks anything.

mod common;

use std::collections::BTreeSet;

use common::run;

/// The pid in a `[role pid]` prefix.
fn pid_of(line: &str) -> i32 {
    line.split(']').next().unwrap().split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
fn three_writers_each_write_once_and_only_the_last_message_survives_offset_0() {
    let run = run("lesson05", &["--fast"]);
    run.assert_success();
    let part1 = run.stdout.split("Part 2").next().unwrap();
    let writing: Vec<&str> = part1
        .lines()
        .filter(|l| l.contains("] Process ") && l.ends_with(" is writing to shared memory."))
        .collect();
    assert_eq!(writing.len(), 3, "{part1}");
    let pids: BTreeSet<i32> = writing.iter().map(|l| pid_of(l)).collect();
    assert_eq!(pids.len(), 3, "three distinct writers: {writing:?}");
    for line in &writing {
        let pid = pid_of(line);
        assert!(line.ends_with(&format!("] Process {pid} is writing to shared memory.")), "{line}");
    }
    // Under the semaphore, each writer sees its own message right after writing it.
    for line in part1.lines().filter(|l| l.contains("Shared memory contains: ")) {
        let pid = pid_of(line);
        assert!(
            line.ends_with(&format!(
                "Shared memory contains: Process {pid} writing to shared memory."
            )),
            "{line}"
        );
    }
    let last_writer = pid_of(writing.last().unwrap());
    let final_line = part1.lines().find(|l| l.contains("final contents: ")).unwrap();
    assert!(
        final_line.ends_with(&format!("\"Process {last_writer} writing to shared memory.\"")),
        "{final_line}"
    );
}

#[test]
fn the_shared_log_holds_three_lines_with_three_distinct_pids_each_once() {
    let run = run("lesson05", &["--fast"]);
    run.assert_success();
    let part2 = run.stdout.split("Part 2").nth(1).unwrap().split("Part 3").next().unwrap();
    let writers: BTreeSet<i32> =
        part2.lines().filter(|l| l.starts_with("[writer ")).map(pid_of).collect();
    let logged: Vec<i32> = part2
        .split("the log after three writers:")
        .nth(1)
        .unwrap()
        .lines()
        .filter_map(|l| l.split("]   Process ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(logged.len(), 3, "{part2}");
    assert_eq!(
        logged.iter().copied().collect::<BTreeSet<i32>>(),
        writers,
        "each writer's pid exactly once"
    );
}

#[test]
fn a_writer_killed_holding_the_semaphore_blocks_others_without_undo_but_not_with_it() {
    let run = run("lesson05", &["--fast"]);
    run.assert_success();
    let part3 = run.stdout.split("Part 3").nth(1).unwrap();
    let (without, with) = part3.split_once("with SEM_UNDO, then is killed").unwrap();
    assert!(without.contains("GETVAL) = 0"), "{without}");
    assert!(without.contains("timed out after 100ms"), "{without}");
    assert!(!without.contains("got the semaphore"), "{without}");
    assert!(with.contains("GETVAL) = 1"), "{with}");
    assert!(with.contains("got the semaphore: writing"), "{with}");
    assert!(!with.contains("timed out"), "{with}");
}

#[test]
fn nothing_is_left_behind() {
    let run = run("lesson05", &["--fast"]);
    run.assert_success();
    let created = common::created_in(&run.calls);
    assert_eq!(created.shmids.len(), 2, "{}", run.stdout);
    assert_eq!(created.semids.len(), 4, "{}", run.stdout);
    run.assert_nothing_left();
}

#[test]
fn ctrl_c_while_a_dead_writer_holds_the_semaphore_leaves_nothing() {
    let run = common::interrupt_at_the_pause("lesson05", nix::sys::signal::Signal::SIGINT);
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.contains("ipcs -s -i"), "{stdout}");
    run.assert_nothing_left();
}
