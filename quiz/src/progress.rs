//! The student's progress: one record per quiz, in `$XDG_DATA_HOME/shm-workbook/progress.toml`
//! (or `~/.local/share/shm-workbook/progress.toml`), never in the repository.
//!
//! The file is kept by the tools' progress store (`shm_workbook_tools::store`), as the
//! checker's is: a save locks, re-reads and changes only the record of the quiz just taken,
//! writes through a temporary file, fsync and rename, and moves a file it cannot read in full
//! aside instead of overwriting it. This module holds what is the quiz's own: its records, and how
//! they are read from TOML and written back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shm_workbook_tools::store::{self, Format, SaveError, Saved, Store, Unparsed};

pub use shm_workbook_tools::store::{State, reason};

use crate::args::shown;

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

/// A progress file, read: what could be read, and how it went.
pub type Loaded = store::Loaded<Progress>;

/// `$XDG_DATA_HOME/shm-workbook/progress.toml`, else `~/.local/share/shm-workbook/progress.toml`.
pub fn progress_path() -> Option<PathBuf> {
    store::data_file("progress.toml")
}

fn store(path: &Path) -> Store {
    Store { path: path.to_owned(), program: "quiz", again: "run the quiz again" }
}

/// Reads the progress file, as much of it as can be read. Never changes it.
pub fn read(path: &Path) -> Loaded {
    store::read(path)
}

/// Saves `record` as the latest attempt at quiz `name`, keeping every other record.
pub fn save_record(path: &Path, name: &str, record: Record) -> Result<Saved, SaveError> {
    store(path).save(|progress: &mut Progress| {
        progress.quizzes.insert(name.to_owned(), record);
    })
}

/// Reads a progress file's bytes: every record that can be read, and what could not be.
pub fn parse(bytes: &[u8]) -> (Progress, Vec<String>) {
    let mut problems = Vec::new();
    let text = store::text(bytes, &mut problems);
    let table = match text.parse::<toml::Table>() {
        Ok(table) => table,
        Err(_) => {
            let mut table = toml::Table::new();
            for (line, part) in store::salvage(&text, section, &mut problems) {
                merge(&mut table, part, "", line, &mut problems);
            }
            table
        }
    };
    (from_table(table, &mut problems), problems)
}

/// One section of TOML, parsed alone.
fn section(text: &str) -> Result<toml::Table, Unparsed> {
    text.parse::<toml::Table>().map_err(|err| Unparsed {
        at: err.span().map(|span| span.start),
        message: err.message().to_owned(),
    })
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

impl Format for Progress {
    fn parse(bytes: &[u8]) -> (Self, Vec<String>) {
        parse(bytes)
    }

    fn records(&self) -> usize {
        self.quizzes.len()
    }

    fn to_text(&self) -> String {
        #[derive(Serialize)]
        struct Records<'a> {
            quizzes: &'a BTreeMap<String, Record>,
        }
        let other = toml::to_string(&self.other).expect("a table read from TOML is TOML");
        let records =
            toml::to_string(&Records { quizzes: &self.quizzes }).expect("records are plain TOML");
        let gap = if other.is_empty() { "" } else { "\n" };
        let header = "# Your quiz progress in shm-workbook, kept by `cargo run --bin quiz`.";
        format!("{header}\n\n{other}{gap}{records}")
    }
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
}
