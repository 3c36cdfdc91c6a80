use shm_workbook_tools::store::*;
use std::fs::{self};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

/// Records as lines `name = N`; a line that is not is a problem, the file damaged.
#[derive(Debug, Default, PartialEq)]
struct Lines(Vec<String>);

impl Format for Lines {
    fn parse(bytes: &[u8]) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let text = text(bytes, &mut problems);
        let (good, bad): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.contains(" = "));
        problems.extend(bad.iter().map(|line| format!("bad line {line}")));
        (Lines(good.into_iter().map(str::to_owned).collect()), problems)
    }
    fn records(&self) -> usize {
        self.0.len()
    }
    fn to_text(&self) -> String {
        self.0.iter().map(|line| format!("{line}\n")).collect()
    }
}

fn store(test: &str) -> Store {
    let dir = std::env::temp_dir().join(format!("store-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    Store { path: dir.join("records"), program: "test", again: "test again" }
}

fn add(line: &'static str) -> impl FnOnce(&mut Lines) {
    move |lines| lines.0.push(line.to_owned())
}

#[test]
fn a_save_makes_the_folder_and_keeps_what_is_there() {
    let store = store("keeps");
    assert_eq!(read::<Lines>(&store.path).state, State::Missing);
    assert_eq!(store.save(add("a = 1")).unwrap(), Saved::default());
    assert_eq!(store.save(add("b = 2")).unwrap(), Saved::default());
    let loaded = read::<Lines>(&store.path);
    assert_eq!(
        (loaded.value.0, loaded.state),
        (vec!["a = 1".into(), "b = 2".into()], State::Sound)
    );
    let dir = store.path.parent().unwrap();
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["records", "records.lock"], "no temporary file is left");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_file_is_kept_aside_byte_for_byte() {
    let store = store("damaged");
    fs::create_dir_all(store.path.parent().unwrap()).unwrap();
    fs::write(&store.path, b"a = 1\ncaf\xe9\n").unwrap();
    let loaded = read::<Lines>(&store.path);
    let problems = ["line 2 has a byte that is not UTF-8", "bad line caf\u{fffd}"];
    assert_eq!(loaded.state, State::Damaged(problems.map(String::from).to_vec()));
    let saved = store.save(add("b = 2")).unwrap();
    let line = saved.backup.expect("a line about the file kept aside");
    assert!(line.starts_with("test: `"), "{line}");
    let why = "(line 2 has a byte that is not UTF-8, and 1 more problem)";
    assert!(line.contains(&format!("could not be read in full {why}: it is kept as `")), "{line}");
    assert!(line.ends_with("its 1 readable record is carried over"), "{line}");
    assert_eq!(fs::read_to_string(&store.path).unwrap(), "a = 1\nb = 2\n");
    let dir = store.path.parent().unwrap();
    let aside: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("records.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(&aside[0]).unwrap(), b"a = 1\ncaf\xe9\n");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_that_cannot_be_read_is_kept_aside_untouched_as_unreadable() {
    let store = store("unreadable");
    // A folder where the file should be: nothing in it can be read as records.
    fs::create_dir_all(store.path.join("inside")).unwrap();
    let loaded = read::<Lines>(&store.path);
    assert_eq!(loaded.state, State::Unreadable("it is a folder, not a file".into()));
    let line = store.save(add("a = 1")).unwrap().backup.expect("a line about it");
    assert!(line.contains("could not be read (it is a folder, not a file)"), "{line}");
    assert!(line.contains("records.unreadable-"), "{line}");
    assert_eq!(fs::read_to_string(&store.path).unwrap(), "a = 1\n");
    let dir = store.path.parent().unwrap();
    let aside: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("records.unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(aside[0].join("inside").is_dir(), "kept as it was");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_folder_in_the_way_is_a_sentence_with_advice() {
    let store = store("in-the-way");
    let dir = store.path.parent().unwrap();
    fs::write(dir, "not a folder").unwrap();
    let err = store.save(add("a = 1")).unwrap_err().to_string();
    assert!(err.starts_with("cannot create the folder `"), "{err}");
    assert!(err.contains("(EEXIST: file exists)"), "{err}");
    assert!(err.ends_with("or set XDG_DATA_HOME to another folder, then test again."), "{err}");
    fs::remove_file(dir).unwrap();
}

#[test]
fn salvage_drops_the_line_a_parser_stops_at() {
    // A parser of `[name]` headers and `key = value` lines, stopping at anything else.
    let parse = |piece: &str| {
        let mut at = 0;
        for line in piece.split('\n') {
            let fine = line.is_empty() || line.contains(" = ") || line.ends_with(']');
            if !fine {
                return Err(Unparsed { at: Some(at), message: "no\nmore".into() });
            }
            at += line.len() + 1;
        }
        Ok(piece.lines().filter(|l| !l.is_empty()).count())
    };
    let mut problems = Vec::new();
    let parts = salvage("a = 1\n[b]\nc = 2\noops\nd = 3\n[e\nf = 4", parse, &mut problems);
    assert_eq!(parts, [(1, 1), (2, 3)]);
    assert_eq!(
        problems,
        ["line 4 is not valid TOML: `oops`", "lines 6 to 7 could not be read: no"]
    );
}

#[test]
fn stamps_are_utc_dates() {
    assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
    let leap = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723);
    assert_eq!(utc_stamp(leap), "20000229-010203");
}
