//! The results file of `check --all --json FILE` (and of `check exNN --json FILE`): one entry
//! per exercise, so that a course's CI can grade a clone without a human. The book's page
//! "Grading the exercises in CI" (`book/src/grading.md`) documents each field; [`SCHEMA`] is
//! the version of that layout.
//!
//! The file is written with the library's JSON writer, its keys in a fixed order, through a
//! temporary file in the same folder and a rename: a reader sees the old file or the new one,
//! never half of one. Whether the folder can be written is tried before any check runs, since a
//! check of every exercise takes minutes and its results must not be lost at the end.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use shm_workbook::flags::shown_path;
use shm_workbook::json::Json;
use shm_workbook_tools::store::{reason, utc_stamp};

use crate::catalogue::Exercise;
use crate::check::{self, Options, Outcome};
use crate::{Unbuilt, exercises_dir, shown_file};

/// The version of the file's layout: raised when a field changes meaning or goes away, not
/// when one is added.
pub const SCHEMA: u64 = 1;

/// What became of one exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every run passed.
    Pass,
    /// A run failed, or the program does not compile.
    Fail,
    /// The file is as it was given (its copy in `pristine/`): not checked.
    NotStarted,
    /// The checker could not build it for a reason that is not the student's code.
    Error,
}

impl Status {
    /// The name written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotStarted => "not-started",
            Status::Error => "error",
        }
    }

    /// Every status, in the order of the file's summary.
    pub const ALL: [Status; 4] = [Status::Pass, Status::Fail, Status::NotStarted, Status::Error];
}

/// One exercise's result.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The exercise.
    pub exercise: &'static Exercise,
    /// What became of it.
    pub status: Status,
    /// The kind of failure (`lost update`, `does not compile`), for a failure or an error.
    pub kind: Option<String>,
    /// The sentence the checker printed, on one line, without its mark.
    pub verdict: String,
    /// The hint the verdict showed.
    pub hint: Option<String>,
    /// The runs made: all of them for a pass, up to the failing one for a failure.
    pub runs: usize,
    /// The run that failed, counted from 1.
    pub failed_run: Option<usize>,
    /// The check's seed, when it ran.
    pub seed: Option<u64>,
    /// The command that repeats the check.
    pub repeat: Option<String>,
    /// The token that repeats the failing run alone (`check exNN --replay TOKEN`).
    pub replay: Option<String>,
    /// The last lines the failing run printed, or the compiler's message.
    pub output: Option<String>,
}

impl Entry {
    fn new(exercise: &'static Exercise, status: Status, verdict: String) -> Entry {
        Entry {
            exercise,
            status,
            kind: None,
            verdict,
            hint: None,
            runs: 0,
            failed_run: None,
            seed: None,
            repeat: None,
            replay: None,
            output: None,
        }
    }

    /// The result of a check that ran; none if it was interrupted.
    pub fn checked(
        exercise: &'static Exercise,
        options: &Options,
        outcome: &Outcome,
    ) -> Option<Entry> {
        let mut entry = match outcome {
            Outcome::Passed { runs, elapsed, explored } => {
                let sentence = check::passed_sentence(exercise, options, *runs, *elapsed, explored);
                let mut entry = Entry::new(exercise, Status::Pass, sentence);
                entry.runs = *runs;
                entry
            }
            Outcome::Failed { run, failure, excerpt, token, .. } => {
                let sentence = check::verdict_text(exercise, options, *run, failure, token);
                let mut entry = Entry::new(exercise, Status::Fail, sentence);
                entry.kind = Some(failure.kind.clone());
                entry.hint = Some(check::hint_shown(exercise, failure));
                entry.runs = *run;
                entry.failed_run = Some(*run);
                entry.replay = Some(token.clone());
                entry.output = Some(excerpt.clone()).filter(|text| !text.trim().is_empty());
                entry
            }
            Outcome::Interrupted { .. } => return None,
        };
        entry.seed = Some(options.seed);
        entry.repeat = Some(options.repeat.clone());
        Some(entry)
    }

    /// The result of an exercise whose file is as it was given.
    pub fn not_started(exercise: &'static Exercise) -> Entry {
        let verdict = format!(
            "{} not started: {} is as it was given, so it was not checked.",
            exercise.name,
            shown_file(exercise)
        );
        Entry::new(exercise, Status::NotStarted, verdict)
    }

