//! Every line a lesson prints fits a 100-column window: each lesson of the catalogue is run as
//! a student runs it with `--fast --no-color` (lesson08's terminal subcommands too, as its own
//! tests run them), and every line of its stdout and stderr is measured in characters.

use crate::common;

use shm_workbook::catalogue::LESSONS;

/// The widest line a lesson may print.
const COLUMNS: usize = 100;

/// The lines of `text` wider than [`COLUMNS`], each as `where, line N (W columns): text`.
fn too_wide(what: &str, stream: &str, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.chars().count() > COLUMNS)
        .map(|(i, line)| {
            let width = line.chars().count();
            format!("{what}, {stream} line {} ({width} columns): {line}", i + 1)
        })
        .collect()
}

/// Runs `bin` with `args`, checks that it exits with `status`, and returns its lines wider
/// than [`COLUMNS`].
fn wide_lines_of(bin: &str, args: &[&str], status: i32) -> Vec<String> {
    let run = common::run(bin, args);
    let what = format!("{bin} {}", args.join(" "));
    // A run that fails unexpectedly prints its error, not its story: that would hide lines.
    assert_eq!(run.code(), Some(status), "{what}:\n{}\n{}", run.stdout, run.stderr);
    let mut wide = too_wide(&what, "stdout", &run.printed);
    wide.extend(too_wide(&what, "stderr", &run.stderr));
    wide
}

#[test]
fn every_line_of_every_lesson_fits_100_columns() {
    let mut wide = Vec::new();
    for lesson in LESSONS {
        wide.extend(wide_lines_of(lesson.bin, &["--fast", "--no-color"], 0));
    }
    // lesson08's commands for two terminals, as tests/lessons/lesson08.rs runs them: a read that finds
    // nothing (its error and hint), write, read, unlink, and a second unlink that finds nothing.
    let name = format!("/shm-workbook-test-{}-width", std::process::id());
    let by_name = |command: &[&str], status| {
        let mut args = vec!["--fast", "--no-color", "--name", &name];
        args.extend_from_slice(command);
        wide_lines_of("lesson08", &args, status)
    };
    wide.extend(by_name(&["read"], 1));
    wide.extend(by_name(&["write", "hello from terminal A"], 0));
    wide.extend(by_name(&["read"], 0));
    wide.extend(by_name(&["unlink"], 0));
    wide.extend(by_name(&["unlink"], 1));
    assert!(
        wide.is_empty(),
        "{} lines are wider than {COLUMNS} columns:\n{}",
        wide.len(),
        wide.join("\n")
    );
}
