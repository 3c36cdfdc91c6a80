//! A small file a program keeps for the student in the data folder: the quiz runner's progress,
//! the checker's solved exercises. It lives in `$XDG_DATA_HOME/shm-workbook/` (or
//! `~/.local/share/shm-workbook/`), never in the repository.
//!
//! This module keeps the file; each program keeps its own records (a [`Format`]: their parsing
//! and their text), so the library needs no TOML crate. Nothing a student wrote is ever lost:
//!
//! - A save takes a lock beside the file, re-reads what is on disk and changes it there, so two
//!   programs saving at once both keep their records.
//! - It writes a temporary file in the same folder, flushes it to the disk (fsync) and renames
//!   it over the old one: a crash or a full disk leaves the old file or the new one, never half.
//! - A file it cannot read in full (a bad line, a byte that is not UTF-8, mode 000, a folder in
//!   its place) is never overwritten: the records it can read are carried over, and the file
//!   itself is moved aside under a name that says so (`progress.toml.damaged-20250101-120000`).
//! - A save that fails says what failed, why, and what to do.

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use shm_workbook::flags::{shown, shown_path};

/// Larger than any real file of records (a record is about 100 bytes): a larger one is not read.
pub const LARGEST: u64 = 4 << 20;

/// How long a save waits for another program's save to finish (one takes milliseconds).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// What a program keeps in its file: how to read it and how to write it.
pub trait Format: Default {
    /// Reads a file's bytes: every record that can be read, and what could not (one phrase
    /// each; none if the file was read in full).
    fn parse(bytes: &[u8]) -> (Self, Vec<String>);
    /// How many records it holds (said when a damaged file's records are carried over).
    fn records(&self) -> usize;
    /// The file's text.
    fn to_text(&self) -> String;
}

/// `$XDG_DATA_HOME/shm-workbook/NAME`, else `~/.local/share/shm-workbook/NAME`. An empty or
/// relative `XDG_DATA_HOME` is ignored, as the XDG specification asks.
pub fn data_file(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| Path::new(&home).join(".local/share"))
        })?;
    Some(base.join("shm-workbook").join(name))
}

/// How reading the file went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// There is no file yet.
    Missing,
    /// Every line was read.
    Sound,
    /// Some of it could not be read: what, one phrase each. The records that could be read are
    /// in [`Loaded::value`]; the next save moves the file aside instead of overwriting it.
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
                2 => format!("{}, and 1 more problem", problems[0]),
                n => format!("{}, and {} more problems", problems[0], n - 1),
            }),
        }
    }
}

/// A file, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<F> {
    /// What could be read.
    pub value: F,
    /// How it went.
    pub state: State,
}

/// Reads the file at `path`, as much of it as can be read. Never changes it.
pub fn read<F: Format>(path: &Path) -> Loaded<F> {
    let unreadable = |why: String| Loaded { value: F::default(), state: State::Unreadable(why) };
    match fs::metadata(path) {
        // Missing, or a file where a folder on its path should be (the save says so).
        Err(err)
            if err.kind() == io::ErrorKind::NotFound
                || err.raw_os_error() == Some(Errno::ENOTDIR as i32) =>
        {
            return Loaded { value: F::default(), state: State::Missing };
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
    let (value, problems) = F::parse(&bytes);
    let state = if problems.is_empty() { State::Sound } else { State::Damaged(problems) };
    Loaded { value, state }
}

/// A file's bytes as text. A byte that is not UTF-8 (a comment typed in another encoding)
/// becomes U+FFFD, and one problem names its line.
pub fn text<'a>(bytes: &'a [u8], problems: &mut Vec<String>) -> Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(err) => {
            let line = bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            problems.push(format!("line {line} has a byte that is not UTF-8"));
            String::from_utf8_lossy(bytes)
        }
    }
}

/// Why a piece of text did not parse: where (a byte offset in it, if known) and the parser's
/// message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unparsed {
    /// The byte in the piece where the parser stopped.
    pub at: Option<usize>,
    /// The parser's message (its first line is used).
    pub message: String,
}

/// Reads TOML that does not parse as a whole, one section (a `[header]` and its lines) at a
/// time with `parse`, leaving out each line it stops at, and a section whose header it stops
/// at. Returns each section read with the number of its first line.
pub fn salvage<T>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, Unparsed>,
    problems: &mut Vec<String>,
) -> Vec<(usize, T)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut starts: Vec<usize> =
        (1..lines.len()).filter(|&i| lines[i].trim_start().starts_with('[')).collect();
    starts.insert(0, 0);
    starts.push(lines.len());
    let mut parts = Vec::new();
    for bounds in starts.windows(2) {
        let (first, end) = (bounds[0], bounds[1]);
        let mut section: Vec<&str> = lines[first..end].to_vec();
        loop {
            let joined = section.join("\n");
            let err = match parse(&joined) {
                Ok(part) => {
                    parts.push((first + 1, part));
                    break;
                }
                Err(err) => err,
            };
            let at = err.at.map(|at| {
                joined.as_bytes()[..at.min(joined.len())].iter().filter(|&&b| b == b'\n').count()
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
                    let message = err.message.lines().next().unwrap_or("").trim().to_owned();
                    problems
                        .push(format!("lines {} to {end} could not be read: {message}", first + 1));
                    break;
                }
            }
        }
    }
    parts
}

