//! A hint followed literally must work: every type a hint's code names (`SemaphoreSet::create`)
//! is in scope in the exercise as it is given, or the hint itself says how to import it.

use shm_workbook_exercises::catalogue::EXERCISES;

/// The code spans of a hint: the text between backticks.
fn code_spans(hint: &str) -> Vec<&str> {
    hint.split('`').skip(1).step_by(2).collect()
}

/// The types a piece of code names at the start of a path or as a type (`SemaphoreSet` in
/// `SemaphoreSet::create(...)`, `AtomicU64` in `&AtomicU64`): capitalised words with a small
/// letter (not constants such as `EMPTY`), not after `::` or `.`.
fn types_named(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let previous_is_path = i >= 1 && matches!(chars[i - 1], ':' | '.' | '"' | '\'');
        if starts_word && !previous_is_path && chars[i].is_ascii_uppercase() {
            let end = (i..chars.len())
                .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            let word: String = chars[i..end].iter().collect();
            let rest = &code[char_at(&chars, end)..];
            let is_call = rest.starts_with('(') && !rest.starts_with("()");
            if word.chars().any(|c| c.is_ascii_lowercase()) && !is_call {
                found.push(word);
            }
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

fn char_at(chars: &[char], i: usize) -> usize {
    chars[..i].iter().map(|c| c.len_utf8()).sum()
}

/// Whether `name` is imported by a `use` line of `source` (or defined in it).
fn in_scope(source: &str, name: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mentions = |line: &str| {
        line.match_indices(name).any(|(at, _)| {
            !line[..at].chars().next_back().is_some_and(is_word)
                && !line[at + name.len()..].chars().next().is_some_and(is_word)
        })
    };
    let mut in_use = false;
    for line in source.lines() {
        let line = line.trim();
        if line.starts_with("use ") {
            in_use = true;
        }
        if in_use && mentions(line) {
            return true;
        }
        if in_use && line.ends_with(';') {
            in_use = false;
        }
        let defines = ["struct ", "enum ", "type ", "trait "]
            .iter()
            .any(|kind| line.contains(&format!("{kind}{name}")));
        if defines {
            return true;
        }
    }
    // Types every Rust program has without a `use`.
    ["Vec", "String", "Box", "Option", "Some", "None", "Result", "Ok", "Err"].contains(&name)
}

/// The problems of following `exercise`'s hints literally.
fn problems(name: &str, file: &str, hints: &[&str]) -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("pristine").join(file)).unwrap();
    let mut found = Vec::new();
    for (n, hint) in hints.iter().enumerate() {
        let hint_imports =
            |ty: &str| code_spans(hint).iter().any(|c| c.contains("use ") && c.contains(ty));
        for code in code_spans(hint) {
            for ty in types_named(code) {
                if !in_scope(&source, &ty) && !hint_imports(&ty) {
                    found.push(format!(
                        "{name} hint {}: `{code}` names {ty}, which {file} does not import and \
                         the hint does not say to import",
                        n + 1
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn every_type_a_hint_names_is_in_scope_or_the_hint_says_how() {
    let mut found = Vec::new();
    for exercise in EXERCISES {
        found.extend(problems(exercise.name, exercise.file, exercise.hints));
    }
    assert!(found.is_empty(), "hints that do not compile as written:\n{}", found.join("\n"));
}

#[test]
fn a_hint_naming_a_type_not_imported_is_caught() {
    let ex01 = EXERCISES.iter().find(|e| e.name == "ex01").unwrap();
    let wrong = ["`let s = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;`"];
    assert_eq!(problems("ex01", ex01.file, &wrong).len(), 1, "SemaphoreSet is not imported");
    let right =
        ["`use shm_workbook::SemaphoreSet;` then `SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?`"];
    assert!(problems("ex01", ex01.file, &right).is_empty());
    assert_eq!(types_named("Ordering::Acquire, a::B::c, EMPTY"), vec!["Ordering".to_owned()]);
    assert_eq!(types_named("let d: &AtomicU64 = m.view()?"), vec!["AtomicU64".to_owned()]);
}
