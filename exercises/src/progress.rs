//! Which exercises the student has solved, in `$XDG_DATA_HOME/shm-workbook/exercises.toml` (or
//! `~/.local/share/shm-workbook/exercises.toml`): the quiz runner's folder, never the repository.
//!
//! The same rules as the quiz runner's progress: a save takes a lock beside the file, re-reads
//! it and changes only the record of the exercise just checked; it writes a temporary file,
//! flushes it (fsync) and renames it over the old one; a file it cannot read in full is never
//! overwritten but moved aside (`exercises.toml.damaged-20250101-120000`), its readable records
//! carried over, and one line says so; a save that fails says why, and the checker exits
//! non-zero.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

const HEADER: &str =
    "# Your exercise progress in shm-workbook, kept by `cargo run --bin workbook`.\n\n";

/// Larger than any real progress file.
const LARGEST: u64 = 4 << 20;

/// `$XDG_DATA_HOME/shm-workbook/exercises.toml`, else `~/.local/share/shm-workbook/exercises.toml`
/// (an empty or relative `XDG_DATA_HOME` is ignored, as the XDG specification asks).
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| Path::new(&home).join(".local/share"))
        })?;
    Some(base.join("shm-workbook").join("exercises.toml"))
}

/// The progress file, read as far as it could be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Everything read, as TOML (records under `exercises`, anything else kept as it was).
    table: toml::Table,
    /// What could not be read, one phrase each (empty if the file was sound or missing).
    pub problems: Vec<String>,
}

impl Progress {
    /// Whether `name` was solved at its last check.
    pub fn solved(&self, name: &str) -> bool {
        self.record(name).and_then(|r| r.get("solved")).and_then(toml::Value::as_bool) == Some(true)
    }

    /// Whether `name` was ever checked.
    pub fn checked(&self, name: &str) -> bool {
        self.record(name).is_some()
    }

    fn record(&self, name: &str) -> Option<&toml::Table> {
        self.table.get("exercises")?.as_table()?.get(name)?.as_table()
    }

    fn set(&mut self, name: &str, solved: bool, runs: usize, seed: u64) {
        let exercises =
            self.table.entry("exercises").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !exercises.is_table() {
            *exercises = toml::Value::Table(toml::Table::new());
        }
        let records = exercises.as_table_mut().expect("made a table above");
        let record = records.entry(name).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !record.is_table() {
            *record = toml::Value::Table(toml::Table::new());
        }
        let record = record.as_table_mut().expect("made a table above");
        record.insert("solved".into(), toml::Value::Boolean(solved));
        record.insert("checked".into(), toml::Value::String(utc_stamp(SystemTime::now())));
        record.insert("runs".into(), toml::Value::Integer(runs as i64));
        record.insert("seed".into(), toml::Value::String(seed.to_string()));
    }

    fn to_text(&self) -> String {
        format!("{HEADER}{}", self.table)
    }
}

/// Reads the progress file (a missing file is empty progress). Never changes it.
pub fn read(path: &Path) -> Progress {
    let unreadable = |why: String| Progress { table: toml::Table::new(), problems: vec![why] };
    match fs::metadata(path) {
        Err(err)
            if err.kind() == io::ErrorKind::NotFound
                || err.raw_os_error() == Some(Errno::ENOTDIR as i32) =>
        {
            return Progress::default();
        }
        Err(err) => return unreadable(reason(&err)),
        Ok(meta) if !meta.is_file() => return unreadable("it is not a regular file".into()),
        Ok(meta) if meta.len() > LARGEST => {
            return unreadable(format!(
                "it is {} bytes, too large for a progress file",
                meta.len()
            ));
        }
        Ok(_) => {}
    }
    match fs::read(path) {
        Ok(bytes) => parse(&bytes),
        Err(err) => unreadable(reason(&err)),
    }
}

/// Reads the bytes of a progress file: whatever can be read, and what could not.
pub fn parse(bytes: &[u8]) -> Progress {
    let mut problems = Vec::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(err) => {
            let line = bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            problems.push(format!("line {line} has a byte that is not UTF-8"));
            String::from_utf8_lossy(bytes).into_owned()
        }
    };
    if let Ok(table) = text.parse::<toml::Table>() {
        return Progress { table, problems };
    }
    // Section by section: each `[...]` header and the lines under it, kept if it reads alone.
    let lines: Vec<&str> = text.lines().collect();
    let mut starts: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].trim_start().starts_with('[')).collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts.push(lines.len());
    let mut table = toml::Table::new();
    for bounds in starts.windows(2) {
        let section = lines[bounds[0]..bounds[1]].join("\n");
        match section.parse::<toml::Table>() {
            Ok(part) => merge(&mut table, part),
            Err(_) => {
                problems.push(format!("lines {} to {} could not be read", bounds[0] + 1, bounds[1]))
            }
        }
    }
    Progress { table, problems }
}

