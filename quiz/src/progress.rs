//! The student's progress: one record per quiz, in `$XDG_DATA_HOME/shm-workbook/progress.toml`
//! (or `~/.local/share/shm-workbook/progress.toml`), never in the repository.
//!
//! Progress is never lost:
//!
//! - A save takes a lock beside the file, re-reads what is on disk and changes only the record
//!   of the quiz just taken, so two quizzes run at once both keep their records.
//! - It writes a temporary file in the same folder, flushes it to the disk (fsync) and renames
//!   it over the old one: a crash or a full disk leaves the old file or the new one, never half.
//! - A file it cannot read in full (a bad line, a byte that is not UTF-8, mode 000, a folder in
//!   its place) is never overwritten: the records it can read are carried over, and the file
//!   itself is moved aside to a backup beside it (`progress.toml.damaged-20250101-120000`).
//! - A save that fails says what failed, why, and what to do; the runner then exits non-zero.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::args::{shown, shown_path};

/// What the student did last time with one quiz.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Right answers in the last attempt.
    pub right: u32,
    /// Questions asked in the last attempt.
    pub asked: u32,
    /// Ids of the questions missed in the last attempt (what `--review` asks again).
    pub missed: Vec<String>,
    /// The last attempt stopped before its last question (Ctrl-C, end of input): the record
    /// is saved after every answer, so it may hold part of a run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unfinished: bool,
}

/// The progress file: one record per quiz name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Records by quiz name.
    pub quizzes: BTreeMap<String, Record>,
    /// Top-level entries this version does not know, written back as they were.
    other: toml::Table,
}

/// How reading the progress file went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// There is no file yet.
    Missing,
    /// Every line was read.
    Sound,
    /// Some of it could not be read: what, one phrase each. The records that could be read are
    /// in the [`Progress`]; the next save moves the file aside instead of overwriting it.
    Damaged(Vec<String>),
    /// None of it could be read (why). The next save moves it aside.
    Unreadable(String),
}

impl State {
    /// The problems in one line: the first, and how many more.
    pub fn summary(&self) -> Option<String> {
        match self {
            State::Missing | State::Sound => None,
            State::Unreadable(why) => Some(why.clone()),
            State::Damaged(problems) => Some(match problems.len() {
                0 => "damaged".to_owned(),
                1 => problems[0].clone(),
                n => format!("{}, and {} more problems", problems[0], n - 1),
            }),
        }
    }
}

/// A progress file, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// What could be read.
    pub progress: Progress,
    /// How it went.
    pub state: State,
}

/// Larger than any real progress file (a record is about 100 bytes): a larger file is not read.
const LARGEST: u64 = 4 << 20;

/// How long a save waits for another quiz runner's save to finish (one takes milliseconds).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// `$XDG_DATA_HOME/shm-workbook/progress.toml`, else `~/.local/share/shm-workbook/progress.toml`.
/// An empty or relative `XDG_DATA_HOME` is ignored, as the XDG specification asks.
pub fn progress_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| Path::new(&home).join(".local/share"))
        })?;
    Some(base.join("shm-workbook").join("progress.toml"))
}

/// Reads the progress file, as much of it as can be read. Never changes it.
pub fn read(path: &Path) -> Loaded {
    let unreadable =
        |why: String| Loaded { progress: Progress::default(), state: State::Unreadable(why) };
    match fs::metadata(path) {
        // Missing, or a file where a folder on its path should be (the save says so).
        Err(err)
            if err.kind() == io::ErrorKind::NotFound
                || err.raw_os_error() == Some(Errno::ENOTDIR as i32) =>
        {
            return Loaded { progress: Progress::default(), state: State::Missing };
        }
        Err(err) => return unreadable(reason(&err)),
        Ok(meta) if meta.is_dir() => return unreadable("it is a folder, not a file".into()),
        // A FIFO or a device would block or never end: not opened at all.
        Ok(meta) if !meta.is_file() => return unreadable("it is not a regular file".into()),
        Ok(meta) if meta.len() > LARGEST => {
            return unreadable(format!(
                "it is {} bytes, too large for a progress file",
                meta.len()
            ));
        }
        Ok(_) => {}
    }
    let mut bytes = Vec::new();
    if let Err(err) = File::open(path).and_then(|file| file.take(LARGEST).read_to_end(&mut bytes)) {
        return unreadable(reason(&err));
    }
    let (progress, problems) = parse(&bytes);
    let state = if problems.is_empty() { State::Sound } else { State::Damaged(problems) };
    Loaded { progress, state }
}

/// Reads a progress file's bytes: every record that can be read, and what could not be.
pub fn parse(bytes: &[u8]) -> (Progress, Vec<String>) {
    let mut problems = Vec::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(err) => {
            let line = bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            problems.push(format!("line {line} has a byte that is not UTF-8"));
            String::from_utf8_lossy(bytes)
        }
    };
    let table = match text.parse::<toml::Table>() {
        Ok(table) => table,
        Err(_) => salvage(&text, &mut problems),
    };
    (from_table(table, &mut problems), problems)
}

