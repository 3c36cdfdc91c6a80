//! lesson06: the document's lines in the document's order, the ENOENT of a consumer that comes
//! too early, and a stress run that loses, duplicates and reorders nothing.

mod common;

use common::run;

/// The text after `] ` of every line by `role`.
fn said_by<'a>(text: &'a str, role: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("[{role} ")))
        .filter_map(|l| l.split_once("] ").map(|(_, t)| t))
        .collect()
}

#[test]
fn five_messages_then_end_in_both_versions() {
    let run = run("lesson06", &["--fast"]);
    run.assert_success();
    for part in [
        run.stdout.split("Part 2").nth(1).unwrap().split("Part 3").next().unwrap(),
        run.stdout.split("Part 3").nth(1).unwrap(),
    ] {
        let consumer: Vec<&str> =
            said_by(part, "consumer").into_iter().filter(|t| t.starts_with("Consumer")).collect();
        let expected: Vec<String> = (1..=5)
            .map(|n| format!("Consumer read: Message {n}"))
            .chain(["Consumer received END signal. Exiting...".to_owned()])
            .collect();
        assert_eq!(consumer, expected, "{part}");
        let producer: Vec<&str> =
            said_by(part, "producer").into_iter().filter(|t| t.starts_with("Producer")).collect();
        assert_eq!(
            producer,
            (1..=5).map(|n| format!("Producer wrote: Message {n}")).collect::<Vec<_>>()
        );
        // Each message is written before it is read.
        for n in 1..=5 {
            let wrote = part.find(&format!("Producer wrote: Message {n}")).unwrap();
            let read = part.find(&format!("Consumer read: Message {n}")).unwrap();
            assert!(wrote < read, "message {n} read before it was written:\n{part}");
        }
        assert!(part.contains("of CPU time"), "the consumer reports its CPU time:\n{part}");
    }
    run.assert_nothing_left();
}

#[test]
fn a_consumer_that_looks_before_the_segment_exists_gets_enoent() {
    let run = run("lesson06", &["--fast"]);
    run.assert_success();
    let part1 = run.stdout.split("Part 2").next().unwrap();
    assert!(part1.contains("failed: ENOENT (No such file or directory)"), "{part1}");
    assert!(part1.contains("no segment has this key, and IPC_CREAT was not given"), "{part1}");
}

#[test]
fn the_stress_run_delivers_every_message_once_in_order() {
    let run = run("lesson06", &["--fast", "--messages", "20000"]);
    run.assert_success();
    assert!(
        run.stdout.contains("received 20000 messages, each exactly once and in order"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("20000 messages in "), "{}", run.stdout);
    assert!(run.stdout.contains("messages/s"), "{}", run.stdout);
    assert!(!run.stdout.contains("Part 1"), "--messages replaces the story");
    run.assert_nothing_left();
}

#[test]
fn ctrl_c_during_the_story_leaves_nothing() {
    let run = common::interrupt_when(
        "lesson06",
        &[],
        "Producer wrote: Message 2",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    run.assert_nothing_left();
}
