//! lesson12: each tool keeps its promise, and the lesson says so with evidence.

use crate::common;

use common::{number_after, run};

/// The number after `label` on the first line containing it.
fn number_on_line(stdout: &str, label: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no line with {label}:\n{stdout}"));
    number_after(line, label)
}

#[test]
fn every_tool_keeps_its_promise() {
    let run = run("lesson12", &["--fast", "--workers", "6", "--inside", "3"]);
    run.assert_success();
    let out = &run.stdout;
    let (mutex, rest) = out.split_once("== 2.").unwrap();
    assert_eq!(number_on_line(mutex, "most workers inside at once: "), 1);
    assert!(mutex.contains("total: 120 of 120"), "{mutex}");

    let (robust, rest) = rest.split_once("== 3.").unwrap();
    assert!(robust.contains("] pthread_mutex_lock returned EOWNERDEAD   ("), "{robust}");
    assert!(
        robust.contains("pair = (1, 0)") && robust.contains("repaired: pair = (1, 1)"),
        "{robust}"
    );
    assert!(robust.contains("] pthread_mutex_consistent returned 0   ("), "{robust}");
    assert!(
        robust.contains("] pthread_mutex_lock returned 0   (an ordinary lock again)"),
        "{robust}"
    );

    let (counting, rest) = rest.split_once("== 4.").unwrap();
    assert!(counting.contains("at most 3 of 6 inside"), "{counting}");
    assert!(number_on_line(counting, "most workers inside at once: ") <= 3, "{counting}");
    assert_eq!(
        counting.lines().filter(|l| l.ends_with(" inside)") && l.contains("] in ")).count(),
        6,
        "{counting}"
    );

    let (atomic, barrier) = rest.split_once("== 5.").unwrap();
    assert!(atomic.contains("fetch_add total: 600000 of 600000"), "{atomic}");

    let names = |label: &str| -> Vec<String> {
        let line = barrier.lines().find(|l| l.contains(label)).unwrap();
        let mut names: Vec<String> =
            line.split(label).nth(1).unwrap().split_whitespace().map(str::to_owned).collect();
        names.sort();
        names
    };
    let everyone: Vec<String> = (1..=6).map(|w| format!("w{w}")).collect();
    assert_eq!(names("arrivals:   "), everyone);
    assert_eq!(names("departures: "), everyone);
    assert!(barrier.contains("nobody passed early"), "{barrier}");
    run.assert_nothing_left();
}

#[test]
fn the_trace_holds_each_tools_calls_with_their_real_arguments() {
    let run = run("lesson12", &["--fast", "--workers", "4", "--inside", "2"]);
    run.assert_success();
    let shmget = run.calls_named("shmget").next().expect("the board's segment");
    assert_eq!(shmget.args, ["IPC_PRIVATE", "4096", "IPC_CREAT|IPC_EXCL|0600"]);
    let semids: Vec<String> = run
        .calls_named("semget")
        .inspect(|c| assert_eq!(c.args, ["IPC_PRIVATE", "1", "IPC_CREAT|IPC_EXCL|0600"]))
        .map(|c| c.result.clone().unwrap())
        .collect();
    assert_eq!(semids.len(), 3, "a mutex, a gate and a barrier");
    // Each semaphore starts where its tool needs it: 1 (unlocked), K places, N arrivals.
    for (semid, value) in semids.iter().zip(["1", "2", "4"]) {
        assert!(
            run.calls_named("semctl").any(|c| c.args == [semid.as_str(), "0", "SETVAL", value]),
            "semid {semid} is set to {value}"
        );
    }
    let ops = |semid: &str, op: &str| {
        run.calls_named("semop").filter(|c| c.args[0] == semid && c.args[1] == op).count()
    };
    // The mutex and the gate are taken and given back with SEM_UNDO (a dead holder gives
    // them back); the barrier's -1 and wait-for-zero have no undo.
    assert_eq!(ops(&semids[0], "{0, -1, SEM_UNDO}"), 4 * 20);
    assert_eq!(ops(&semids[0], "{0, +1, SEM_UNDO}"), 4 * 20);
    assert_eq!(ops(&semids[1], "{0, -1, SEM_UNDO}"), 4);
    assert_eq!(ops(&semids[2], "{0, -1, 0}"), 4);
    assert_eq!(ops(&semids[2], "{0, 0, 0}"), 4);
    // The robust mutex's owner is killed while it holds the mutex.
    // (Its pid comes from the story: killed right after it says so, it may record nothing.)
    let owner = run.lines().find_map(|l| l.strip_prefix("[owner ")).expect("the owner speaks");
    let owner = owner.split(']').next().unwrap().trim();
    let kill = run.calls_named("kill").next().expect("a kill");
    assert_eq!(kill.args, [owner, "SIGKILL"]);

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
    assert_eq!(printed, 2 + 2 + 2 + 2 + 2, "{}", run.stdout);
}

#[test]
fn ctrl_c_in_the_middle_leaves_nothing() {
    let run = common::interrupt_when("lesson12", &[], "== 1.", nix::sys::signal::Signal::SIGINT);
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("[SIGINT] stopping: removed"), "{stderr}");
    run.assert_nothing_left();
}

#[test]
fn step_pauses_where_ipcs_shows_the_tools_and_ctrl_c_there_leaves_nothing() {
    use nix::sys::signal::Signal;
    // The first pause: the mutex's semaphore set exists, no worker yet.
    let run = common::interrupt_at_the_pause("lesson12", Signal::SIGINT);
    assert_eq!(run.code(), Some(130), "{}", run.stderr);
    assert!(run.stdout.contains("ipcs -s -i "), "{}", run.stdout);
    run.assert_nothing_left();
    // The second: the robust mutex's owner holds it and sleeps; Ctrl-C stops it too.
    let run = common::interrupt_when_after_pauses(
        "lesson12",
        &["--fast", "--step"],
        1,
        "holds the mutex and sleeps",
        Signal::SIGINT,
    );
    assert_eq!(run.code(), Some(130), "{}", run.stderr);
    assert!(run.stderr.contains("reaped 1 child"), "{}", run.stderr);
    run.assert_nothing_left();
    // Answering every pause with Enter, the lesson pauses once in each of the first four
    // tools before the barrier's.
    let run = common::interrupt_when_after_pauses(
        "lesson12",
        &["--fast", "--step"],
        4,
        "== 5. A barrier",
        Signal::SIGINT,
    );
    // (Counted up to the heading: the barrier's own pause may come out before the signal.)
    let before = run.stdout.split("== 5. A barrier").next().unwrap();
    assert_eq!(before.matches("[Enter] to continue").count(), 4, "{}", run.stdout);
    run.assert_nothing_left();
}
