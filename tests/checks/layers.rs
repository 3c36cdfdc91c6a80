//! The library's floors, kept: every module of `src/` uses only modules on its own floor below
//! it or on lower floors, so there is no circle and no arrow that runs back up. The order is the
//! one ARCHITECTURE.md draws; a new module takes its place in [`ORDER`].
//!
//! What counts is code: a `crate::name` path outside comments, before the module's tests
//! (tests may use the harness to set a scene).

use std::path::Path;

/// The modules from the ground up. A module may name only modules listed before it.
const ORDER: &[(&str, &str)] = &[
    // Foundations: errors, the call record, the one /proc reader.
    ("fold", "foundations"),
    ("error", "foundations"),
    ("json", "foundations"),
    ("flags", "foundations"),
    ("catalogue", "foundations"),
    ("procfs", "foundations"),
    ("jitter", "foundations"),
    ("call", "foundations"),
    ("evidence", "foundations"),
    ("exercise_data", "foundations"),
    // The run's bookkeeping: what it created (the run file), the signal path, its children.
    ("registry", "bookkeeping"),
    ("cleanup", "bookkeeping"),
    ("scratch", "bookkeeping"),
    // The subject: shared memory and what synchronizes it, one safe function per C call.
    ("shared", "subject"),
    ("region", "subject"),
    ("sysv", "subject"),
    ("posix", "subject"),
    ("futex", "subject"),
    ("pthread", "subject"),
    ("unnamed_sem", "subject"),
    ("memfd", "subject"),
    ("unix_socket", "subject"),
    ("pipe", "subject"),
    // The run harness: the story, processes, waits, privileges, the flags every lesson takes.
    ("narrate", "harness"),
    ("process", "harness"),
    ("wait", "harness"),
    ("privilege", "harness"),
    ("lesson", "harness"),
];

/// Names the crate root re-exports, and the module each comes from.
const ROOT_NAMES: &[(&str, &str)] = &[
    ("Error", "error"),
    ("Result", "error"),
    ("Lesson", "lesson"),
    ("Narrator", "narrate"),
    ("SharedObject", "posix"),
    ("Attachment", "region"),
    ("Mapping", "region"),
    ("ReadOnly", "region"),
    ("ReadWrite", "region"),
    ("Region", "region"),
    ("Shareable", "region"),
    ("ScratchDir", "scratch"),
    ("Key", "sysv"),
    ("SemaphoreSet", "sysv"),
    ("Segment", "sysv"),
];

fn rank(module: &str) -> Option<usize> {
    ORDER.iter().position(|(name, _)| *name == module)
}

/// The module a path after `crate::` names (`sysv::shm::Segment` is `sysv`).
fn module_of(path: &str) -> &str {
    let first = path.split("::").next().unwrap_or(path);
    ROOT_NAMES.iter().find(|(name, _)| *name == first).map_or(first, |(_, module)| module)
}

/// The code of a file: comments dropped, and nothing from the module's tests on.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or(text);
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module `code` names through `crate::`, also inside `use crate::{a, b::c}`.
fn named(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inside = &group[..group.find('}').unwrap_or(group.len())];
            // Nested braces close early; the first name of each item is all that counts.
            for item in inside.split(',') {
                let item = item.trim().trim_start_matches('{');
                if !item.is_empty() && item != "self" {
                    found.push(module_of(item).to_owned());
                }
            }
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if end > 0 {
                found.push(module_of(&rest[..end]).to_owned());
            }
        }
    }
    found
}

/// `(module, file)` for every file of `src/` but `lib.rs`.
fn files() -> Vec<(String, std::path::PathBuf)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap() {
                files.push((name.clone(), inner.unwrap().path()));
            }
        } else if name != "lib" {
            files.push((name, path));
        }
    }
    files.sort();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    files.into_iter().map(|(m, f)| (m, f.strip_prefix(root).unwrap().to_path_buf())).collect()
}

#[test]
fn every_module_has_a_floor() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for line in lib.lines().filter_map(|line| line.strip_prefix("pub mod ")) {
        let module = line.trim_end_matches(';');
        assert!(
            rank(module).is_some(),
            "src/{module}: give it a floor in tests/checks/layers.rs ORDER"
        );
    }
    for (module, file) in files() {
        assert!(rank(&module).is_some(), "{}: not in ORDER", file.display());
    }
}

#[test]
fn every_module_uses_only_what_stands_below_it() {
    let mut wrong = Vec::new();
    for (module, file) in files() {
        let me = rank(&module).expect("every module has a floor");
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&file)).unwrap();
        for used in named(&code(&text)) {
            match rank(&used) {
                Some(theirs) if theirs <= me => {}
                Some(theirs) => wrong.push(format!(
                    "{} ({}) uses crate::{used} ({}), which stands above it",
                    file.display(),
                    ORDER[me].1,
                    ORDER[theirs].1
                )),
                None => {
                    wrong.push(format!("{} uses crate::{used}, which has no floor", file.display()))
                }
            }
        }
    }
    assert!(wrong.is_empty(), "arrows that run back up:\n{}", wrong.join("\n"));
}

#[test]
fn the_reader_sees_an_arrow_that_runs_back_up() {
    // The check itself, on a made-up module: the call record naming the narrator.
    let text = "use crate::error::Result;\nuse crate::{narrate::Narrator, jitter};\n// crate::lesson\n\
                fn f() { crate::process::spawn(); }\n#[cfg(test)]\nmod tests { use crate::wait; }";
    assert_eq!(named(&code(text)), ["error", "narrate", "jitter", "process"]);
}
