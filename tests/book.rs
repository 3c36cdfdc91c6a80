//! The book builds, and each lesson chapter really contains its lesson's code. mdBook only
//! warns about a broken `{{#include}}`, so this test is what catches one.
//!
//! The quiz preprocessor is left out here (it is a separate program that `.ci/run` installs);
//! `.ci/run` builds the book with quizzes on.

use std::path::{Path, PathBuf};

use mdbook_driver::MDBook;
use mdbook_driver::config::Config;
use shm_workbook::catalogue::LESSONS;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the book without the quiz preprocessor into a private directory.
fn build_book() -> PathBuf {
    let book_dir = root().join("book");
    let mut table: toml::Table =
        std::fs::read_to_string(book_dir.join("book.toml")).unwrap().parse().unwrap();
    if let Some(preprocessors) = table.get_mut("preprocessor").and_then(|p| p.as_table_mut()) {
        preprocessors.remove("quiz");
    }
    let mut config: Config = toml::to_string(&table).unwrap().parse().unwrap();
    let out = std::env::temp_dir().join(format!("shm-workbook-book-test-{}", std::process::id()));
    config.build.build_dir = out.clone();
    config.build.create_missing = false;
    MDBook::load_with_config(&book_dir, config)
        .expect("the book loads")
        .build()
        .expect("the book builds");
    out
}

/// The lines between `// ANCHOR: name` and `// ANCHOR_END: name` in `source`.
fn anchored(source: &str, name: &str) -> Vec<String> {
    let start = format!("// ANCHOR: {name}");
    let end = format!("// ANCHOR_END: {name}");
    let mut inside = false;
    let mut lines = Vec::new();
    for line in source.lines() {
        if line.trim() == start {
            inside = true;
        } else if line.trim() == end {
            return lines;
        } else if inside {
            lines.push(line.to_owned());
        }
    }
    panic!("no anchor {name} (or no end to it)");
}

/// The text as it appears in mdBook's HTML (quotes are left as they are).
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Removes the build directory when the test ends, passed or failed.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn each_lesson_chapter_contains_its_lessons_code() {
    let out = build_book();
    let _cleanup = RemoveOnDrop(out.clone());
    for lesson in LESSONS {
        let chapter = std::fs::read_to_string(root().join(lesson.chapter)).unwrap();
        let source = std::fs::read_to_string(root().join(lesson.source)).unwrap();
        let include = format!("{{{{#include ../../{}:", lesson.source);
        let anchors: Vec<&str> = chapter
            .match_indices(&include)
            .map(|(at, _)| chapter[at + include.len()..].split("}}").next().unwrap())
            .collect();
        assert!(!anchors.is_empty(), "{} includes no code from {}", lesson.chapter, lesson.source);
        assert!(
            !chapter.contains("```rust\nfn "),
            "{} pastes code instead of including it",
            lesson.chapter
        );

        let html_name = Path::new(lesson.chapter).with_extension("html");
        let html = std::fs::read_to_string(out.join(html_name.file_name().unwrap())).unwrap();
        assert!(!html.contains("{{#include"), "{}: an include was not expanded", lesson.chapter);
        for anchor in anchors {
            let code = anchored(&source, anchor);
            let mut longest: Vec<&String> = code.iter().filter(|l| !l.trim().is_empty()).collect();
            longest.sort_by_key(|l| std::cmp::Reverse(l.len()));
            for line in longest.iter().take(3) {
                assert!(
                    html.contains(&html_escape(line.trim())),
                    "{}: the code of anchor {anchor} is missing: {line}",
                    lesson.chapter
                );
            }
        }
    }
}
