//! lesson12: each tool keeps its promise, and the lesson says so with evidence.

mod common;

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
    assert!(robust.contains("pthread_mutex_lock(m) = EOWNERDEAD"), "{robust}");
    assert!(
        robust.contains("pair = (1, 0)") && robust.contains("repaired: pair = (1, 1)"),
        "{robust}"
    );
    assert!(robust.contains("pthread_mutex_consistent(m) = 0"), "{robust}");
    assert!(robust.contains("pthread_mutex_lock(m) = 0   (an ordinary lock again)"), "{robust}");

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
fn ctrl_c_in_the_middle_leaves_nothing() {
    let run = common::interrupt_when("lesson12", &[], "== 1.", nix::sys::signal::Signal::SIGINT);
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("[SIGINT] stopping: removed"), "{stderr}");
    run.assert_nothing_left();
}
