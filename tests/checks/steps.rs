//! `--step` pauses in every part of every lesson, and each pause says what to look at: a
//! command for another terminal, whose ids and pids are the run's own.
//!
//! A part is what the story marks as one: a `== title ==` heading (`Lesson::part`). Each
//! lesson runs with `--fast --step`, every pause answered with Enter on stdin; the test counts
//! the pauses between one heading and the next. A part that says it is skipped (no C compiler,
//! no privilege) may have none.

use crate::common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::{Run, TraceFile, Watchdog, created_in};

/// How a pause begins and ends (the library's `lesson::PAUSED` and `lesson::CONTINUE`).
const PAUSED: &str = "] paused: look around, then press Enter to go on";
const CONTINUE: &str = "[Enter] to continue";

/// The commands a pause may send the student to.
const COMMANDS: &[&str] =
    &["ipcs", "ls ", "cat ", "grep ", "ps ", "stat ", "dd ", "od ", "cargo run --bin "];

/// Runs `bin --fast --step`, answering with more Enters than any lesson asks for, and with a
/// watchdog: a lesson that hangs is killed and fails the test.
fn stepped(bin: &str) -> Run {
    let trace = TraceFile::new();
    let mut child = common::lesson(bin)
        .args(["--fast", "--step", "--trace", trace.path()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lesson starts");
    // 4 KiB of Enters fit in the pipe at once; end of input would go on as well.
    child.stdin.take().unwrap().write_all(&[b'\n'; 4096]).unwrap();
    let watchdog = Watchdog::new(&child, Duration::from_secs(180), nix::sys::signal::SIGINT);
    let output = child.wait_with_output().unwrap();
    assert!(!watchdog.fired(), "{bin} --step hung, and was interrupted");
    Run::new(
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status,
        trace.calls(),
    )
}

/// The parts of a story: each heading's title and the text up to the next heading.
fn parts(stdout: &str) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        if let Some(title) = line.strip_prefix("== ").and_then(|l| l.strip_suffix(" ==")) {
            parts.push((title.to_owned(), String::new()));
        } else if let Some((_, text)) = parts.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    parts
}

/// The text of each pause in `text`: its lines after the `paused` line, up to `[Enter]`.
fn pauses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.contains(PAUSED) {
            current = Some(String::new());
        } else if line.contains(CONTINUE) {
            found.extend(current.take());
        } else if let Some(pause) = current.as_mut() {
            pause.push_str(line.trim());
            pause.push('\n');
        }
    }
    found
}

/// The numbers that follow `marker` in `text` (`ipcs -m -i 42` gives 42 for "-i ").
fn numbers_after(text: &str, marker: &str) -> Vec<i32> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let digits: String =
                text[at + marker.len()..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// What is wrong with the pauses of a run: a part without one, a pause that names no command
/// to run, an id or pid that is not the run's own.
fn problems(run: &Run) -> Vec<String> {
    let created = created_in(&run.calls);
    let mut problems = Vec::new();
    let parts = parts(&run.stdout);
    if parts.is_empty() {
        problems.push("the story has no part".to_owned());
    }
    for (title, text) in &parts {
        let found = pauses(text);
        if found.is_empty() && !text.contains("skipped") {
            problems.push(format!("part {title:?} does not pause"));
        }
        for pause in found {
            if !COMMANDS.iter().any(|command| pause.contains(command)) {
                problems.push(format!("a pause of {title:?} names no command to run:\n{pause}"));
            }
            let ids = [("ipcs -m -i ", &created.shmids), ("ipcs -s -i ", &created.semids)];
            for (marker, real) in ids {
                for id in numbers_after(&pause, marker) {
                    if !real.contains(&id) {
                        problems.push(format!("{title:?}: {marker}{id} is no id of the run"));
                    }
                }
            }
            for marker in ["/proc/", "ps -p ", "-p "] {
                for pid in numbers_after(&pause, marker) {
                    if !created.pids.contains(&pid) {
                        problems.push(format!("{title:?}: pid {pid} is no process of the run"));
                    }
                }
            }
        }
    }
    problems
}

fn check(bin: &str) {
    let run = stepped(bin);
    run.assert_success();
    let problems = problems(&run);
    assert!(problems.is_empty(), "{bin} --step:\n{}\n\n{}", problems.join("\n"), run.stdout);
    run.assert_nothing_left();
}

macro_rules! every_part_pauses {
    ($($name:ident: $bin:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check($bin);
            }
        )*
    };
}

