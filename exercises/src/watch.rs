//! The rustlings-like mode: the next exercise you have not solved, checked now, and again each
//! time its file is saved (found by polling its modification time), with hints on request.

use std::io::BufRead;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, SystemTime};

use colored::Colorize;

use crate::catalogue::{EXERCISES, Exercise};
use crate::{Session, check, exercises_dir, progress, runner, shown_file};

/// Runs the watch mode until every exercise is solved, `q` is typed, or Ctrl-C.
pub fn watch(runs: usize, timeout: Option<Duration>) -> i32 {
    let session = Session::start();
    let input = read_lines();
    let mut current = match next_unsolved(None) {
        Some(exercise) => exercise,
        None => {
            println!(
                "{} every exercise is solved. `cargo run --bin workbook -- list` shows them.",
                "✓".green().bold()
            );
            return 0;
        }
    };
    let mut hint = 0;
    let mut introduced = "";
    loop {
        if introduced != current.name {
            introduce(current);
            introduced = current.name;
        }
        let passed = match check_once(current, runs, timeout, &session) {
            Ok(passed) => passed,
            Err(code) => return code,
        };
        if passed {
            match next_unsolved(Some(current)) {
                Some(next) => {
                    println!("\n{} next: {}\n", "→".green().bold(), next.name.bold());
                    current = next;
                    hint = 0;
                    continue;
                }
                None => {
                    println!("\n{} every exercise is solved. Well done.", "✓".green().bold());
                    return 0;
                }
            }
        }
        println!(
            "\nSave {} to check again. Type {} hint, {} check, {} list, {} next exercise, {} quit \
             (then Enter).",
            shown_file(current).bold(),
            "h".bold(),
            "c".bold(),
            "l".bold(),
            "n".bold(),
            "q".bold()
        );
        let file = exercises_dir().join(current.file);
        let seen = modified(&file);
        'waiting: loop {
            if runner::INTERRUPTED.load(Ordering::Relaxed) {
                println!();
                return 130;
            }
            if modified(&file) != seen {
                println!("\n{} changed: checking it again.", shown_file(current));
                break 'waiting;
            }
            match input.as_ref().map(Receiver::try_recv) {
                Some(Ok(line)) => match line.trim() {
                    "h" => {
                        let text = current.hints[hint.min(current.hints.len() - 1)];
                        println!(
                            "{}",
                            check::wrap(
                                &format!("Hint {} of {}: {text}", hint + 1, current.hints.len()),
                                100
                            )
                            .yellow()
                        );
                        hint = (hint + 1).min(current.hints.len() - 1);
                    }
                    "c" => break 'waiting,
                    "l" => crate::list(),
                    "n" => {
                        let at = EXERCISES.iter().position(|e| e.name == current.name).unwrap_or(0);
                        current = &EXERCISES[(at + 1) % EXERCISES.len()];
                        hint = 0;
                        break 'waiting;
                    }
                    "q" => return 0,
                    "" => {}
                    other => println!("`{other}`: type h, c, l, n or q, then Enter"),
                },
                Some(Err(TryRecvError::Empty)) | None => {}
                Some(Err(TryRecvError::Disconnected)) => {}
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Checks the student's file once: `Ok(passed)`, or the exit status to leave with.
fn check_once(
    exercise: &Exercise,
    runs: usize,
    timeout: Option<Duration>,
    session: &Session,
) -> Result<bool, i32> {
    let program = match crate::program_for(exercise, false, None) {
        Ok(program) => program,
        Err(130) => return Err(130),
        Err(_) => return Ok(false), // did not compile: the message is shown; wait for a save
    };
    let mut seed_bytes = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into the array.
    unsafe { libc::getrandom(seed_bytes.as_mut_ptr().cast(), 8, 0) };
    let seed = u64::from_ne_bytes(seed_bytes) % 1_000_000_000;
    let mut repeat = format!("cargo run --bin workbook -- check {} --seed {seed}", exercise.name);
    if runs != crate::DEFAULT_RUNS {
        repeat.push_str(&format!(" --runs {runs}"));
    }
    let mut options = check::Options::new(runs, seed, timeout, repeat);
    options.source = crate::replay::fingerprint(&crate::exercises_dir().join(exercise.file));
    let outcome = crate::run_check(exercise, &program, &options, session);
    match crate::finish(exercise, &options, &outcome, true) {
        0 => Ok(true),
        1 => Ok(false),
        code => Err(code),
    }
}

/// The first exercise not solved yet, after `after` if given (and then from the start).
fn next_unsolved(after: Option<&Exercise>) -> Option<&'static Exercise> {
    let progress = progress::path().map(|path| progress::read(&path)).unwrap_or_default();
    let start =
        after.and_then(|a| EXERCISES.iter().position(|e| e.name == a.name)).map_or(0, |i| i + 1);
    EXERCISES[start..].iter().chain(&EXERCISES[..start]).find(|e| !progress.solved(e.name))
}

/// The exercise's title, lesson, file and goal (from its header).
fn introduce(exercise: &Exercise) {
    println!(
        "{} {}: {}  (follows {}: `cargo run --bin {}`)",
        "Exercise".bold(),
        exercise.name.bold(),
        exercise.title.bold(),
        exercise.lesson,
        exercise.lesson
    );
    println!("Edit {}: the `// TODO` comments mark what to change.", shown_file(exercise).bold());
    if let Some(goal) = goal(exercise) {
        println!("{}", check::wrap(&goal, 100));
    }
}

/// The "Goal:" paragraph of the exercise's header, as it was given.
pub fn goal(exercise: &Exercise) -> Option<String> {
    let text = std::fs::read_to_string(exercises_dir().join("pristine").join(exercise.file))
        .or_else(|_| std::fs::read_to_string(exercises_dir().join(exercise.file)))
        .ok()?;
    let lines: Vec<&str> =
        text.lines().map_while(|l| l.strip_prefix("//!")).map(str::trim).collect();
    let start = lines.iter().position(|l| l.starts_with("Goal:"))?;
    let paragraph: Vec<&str> =
        lines[start..].iter().take_while(|l| !l.is_empty()).copied().collect();
    Some(paragraph.join(" "))
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Lines typed on standard input, read on a thread of their own.
fn read_lines() -> Option<Receiver<String>> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        })
        .ok()?;
    Some(receive)
}
