//! The catalogue in src/catalogue.rs is the one list of lessons: Cargo.toml, lessons/,
//! book/src/SUMMARY.md and quizzes/ must agree with it (like rustlings' dev check).

use std::collections::BTreeSet;
use std::path::Path;

use shm_workbook::catalogue::LESSONS;

use crate::common;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn files_in(dir: &str, prefix: &str, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|entry| format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy()))
        .filter(|path| path[dir.len() + 1..].starts_with(prefix) && path.ends_with(suffix))
        .collect()
}

#[test]
fn cargo_toml_has_one_bin_per_lesson_and_no_other_lesson_bin() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let bins: BTreeSet<(String, String)> = manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bin| {
            (bin["name"].as_str().unwrap().to_owned(), bin["path"].as_str().unwrap().to_owned())
        })
        .filter(|(name, _)| name.starts_with("lesson"))
        .collect();
    let expected: BTreeSet<(String, String)> =
        LESSONS.iter().map(|l| (l.bin.to_owned(), l.source.to_owned())).collect();
    assert_eq!(bins, expected);
}

/// A lesson bin is `test = false` (no test harness built by `cargo test`) exactly when none of
/// its files has a unit test: a `#[cfg(test)]` module added to a lesson must be run.
#[test]
fn a_lesson_bin_builds_a_test_harness_exactly_when_it_has_unit_tests() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    for bin in manifest["bin"].as_array().unwrap() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(bin["path"].as_str().unwrap());
        let files: Vec<std::path::PathBuf> = if source.ends_with("main.rs") {
            let mut files = Vec::new();
            let mut dirs = vec![source.parent().unwrap().to_path_buf()];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else if path.extension().is_some_and(|ext| ext == "rs") {
                        files.push(path);
                    }
                }
            }
            files
        } else {
            vec![source]
        };
        let unit_tests = files
            .iter()
            .any(|file| std::fs::read_to_string(file).unwrap().contains("#[cfg(test)]"));
        let harness = bin.get("test").and_then(toml::Value::as_bool).unwrap_or(true);
        let name = bin["name"].as_str().unwrap();
        assert_eq!(harness, unit_tests, "{name}: it needs `test = {unit_tests}` in Cargo.toml");
    }
}

/// `lessons/` holds one entry per lesson: its file (`lessonNN_name.rs`), or, for a lesson with a
/// harness of its own, a folder whose `main.rs` is the file a student reads and which declares
/// every other module of the folder.
#[test]
fn lessons_folder_holds_exactly_the_catalogued_sources() {
    let expected: BTreeSet<String> = LESSONS.iter().map(|l| l.source.to_owned()).collect();
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            found.insert(format!("lessons/{name}/main.rs"));
            let main = std::fs::read_to_string(path.join("main.rs")).unwrap_or_default();
            for module in std::fs::read_dir(&path).unwrap() {
                let module = module.unwrap().file_name().into_string().unwrap();
                if let Some(stem) = module.strip_suffix(".rs").filter(|&stem| stem != "main") {
                    let declared = main.lines().any(|line| line == format!("mod {stem};"));
                    assert!(declared, "lessons/{name}/main.rs does not declare `mod {stem};`");
                }
            }
        } else if name.ends_with(".rs") {
            found.insert(format!("lessons/{name}"));
        }
    }
    assert_eq!(found, expected);
}

#[test]
fn summary_lists_every_chapter_in_order_and_no_other_lesson() {
    let summary = read("book/src/SUMMARY.md");
    let linked: Vec<String> = summary
        .lines()
        .filter_map(|line| line.split("](").nth(1)?.split(')').next())
        .filter(|target| target.starts_with("lesson") && !target.contains('/'))
        .map(|target| format!("book/src/{target}"))
        .collect();
    let expected: Vec<String> = LESSONS.iter().map(|l| l.chapter.to_owned()).collect();
    assert_eq!(linked, expected);
    for lesson in LESSONS {
        assert!(
            summary.contains(&format!("Lesson {:02}: {}", lesson.number, lesson.title)),
            "SUMMARY.md titles {} differently",
            lesson.bin
        );
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(lesson.chapter).exists(),
            "{} is missing",
            lesson.chapter
        );
    }
}

#[test]
fn quizzes_folder_has_one_quiz_per_lesson_and_chapters_render_them() {
    let expected: BTreeSet<String> = LESSONS.iter().map(|l| l.quiz.to_owned()).collect();
    assert_eq!(files_in("quizzes", "lesson", ".toml"), expected);
    for lesson in LESSONS {
        let chapter = read(lesson.chapter);
        let directive = format!("{{{{#quiz ../../{}}}}}", lesson.quiz);
        assert!(
            chapter.contains(&directive),
            "{} does not include its quiz with {directive}",
            lesson.chapter
        );
    }
}

#[test]
fn every_lesson_reads_in_one_sitting() {
    // A lesson is the file a student reads (`lessonNN_name.rs`, or a folder's `main.rs`): at
    // most 400 lines, plumbing beside it or in the library.
    for lesson in LESSONS {
        let lines = read(lesson.source).lines().count();
        assert!(lines <= 400, "{} has {lines} lines; a lesson has at most 400", lesson.source);
    }
}

/// A long chapter is split into sub-pages in a folder of its name (`book/src/lesson13/`): each
/// is listed in SUMMARY.md, indented under its chapter, and nothing else is in the folder.
#[test]
fn every_sub_page_of_a_chapter_is_listed_under_it() {
    let summary = read("book/src/SUMMARY.md");
    for lesson in LESSONS {
        let folder = lesson.chapter.trim_end_matches(".md");
        let name = folder.rsplit('/').next().unwrap();
        let Ok(entries) = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(folder))
        else {
            continue;
        };
        let chapter_line = summary
            .lines()
            .position(|line| line.contains(&format!("]({name}.md)")))
            .expect("the chapter is in SUMMARY.md");
        let nested: Vec<&str> = summary
            .lines()
            .skip(chapter_line + 1)
            .take_while(|line| line.starts_with("  "))
            .collect();
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            assert!(file.ends_with(".md"), "{folder}/{file}: only pages belong in {folder}/");
            assert!(
                nested.iter().any(|line| line.contains(&format!("]({name}/{file})"))),
                "SUMMARY.md lists {name}/{file} under {name}.md"
            );
        }
    }
}

/// One idea per page: no page of the book is over 4,000 words (counted as `wc -w` does).
#[test]
fn no_page_of_the_book_is_over_4000_words() {
    let long: Vec<String> = common::book_pages()
        .iter()
        .map(|page| (page, std::fs::read_to_string(page).unwrap().split_whitespace().count()))
        .filter(|(_, words)| *words > 4000)
        .map(|(page, words)| format!("{}: {words} words", page.display()))
        .collect();
    assert!(
        long.is_empty(),
        "pages over 4,000 words (split them into sub-pages):\n{}",
        long.join("\n")
    );
}
