//! lesson07: back-pressure, a sleeping consumer, exactly-once delivery with several producers
//! and consumers, and a producer killed half-way that neither deadlocks nor leaks.

use crate::common;

use common::{number_after, run};

#[test]
fn two_producers_two_consumers_20000_items_each_exactly_once() {
    // 20,000 items go round the ring hundreds of times; more only cost the test's time (100,000
    // took 7 s of a debug build's CPU).
    let run =
        run("lesson07", &["--fast", "--producers", "2", "--consumers", "2", "--items", "20000"]);
    run.assert_success();
    let part3 = run.stdout.split("Part 3").nth(1).unwrap().split("Part 4").next().unwrap();
    assert!(part3.contains("producer 1: 20000 of 20000 items consumed exactly once"), "{part3}");
    assert!(part3.contains("producer 2: 20000 of 20000 items consumed exactly once"), "{part3}");
    let throughput = part3.lines().find(|l| l.contains(" items through a ring of ")).unwrap();
    assert_eq!(number_after(throughput, "] "), 40000, "{throughput}");
    run.assert_nothing_left();
}

#[test]
fn a_killed_producer_neither_deadlocks_nor_duplicates() {
    let run = run("lesson07", &["--fast", "--producers", "3", "--consumers", "2"]);
    run.assert_success(); // it finished: no deadlock
    let part4 = run.stdout.split("Part 4").nth(1).unwrap();
    assert!(part4.contains("SIGKILL"), "{part4}");
    assert!(part4.contains("producer 1 (killed): "), "{part4}");
    assert!(part4.contains(" items delivered, none twice"), "{part4}");
    for survivor in [2, 3] {
        assert!(
            part4.contains(&format!(
                "producer {survivor}: 5000 of 5000 items consumed exactly once"
            )),
            "{part4}"
        );
    }
    run.assert_nothing_left();
}

#[test]
fn a_full_ring_makes_the_producer_wait_and_an_empty_one_puts_the_consumer_to_sleep() {
    let run = run("lesson07", &["--fast"]);
    run.assert_success();
    let part1 = run.stdout.split("Part 2").next().unwrap();
    assert!(part1.contains("(the ring was full: item 5 waited here for a free slot)"), "{part1}");
    let took: Vec<u64> = part1
        .lines()
        .filter(|l| l.contains("] took item "))
        .map(|l| number_after(l, "took item "))
        .collect();
    assert_eq!(took, (1..=8).collect::<Vec<_>>(), "every item, in order:\n{part1}");
    let part2 = run.stdout.split("Part 2").nth(1).unwrap().split("Part 3").next().unwrap();
    // GETNCNT is printed but not checked: whether the consumer is back asleep is timing.
    assert!(part2.contains("GETNCNT) = "), "{part2}");
    assert!(part2.contains("of CPU"), "{part2}");
}

#[test]
fn the_trace_holds_the_ring_its_semaphores_and_the_waits() {
    let run = run("lesson07", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let parent =
        |name: &'static str| run.calls.iter().filter(move |c| c.role == "parent" && c.call == name);
    let rings: Vec<_> = parent("shmget").filter(|c| c.args[1] == "1048").collect();
    assert_eq!(rings.len(), 4, "one ring per part");
    for ring in rings {
        assert_eq!(ring.args, ["IPC_PRIVATE", "1048", "IPC_CREAT|IPC_EXCL|0600"], "{}", ring.text);
    }
    let sets: Vec<_> = parent("semget").collect();
    assert_eq!(sets.len(), 4, "one set per part");
    for set in &sets {
        assert_eq!(set.args, ["IPC_PRIVATE", "4", "IPC_CREAT|IPC_EXCL|0600"], "{}", set.text);
        let id = set.result.as_deref().unwrap();
        let setvals: Vec<String> = parent("semctl")
            .filter(|c| c.args[0] == id && c.args[2] == "SETVAL")
            .map(|c| c.args[1..].join(" "))
            .collect();
        assert_eq!(setvals[1..], ["1 SETVAL 0", "2 SETVAL 1", "3 SETVAL 1"], "{}", set.text);
    }
    assert_eq!(run.calls.iter().filter(|c| c.text.contains(", 0, SETVAL, 4) = 0")).count(), 2);
    // Part 1: the producer's wait for a free slot, on semaphore 0 (FREE), as printed.
    let first_set = sets[0].result.as_deref().unwrap();
    let waits: Vec<_> = run
        .calls
        .iter()
        .filter(|c| c.role == "producer" && c.call == "semop" && c.args[0] == first_set)
        .filter(|c| c.args[1] == "{0, -1, 0}")
        .collect();
    assert_eq!(waits.len(), 8, "one wait for a free slot per item");
    let printed: Vec<&str> =
        run.lines().filter(|l| l.contains("(the ring was full: item ")).collect();
    assert!(!printed.is_empty(), "{}", run.stdout);
    for line in printed {
        assert!(line.contains(&waits[0].text), "the wait printed is the one made: {line}");
    }
    // Part 4: the kill, with its real pid and result.
    let kill = parent("kill").next().expect("a kill");
    assert_eq!(kill.args[1], "SIGKILL");
    assert_eq!(kill.result.as_deref(), Some("0"));
    assert!(
        run.calls
            .iter()
            .any(|c| c.call == "fork" && c.result.as_deref() == Some(&kill.args[0][..]))
    );
}

#[test]
fn ctrl_c_while_items_flow_leaves_nothing() {
    let run = common::interrupt_when(
        "lesson07",
        &["--items", "1000000"],
        "== Part 3",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    run.assert_nothing_left();
}
