//! The exercises' checker, as a library for its command (`src/main.rs`) and its tests.
//!
//! A check builds an exercise ([`compile`]), runs it many times with the library's jitter and
//! then in controlled schedules where the checker decides who goes next ([`schedule`]), each
//! run in a process group of its own and watched from outside ([`runner`]), reads what each run
//! printed and traced ([`trace`]) and what it left in the kernel's tables ([`kernel`]), judges it
//! ([`judge`], with each exercise's own judge in [`catalogue`]), and gives a verdict in one
//! paragraph ([`check`]), with a failing schedule shrunk, drawn ([`lanes`]) and named by a
//! replay token ([`replay`]); [`bench`](mod@bench) measures how soon the bugs are found.
//! [`watch`] is the rustlings-like mode; [`progress`] remembers what was solved; [`peer`] is
//! the hostile server the checker plays for exercise 15; [`results`] is the results file of
//! `check --all --json FILE`, for a course's CI; [`data`] draws each run's message, amounts
//! and counts, so that no constant can pass.

pub mod bench;
pub mod catalogue;
pub mod check;
pub mod compile;
pub mod data;
pub mod evidence;
pub mod judge;
pub mod kernel;
pub mod lanes;
pub mod peer;
pub mod progress;
pub mod replay;
pub mod results;
pub mod runner;
pub mod schedule;
pub mod trace;
pub mod watch;

use std::path::{Path, PathBuf};

use catalogue::{EXERCISES, Exercise};
use colored::Colorize;
use runner::{Program, Workdir};

/// How many runs a check makes unless told otherwise.
pub const DEFAULT_RUNS: usize = 50;