/// Reads TOML that does not parse as a whole, one section (`[quizzes.NAME]` and its lines) at a
/// time, leaving out each line that does not parse, and a section whose header does not.
fn salvage(text: &str, problems: &mut Vec<String>) -> toml::Table {
    let lines: Vec<&str> = text.lines().collect();
    let mut starts: Vec<usize> =
        (1..lines.len()).filter(|&i| lines[i].trim_start().starts_with('[')).collect();
    starts.insert(0, 0);
    starts.push(lines.len());
    let mut table = toml::Table::new();
    for bounds in starts.windows(2) {
        let (first, end) = (bounds[0], bounds[1]);
        let mut section: Vec<&str> = lines[first..end].to_vec();
        loop {
            let joined = section.join("\n");
            let err = match joined.parse::<toml::Table>() {
                Ok(part) => {
                    merge(&mut table, part, "", first + 1, problems);
                    break;
                }
                Err(err) => err,
            };
            let message = err.message().lines().next().unwrap_or("").trim().to_owned();
            let at = err.span().map(|span| {
                joined.as_bytes()[..span.start.min(joined.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
            });
            let is_header = |i: usize| i == 0 && section[0].trim_start().starts_with('[');
            match at {
                Some(i) if i < section.len() && !section[i].trim().is_empty() && !is_header(i) => {
                    problems.push(format!(
                        "line {} is not valid TOML: {}",
                        first + i + 1,
                        shown(section[i].trim())
                    ));
                    section[i] = "";
                }
                _ => {
                    problems
                        .push(format!("lines {} to {end} could not be read: {message}", first + 1));
                    break;
                }
            }
        }
    }
    table
}

/// Adds `part` (one section) to `table`; a value given twice keeps the later one.
fn merge(
    table: &mut toml::Table,
    part: toml::Table,
    path: &str,
    line: usize,
    problems: &mut Vec<String>,
) {
    for (key, value) in part {
        let name = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        match (table.get_mut(&key), value) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => {
                merge(old, new, &name, line, problems);
            }
            (Some(_), value) => {
                problems.push(format!(
                    "{} is given twice; the one at line {line} is kept",
                    shown(&name)
                ));
                table.insert(key, value);
            }
            (None, value) => {
                table.insert(key, value);
            }
        }
    }
}

fn from_table(mut table: toml::Table, problems: &mut Vec<String>) -> Progress {
    let mut quizzes = BTreeMap::new();
    match table.remove("quizzes") {
        None => {}
        Some(toml::Value::Table(records)) => {
            for (name, value) in records {
                match value.try_into::<Record>() {
                    Ok(record) => {
                        quizzes.insert(name, record);
                    }
                    Err(err) => problems.push(format!(
                        "the record of {} cannot be read: {}",
                        shown(&name),
                        err.message().lines().next().unwrap_or("").trim()
                    )),
                }
            }
        }
        Some(_) => problems.push("`quizzes` is not a table of records".to_owned()),
    }
    Progress { quizzes, other: table }
}

impl Progress {
    /// The file's text.
    pub fn to_text(&self) -> String {
        #[derive(Serialize)]
        struct Records<'a> {
            quizzes: &'a BTreeMap<String, Record>,
        }
        let other = toml::to_string(&self.other).expect("a table read from TOML is TOML");
        let records =
            toml::to_string(&Records { quizzes: &self.quizzes }).expect("records are plain TOML");
        let gap = if other.is_empty() { "" } else { "\n" };
        format!(
            "# Your quiz progress in shm-workbook, kept by `cargo run --bin quiz`.\n\n\
             {other}{gap}{records}"
        )
    }
}

/// What a save did besides saving.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Saved {
    /// The file that could not be read in full, moved aside: the one line to print about it.
    pub backup: Option<String>,
    /// The lock could not be used; the save went ahead without it (one line to print).
    pub note: Option<String>,
}

/// A save that failed: what failed, why, and what to do.
#[derive(Debug)]
pub struct SaveError {
    what: String,
    err: io::Error,
    dir: PathBuf,
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = shown_path(&self.dir);
        let advice = match self.err.raw_os_error().map(Errno::from_raw) {
            Some(Errno::EACCES | Errno::EPERM) => format!(
                "make {dir} a folder you own and can write (`ls -ld` shows its owner and mode), or \
                 set XDG_DATA_HOME to such a folder"
            ),
            Some(Errno::EROFS) => {
                "set XDG_DATA_HOME to a folder on a file system that is not read-only".to_owned()
            }
            Some(Errno::ENOSPC | Errno::EDQUOT) => {
                "free some disk space (or ask about your quota)".to_owned()
            }
            Some(Errno::EEXIST | Errno::ENOTDIR) => format!(
                "a file stands on the path {dir} where a folder should be: move it away, or set \
                 XDG_DATA_HOME to another folder"
            ),
            _ => "set XDG_DATA_HOME to a folder you can write".to_owned(),
        };
        write!(
            f,
            "{} ({}).\n  what to do: {advice}, then run the quiz again.",
            self.what,
            reason(&self.err)
        )
    }
}

