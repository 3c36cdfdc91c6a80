//! lesson14: with the sequence lock no reader ever sees a torn record; without it the report
//! is at least consistent, and a run without torn reads says why. (Whether torn reads happen
//! without the protocol is not asserted: it varies, and can be 0.)

use crate::common;

use common::{number_after, run};

#[test]
fn the_sequence_lock_gives_zero_torn_reads_over_many_updates() {
    let run = run("lesson14", &["--fast", "--updates", "200000", "--readers", "3"]);
    run.assert_success();
    let (part1, part2) = run.stdout.split_once("Part 2").unwrap();
    let report = part2.lines().find(|l| l.contains("readers made ")).unwrap();
    assert!(number_after(report, "readers made ") > 0, "{report}");
    assert_eq!(number_after(report, "torn: "), 0, "{report}");
    assert!(part2.contains("wrote 200000 versions"), "{part2}");

    let report = part1.lines().find(|l| l.contains("readers made ")).unwrap();
    let (reads, torn) = (number_after(report, "readers made "), number_after(report, "torn: "));
    assert!(torn <= reads, "{report}");
    if torn > 0 {
        assert!(part1.contains("for example: version "), "a torn read is shown:\n{part1}");
    }
    run.assert_nothing_left();
}

#[test]
fn the_trace_holds_the_segment_and_the_writers_fork() {
    let run = run("lesson14", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let shmgets: Vec<_> = run.calls_named("shmget").collect();
    assert_eq!(shmgets.len(), 2, "one segment per part");
    for shmget in shmgets {
        assert_eq!(
            shmget.args,
            ["IPC_PRIVATE", "104", "IPC_CREAT|IPC_EXCL|0600"],
            "{}",
            shmget.text
        );
        let id = shmget.result.as_deref().unwrap();
        assert!(run.stdout.contains(&shmget.text), "{}", run.stdout);
        assert!(
            run.calls_named("shmctl").any(|c| c.args == [id, "IPC_RMID", "NULL"]),
            "segment {id} removed"
        );
    }
    // The fork printed for the writer is the writer's: the fork made, and the writer's pid.
    let forks: Vec<String> = run.calls_named("fork").filter_map(|c| c.result.clone()).collect();
    let printed: Vec<&str> = run.lines().filter(|l| l.contains("(the writer; ")).collect();
    assert_eq!(printed.len(), 2, "{}", run.stdout);
    for line in printed {
        let pid = common::number_after(line, "fork() = ");
        assert!(forks.contains(&pid.to_string()), "{line}");
        assert!(run.stdout.contains(&format!("[writer {pid}] wrote ")), "{line}");
    }
}

/// Runs lesson14, kills its writer with SIGKILL once `part` has printed the writer's fork,
/// and returns the run and the writer's pid.
fn kill_the_writer(args: &[&str], part: &str) -> (common::Run, i32) {
    use std::io::{BufRead, BufReader, Read};
    let trace = common::TraceFile::new();
    let mut child = common::lesson("lesson14")
        .args(args)
        .args(["--trace", trace.path()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut seen, mut in_part, mut writer) = (String::new(), false, 0);
    while writer == 0 {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "ended early:\n{seen}");
        seen.push_str(&line);
        in_part |= line.contains(part);
        if in_part && line.contains("(the writer; ") {
            writer = common::number_after(&line, "fork() = ") as i32;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(50)); // the readers are reading
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(writer), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let watchdog = common::Watchdog::new(
        &child,
        std::time::Duration::from_secs(20),
        nix::sys::signal::Signal::SIGKILL,
    );
    let status = child.wait().unwrap();
    drop(watchdog);
    stdout.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (common::Run::new(seen, stderr, status, trace.calls()), writer)
}

#[test]
fn a_killed_writer_stops_the_readers_with_an_error() {
    // Part 2 comes after the whole of Part 1: fewer updates, still far more than 50 ms' worth.
    for (part, updates) in [("== Part 1", "100000000"), ("== Part 2", "5000000")] {
        let (run, writer) = kill_the_writer(&["--updates", updates], part);
        let (stdout, stderr) = (&run.stdout, &run.stderr);
        assert_eq!(run.code(), Some(1), "an error, not a hang ({part}):\n{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("process {writer} ended")), "{part}:\n{stdout}");
        // The wait succeeded: what failed is the reader, and the error names it so.
        assert!(stderr.contains("the reader 1 (pid "), "{stderr}");
        assert!(stderr.contains("it exited with status 1"), "{stderr}");
        assert!(!stderr.contains("waitpid("), "{stderr}");
        run.assert_nothing_left();
    }
}

#[test]
fn ctrl_c_mid_run_leaves_nothing() {
    let run = common::interrupt_when(
        "lesson14",
        &["--updates", "100000000"],
        "(the configuration, and the readers' counts)",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    run.assert_nothing_left();
}

#[test]
fn part_one_explains_a_run_without_torn_reads_and_shows_one_otherwise() {
    // One update: the reader almost never reads during it, but either outcome must be told.
    let run = run("lesson14", &["--fast", "--updates", "1", "--readers", "1"]);
    run.assert_success();
    let part1 = run.stdout.split("Part 2").next().unwrap();
    let report = part1.lines().find(|l| l.contains("readers made ")).unwrap();
    if number_after(report, "torn: ") == 0 {
        assert!(part1.contains("no torn reading this time"), "{part1}");
        assert!(!part1.contains("for example: "), "{part1}");
    } else {
        assert!(part1.contains("for example: version "), "{part1}");
        assert!(!part1.contains("no torn reading this time"), "{part1}");
    }
    let part2 = run.stdout.split("Part 2").nth(1).unwrap();
    assert!(!part2.contains("no torn reading this time"), "only Part 1 explains a zero:\n{part2}");
    run.assert_nothing_left();
}