/// Where the exercises are: `$SHM_WORKBOOK_EXERCISES`, else the folder of this package.
pub fn exercises_dir() -> PathBuf {
    std::env::var_os("SHM_WORKBOOK_EXERCISES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The file a student edits, for messages: `exercises/ex01_sleep.rs`.
pub fn shown_file(exercise: &Exercise) -> String {
    let dir = exercises_dir();
    let name = dir.file_name().map_or("exercises".into(), |n| n.to_string_lossy().into_owned());
    format!("{name}/{}", exercise.file)
}

/// Everything a check needs that outlives one check.
pub struct Session {
    /// Where trace files go.
    pub workdir: Workdir,
}

impl Session {
    /// Sweeps what earlier, killed runs left, becomes a subreaper, makes the work folder.
    pub fn start() -> Session {
        if let Some(sentence) = shm_workbook::registry::sweep().sentence() {
            println!("{}", sentence.italic());
        }
        runner::become_subreaper();
        let workdir = Workdir::new().unwrap_or_else(|err| {
            eprintln!("workbook: cannot make a folder for the runs' traces: {err}");
            std::process::exit(1);
        });
        Session { workdir }
    }
}

/// Why there is no program to check, once the reason has been printed.
#[derive(Clone, Debug)]
pub struct Unbuilt {
    /// The exit status it gives: 1, or 130 when the checker was interrupted.
    pub code: i32,
    /// `does not compile`, `build error` or `interrupted`.
    pub kind: &'static str,
    /// The sentence printed, without its mark.
    pub sentence: String,
    /// The compiler's or cargo's own message, when there is one.
    pub message: Option<String>,
}

/// Builds the program to check: the student's file, the solution, or a given program.
pub fn program_for(
    exercise: &Exercise,
    solution: bool,
    given: Option<&Path>,
) -> Result<Program, i32> {
    build_program(exercise, solution, given).map_err(|unbuilt| unbuilt.code)
}

/// [`program_for`], with the reason there is no program kept for a results file.
pub fn build_program(
    exercise: &Exercise,
    solution: bool,
    given: Option<&Path>,
) -> Result<Program, Unbuilt> {
    if let Some(path) = given {
        return Ok(Program { path: path.to_owned(), args: Vec::new() });
    }
    let solution_bin = format!("{}-solution", exercise.name);
    let (manifest, target) = if solution {
        (exercises_dir().join("reference/Cargo.toml"), compile::Target::Bin(&solution_bin))
    } else {
        (exercises_dir().join("Cargo.toml"), compile::Target::Example(exercise.name))
    };
    println!("building {}...", target.name());
    match compile::build(&manifest, target) {
        Ok(path) => Ok(Program { path, args: Vec::new() }),
        Err(compile::BuildError::Compiler(message)) => {
            eprint!("{message}");
            let (name, file) = (exercise.name, shown_file(exercise));
            let text = format!(
                "✗ {name} does not compile: the compiler's message is above. Fix the first error \
                 in {file}, save, and check again."
            );
            println!("{}", check::wrap(&text, 100).red().bold());
            let sentence = format!(
                "{name} does not compile. Fix the first error the compiler names in {file}, save, \
                 and check again."
            );
            Err(Unbuilt { code: 1, kind: "does not compile", sentence, message: Some(message) })
        }
        Err(compile::BuildError::Cargo(message)) => {
            eprintln!("workbook: {message}");
            let sentence = format!("{} could not be built: {message}", exercise.name);
            Err(Unbuilt { code: 1, kind: "build error", sentence, message: Some(message) })
        }
        Err(compile::BuildError::Interrupted) => {
            println!("interrupted: the build was stopped.");
            let sentence = "interrupted: the build was stopped.".to_owned();
            Err(Unbuilt { code: 130, kind: "interrupted", sentence, message: None })
        }
    }
}

/// Runs and reports one check.
pub fn run_check(
    exercise: &Exercise,
    program: &Program,
    options: &check::Options,
    session: &Session,
) -> check::Outcome {
    match &options.replay {
        Some(token) => println!(
            "checking {} ({}): the run of {token} again",
            exercise.name.bold(),
            exercise.title
        ),
        None => println!(
            "checking {} ({}): {} with jitter and {} controlled schedule{}, seed {}",
            exercise.name.bold(),
            exercise.title,
            if options.runs == 1 { "1 run".to_owned() } else { format!("{} runs", options.runs) },
            options.schedules,
            if options.schedules == 1 { "" } else { "s" },
            options.seed
        ),
    }
    let outcome = check::check(exercise, program, options, &session.workdir);
    check::report(exercise, options, &outcome);
    outcome
}

/// Saves progress (for the student's own file) and gives the exit status.
pub fn finish(
    exercise: &Exercise,
    options: &check::Options,
    outcome: &check::Outcome,
    mine: bool,
) -> i32 {
    let solved = match outcome {
        check::Outcome::Passed { .. } => true,
        check::Outcome::Failed { .. } => false,
        check::Outcome::Interrupted { .. } => return 130,
    };
    if mine && let Err(code) = save_progress(exercise, solved, options) {
        return code;
    }
    if solved { 0 } else { 1 }
}

/// Records a check's result; an error (printed) gives exit status 3.
pub fn save_progress(
    exercise: &Exercise,
    solved: bool,
    options: &check::Options,
) -> Result<(), i32> {
    let Some(path) = progress::path() else {
        eprintln!("workbook: progress not saved: neither XDG_DATA_HOME nor HOME is set");
        return Err(3);
    };
    match progress::save(&path, exercise.name, solved, options.runs, options.seed) {
        Ok(notes) => {
            for note in notes {
                eprintln!("{note}");
            }
            Ok(())
        }
        Err(err) => {
            eprintln!("workbook: progress not saved: {err}");
            Err(3)
        }
    }
}

/// `list`: every exercise, solved or not.
pub fn list() {
    let progress = progress::path().map(|path| progress::read(&path)).unwrap_or_default();
    let width = EXERCISES.iter().map(|e| e.title.len()).max().unwrap_or(0);
    for exercise in EXERCISES {
        let mark = if progress.solved(exercise.name) {
            "✓".green().bold()
        } else if progress.checked(exercise.name) {
            "✗".red().bold()
        } else {
            "·".normal()
        };
        println!(
            "  {mark} {}  {:width$}  {}  {}",
            exercise.name.bold(),
            exercise.title,
            exercise.lesson,
            shown_file(exercise).dimmed()
        );
    }
    let solved = EXERCISES.iter().filter(|e| progress.solved(e.name)).count();
    let next = EXERCISES.iter().find(|e| !progress.solved(e.name));
    match next {
        Some(next) => println!(
            "{solved} of {} solved; next: {} (`cargo run --bin workbook`)",
            EXERCISES.len(),
            next.name
        ),
        None => println!("all {} solved.", EXERCISES.len()),
    }
}

/// `hint exNN`: all its hints.
pub fn hints(exercise: &Exercise) {
    println!("{} {}: {}", "hints for".bold(), exercise.name.bold(), exercise.title);
    for (i, hint) in exercise.hints.iter().enumerate() {
        println!("{}", check::wrap(&format!("{}. {hint}", i + 1), 100));
    }
}