/// A program's file, and how its lines name the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    /// The file.
    pub path: PathBuf,
    /// The program, at the head of each line a save prints (`quiz`, `workbook`).
    pub program: &'static str,
    /// What the student does once the folder is fixed (`run the quiz again`).
    pub again: &'static str,
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
    again: &'static str,
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = shown_path(&self.dir);
        let advice = match self.err.raw_os_error().map(Errno::from_raw) {
            Some(Errno::EACCES | Errno::EPERM) => format!(
                "make {dir} a folder you own and can write (`ls -ld` shows its owner and mode), \
                 or set XDG_DATA_HOME to such a folder"
            ),
            Some(Errno::EROFS) => {
                "set XDG_DATA_HOME to a folder on a file system that is not read-only".to_owned()
            }
            Some(Errno::ENOSPC | Errno::EDQUOT) => {
                "free some disk space (or ask about your quota)".to_owned()
            }
            Some(Errno::EEXIST | Errno::ENOTDIR) => format!(
                "a file stands on the path {dir} where a folder should be: move it away, \
                 or set XDG_DATA_HOME to another folder"
            ),
            _ => "set XDG_DATA_HOME to a folder you can write".to_owned(),
        };
        let (what, why, again) = (&self.what, reason(&self.err), self.again);
        write!(f, "{what} ({why}).\n  what to do: {advice}, then {again}.")
    }
}

impl Store {
    /// Applies `change` to the records on disk: locks, re-reads the file, moves it aside if it
    /// cannot be read in full, and writes the records through a temporary file, fsync and
    /// rename.
    pub fn save<F: Format>(&self, change: impl FnOnce(&mut F)) -> Result<Saved, SaveError> {
        // A symbolic link (a dotfiles folder) stays a link: the file it points to is replaced.
        let target = match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone())
            }
            _ => self.path.clone(),
        };
        let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let failed = |what: String, err: io::Error| SaveError {
            what,
            err,
            dir: dir.to_owned(),
            again: self.again,
        };
        fs::create_dir_all(dir)
            .map_err(|err| failed(format!("cannot create the folder {}", shown_path(dir)), err))?;
        let file_name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let file_name = file_name.unwrap_or_else(|| "progress".to_owned());
        let (lock, note) = lock(&dir.join(format!("{file_name}.lock")), self.program);

        let loaded = read::<F>(&target);
        let mut backup = None;
        let mut moved_to = None;
        if let Some(problem) = loaded.state.summary() {
            let unreadable = matches!(loaded.state, State::Unreadable(_));
            let kind = if unreadable { "unreadable" } else { "damaged" };
            let aside = aside_name(dir, &file_name, kind);
            fs::rename(&target, &aside).map_err(|err| {
                let (target, aside) = (shown_path(&target), shown_path(&aside));
                failed(
                    format!(
                        "cannot move the {kind} {target} aside to {aside}, so it was left as it is"
                    ),
                    err,
                )
            })?;
            let (program, path, kept) = (self.program, shown_path(&target), shown_path(&aside));
            let carried = loaded.value.records();
            let records = if carried == 1 { "record is" } else { "records are" };
            backup = Some(if unreadable {
                format!(
                    "{program}: {path} could not be read ({problem}): it is kept, untouched, \
                     as {kept}, and a new progress file holds this result"
                )
            } else {
                format!(
                    "{program}: {path} could not be read in full ({problem}): it is kept as \
                     {kept}; its {carried} readable {records} carried over"
                )
            });
            moved_to = Some(aside);
        }
        let mut value = loaded.value;
        change(&mut value);
        if let Err((mut what, err)) =
            write_atomically(&target, dir, &file_name, value.to_text().as_bytes())
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
fn lock(path: &Path, program: &str) -> (Option<Flock<File>>, Option<String>) {
    let without = |why: String| {
        Some(format!("{program}: note: saved without the lock {} ({why})", shown_path(path)))
    };
    let options = OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).clone();
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) => return (None, without(reason(&err))),
    };
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return (Some(lock), None),
            Err((again, Errno::EWOULDBLOCK | Errno::EINTR)) if Instant::now() < deadline => {
                file = again;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err((_, Errno::EWOULDBLOCK)) => {
                let held = format!("another save has held it for {} s", LOCK_WAIT.as_secs());
                return (None, without(held));
            }
            Err((_, errno)) => return (None, without(describe(errno))),
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
pub fn utc_stamp(time: SystemTime) -> String {
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
