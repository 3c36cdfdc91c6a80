//! The catalogue of exercises (src/catalogue.rs) is the one list: the manifests' targets, the
//! files in exercises/, pristine/ and solutions/, the book's pages and SUMMARY.md must all agree
//! with it, as rustlings' dev check keeps its exercises honest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use shm_workbook_exercises::catalogue::EXERCISES;

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn book(page: &str) -> PathBuf {
    here().join("../book/src").join(page)
}

/// The `(name, path)` of each `[[kind]]` target of a manifest.
fn targets(manifest: &toml::Table, kind: &str) -> BTreeSet<(String, String)> {
    manifest.get(kind).and_then(|t| t.as_array()).map_or_else(BTreeSet::new, |targets| {
        targets
            .iter()
            .map(|t| {
                (t["name"].as_str().unwrap().to_owned(), t["path"].as_str().unwrap().to_owned())
            })
            .collect()
    })
}

#[test]
fn the_manifests_have_each_exercise_as_example_and_its_reference_programs_as_bins() {
    let manifest: toml::Table = read(here().join("Cargo.toml")).parse().unwrap();
    let reference: toml::Table = read(here().join("reference/Cargo.toml")).parse().unwrap();
    let mut examples = BTreeSet::new();
    let mut reference_bins = BTreeSet::from([
        ("workbook-misbehave".to_owned(), "../fixtures/misbehave.rs".to_owned()),
        ("ex13-constant-repair".to_owned(), "../fixtures/ex13_constant_repair.rs".to_owned()),
    ]);
    for exercise in EXERCISES {
        examples.insert((exercise.name.to_owned(), exercise.file.to_owned()));
        for (suffix, dir) in [("pristine", "pristine"), ("solution", "solutions")] {
            reference_bins.insert((
                format!("{}-{suffix}", exercise.name),
                format!("../{dir}/{}", exercise.file),
            ));
        }
    }
    // The student's package: the checker and the exercises, nothing that holds an answer.
    assert_eq!(
        targets(&manifest, "bin"),
        BTreeSet::from([("workbook".to_owned(), "src/main.rs".to_owned())])
    );
    assert_eq!(targets(&manifest, "example"), examples);
    assert_eq!(targets(&reference, "bin"), reference_bins);
    // The verdict corpus (exercises/verdicts/, issue 20), a package of its own that no test
    // builds: each file a bin named as the file, and the benchmark that checks them.
    let verdicts: toml::Table =
        std::fs::read_to_string(here().join("verdicts/Cargo.toml")).unwrap().parse().unwrap();
    for (name, path) in targets(&verdicts, "bin") {
        let expected = if name == "verdicts" { "measure".to_owned() } else { name.clone() };
        assert_eq!(path, format!("{expected}.rs"), "the bin {name}");
        assert!(here().join("verdicts").join(&path).exists(), "{path} exists");
    }
}

#[test]
fn a_plain_cargo_run_at_the_root_lists_only_the_lessons_quiz_and_workbook() {
    // Not a solution, nor a copy as given: exercises/reference is not a default member.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--offline"])
        .current_dir(here().join(".."))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cargo runs");
    let said = String::from_utf8_lossy(&output.stderr);
    let listed = said
        .lines()
        .find_map(|line| line.strip_prefix("available binaries: "))
        .unwrap_or_else(|| panic!("cargo run lists the binaries:\n{said}"));
    let listed: BTreeSet<&str> = listed.split(", ").collect();
    let mut expected: BTreeSet<&str> =
        shm_workbook::catalogue::LESSONS.iter().map(|lesson| lesson.bin).collect();
    expected.extend(["quiz", "workbook"]);
    assert_eq!(listed, expected);
}

#[test]
fn names_follow_the_order_and_files_their_names() {
    // Numbered in order: ex01, ex02, ... (an exercise may follow a lesson whose exercise is not
    // written yet, so a number may be missing).
    let mut previous = 0;
    for exercise in EXERCISES {
        let number: u32 = exercise.name[2..].parse().expect("exNN");
        assert!(number > previous, "{} comes after ex{previous:02}", exercise.name);
        assert_eq!(exercise.name, format!("ex{number:02}"));
        previous = number;
        assert!(exercise.file.starts_with(&format!("{}_", exercise.name)), "{}", exercise.file);
        assert!(!exercise.failures.is_empty() && exercise.hints.len() >= 2, "{}", exercise.name);
        let lesson = shm_workbook::catalogue::find(exercise.lesson);
        assert!(
            lesson.is_some(),
            "{} follows {}, which is no lesson",
            exercise.name,
            exercise.lesson
        );
    }
    for dir in [".", "pristine", "solutions"] {
        let files: BTreeSet<String> = std::fs::read_dir(here().join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("ex") && name.ends_with(".rs"))
            .collect();
        let listed: BTreeSet<String> = EXERCISES.iter().map(|e| e.file.to_owned()).collect();
        assert_eq!(files, listed, "the exercises in {dir}/");
    }
}

