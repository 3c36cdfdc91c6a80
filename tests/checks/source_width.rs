//! Every line of the workbook's Rust source fits 100 columns, comments and strings included
//! (issue 22, item 4). rustfmt keeps code within `max_width`, but it folds neither comments nor
//! string literals: this test measures every line of every `.rs` file, in characters.

use std::fs;
use std::path::{Path, PathBuf};

/// The widest line a source file may hold.
const COLUMNS: usize = 100;

/// The folders whose `.rs` files are measured, from the root of the repository.
const CHECKED: &[&str] = &["src", "lessons", "exercises", "quiz", "tools"];

/// The lines of `text` wider than [`COLUMNS`], each as `path:N (W columns)`.
fn too_wide(path: &Path, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.chars().count() > COLUMNS)
        .map(|(i, line)| format!("{}:{} ({} columns)", path.display(), i + 1, line.chars().count()))
        .collect()
}

/// Every `.rs` file under `dir`, leaving out build output (`target`) and hidden folders.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, found);
            }
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_source_line_fits_100_columns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in CHECKED {
        rust_files(&root.join(dir), &mut files);
    }
    // A walk that finds nothing would pass for the wrong reason.
    assert!(files.len() > 50, "only {} .rs files found under {CHECKED:?}", files.len());
    let mut wide = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        wide.extend(too_wide(file.strip_prefix(root).unwrap(), &text));
    }
    assert!(
        wide.is_empty(),
        "{} line(s) wider than {COLUMNS} columns; fold comments at spaces and split strings \
         with a `\\` at the end of the line:\n{}",
        wide.len(),
        wide.join("\n")
    );
}

#[test]
fn a_line_is_measured_in_characters() {
    let path = Path::new("x.rs");
    let fits = format!("// {}", "é".repeat(COLUMNS - 3));
    assert_eq!(fits.chars().count(), COLUMNS);
    assert!(fits.len() > COLUMNS, "more bytes than columns");
    let over = format!("{fits}.");
    let text = format!("{fits}\nfn main() {{}}\n{over}\n");
    assert_eq!(too_wide(path, &text), ["x.rs:3 (101 columns)"]);
}
