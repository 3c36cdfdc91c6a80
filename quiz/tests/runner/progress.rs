//! Progress is never lost: a damaged or unreadable progress file keeps its records (and is
//! itself kept, beside the new one), two quizzes run at once both keep theirs, a save is
//! written through a temporary file, fsync and rename, and a save that fails says so and exits
//! non-zero. Each test has its own XDG_DATA_HOME; none touches the real progress.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{ONE_QUESTION, Run, Sandbox};

/// A progress file with three records, as three earlier quizzes left it.
const THREE: &str = "\
[quizzes.q1]
right = 1
asked = 1
missed = []

[quizzes.q2]
right = 0
asked = 1
missed = [\"sa-1\"]

[quizzes.q3]
right = 1
asked = 1
missed = []
";

/// A sandbox with quizzes q1 to q9, each one short question.
fn sandbox(test: &str) -> Sandbox {
    let sandbox = Sandbox::new(test);
    for n in 1..=9 {
        sandbox.quiz(&format!("q{n}"), ONE_QUESTION);
    }
    sandbox
}

/// The quizzes that have a record in a progress file.
fn records(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    text.lines()
        .filter_map(|l| l.strip_prefix("[quizzes.").and_then(|l| l.strip_suffix(']')))
        .map(str::to_owned)
        .collect()
}

/// Takes quiz `name`, answering its one question right.
fn take(sandbox: &Sandbox, name: &str) -> Run {
    sandbox.run(&[name], "ipcrm -m\n")
}

/// The lines of stderr that name `path`'s file name.
fn lines_naming<'a>(stderr: &'a str, path: &Path) -> Vec<&'a str> {
    let name = path.file_name().unwrap().to_str().unwrap();
    stderr.lines().filter(|line| line.contains(name)).collect()
}

#[test]
fn a_bad_line_keeps_every_record_and_the_file_itself() {
    let sandbox = sandbox("badline");
    let damaged = THREE.replace("[quizzes.q2]", "this line is not toml\n[quizzes.q2]");
    sandbox.write_progress(damaged.as_bytes());

    // Listing reads it, says what is wrong once, and changes nothing.
    let list = sandbox.run(&[], "");
    assert_eq!(list.code, Some(0), "{list:?}");
    assert_eq!(list.stdout.matches("last time 1/1").count(), 2, "q1 and q3 are shown:\n{list:?}");
    assert_eq!(list.stdout.matches("last time 0/1").count(), 1, "q2 is shown:\n{list:?}");
    assert_eq!(std::fs::read(sandbox.progress()).unwrap(), damaged.as_bytes());
    assert_eq!(sandbox.files(), ["progress.toml"]);
    assert_eq!(list.stderr.lines().filter(|l| l.contains("damaged")).count(), 1, "{list:?}");
    assert!(list.stderr.contains("line 6 is not valid TOML: `this line is not toml`"), "{list:?}");

    // A save carries the three records over and keeps the damaged file beside it.
    let run = take(&sandbox, "q4");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(records(&sandbox.progress()), ["q1", "q2", "q3", "q4"]);
    let backup = sandbox.backup();
    assert!(backup.to_str().unwrap().contains("progress.toml.damaged-"), "{backup:?}");
    assert_eq!(std::fs::read(&backup).unwrap(), damaged.as_bytes(), "kept byte for byte");
    let named = lines_naming(&run.stderr, &backup);
    assert_eq!(named.len(), 1, "the backup is named in one line:\n{}", run.stderr);
    assert!(named[0].contains("3 readable records are carried over"), "{}", named[0]);
}

#[test]
fn a_byte_that_is_not_utf8_in_a_comment_keeps_every_record() {
    let sandbox = sandbox("utf8");
    let mut damaged = b"# progress of caf\xe9\n".to_vec();
    damaged.extend_from_slice(THREE.as_bytes());
    sandbox.write_progress(&damaged);
    let run = take(&sandbox, "q4");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(records(&sandbox.progress()), ["q1", "q2", "q3", "q4"]);
    assert!(run.stderr.contains("line 1 has a byte that is not UTF-8"), "{}", run.stderr);
    let backup = sandbox.backup();
    assert_eq!(std::fs::read(&backup).unwrap(), damaged);
    assert_eq!(lines_naming(&run.stderr, &backup).len(), 1, "{}", run.stderr);
}

#[test]
fn an_unreadable_file_is_moved_aside_untouched_not_overwritten() {
    let sandbox = sandbox("mode000").run_as_ordinary_user();
    sandbox.write_progress(THREE.as_bytes());
    std::fs::set_permissions(sandbox.progress(), PermissionsExt::from_mode(0o000)).unwrap();

    let list = sandbox.run(&[], "");
    assert_eq!(list.code, Some(0), "{list:?}");
    assert_eq!(sandbox.files(), ["progress.toml"], "listing changes nothing");

    let run = take(&sandbox, "q4");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(records(&sandbox.progress()), ["q4"]);
    let backup = sandbox.backup();
    assert!(backup.to_str().unwrap().contains("progress.toml.unreadable-"), "{backup:?}");
    let mode = std::fs::metadata(&backup).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o000, "kept untouched, mode and all");
    std::fs::set_permissions(&backup, PermissionsExt::from_mode(0o600)).unwrap();
    assert_eq!(records(&backup), ["q1", "q2", "q3"], "its three records are all there");
    assert_eq!(lines_naming(&run.stderr, &backup).len(), 1, "{}", run.stderr);
    assert!(list.stderr.contains("cannot read") && list.stderr.contains("EACCES"), "{list:?}");
}

