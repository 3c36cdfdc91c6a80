//! lesson05 as a student runs it: three writers take turns, the log keeps every message, and
//! a writer killed while holding the semaphore neither hangs the lesson nor leaks anything.

use crate::common;

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
fn the_trace_holds_the_semaphore_calls_with_their_real_arguments() {
    let run = run("lesson05", &["--fast"]);
    run.assert_success();
    let semgets: Vec<_> = run.calls_named("semget").collect();
    assert_eq!(semgets.len(), 4, "{semgets:?}");
    let sizes: Vec<&str> = semgets.iter().map(|c| c.args[1].as_str()).collect();
    assert_eq!(sizes, ["1", "1", "2", "2"], "Parts 1 and 2 use one semaphore, Part 3 two");
    for semget in &semgets {
        assert_eq!(semget.args[0], "IPC_PRIVATE");
        assert_eq!(semget.args[2], "IPC_CREAT|IPC_EXCL|0600");
        let semid = semget.result.as_deref().unwrap();
        assert!(run.calls_named("semctl").any(|c| c.args == [semid, "0", "SETVAL", "1"]));
    }
    let id = |n: usize| semgets[n].result.clone().unwrap();
    let ops = |n: usize, op: &str| -> Vec<common::TraceCall> {
        let semid = id(n);
        run.calls_named(op).filter(|c| c.args[0] == semid).cloned().collect()
    };
    // Part 2: every writer takes and gives back with SEM_UNDO.
    let part2 = ops(1, "semop");
    assert_eq!(part2.len(), 6, "{part2:?}");
    assert_eq!(part2.iter().filter(|c| c.args[1] == "{0, -1, SEM_UNDO}").count(), 3);
    assert_eq!(part2.iter().filter(|c| c.args[1] == "{0, +1, SEM_UNDO}").count(), 3);
    // Part 3: writer 1 takes without, then with SEM_UNDO, and is killed.
    for (n, take) in [(2, "{0, -1, 0}"), (3, "{0, -1, SEM_UNDO}")] {
        let victim = ops(n, "semop").into_iter().find(|c| c.args[1] == take).expect("a take");
        assert_eq!(victim.role, "writer 1");
        assert!(
            run.calls_named("kill").any(|c| c.args == [victim.pid.to_string().as_str(), "SIGKILL"]),
            "writer 1 ({}) is killed",
            victim.pid
        );
    }
    let values: Vec<Option<String>> = run
        .calls_named("semctl")
        .filter(|c| c.args[2] == "GETVAL")
        .map(|c| c.result.clone())
        .collect();
    assert_eq!(values, [Some("0".to_owned()), Some("1".to_owned())], "taken; undone");
    let writer_2 = |n: usize| -> Vec<common::TraceCall> {
        ops(n, "semtimedop").into_iter().filter(|c| c.role == "writer 2").collect()
    };
    let timed_out = writer_2(2);
    assert_eq!(timed_out.len(), 1, "{timed_out:?}");
    assert_eq!(timed_out[0].args[1..3], ["{0, -1, 0}", "1"]);
    assert_eq!(timed_out[0].errno.as_deref(), Some("EAGAIN"), "without SEM_UNDO: no way in");
    let got_in = writer_2(3);
    assert_eq!(got_in[0].result.as_deref(), Some("0"), "with SEM_UNDO: in at once");

    // Every call the story prints is one the trace recorded, in the process that printed it.
    let made: Vec<(i32, &str)> = run.calls.iter().map(|c| (c.pid, c.text.as_str())).collect();
    let mut printed = 0;
    for line in run.lines() {
        let Some((prefix, text)) = line.split_once("] ") else { continue };
        let text = text.split("   (").next().unwrap();
        let name = text.split('(').next().unwrap();
        if text.contains(") = ") && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            let pid: i32 = prefix.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(made.contains(&(pid, text)), "printed but not made: {line}");
            printed += 1;
        }
    }
    assert_eq!(printed, 4 + 6 + 9 + 9, "{}", run.stdout);
}

#[test]
fn a_writer_killed_holding_the_semaphore_in_part_1_ends_the_run_instead_of_hanging() {
    use std::io::{BufRead, BufReader, Read};
    let trace = common::TraceFile::new();
    let mut lesson = common::lesson("lesson05")
        .args(["--trace", trace.path()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(lesson.stdout.take().unwrap());
    let mut seen = String::new();
    // The second writer in holds the semaphore for 300 ms (no --fast): kill it there.
    let mut writing = 0;
    let holder = loop {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "ended early:\n{seen}");
        seen.push_str(&line);
        if line.trim_end().ends_with(" is writing to shared memory.") {
            writing += 1;
            if writing == 2 {
                break pid_of(&line);
            }
        }
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(holder), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = lesson.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = lesson.kill();
            panic!("the lesson hangs after writer {holder} died holding the semaphore:\n{seen}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    stdout.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    lesson.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{seen}\n{stderr}");
    let told = format!("{seen}{stderr}");
    assert!(
        told.contains(&format!("process {holder} died before giving it back"))
            || told.contains("was killed by SIGKILL"),
        "the error says who died:\n{told}"
    );
    let run = common::Run::new(seen, stderr, status, trace.calls());
    run.assert_nothing_left();
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
    // Part 3's pause, the third.
    let run = common::interrupt_when_after_pauses(
        "lesson05",
        &["--fast", "--step"],
        2,
        "[Enter] to continue",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.contains("ipcs -s -i"), "{stdout}");
    assert!(stdout.contains("writer 1 holds semaphore"), "{stdout}");
    run.assert_nothing_left();
}
