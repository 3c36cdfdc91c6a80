//! Which exercises the student has solved, in `$XDG_DATA_HOME/shm-workbook/exercises.toml` (or
//! `~/.local/share/shm-workbook/exercises.toml`): the quiz runner's folder, never the repository.
//!
//! The file is kept by the tools' progress store (`shm_workbook_tools::store`), as the quiz
//! runner's is: a save locks, re-reads and changes only the record of the exercise just
//! checked, writes through a temporary file, fsync and rename, and moves a file it cannot read
//! in full aside (`exercises.toml.damaged-20250101-120000`), its readable records carried over.
//! This module holds what is the checker's own: a record per exercise, solved or not.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use shm_workbook_tools::store::{self, Format, SaveError, Store, Unparsed, utc_stamp};

const HEADER: &str =
    "# Your exercise progress in shm-workbook, kept by `cargo run --bin workbook`.\n\n";

/// `$XDG_DATA_HOME/shm-workbook/exercises.toml`, else `~/.local/share/shm-workbook/exercises.toml`.
pub fn path() -> Option<PathBuf> {
    store::data_file("exercises.toml")
}

/// The progress file, read as far as it could be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Everything read, as TOML (records under `exercises`, anything else kept as it was).
    table: toml::Table,
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

    fn exercises(&self) -> Option<&toml::Table> {
        self.table.get("exercises")?.as_table()
    }

    fn record(&self, name: &str) -> Option<&toml::Table> {
        self.exercises()?.get(name)?.as_table()
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
}

impl Format for Progress {
    /// Whatever can be read, and what could not.
    fn parse(bytes: &[u8]) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let text = store::text(bytes, &mut problems);
        if let Ok(table) = text.parse::<toml::Table>() {
            return (Progress { table }, problems);
        }
        let mut table = toml::Table::new();
        for (_, part) in store::salvage(&text, section, &mut problems) {
            merge(&mut table, part);
        }
        (Progress { table }, problems)
    }

    fn records(&self) -> usize {
        self.exercises().map_or(0, toml::Table::len)
    }

    fn to_text(&self) -> String {
        format!("{HEADER}{}", self.table)
    }
}

/// One section of TOML, parsed alone.
fn section(text: &str) -> Result<toml::Table, Unparsed> {
    text.parse::<toml::Table>().map_err(|err| Unparsed {
        at: err.span().map(|span| span.start),
        message: err.message().to_owned(),
    })
}

/// Adds `part` (one section) to `into`; a value given twice keeps the later one.
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

/// Reads the progress file (a missing or unreadable file is empty progress). Never changes it.
pub fn read(path: &Path) -> Progress {
    store::read(path).value
}

/// Records the result of a check of `name`. Returns the line to print about a damaged file
/// that was moved aside, or about a lock that could not be had, if any.
pub fn save(
    path: &Path,
    name: &str,
    solved: bool,
    runs: usize,
    seed: u64,
) -> Result<Vec<String>, SaveError> {
    let store = Store { path: path.to_owned(), program: "workbook", again: "check again" };
    let saved = store.save(|progress: &mut Progress| progress.set(name, solved, runs, seed))?;
    Ok(saved.backup.into_iter().chain(saved.note).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
        assert!(save(&path, "ex02", false, 50, 7).unwrap().is_empty());
        let loaded = store::read::<Progress>(&path);
        assert_eq!(loaded.state, store::State::Sound);
        let progress = loaded.value;
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
        let bytes = b"# caf\xe9\n[exercises.ex01]\nsolved = true\n\
            [exercises.ex02\nsolved = tru\n[exercises.ex03]\nsolved = true\n";
        fs::write(&path, bytes).unwrap();
        let read_back = store::read::<Progress>(&path);
        assert!(read_back.value.solved("ex01") && read_back.value.solved("ex03"));
        assert!(matches!(read_back.state, store::State::Damaged(_)), "{:?}", read_back.state);
        let notes = save(&path, "ex04", true, 10, 1).unwrap();
        assert_eq!(notes.len(), 1, "a line about the backup: {notes:?}");
        assert!(notes[0].contains("damaged-"), "{notes:?}");
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
        let err = err.to_string();
        assert!(err.contains("cannot create the folder"), "{err}");
        assert!(err.contains("XDG_DATA_HOME"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }
}
