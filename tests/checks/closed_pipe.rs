//! No lesson panics when nobody reads what it prints: `cargo run --bin lessonNN | head -1`
//! ends with status 0, quietly, and leaves nothing behind; so does a pipe closed before the
//! lesson writes its first byte, for the story, `--help` and a refused flag.

use crate::common;

use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::process::{Child, Stdio};

use common::{Run, TraceFile};
use shm_workbook::catalogue::LESSONS;

/// What a broken pipe must not produce on stderr.
const PANICS: &[&str] = &["panicked", "internal error", "Broken pipe", "RUST_BACKTRACE"];

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> OwnedFd {
    let (reader, writer) = nix::unistd::pipe().expect("a pipe");
    drop(reader);
    writer
}

fn finish(mut child: Child, trace: &TraceFile, stdout: String) -> Run {
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
    }
    let status = child.wait().unwrap();
    Run::new(stdout, stderr, status, trace.calls())
}

fn assert_quiet(bin: &str, how: &str, run: &Run) {
    for word in PANICS {
        assert!(!run.stderr.contains(word), "{bin} {how}: {word:?} in stderr:\n{}", run.stderr);
    }
}

#[test]
fn every_lesson_into_a_pipe_closed_after_one_line_ends_well() {
    for lesson in LESSONS {
        let trace = TraceFile::new();
        let mut child = common::lesson(lesson.bin)
            .args(["--fast", "--trace", trace.path()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the lesson starts");
        let mut first = String::new();
        // One line, as `head -1` reads it; then the reading end closes.
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let run = finish(child, &trace, first);
        assert_eq!(run.code(), Some(0), "{} | head -1:\n{}", lesson.bin, run.stderr);
        assert_quiet(lesson.bin, "| head -1", &run);
        assert!(run.stdout.starts_with(&format!("Lesson {:02}", lesson.number)), "{}", run.stdout);
        run.assert_nothing_left();
    }
}

#[test]
fn every_lesson_into_a_pipe_closed_before_it_starts_ends_well() {
    for lesson in LESSONS {
        let trace = TraceFile::new();
        let child = common::lesson(lesson.bin)
            .args(["--fast", "--trace", trace.path()])
            .stdout(Stdio::from(closed_pipe()))
            .stderr(Stdio::piped())
            .spawn()
            .expect("the lesson starts");
        let run = finish(child, &trace, String::new());
        assert_eq!(run.code(), Some(0), "{} into a closed pipe:\n{}", lesson.bin, run.stderr);
        assert_quiet(lesson.bin, "into a closed pipe", &run);
        run.assert_nothing_left();
    }
}

#[test]
fn help_and_a_refused_flag_into_closed_pipes_exit_0_and_2_without_a_panic() {
    let trace = TraceFile::new();
    for lesson in LESSONS {
        let help = common::lesson(lesson.bin)
            .arg("--help")
            .stdout(Stdio::from(closed_pipe()))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let run = finish(help, &trace, String::new());
        assert_eq!(run.code(), Some(0), "{} --help:\n{}", lesson.bin, run.stderr);
        assert_quiet(lesson.bin, "--help", &run);
        // The refusal goes to stderr: closed too, so the panic would have nowhere to go but
        // the exit status (101).
        let refused = common::lesson(lesson.bin)
            .arg("--no-such-flag")
            .stdout(Stdio::from(closed_pipe()))
            .stderr(Stdio::from(closed_pipe()))
            .spawn()
            .unwrap();
        let run = finish(refused, &trace, String::new());
        assert_eq!(run.code(), Some(2), "{} --no-such-flag", lesson.bin);
    }
}
