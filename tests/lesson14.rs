//! lesson14: with the sequence lock no reader ever sees a torn record; without it the report
//! is at least consistent. (Whether torn reads happen without the protocol is not asserted.)

mod common;

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
fn ctrl_c_mid_run_leaves_nothing() {
    let run = common::interrupt_when(
        "lesson14",
        &["--updates", "100000000"],
        "= shmid ",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    run.assert_nothing_left();
}