    /// The result of an exercise that could not be built.
    pub fn unbuilt(exercise: &'static Exercise, unbuilt: &Unbuilt) -> Entry {
        let status = if unbuilt.kind == "does not compile" { Status::Fail } else { Status::Error };
        let mut entry = Entry::new(exercise, status, unbuilt.sentence.clone());
        entry.kind = Some(unbuilt.kind.to_owned());
        entry.output = unbuilt.message.clone();
        entry
    }

    fn to_json(&self) -> Json {
        let text = |value: &Option<String>| value.clone().map_or(Json::Null, Json::String);
        let number = |value: Option<usize>| value.map_or(Json::Null, |n| Json::from(n as u64));
        let exercise = self.exercise;
        Json::object([
            ("id", Json::from(exercise.name)),
            ("title", Json::from(exercise.title)),
            ("file", Json::from(shown_file(exercise))),
            ("status", Json::from(self.status.name())),
            ("kind", text(&self.kind)),
            ("verdict", Json::from(self.verdict.clone())),
            ("hint", text(&self.hint)),
            ("runs", number(Some(self.runs))),
            ("failed_run", number(self.failed_run)),
            // A string: a seed may exceed 2^53, beyond which a JSON reader's numbers are not exact.
            ("seed", text(&self.seed.map(|seed| seed.to_string()))),
            ("replay", text(&self.replay)),
            ("repeat", text(&self.repeat)),
            ("output", text(&self.output)),
        ])
    }
}

/// Whether the student's file of `exercise` is byte for byte its copy in `pristine/`.
pub fn as_given(exercise: &Exercise) -> bool {
    let dir = exercises_dir();
    match (
        std::fs::read(dir.join(exercise.file)),
        std::fs::read(dir.join("pristine").join(exercise.file)),
    ) {
        (Ok(mine), Ok(given)) => mine == given,
        _ => false,
    }
}

/// Everything the file holds.
pub struct Report<'a> {
    /// When the first check started.
    pub started: SystemTime,
    /// When the last one ended.
    pub finished: SystemTime,
    /// Whether the solutions were checked instead of the student's files.
    pub solution: bool,
    /// The runs asked for each exercise.
    pub runs: usize,
    /// The seed of every check.
    pub seed: u64,
    /// One entry per exercise, in the catalogue's order.
    pub entries: &'a [Entry],
}

impl Report<'_> {
    /// The document, as the file holds it.
    pub fn to_json(&self) -> Json {
        let count = |status: Status| self.entries.iter().filter(|e| e.status == status).count();
        let summary = Status::ALL.map(|status| (status.name(), Json::from(count(status) as u64)));
        Json::object([
            ("schema", Json::from(SCHEMA)),
            ("workbook", Json::from(env!("CARGO_PKG_VERSION"))),
            ("started", Json::from(iso_time(self.started))),
            ("finished", Json::from(iso_time(self.finished))),
            ("checked", Json::from(if self.solution { "solutions" } else { "files" })),
            ("runs", Json::from(self.runs as u64)),
            ("seed", Json::from(self.seed.to_string())),
            ("summary", Json::object(summary)),
            ("exercises", Json::Array(self.entries.iter().map(Entry::to_json).collect())),
        ])
    }
}

/// A time as ISO 8601 in UTC, to the second: `2026-12-07T12:21:17Z`.
pub fn iso_time(time: SystemTime) -> String {
    let stamp = utc_stamp(time); // YYYYMMDD-HHMMSS
    let at = |range: std::ops::Range<usize>| stamp.get(range).unwrap_or("00");
    format!("{}-{}-{}T{}:{}:{}Z", at(0..4), at(4..6), at(6..8), at(9..11), at(11..13), at(13..15))
}

/// Where the results go: a file, or the checker's standard output (`--json -`), the report
/// then going to its standard error.
#[derive(Debug)]
pub enum Destination {
    /// The standard output as it was when the checker started.
    Stdout(File),
    /// A file, replaced whole at the end.
    File(PathBuf),
}