#[test]
fn each_exercise_has_a_header_todos_and_a_size_to_read_in_one_sitting() {
    for exercise in EXERCISES {
        let given = read(here().join("pristine").join(exercise.file));
        let lines = given.lines().count();
        assert!((30..=120).contains(&lines), "{} has {lines} lines", exercise.file);
        let number = &exercise.name[2..];
        let title = format!("//! # Exercise {number}: {}\n", exercise.title);
        assert!(given.starts_with(&title), "{} starts with {title}", exercise.file);
        for part in [
            "Goal:",
            "What the checker does:",
            "Run it:",
            &format!("lesson {}", &exercise.lesson[6..]),
        ] {
            assert!(given.contains(part), "{}'s header says {part}", exercise.file);
        }
        assert!(given.contains("// TODO"), "{} marks what to change", exercise.file);
        let solution = read(here().join("solutions").join(exercise.file));
        assert!(!solution.contains("TODO"), "the solution {} has no TODO left", exercise.file);
        assert!(
            solution.starts_with(&format!("//! # Exercise {number}, solved")),
            "{}",
            exercise.file
        );
    }
}

#[test]
fn the_given_files_are_their_pristine_copies_in_the_repository() {
    // The file a student edits starts as its pristine copy, and the two are committed together.
    // Only what is committed is compared (when git is there to ask), and not a file changed in a
    // later commit than its pristine copy: a student may commit their own work.
    let git = |args: &[&str]| -> Option<String> {
        let output =
            std::process::Command::new("git").args(args).current_dir(here()).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    for exercise in EXERCISES {
        let given = format!("exercises/{}", exercise.file);
        let pristine = format!("exercises/pristine/{}", exercise.file);
        let last =
            |path: &str| git(&["rev-list", "-1", "HEAD", "--", path]).map(|c| c.trim().to_owned());
        let (Some(given_commit), Some(pristine_commit)) = (last(&given), last(&pristine)) else {
            continue; // not a git checkout, or not committed yet
        };
        let edited_later = given_commit != pristine_commit
            && git(&["merge-base", "--is-ancestor", &pristine_commit, &given_commit]).is_some();
        if edited_later || given_commit.is_empty() {
            continue;
        }
        assert_eq!(
            git(&["show", &format!("HEAD:{given}")]),
            git(&["show", &format!("HEAD:{pristine}")]),
            "the committed {given} differs from its pristine copy"
        );
    }
}

#[test]
fn the_book_has_a_page_per_exercise_with_its_hints_and_summary_lists_them() {
    let summary = read(book("SUMMARY.md"));
    let part = summary.split("# Exercises").nth(1).expect("an Exercises part in SUMMARY.md");
    assert!(part.contains("](exercises.md)"), "the part's first page");
    let intro = read(book("exercises.md"));
    for exercise in EXERCISES {
        let number = &exercise.name[2..];
        let entry = format!("- [Exercise {number}: {}]({})", exercise.title, exercise.page());
        assert!(part.contains(&entry), "SUMMARY.md lists {entry}");
        assert!(
            intro.contains(&format!("]({})", exercise.page())),
            "exercises.md links {}",
            exercise.name
        );
        let page = read(book(&exercise.page()));
        assert!(
            page.starts_with(&format!("# Exercise {number}: {}", exercise.title)),
            "{}",
            exercise.page()
        );
        assert!(
            page.contains(&format!("](../{}.md)", exercise.lesson)),
            "{} links its lesson",
            exercise.page()
        );
        assert!(
            page.contains(&format!(
                "{{{{#include ../../../exercises/pristine/{}}}}}",
                exercise.file
            ))
        );
        for (i, hint) in exercise.hints.iter().enumerate() {
            assert!(
                page.contains(&format!("<summary>Hint {}</summary>\n\n{hint}\n", i + 1)),
                "{} shows hint {}",
                exercise.page(),
                i + 1
            );
        }
        for failure in exercise.failures {
            assert!(
                page.contains(&format!("**{failure}**")),
                "{} names the failure {failure}",
                exercise.page()
            );
        }
    }
}

/// Each exercise's data, read with `exercise_data`, has the default the checker knows
/// (`data::DEFAULTS`), which the checker never draws: the same name, the same default, in the
/// exercise, its pristine copy and its solution.
#[test]
fn the_data_an_exercise_reads_has_the_defaults_the_checker_knows() {
    use shm_workbook_exercises::data::{DEFAULT_MESSAGES, DEFAULTS};
    let mut reads = 0;
    for exercise in EXERCISES {
        for dir in ["", "pristine/", "solutions/"] {
            let path = here().join(format!("{dir}{}", exercise.file));
            let source = read(&path);
            for (at, _) in source.match_indices("exercise_data::") {
                let call = &source[at + "exercise_data::".len()..];
                let call = &call[..call.find(')').unwrap_or(call.len())];
                let Some((kind, args)) = call.split_once('(') else { continue };
                let (name, default) = args.split_once(", ").expect("a name and a default");
                let name = name.trim_matches('"');
                match kind {
                    "number" => {
                        let known = DEFAULTS.iter().find(|(n, _)| *n == name);
                        assert_eq!(
                            known.map(|(_, v)| v.to_string()).as_deref(),
                            Some(default),
                            "{}: {call}",
                            path.display()
                        );
                    }
                    "text" => assert!(
                        name == "message" && DEFAULT_MESSAGES.contains(&default.trim_matches('"')),
                        "{}: {call}",
                        path.display()
                    ),
                    _ => panic!("{}: {call}", path.display()),
                }
                reads += 1;
            }
        }
    }
    assert!(reads >= 30, "the exercises read their data with exercise_data ({reads} reads)");
}