every_part_pauses! {
    lesson01_pauses_in_every_part: "lesson01",
    lesson02_pauses_in_every_part: "lesson02",
    lesson03_pauses_in_every_part: "lesson03",
    lesson04_pauses_in_every_part: "lesson04",
    lesson05_pauses_in_every_part: "lesson05",
    lesson06_pauses_in_every_part: "lesson06",
    lesson07_pauses_in_every_part: "lesson07",
    lesson08_pauses_in_every_part: "lesson08",
    lesson10_pauses_in_every_part: "lesson10",
    lesson11_pauses_in_every_part: "lesson11",
    lesson12_pauses_in_every_part: "lesson12",
    lesson14_pauses_in_every_part: "lesson14",
    lesson15_pauses_in_every_part: "lesson15",
    lesson16_pauses_in_every_part: "lesson16",
}

#[test]
fn lesson09_pauses_in_every_part() {
    check("lesson09");
}

#[test]
fn lesson13_pauses_in_every_part() {
    check("lesson13");
}

/// Where children are running at a pause (a producer blocked, consumers asleep, readers
/// spinning), Ctrl-C there, or the terminal closing (SIGHUP), still ends the run at once
/// with 130 (129) and leaves nothing: every object removed, every child reaped. One test a
/// lesson, so that they run side by side.
macro_rules! a_signal_at_any_pause {
    ($($bin:ident),* $(,)?) => {
        mod a_signal_at_any_pause_with_children_running_leaves_nothing {
            $(
                #[test]
                fn $bin() {
                    super::a_signal_at_any_pause_leaves_nothing(stringify!($bin));
                }
            )*
        }
    };
}

a_signal_at_any_pause!(lesson05, lesson06, lesson07, lesson13, lesson14, lesson15, lesson16);

fn a_signal_at_any_pause_leaves_nothing(bin: &str) {
    use nix::sys::signal::Signal;
    let pauses = pauses(&stepped(bin).stdout).len();
    assert!(pauses >= 2, "{bin} pauses {pauses} times");
    for answered in 0..pauses {
        let signal = if answered == 1 { Signal::SIGHUP } else { Signal::SIGINT };
        let run = common::interrupt_when_after_pauses(
            bin,
            &["--fast", "--step"],
            answered,
            CONTINUE,
            signal,
        );
        let expected = 128 + signal as i32;
        assert_eq!(run.code(), Some(expected), "{bin}, pause {answered}:\n{}", run.stderr);
        assert!(run.stderr.contains(&format!("[{}] stopping", signal.as_str())));
        run.assert_nothing_left();
    }
}

#[test]
fn the_catalogue_has_no_lesson_this_test_leaves_out() {
    let source = std::fs::read_to_string(file!()).unwrap();
    for lesson in shm_workbook::catalogue::LESSONS {
        let named = |end: &str| source.contains(&format!("\"{}\"{end}", lesson.bin));
        assert!(named(",") || named(")"), "{} is not checked", lesson.bin);
    }
}

#[test]
fn the_parser_finds_parts_pauses_and_foreign_ids() {
    let story = concat!(
        "Lesson 01: x\n\n== Part 1: a ==\n",
        "[parent 7] paused: look around, then press Enter to go on\n",
        "    run:  ipcs -m -i 42\n    [Enter] to continue, Ctrl-C to stop\n\n",
        "== Part 2: b ==\n[parent 7] nothing\n",
    );
    let parts = parts(story);
    assert_eq!(parts.len(), 2);
    assert_eq!(pauses(&parts[0].1), ["run:  ipcs -m -i 42\n"]);
    assert!(pauses(&parts[1].1).is_empty());
    assert_eq!(numbers_after("ipcs -m -i 42 and ipcs -m -i 7", "-i "), [42, 7]);
}
