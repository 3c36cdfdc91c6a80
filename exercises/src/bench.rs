//! `workbook bench`: how soon the checker finds each exercise's bug, measured. For every
//! exercise as it is given (its pristine copy), over several seeds: how many runs with jitter
//! until the first failure, how many controlled schedules until the first failure, and whether
//! the failing schedule's token, replayed, fails the same way again. A benchmark, not a test:
//! its figures are this machine's, printed as median and worst.

use std::time::Instant;

use crate::catalogue::{EXERCISES, Exercise};
use crate::check::{self, Options, Outcome};
use crate::replay::Token;
use crate::runner::Program;

/// The most runs of either kind tried per seed before counting the bug as not found.
pub const LIMIT: usize = 100;

/// What one exercise's benchmark found.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Per seed: the run of the first failure with jitter only, if within [`LIMIT`].
    pub jitter: Vec<Option<usize>>,
    /// Per seed: the controlled schedule of the first failure, if within [`LIMIT`].
    pub controlled: Vec<Option<usize>>,
    /// Per seed: whether the failing schedule's token failed again, the same way.
    pub replayed: Vec<bool>,
}

/// Benchmarks `exercise` as given over `seeds` seeds (1, 2, ...), quietly.
pub fn measure(
    exercise: &Exercise,
    program: &Program,
    seeds: u64,
    workdir: &crate::runner::Workdir,
) -> Option<Figures> {
    let mut figures = Figures::default();
    let source = crate::replay::fingerprint(&program.path);
    for seed in 1..=seeds {
        let options = |runs: usize, schedules: usize| {
            let mut options = Options::new(runs, seed, None, String::new());
            options.schedules = schedules;
            options.source = source;
            options.shrink = false;
            options
        };
        let jitter = check::check(exercise, program, &options(LIMIT, 0), workdir);
        figures.jitter.push(match jitter {
            Outcome::Failed { run, .. } => Some(run),
            Outcome::Passed { .. } => None,
            Outcome::Interrupted { .. } => return None,
        });
        let controlled = options(0, LIMIT);
        let (found, kind, token) = match check::check(exercise, program, &controlled, workdir) {
            Outcome::Failed { run, failure, token, .. } => (Some(run), failure.kind, token),
            Outcome::Passed { .. } => (None, String::new(), String::new()),
            Outcome::Interrupted { .. } => return None,
        };
        figures.controlled.push(found);
        let replayed = match Token::parse(&token) {
            Ok(token) => {
                let mut again = options(0, 0);
                again.replay = Some(token);
                match check::check(exercise, program, &again, workdir) {
                    Outcome::Failed { failure, .. } => failure.kind == kind,
                    Outcome::Passed { .. } => false,
                    Outcome::Interrupted { .. } => return None,
                }
            }
            Err(_) => false,
        };
        figures.replayed.push(replayed);
    }
    Some(figures)
}

/// `3`, or `>100` when not found.
fn shown(run: Option<usize>) -> String {
    run.map_or(format!(">{LIMIT}"), |run| run.to_string())
}

/// Median and worst of the runs to the first failure (a miss counts as more than the limit).
fn median_and_worst(runs: &[Option<usize>]) -> (String, String) {
    let mut sorted: Vec<usize> = runs.iter().map(|r| r.unwrap_or(LIMIT + 1)).collect();
    sorted.sort_unstable();
    let pick = |n: usize| shown(Some(n).filter(|&n| n <= LIMIT));
    match sorted.len() {
        0 => ("-".into(), "-".into()),
        len => (pick(sorted[(len - 1) / 2]), pick(sorted[len - 1])),
    }
}

/// Runs the benchmark on `names` (all exercises if empty) and prints one row each.
pub fn run(names: &[String], seeds: u64, session: &crate::Session) -> i32 {
    let chosen: Vec<&Exercise> = if names.is_empty() {
        EXERCISES.iter().collect()
    } else {
        EXERCISES.iter().filter(|e| names.iter().any(|n| n == e.name)).collect()
    };
    println!(
        "Each exercise as given, {seeds} seeds: runs until the first failure (median / worst), \
         with jitter and with controlled schedules, and replays of the failing schedule that \
         failed again."
    );
    println!("{:<6} {:>15} {:>15} {:>10} {:>8}", "", "jitter", "controlled", "replayed", "time");
    let mut all_found = true;
    for exercise in chosen {
        let started = Instant::now();
        let manifest = crate::exercises_dir().join("reference/Cargo.toml");
        let bin = format!("{}-pristine", exercise.name);
        let path = match crate::compile::build(&manifest, crate::compile::Target::Bin(&bin)) {
            Ok(path) => path,
            Err(_) => {
                println!("{:<6} could not be built", exercise.name);
                all_found = false;
                continue;
            }
        };
        let program = Program { path, args: Vec::new() };
        let Some(figures) = measure(exercise, &program, seeds, &session.workdir) else {
            println!("interrupted.");
            return 130;
        };
        let (jm, jw) = median_and_worst(&figures.jitter);
        let (cm, cw) = median_and_worst(&figures.controlled);
        let replayed = figures.replayed.iter().filter(|&&r| r).count();
        all_found &= figures.controlled.iter().all(Option::is_some) && replayed == seeds as usize;
        println!(
            "{:<6} {:>15} {:>15} {:>10} {:>7.0}s",
            exercise.name,
            format!("{jm} / {jw}"),
            format!("{cm} / {cw}"),
            format!("{replayed}/{seeds}"),
            started.elapsed().as_secs_f64()
        );
    }
    if all_found { 0 } else { 1 }
}
