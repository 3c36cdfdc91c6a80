//! Every `{{#include}}` of the book names a file and an anchor that exist, and each lesson's
//! chapter (with its sub-pages, `book/src/lessonNN/`) shows code included from its lesson.
//! mdBook only warns about a broken include, so this test is what catches one.
//!
//! The book is not built here: mdBook as a library brought ~85 crates into every cold
//! `cargo test`. `.ci/run` builds the real book (with quizzes) and fails on any directive left
//! unexpanded in its HTML; what this test checks is what that build reads.

use std::path::{Path, PathBuf};

use common::book_pages as pages;
use shm_workbook::catalogue::LESSONS;

use crate::common;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A lesson's pages: its chapter and the pages in the folder of the same name beside it.
fn lesson_pages(chapter: &str) -> Vec<PathBuf> {
    let chapter = root().join(chapter);
    let folder = chapter.with_extension("");
    let mut found = vec![chapter];
    found.extend(pages().into_iter().filter(|page| page.starts_with(&folder)));
    found
}

/// One `{{#include path}}` or `{{#include path:anchor}}` of a page.
struct Include {
    /// The file, resolved against the page's folder as mdBook does.
    file: PathBuf,
    /// The anchor, when the include names one (not a line range).
    anchor: Option<String>,
    /// How the page spells it, for messages.
    text: String,
}

fn includes(page: &Path) -> Vec<Include> {
    let source = std::fs::read_to_string(page).unwrap();
    let mut found = Vec::new();
    for directive in ["{{#include ", "{{#rustdoc_include "] {
        for (at, _) in source.match_indices(directive) {
            let rest = &source[at + directive.len()..];
            let inside = rest.split("}}").next().unwrap().trim();
            let (path, selector) = match inside.split_once(':') {
                Some((path, selector)) => (path, Some(selector)),
                None => (inside, None),
            };
            let anchor = selector
                .filter(|s| !s.is_empty() && !s.chars().all(|c| c.is_ascii_digit() || c == ':'))
                .map(str::to_owned);
            found.push(Include {
                file: page.parent().unwrap().join(path),
                anchor,
                text: format!("{directive}{inside}}}}}"),
            });
        }
    }
    found
}

/// The lines between `// ANCHOR: name` and `// ANCHOR_END: name` in `source`, if both exist.
fn anchored(source: &str, name: &str) -> Option<Vec<String>> {
    let start = format!("// ANCHOR: {name}");
    let end = format!("// ANCHOR_END: {name}");
    let mut inside = false;
    let mut lines = Vec::new();
    for line in source.lines() {
        if line.trim() == start {
            inside = true;
        } else if line.trim() == end && inside {
            return Some(lines);
        } else if inside {
            lines.push(line.to_owned());
        }
    }
    None
}

/// What is wrong with one include, if anything.
fn problem(page: &Path, include: &Include) -> Option<String> {
    let shown = page.strip_prefix(root()).unwrap_or(page).display();
    let Ok(source) = std::fs::read_to_string(&include.file) else {
        return Some(format!("{shown}: {} names a file that does not exist", include.text));
    };
    let anchor = include.anchor.as_deref()?;
    match anchored(&source, anchor) {
        None => Some(format!(
            "{shown}: {}: no `// ANCHOR: {anchor}` with its `// ANCHOR_END: {anchor}` in {}",
            include.text,
            include.file.display()
        )),
        Some(lines) if lines.iter().all(|l| l.trim().is_empty()) => {
            Some(format!("{shown}: {}: the anchor holds no code", include.text))
        }
        Some(_) => None,
    }
}

#[test]
fn every_include_names_a_file_and_an_anchor_that_exist() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for include in includes(&page) {
            checked += 1;
            problems.extend(problem(&page, &include));
        }
    }
    assert!(checked > LESSONS.len(), "only {checked} includes found: is the book there?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn each_lesson_chapter_includes_its_lessons_code_and_pastes_none() {
    for lesson in LESSONS {
        let source = root().join(lesson.source).canonicalize().unwrap();
        let mut anchors = 0;
        for page in lesson_pages(lesson.chapter) {
            let text = std::fs::read_to_string(&page).unwrap();
            assert!(
                !text.contains("```rust\nfn "),
                "{} pastes code instead of including it",
                page.display()
            );
            anchors += includes(&page)
                .iter()
                .filter(|i| {
                    i.anchor.is_some() && i.file.canonicalize().ok() == Some(source.clone())
                })
                .count();
        }
        assert!(anchors > 0, "{} includes no code from {}", lesson.chapter, lesson.source);
    }
}

#[test]
fn a_broken_include_is_caught() {
    let page = root().join("book/src/lesson01.md");
    let missing_anchor = Include {
        file: root().join("lessons/lesson01_parent_child.rs"),
        anchor: Some("no-such-anchor".to_owned()),
        text: "{{#include ../../lessons/lesson01_parent_child.rs:no-such-anchor}}".to_owned(),
    };
    assert!(problem(&page, &missing_anchor).is_some_and(|p| p.contains("no `// ANCHOR")));
    let missing_file = Include {
        file: root().join("lessons/no_such_lesson.rs"),
        anchor: None,
        text: "{{#include ../../lessons/no_such_lesson.rs}}".to_owned(),
    };
    assert!(problem(&page, &missing_file).is_some_and(|p| p.contains("does not exist")));
}