/// Saves `record` as the latest attempt at quiz `name`: locks, re-reads the file, moves it
/// aside if it cannot be read in full, and writes every record through a temporary file, fsync
/// and rename.
pub fn save_record(path: &Path, name: &str, record: Record) -> Result<Saved, SaveError> {
    // A symbolic link (a dotfiles folder) stays a link: the file it points to is replaced.
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    };
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let failed = |what: String, err: io::Error| SaveError { what, err, dir: dir.to_owned() };
    fs::create_dir_all(dir)
        .map_err(|err| failed(format!("cannot create the folder {}", shown_path(dir)), err))?;
    let file_name = target.file_name().map(|n| n.to_string_lossy().into_owned());
    let file_name = file_name.unwrap_or_else(|| "progress.toml".to_owned());
    let (lock, note) = lock(&dir.join(format!("{file_name}.lock")));

    let loaded = read(&target);
    let mut backup = None;
    let mut moved_to = None;
    if let Some(problem) = loaded.state.summary() {
        let kind =
            if matches!(loaded.state, State::Unreadable(_)) { "unreadable" } else { "damaged" };
        let aside = aside_name(dir, &file_name, kind);
        fs::rename(&target, &aside).map_err(|err| {
            failed(
                format!(
                    "cannot move the {kind} {} aside to {}, so it was left as it is",
                    shown_path(&target),
                    shown_path(&aside)
                ),
                err,
            )
        })?;
        moved_to = Some(aside.clone());
        let carried = loaded.progress.quizzes.len();
        backup = Some(match loaded.state {
            State::Unreadable(_) => format!(
                "quiz: {} could not be read ({problem}): it is kept, untouched, as {}, and a new \
                 progress file holds this result",
                shown_path(&target),
                shown_path(&aside)
            ),
            _ => format!(
                "quiz: the damaged {} is kept as {}; its {carried} readable record{} carried over \
                 ({problem})",
                shown_path(&target),
                shown_path(&aside),
                if carried == 1 { " is" } else { "s are" }
            ),
        });
    }
    let mut progress = loaded.progress;
    progress.quizzes.insert(name.to_owned(), record);
    if let Err((mut what, err)) =
        write_atomically(&target, dir, &file_name, progress.to_text().as_bytes())
    {
        // The file moved aside goes back where it was, as if this save had not started.
        if let Some(aside) = moved_to
            && fs::rename(&aside, &target).is_err()
        {
            what.push_str(&format!("; the old file is kept as {}", shown_path(&aside)));
        }
        return Err(failed(what, err));
    }
    drop(lock);
    Ok(Saved { backup, note })
}

/// Writes `bytes` to a new file beside `target`, flushes it to the disk and renames it over
/// `target`, so that `target` is always either the old file or the new one.
fn write_atomically(
    target: &Path,
    dir: &Path,
    file_name: &str,
    bytes: &[u8],
) -> Result<(), (String, io::Error)> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let temporary = dir.join(format!(".{file_name}.{}-{nanos}.tmp", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(|err| (format!("cannot create a file in {}", shown_path(dir)), err))
        .and_then(|mut file| {
            file.write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|err| (format!("cannot write {}", shown_path(&temporary)), err))
        })
        .and_then(|()| {
            fs::rename(&temporary, target)
                .map_err(|err| (format!("cannot replace {}", shown_path(target)), err))
        });
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
        return written;
    }
    // The rename is on the disk once the folder is: a failure here loses nothing that was
    // there before, so it is not reported.
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// An exclusive lock on `path` (created if needed), held until dropped; or, if it cannot be
/// had within [`LOCK_WAIT`], none and the line saying so.
fn lock(path: &Path) -> (Option<Flock<File>>, Option<String>) {
    let mut file =
        match OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path) {
            Ok(file) => file,
            Err(err) => {
                return (
                    None,
                    Some(format!(
                        "quiz: note: saved without the lock {} ({})",
                        shown_path(path),
                        reason(&err)
                    )),
                );
            }
        };
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return (Some(lock), None),
            Err((again, Errno::EWOULDBLOCK | Errno::EINTR)) if Instant::now() < deadline => {
                file = again;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err((_, errno)) => {
                let why = if errno == Errno::EWOULDBLOCK {
                    format!("another quiz runner has held it for {} s", LOCK_WAIT.as_secs())
                } else {
                    describe(errno)
                };
                return (
                    None,
                    Some(format!(
                        "quiz: note: saved without the lock {} ({why})",
                        shown_path(path)
                    )),
                );
            }
        }
    }
}