#[test]
fn two_quizzes_run_at_once_both_keep_their_records() {
    let sandbox = sandbox("two");
    sandbox.write_progress(THREE.as_bytes());
    // Both have read the progress file before either saves.
    let first = sandbox.start_at_first_question(&["q4"]);
    let second = sandbox.start_at_first_question(&["q5"]);
    for run in [first.answer("ipcrm -m\n"), second.answer("ipcrm -m\n")] {
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    assert_eq!(records(&sandbox.progress()), ["q1", "q2", "q3", "q4", "q5"]);
}

#[test]
fn eight_quizzes_saving_at_once_lose_nothing() {
    let sandbox = sandbox("eight");
    sandbox.write_progress(b"");
    let started: Vec<_> =
        (1..=8).map(|n| sandbox.start_at_first_question(&[&format!("q{n}")])).collect();
    let answering: Vec<_> = started
        .into_iter()
        .map(|quiz| std::thread::spawn(move || quiz.answer("ipcrm -m\n")))
        .collect();
    for thread in answering {
        let run = thread.join().unwrap();
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    let expected: Vec<String> = (1..=8).map(|n| format!("q{n}")).collect();
    assert_eq!(records(&sandbox.progress()), expected);
    let left: Vec<String> =
        sandbox.files().into_iter().filter(|name| name.ends_with(".tmp")).collect();
    assert!(left.is_empty(), "no temporary file is left: {left:?}");
}

#[test]
fn a_save_that_fails_exits_non_zero_and_says_what_failed_why_and_what_to_do() {
    let sandbox = sandbox("failed");
    // A file where the progress folder should be.
    std::fs::write(sandbox.folder(), "not a folder").unwrap();
    let run = take(&sandbox, "q4");
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.contains("Score: 1/1"), "the score is still shown:\n{}", run.stdout);
    let message = &run.stderr;
    assert!(message.contains("your result in q4 (1/1) was not saved"), "{message}");
    assert!(message.contains("cannot create the folder"), "what failed:\n{message}");
    assert!(message.contains("EEXIST"), "why:\n{message}");
    assert!(message.contains("what to do:") && message.contains("XDG_DATA_HOME"), "{message}");
    assert_eq!(std::fs::read_to_string(sandbox.folder()).unwrap(), "not a folder");
}

#[test]
fn a_folder_that_cannot_be_written_fails_the_save_and_keeps_the_old_file() {
    let sandbox = sandbox("readonly").run_as_ordinary_user();
    sandbox.write_progress(THREE.as_bytes());
    std::fs::set_permissions(sandbox.folder(), PermissionsExt::from_mode(0o555)).unwrap();
    let run = take(&sandbox, "q4");
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("was not saved") && run.stderr.contains("EACCES"), "{run:?}");
    assert!(run.stderr.contains("what to do:"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(sandbox.progress()).unwrap(), THREE);
}

#[test]
fn a_linked_progress_file_stays_a_link() {
    let sandbox = sandbox("link");
    let elsewhere = sandbox.root.join("dotfiles");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("progress.toml"), THREE).unwrap();
    std::fs::create_dir_all(sandbox.folder()).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("progress.toml"), sandbox.progress()).unwrap();
    let run = take(&sandbox, "q4");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(sandbox.progress().is_symlink(), "the link is still a link");
    assert_eq!(records(&elsewhere.join("progress.toml")), ["q1", "q2", "q3", "q4"]);
}

#[test]
fn a_save_writes_a_temporary_file_flushes_it_and_renames_it() {
    if std::process::Command::new("strace").arg("-V").output().is_err() {
        // .ci/run installs strace; the other tests here still cover what a student sees.
        eprintln!("strace is not installed: the fsync order is not checked");
        return;
    }
    let sandbox = sandbox("fsync");
    sandbox.write_progress(THREE.as_bytes());
    let log = sandbox.root.join("strace.log");
    let command = sandbox.command(&["q4"]);
    let binary = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    let mut traced = std::process::Command::new("strace");
    traced
        .args(["-f", "-qq", "-e", "trace=openat,write,fsync,fdatasync,rename,renameat,renameat2"])
        .arg("-o")
        .arg(&log)
        .arg(binary)
        .args(args);
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            traced.env(key, value);
        }
    }
    let run = common::finish(traced, "ipcrm -m\n");
    assert_eq!(run.code, Some(0), "{run:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let folder = sandbox.folder().to_str().unwrap().to_owned();
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains(&format!("\"{folder}/progress.toml\"")))
        .unwrap_or_else(|| panic!("no rename onto progress.toml:\n{log}"));
    let source = lines[renamed].split('"').nth(1).unwrap();
    assert!(source.starts_with(&format!("{folder}/")), "written in the same folder: {source}");
    let fd = lines
        .iter()
        .find(|l| l.contains("openat") && l.contains(&format!("\"{source}\"")))
        .and_then(|l| l.rsplit("= ").next())
        .unwrap_or_else(|| panic!("{source} is never opened:\n{log}"))
        .trim();
    let synced = lines.iter().position(|l| l.contains(&format!("fsync({fd})")));
    assert!(
        synced.is_some_and(|at| at < renamed),
        "{source} is flushed (fsync) before the rename:\n{log}"
    );
    assert_eq!(records(&sandbox.progress()), ["q1", "q2", "q3", "q4"]);
}
