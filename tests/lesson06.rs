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
    assert!(part1.contains(", 104, 0) = -1 ENOENT   (no IPC_CREAT"), "{part1}");
    assert!(part1.contains("no segment has this key, and IPC_CREAT was not given"), "{part1}");
    // The trace: the consumer's shmget without IPC_CREAT failed; the producer's, later, made it.
    let shmgets: Vec<_> = run.calls_named("shmget").collect();
    let looked = shmgets.iter().find(|c| c.role == "consumer").expect("the consumer's shmget");
    assert_eq!(looked.args[1..], ["104", "0"], "{}", looked.text);
    assert_eq!(looked.errno.as_deref(), Some("ENOENT"), "{}", looked.text);
    assert!(looked.args[0].starts_with("0x"), "an ftok key: {}", looked.text);
    let created = shmgets.iter().find(|c| c.role == "producer").expect("the producer's shmget");
    assert_eq!(created.args, [&looked.args[0][..], "104", "IPC_CREAT|IPC_EXCL|0600"]);
    assert!(created.errno.is_none(), "{}", created.text);
    assert!(part1.contains(&created.text), "the story prints the call made:\n{part1}");
}

#[test]
fn the_trace_holds_the_calls_each_part_teaches() {
    let run = run("lesson06", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let producer = |name: &'static str| {
        run.calls.iter().filter(move |c| c.role == "producer" && c.call == name)
    };
    let private: Vec<_> = producer("shmget").filter(|c| c.args[0] == "IPC_PRIVATE").collect();
    assert_eq!(private.len(), 2, "one segment per part");
    for call in &private {
        assert_eq!(call.args[1..], ["104", "IPC_CREAT|IPC_EXCL|0600"], "{}", call.text);
        let removed = format!("shmctl({}, IPC_RMID, NULL) = 0", call.result.as_deref().unwrap());
        assert!(producer("shmctl").any(|c| c.text == removed), "{removed}");
        assert!(run.stdout.contains(&removed), "printed: {removed}");
    }
    assert!(run.stdout.contains("the policy: spin\n"), "{}", run.stdout);
    assert!(run.stdout.contains("the policy: spin, then sleep on a futex"), "{}", run.stdout);
    // Part 2 spins: no futex call at all before Part 3's segment; Part 3 wakes and sleeps.
    let wakes = run.calls.iter().filter(|c| c.call == "futex" && c.args[1] == "FUTEX_WAKE");
    assert!(wakes.count() >= 12, "every publish of Part 3 wakes (5 messages, END, 6 replies)");
    assert!(
        run.calls
            .iter()
            .any(|c| c.role == "consumer" && c.args.get(1).is_some_and(|a| a == "FUTEX_WAIT")),
        "the consumer slept on the flag in Part 3"
    );
}

/// Runs `args`, and once `marker` is printed after `part`, kills the process of `role` that
/// printed it with SIGKILL; returns the finished run and the victim's pid.
fn kill_partner(args: &[&str], part: &str, marker: &str, role: &str) -> (common::Run, i32) {
    use std::io::{BufRead, BufReader, Read};
    let trace = common::TraceFile::new();
    let mut child = common::lesson("lesson06")
        .args(args)
        .args(["--trace", trace.path()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut seen, mut in_part, mut victim) = (String::new(), false, 0);
    while victim == 0 {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "ended early:\n{seen}");
        seen.push_str(&line);
        in_part |= line.contains(part);
        if in_part && line.starts_with(&format!("[{role} ")) && line.contains(marker) {
            victim = common::number_after(&line, &format!("[{role} ")) as i32;
        }
    }
    let pid = nix::unistd::Pid::from_raw(victim);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let lesson = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(lesson as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    });
    let status = child.wait().unwrap();
    drop(watchdog);
    stdout.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (common::Run { stdout: seen, stderr, status, calls: trace.calls() }, victim)
}

#[test]
fn a_killed_consumer_ends_the_spinning_producer_with_an_error() {
    // Without --fast: the producer pauses 300 ms between messages, so the consumer is killed
    // while the exchange is still going on.
    let (run, victim) = kill_partner(&[], "== Part 2", "Consumer read: Message 1", "consumer");
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    assert_eq!(run.code(), Some(1), "an error, not a hang:\n{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("the child process {victim} ended")), "{stderr}");
    assert!(!stdout.contains("== Part 3"), "{stdout}");
    run.assert_nothing_left();
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