/// A name beside `file_name` that nothing has yet: `progress.toml.damaged-20250101-120000`.
fn aside_name(dir: &Path, file_name: &str, kind: &str) -> PathBuf {
    let stamp = utc_stamp(SystemTime::now());
    let base = format!("{file_name}.{kind}-{stamp}");
    let free = |name: &str| fs::symlink_metadata(dir.join(name)).is_err();
    if free(&base) {
        return dir.join(base);
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| free(name))
        .map(|name| dir.join(name))
        .expect("some number is free")
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rest / 3600, rest / 60 % 60, rest % 60)
}

/// An I/O error as a message gives it: `EACCES: permission denied`.
pub fn reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => describe(Errno::from_raw(code)),
        None => err.to_string(),
    }
}

fn describe(errno: Errno) -> String {
    let desc = errno.desc();
    let mut chars = desc.chars();
    let first = chars.next().map(|c| c.to_lowercase().to_string()).unwrap_or_default();
    format!("{errno:?}: {first}{}", chars.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn names(progress: &Progress) -> Vec<&str> {
        progress.quizzes.keys().map(String::as_str).collect()
    }

    #[test]
    fn a_sound_file_reads_whole_and_round_trips() {
        let (progress, problems) = parse(THREE.as_bytes());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(names(&progress), ["q1", "q2", "q3"]);
        assert_eq!(progress.quizzes["q2"].missed, ["sa-1"]);
        let (again, problems) = parse(progress.to_text().as_bytes());
        assert!(problems.is_empty());
        assert_eq!(again, progress);
    }

    #[test]
    fn a_bad_line_loses_nothing_else() {
        let mut lines: Vec<&str> = THREE.lines().collect();
        lines.insert(5, "this line is not toml");
        let (progress, problems) = parse(lines.join("\n").as_bytes());
        assert_eq!(names(&progress), ["q1", "q2", "q3"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("line 6 is not valid TOML"), "{problems:?}");
        assert!(problems[0].ends_with("`this line is not toml`"), "{problems:?}");
    }

    #[test]
    fn a_byte_that_is_not_utf8_in_a_comment_loses_nothing() {
        let mut bytes = b"# progress of caf\xe9\n".to_vec();
        bytes.extend_from_slice(THREE.as_bytes());
        let (progress, problems) = parse(&bytes);
        assert_eq!(names(&progress), ["q1", "q2", "q3"]);
        assert_eq!(problems, ["line 1 has a byte that is not UTF-8"]);
    }

    #[test]
    fn a_broken_header_loses_only_its_record() {
        let broken = THREE.replace("[quizzes.q2]", "[quizzes.q2");
        let (progress, problems) = parse(broken.as_bytes());
        assert_eq!(names(&progress), ["q1", "q3"], "{problems:?}");
        assert!(progress.other.is_empty(), "q2's keys do not become top-level: {progress:?}");
        assert!(problems[0].contains("lines 6 to 10 could not be read"), "{problems:?}");
    }

    #[test]
    fn a_truncated_or_zeroed_file_keeps_what_is_whole() {
        let cut = &THREE[..THREE.len() - 12];
        let (progress, problems) = parse(cut.as_bytes());
        assert_eq!(names(&progress), ["q1", "q2"], "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("the record of `q3` cannot be read")));
        let (progress, problems) = parse(&[0; 64]);
        assert!(progress.quizzes.is_empty());
        assert!(!problems.is_empty());
    }

    #[test]
    fn a_merge_conflict_keeps_the_later_side() {
        let conflict = "[quizzes.q1]\nright = 1\nasked = 1\nmissed = []\n<<<<<<< HEAD\n\
            [quizzes.q2]\nright = 0\nasked = 2\nmissed = []\n=======\n\
            [quizzes.q2]\nright = 2\nasked = 2\nmissed = []\n>>>>>>> other\n";
        let (progress, problems) = parse(conflict.as_bytes());
        assert_eq!(names(&progress), ["q1", "q2"]);
        assert_eq!(progress.quizzes["q2"].right, 2);
        assert!(problems.len() >= 3, "{problems:?}");
    }

    #[test]
    fn unknown_entries_are_written_back() {
        let text = format!("version = 2\n[exercises]\ndone = [\"e1\"]\n\n{THREE}");
        let (progress, problems) = parse(text.as_bytes());
        assert!(problems.is_empty());
        let written = progress.to_text();
        assert!(
            written.contains("version = 2") && written.contains("done = [\"e1\"]"),
            "{written}"
        );
    }

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723);
        assert_eq!(utc_stamp(leap), "20000229-010203");
    }
}
