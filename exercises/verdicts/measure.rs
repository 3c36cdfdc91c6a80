//! The verdict benchmark: every program of exercises/verdicts/ checked by the current checker.
//!
//! `cargo run -p shm-workbook-verdicts --bin verdicts -- [--runs N] [--seed N] [--only exNN]`
//!
//! Each corpus file says in its header which exercise it is and whether the checker must pass
//! it (`expect: pass`) or fail it (`expect: fail`). This program runs
//! `workbook check exNN --program <its bin> --runs N --seed S` for each, and prints one line
//! per program (expected, got, and whether that is a false pass or a false fail), the
//! checker's reason under it, and the totals: false passes and false fails. A benchmark, not
//! a test: it asserts nothing, and exits 0 once it has run every check.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Writes to stdout; if stdout is closed (`| head`), stops with a sentence instead of a panic.
macro_rules! show {
    ($($arg:tt)*) => {
        if write!(std::io::stdout(), $($arg)*).and_then(|()| std::io::stdout().flush()).is_err() {
            fail("stdout was closed before the table was written; stopped");
        }
    };
}

/// What the command line asked for.
struct Options {
    runs: u32,
    seed: u64,
    only: Option<String>,
}

fn options() -> Options {
    let mut options = Options { runs: 10, seed: 1, only: None };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--runs" => options.runs = value.parse().unwrap_or_else(|_| usage("--runs N")),
            "--seed" => options.seed = value.parse().unwrap_or_else(|_| usage("--seed N")),
            "--only" => options.only = Some(value),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    options
}

fn usage(problem: &str) -> ! {
    eprintln!("usage: verdicts [--runs N] [--seed N] [--only exNN]\nverdicts: {problem}");
    std::process::exit(2);
}

/// One corpus program, as its header describes it.
struct Program {
    name: String,
    exercise: String,
    expect_pass: bool,
}

fn corpus(dir: &Path) -> Vec<Program> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| fail(&format!("cannot list {}: {err}", dir.display())))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("ex") && name.ends_with(".rs")
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|err| fail(&format!("cannot read {}: {err}", path.display())));
            let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let expect_pass = if text.contains("//! expect: pass") {
                true
            } else if text.contains("//! expect: fail") {
                false
            } else {
                fail(&format!("{} has no `//! expect:` line", path.display()))
            };
            Program { exercise: name[..4].to_owned(), name, expect_pass }
        })
        .collect()
}

fn fail(problem: &str) -> ! {
    eprintln!("verdicts: {problem}");
    std::process::exit(1);
}

/// The checker's verdict on one program: passed or not, and its reason in one line.
fn check(workbook: &Path, bin: &Path, program: &Program, options: &Options) -> (String, String) {
    let output = Command::new(workbook)
        .args(["check", &program.exercise, "--program"])
        .arg(bin)
        .args(["--runs", &options.runs.to_string(), "--seed", &options.seed.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| fail(&format!("cannot run {}: {err}", workbook.display())));
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    let got = match output.status.code() {
        Some(0) => "pass",
        Some(1) => "fail",
        _ => "error",
    };
    (got.to_owned(), reason(&said))
}

/// The verdict's sentence: what follows "failed on run k of N:" up to the hint.
fn reason(said: &str) -> String {
    let joined: String = said.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    let verdict = match joined.find(" failed on run ") {
        Some(at) => joined[at..].split_once(": ").map_or("", |(_, rest)| rest),
        None if joined.contains(" passed") => "",
        None => joined.trim(),
    };
    let verdict = verdict.split(" Hint:").next().unwrap_or_default();
    let verdict = verdict.split(" To repeat it:").next().unwrap_or_default();
    let short: String = verdict.chars().take(300).collect();
    if short.len() < verdict.len() { format!("{short}...") } else { short }
}

/// `text` folded at spaces into lines of at most `width` characters, each indented by 4.
fn folded(text: &str, width: usize) -> String {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.iter().filter(|line| !line.is_empty()).map(|line| format!("    {line}\n")).collect()
}

fn main() {
    let options = options();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bins = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned))
        .unwrap_or_else(|| fail("cannot tell where the corpus programs were built"));
    let workbook = bins.join("workbook");
    if !workbook.exists() {
        fail("build the checker first: cargo build -p shm-workbook-exercises --bin workbook");
    }
    let programs: Vec<Program> = corpus(&root.join("exercises/verdicts"))
        .into_iter()
        .filter(|p| options.only.as_ref().is_none_or(|only| p.exercise == *only))
        .collect();
    show!("{:<36} {:<9} {:<6} verdict\n", "program", "expected", "got");
    let (mut false_passes, mut false_fails, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for program in &programs {
        let bin = bins.join(&program.name);
        let (got, why) = check(&workbook, &bin, program, &options);
        let expected = if program.expect_pass { "pass" } else { "fail" };
        let mark = match (expected, got.as_str()) {
            ("fail", "pass") => {
                false_passes.push(program.name.clone());
                "FALSE PASS"
            }
            ("pass", "fail") => {
                false_fails.push(program.name.clone());
                "FALSE FAIL"
            }
            (_, "error") => {
                errors.push(program.name.clone());
                "NO VERDICT"
            }
            _ => "right",
        };
        show!("{:<36} {expected:<9} {got:<6} {mark}\n", program.name);
        if !why.is_empty() {
            show!("{}", folded(&why, 92));
        }
    }
    let total = programs.len();
    let valid = programs.iter().filter(|p| p.expect_pass).count();
    show!("\n");
    show!(
        "{total} programs ({valid} expect pass, {} expect fail), {} runs each, seed {}.\n",
        total - valid,
        options.runs,
        options.seed
    );
    for (what, names) in
        [("False passes", false_passes), ("False fails", false_fails), ("No verdict", errors)]
    {
        show!("{what}: {}\n", names.len());
        show!("{}", folded(&names.join(", "), 92));
    }
}