fn merge(into: &mut toml::Table, part: toml::Table) {
    for (key, value) in part {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => merge(old, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// A save that failed: what, why, and what to do.
#[derive(Debug)]
pub struct SaveError(pub String);

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Records the result of a check of `name`. Returns the line to print about a damaged file
/// that was moved aside, if one was.
pub fn save(
    path: &Path,
    name: &str,
    solved: bool,
    runs: usize,
    seed: u64,
) -> Result<Option<String>, SaveError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let failed = |what: String, err: io::Error| {
        SaveError(format!(
            "{what} ({}).\n  what to do: make {} a folder you can write, or set XDG_DATA_HOME to \
             one, then check again.",
            reason(&err),
            dir.display()
        ))
    };
    fs::create_dir_all(dir)
        .map_err(|err| failed(format!("cannot create the folder {}", dir.display()), err))?;
    let file_name =
        path.file_name().map_or("exercises.toml".into(), |n| n.to_string_lossy().into_owned());
    let _lock = lock(&dir.join(format!("{file_name}.lock")));
    let mut progress = read(path);
    let mut note = None;
    if !progress.problems.is_empty() && path.exists() {
        let aside = dir.join(format!("{file_name}.damaged-{}", utc_stamp(SystemTime::now())));
        fs::rename(path, &aside).map_err(|err| {
            failed(
                format!(
                    "cannot move the damaged {} aside, so it was left as it is",
                    path.display()
                ),
                err,
            )
        })?;
        note = Some(format!(
            "workbook: {} could not be read in full ({}): it is kept as {}, and what could be read \
             is carried over",
            path.display(),
            progress.problems.join("; "),
            aside.display()
        ));
        progress.problems.clear();
    }
    progress.set(name, solved, runs, seed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let temporary = dir.join(format!(".{file_name}.{}-{nanos}.tmp", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(progress.to_text().as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temporary, path));
    if let Err(err) = written {
        let _ = fs::remove_file(&temporary);
        return Err(failed(format!("cannot write {}", path.display()), err));
    }
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(note)
}

/// An exclusive lock on `path`, waited for up to ten seconds; `None` if it cannot be had (the
/// save goes on: a lost race costs at most the other checker's latest record).
fn lock(path: &Path) -> Option<Flock<File>> {
    let mut file =
        OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path).ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Some(lock),
            Err((again, Errno::EWOULDBLOCK | Errno::EINTR)) if Instant::now() < deadline => {
                file = again;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => return None,
        }
    }
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

fn reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            format!("{:?}: {}", Errno::from_raw(code), Errno::from_raw(code).desc().to_lowercase())
        }
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "workbook-progress-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_save_keeps_other_records_and_unknown_entries() {
        let dir = temp();
        let path = dir.join("exercises.toml");
        fs::write(&path, "version = 3\n[exercises.ex01]\nsolved = true\nnote = \"mine\"\n")
            .unwrap();
        assert_eq!(save(&path, "ex02", false, 50, 7).unwrap(), None);
        let progress = read(&path);
        assert!(progress.problems.is_empty());
        assert!(progress.solved("ex01") && !progress.solved("ex02") && progress.checked("ex02"));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("version = 3") && text.contains("note = \"mine\""), "{text}");
        save(&path, "ex02", true, 50, 7).unwrap();
        assert!(read(&path).solved("ex02"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_file_is_moved_aside_and_its_good_records_carried_over() {
        let dir = temp();
        let path = dir.join("exercises.toml");
        let mut bytes = b"# caf\xe9\n[exercises.ex01]\nsolved = true\n[exercises.ex02\n\
                          solved = tru\n[exercises.ex03]\nsolved = true\n"
            .to_vec();
        bytes.extend_from_slice(b"");
        fs::write(&path, &bytes).unwrap();
        let read_back = read(&path);
        assert!(read_back.solved("ex01") && read_back.solved("ex03"));
        assert!(!read_back.problems.is_empty());
        let note = save(&path, "ex04", true, 10, 1).unwrap().expect("a line about the backup");
        assert!(note.contains("damaged-"), "{note}");
        let progress = read(&path);
        assert!(progress.solved("ex01") && progress.solved("ex03") && progress.solved("ex04"));
        let kept: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("damaged"))
            .collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(fs::read(kept[0].path()).unwrap(), bytes, "the damaged file is kept as it was");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_a_clear_error() {
        let dir = temp();
        fs::write(dir.join("file"), "").unwrap();
        let err = save(&dir.join("file/sub/exercises.toml"), "ex01", true, 1, 1).unwrap_err();
        assert!(err.0.contains("cannot create the folder"), "{err}");
        assert!(err.0.contains("XDG_DATA_HOME"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }
}