impl Destination {
    /// The destination `--json` names, tried before any check: a sentence if it cannot be
    /// written. For `-`, the checker's standard output is kept for the results and its own
    /// report goes to standard error from now on.
    pub fn open(given: &str) -> Result<Destination, String> {
        if given == "-" {
            return stdout_kept().map(Destination::Stdout).map_err(|err| {
                format!("cannot keep the standard output for the results: {}", reason(&err))
            });
        }
        let path = PathBuf::from(given);
        let refused = |why: String| {
            format!("cannot write the results to {}: {why}; nothing was checked", shown_path(&path))
        };
        if std::fs::metadata(&path).is_ok_and(|meta| meta.is_dir()) {
            return Err(refused(
                "it is a folder (name a file in it, as in --json \
                 results.json)"
                    .to_owned(),
            ));
        }
        let (dir, name) = split(&path).ok_or_else(|| refused("it names no file".to_owned()))?;
        // A temporary file made and removed: what the final write will do, tried now.
        let probe = temporary(&dir, &name);
        match OpenOptions::new().write(true).create_new(true).open(&probe) {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
                Ok(Destination::File(path))
            }
            Err(err) => Err(refused(folder_problem(&dir, &err))),
        }
    }

    /// How messages name it.
    pub fn shown(&self) -> String {
        match self {
            Destination::Stdout(_) => "the standard output".to_owned(),
            Destination::File(path) => shown_path(path),
        }
    }

    /// Writes `text` there: for a file, through a temporary file and a rename; a sentence if
    /// it cannot, and then nothing is left behind.
    pub fn write(self, text: &str) -> Result<(), String> {
        match self {
            Destination::Stdout(mut file) => match file.write_all(text.as_bytes()) {
                // A reader that stopped reading (`| head`) has what it wanted.
                Err(err) if err.kind() != ErrorKind::BrokenPipe => Err(format!(
                    "cannot write the results to the standard output: {}",
                    reason(&err)
                )),
                _ => Ok(()),
            },
            Destination::File(path) => {
                let (dir, name) = split(&path).expect("checked when opened");
                let temporary = temporary(&dir, &name);
                let written = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&temporary)
                    .and_then(|mut file| {
                        file.write_all(text.as_bytes()).and_then(|()| file.sync_all())
                    })
                    .and_then(|()| std::fs::rename(&temporary, &path));
                written.map_err(|err| {
                    let _ = std::fs::remove_file(&temporary);
                    format!("cannot write the results to {}: {}", shown_path(&path), reason(&err))
                })
            }
        }
    }
}

/// The folder and the file name of `path` (the folder `.` for a bare name).
fn split(path: &Path) -> Option<(PathBuf, String)> {
    let name = path.file_name()?.to_str()?.to_owned();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    Some((dir, name))
}

/// The temporary file beside `name` in `dir`, this process's own.
fn temporary(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Why a file cannot be made in `dir`, in words.
fn folder_problem(dir: &Path, err: &std::io::Error) -> String {
    let exists = dir.is_dir();
    let dir = shown_path(dir);
    match err.raw_os_error() {
        Some(libc::ENOENT) if !exists => format!("the folder {dir} does not exist"),
        Some(libc::ENOTDIR) => format!("{dir} is not a folder"),
        _ => format!("no file can be made in {dir} ({})", reason(err)),
    }
}

/// A copy of the standard output, closed in the programs the checker starts, for the results;
/// the standard output itself then writes to the standard error.
fn stdout_kept() -> std::io::Result<File> {
    let _ = std::io::stdout().flush();
    let stdout = std::io::stdout();
    let kept = nix::fcntl::fcntl(stdout.as_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))?;
    // SAFETY: `kept` is a new descriptor, owned by nothing else.
    let kept = unsafe { OwnedFd::from_raw_fd(kept) };
    nix::unistd::dup2_stdout(std::io::stderr().as_fd())?;
    Ok(File::from(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_in_utc() {
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_645_277);
        assert_eq!(iso_time(time), "2026-12-07T12:07:57Z");
    }

    #[test]
    fn a_bare_name_is_in_the_current_folder() {
        assert_eq!(split(Path::new("r.json")), Some((PathBuf::from("."), "r.json".to_owned())));
        assert_eq!(split(Path::new("a/r.json")), Some((PathBuf::from("a"), "r.json".to_owned())));
        assert_eq!(split(Path::new("/")), None);
    }
}
