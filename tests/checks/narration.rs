//! No lesson types the C text of a call by hand: every call a lesson prints comes from the
//! library's record of the call it made (`Narrator::call`). This scans the lesson sources for
//! string literals that spell a call with arguments (`"shmat({id}, NULL, 0)"`), and for the
//! old hand-typed narration methods.

use crate::common;

use std::path::Path;

/// Calls the library records (the same list the strace test and the other tests use): a string
/// that spells one of these with arguments is a call typed by hand. A mention with empty
/// parentheses, "before fork()", is prose and allowed.
use common::CALL_NAMES as CALLS;

/// The contents of the string literals in `source` (ordinary and raw), with their line numbers.
fn string_literals(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let bytes: Vec<char> = source.chars().collect();
    let mut i = 0;
    let mut line = 1;
    let mut in_comment = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '\n' {
            line += 1;
            in_comment = false;
            i += 1;
            continue;
        }
        if in_comment {
            i += 1;
            continue;
        }
        if c == '/' && bytes.get(i + 1) == Some(&'/') {
            in_comment = true;
            i += 2;
            continue;
        }
        if c == '\'' {
            // A char literal ('"') or a lifetime: skip a quoted char if it closes soon.
            if bytes.get(i + 2) == Some(&'\'') {
                i += 3;
                continue;
            }
            if bytes.get(i + 1) == Some(&'\\') && bytes.get(i + 3) == Some(&'\'') {
                i += 4;
                continue;
            }
            i += 1;
            continue;
        }
        if c == '"' {
            let start_line = line;
            let mut text = String::new();
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' {
                    text.push(bytes[i]);
                    i += 1;
                }
                if bytes[i] == '\n' {
                    line += 1;
                }
                text.push(bytes[i]);
                i += 1;
            }
            found.push((start_line, text));
        }
        i += 1;
    }
    found
}

/// The calls with arguments that `text` spells, such as `shmat(` followed by anything but `)`.
fn typed_calls(text: &str) -> Vec<String> {
    let mut calls = Vec::new();
    for name in CALLS {
        for (at, _) in text.match_indices(&format!("{name}(")) {
            let before = text[..at].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':')
            {
                continue; // part of a longer name (`pthread_mutex_...`, `x.kill(`) 
            }
            let after = text[at + name.len() + 1..].chars().next();
            if after.is_some_and(|c| c != ')') {
                calls.push(text[at..].chars().take(40).collect());
            }
        }
    }
    calls
}

#[test]
fn no_lesson_types_a_call_by_hand() {
    let mut problems = Vec::new();
    // Every Rust file of lessons/: a lesson's file, or the files of a lesson's folder.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().flatten().map(|inner| inner.path()));
        } else {
            files.push(path);
        }
    }
    files.retain(|path| path.extension().is_some_and(|ext| ext == "rs"));
    files.sort();
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let name = path.strip_prefix(root).unwrap_or(&path).display().to_string();
        for method in ["typed_call", "typed_call_note"] {
            // Removed from the library; a lesson that still calls them would not compile, but a
            // revived helper of the same kind would be caught here.
            for (n, line) in source.lines().enumerate() {
                if line.contains(&format!(".{method}(")) {
                    problems.push(format!("{name}:{}: uses {method}", n + 1));
                }
            }
        }
        let lines: Vec<&str> = source.lines().collect();
        for (line, text) in string_literals(&source) {
            // An error names the call that failed (`Error::sys("pipe(fds)", errno)`): that is
            // what failed, not a line of the story.
            if lines.get(line.wrapping_sub(1)).is_some_and(|l| l.contains("Error::sys(")) {
                continue;
            }
            for call in typed_calls(&text) {
                problems.push(format!("{name}:{line}: a call typed by hand: {call}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "print calls with Narrator::call / call_note (the library records the call made):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_scan_finds_typed_calls_and_spares_prose() {
    let source = r#"
        parent.typed_call(format!("shmat({id}, NULL, 0)"), x); // shmat(id) in a comment
        out.explain("created before fork(), so the child inherits the id");
        out.explain("the pthread_mutex_lock(&m) of C");
        let c = '"'; out.say("semop(5, {0, -1, 0}, 1)");
    "#;
    let literals = string_literals(source);
    let calls: Vec<String> = literals.iter().flat_map(|(_, text)| typed_calls(text)).collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts_with("shmat({id}"));
    assert!(calls[1].starts_with("semop(5"));
}
