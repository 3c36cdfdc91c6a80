//! A check: the exercise's program run many times with jitter, each run judged, and a verdict
//! in one paragraph: what failed, the evidence, a hint, and the seed that repeats it.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use colored::Colorize;

use crate::catalogue::{Exercise, FaultPlan};
use crate::judge::Failure;
use crate::runner::{self, Fault, Program, Settings, Workdir};

/// How to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many runs (the check stops at the first failure).
    pub runs: usize,
    /// The seed of the first run (the others follow from it).
    pub seed: u64,
    /// A time limit per run instead of the exercise's own.
    pub timeout: Option<Duration>,
    /// The command that repeats this check, for the verdict.
    pub repeat: String,
}

/// How a check ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every run passed.
    Passed {
        /// How many.
        runs: usize,
        /// How long they took.
        elapsed: Duration,
    },
    /// Run `run` (counted from 1) failed.
    Failed {
        /// Which run.
        run: usize,
        /// The failure.
        failure: Failure,
        /// The last lines the failing run printed.
        excerpt: String,
    },
    /// The checker was interrupted; the run was stopped and what it left removed.
    Interrupted {
        /// What was removed.
        removed: Vec<String>,
    },
}

/// The jitter seed of run `run` (from 0) of a check with seed `seed`.
pub fn run_seed(seed: u64, run: usize) -> u64 {
    // splitmix64 of the pair: neighbouring runs get unrelated seeds.
    let mut z = seed ^ (run as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What is done to run `run` from outside.
fn fault_for(plan: FaultPlan, seed: u64, run: usize) -> Option<Fault> {
    match plan {
        FaultPlan::None => None,
        FaultPlan::InterruptWithin(within) => {
            let micros = within.as_micros().max(1) as u64;
            Some(Fault::Interrupt(Duration::from_micros(run_seed(seed, run) % micros)))
        }
        FaultPlan::KillAfterLine { every, role, text } => {
            (run % every == every - 1).then_some(Fault::KillAfterLine { role, text })
        }
    }
}

/// Runs `program` as `exercise` up to `options.runs` times; stops at the first failed run.
pub fn check(
    exercise: &Exercise,
    program: &Program,
    options: &Options,
    workdir: &Workdir,
) -> Outcome {
    let start = Instant::now();
    let live = std::io::stdout().is_terminal();
    for run in 0..options.runs {
        if live {
            print!("\r  run {} of {} ", run + 1, options.runs);
            let _ = std::io::stdout().flush();
        }
        let settings = Settings {
            copies: exercise.copies,
            seed: run_seed(options.seed, run),
            fault: fault_for(exercise.fault, options.seed, run),
            timeout: options.timeout.unwrap_or(exercise.timeout),
            // Every other run gets a sealed memfd, from the second on: the first one tests the
            // refusal of an unsealed one.
            peer: exercise.peer.then(|| crate::peer::Plan {
                sealed: run % 2 == 1,
                token: format!("token {:016x}", run_seed(options.seed, run)),
            }),
        };
        let trial = match runner::run(program, &settings, workdir.path()) {
            Ok(trial) => trial,
            Err(interrupted) => {
                if live {
                    println!();
                }
                return Outcome::Interrupted { removed: interrupted.removed };
            }
        };
        if let Some(failure) = exercise.judge(&trial) {
            if live {
                print!("\r{}\r", " ".repeat(30));
            }
            let excerpt =
                trial.copies.iter().map(|copy| copy.tail(12)).collect::<Vec<_>>().join("\n--\n");
            return Outcome::Failed { run: run + 1, failure, excerpt };
        }
    }
    if live {
        print!("\r{}\r", " ".repeat(30));
    }
    Outcome::Passed { runs: options.runs, elapsed: start.elapsed() }
}

/// Prints the outcome: for a failure, the failing run's last lines, then the verdict.
pub fn report(exercise: &Exercise, options: &Options, outcome: &Outcome) {
    match outcome {
        Outcome::Passed { runs, elapsed } => {
            let sentence = passed_sentence(exercise, options, *runs, *elapsed);
            let rest = sentence.strip_prefix(exercise.name).unwrap_or(&sentence);
            println!("{} {}{rest}", "✓".green().bold(), exercise.name.bold());
        }
        Outcome::Failed { run, failure, excerpt } => {
            if !excerpt.trim().is_empty() {
                println!("{}", "The failing run printed (last lines):".dimmed());
                for line in excerpt.lines() {
                    println!("    {}", line.dimmed());
                }
            }
            println!("{}", verdict(exercise, options, *run, failure));
        }
        Outcome::Interrupted { removed } => {
            let removed = if removed.is_empty() {
                "it had left nothing".to_owned()
            } else {
                format!("removed what it had left: {}", removed.join(", "))
            };
            println!(
                "interrupted: the run in progress was stopped, its processes killed; {removed}."
            );
        }
    }
}

/// The sentence of a check that passed, without its mark: `ex01 passed: 50 runs in 2.1 s...`.
pub fn passed_sentence(
    exercise: &Exercise,
    options: &Options,
    runs: usize,
    elapsed: Duration,
) -> String {
    let plural = if runs == 1 { "" } else { "s" };
    format!(
        "{} passed: {runs} run{plural} in {:.1} s with jitter (seed {}), every result right, \
         nothing left behind.",
        exercise.name,
        elapsed.as_secs_f64(),
        options.seed
    )
}

/// The means of repeating a check, in one token: today the jitter seed, as `ex05:SEED`. The
/// results file (`check --json`) and anything else that names a repeatable check call this.
pub fn replay_token(exercise: &Exercise, seed: u64) -> String {
    format!("{}:{seed}", exercise.name)
}

/// The hint a failure's verdict shows: the failure's own, else the exercise's first.
pub fn hint_shown(exercise: &Exercise, failure: &Failure) -> String {
    failure.hint.clone().unwrap_or_else(|| exercise.hints[0].to_owned())
}

/// The verdict as plain text on one line, without its mark: what failed, the evidence, a hint,
/// how to repeat it.
pub fn verdict_text(
    exercise: &Exercise,
    options: &Options,
    run: usize,
    failure: &Failure,
) -> String {
    let hint = hint_shown(exercise, failure);
    let hint = hint.trim_end_matches('.');
    let stop = if hint.ends_with(['?', '!']) { "" } else { "." };
    format!(
        "{} failed on run {run} of {}: {}. {}. Hint: {hint}{stop} To repeat it: {}",
        exercise.name,
        options.runs,
        failure.kind,
        capitalised(failure.evidence.trim_end_matches('.')),
        options.repeat
    )
}

/// The verdict in one paragraph, wrapped and coloured, as a check prints it.
pub fn verdict(exercise: &Exercise, options: &Options, run: usize, failure: &Failure) -> String {
    let text = format!("✗ {}", verdict_text(exercise, options, run, failure));
    let wrapped = wrap(&text, 100);
    let (first, rest) = wrapped.split_once(' ').unwrap_or((&wrapped, ""));
    format!(
        "{} {}",
        first.red().bold(),
        rest.replacen(&failure.kind, &failure.kind.red().bold().to_string(), 1)
    )
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Wraps `text` at `width` columns, at spaces.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut column = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if column > 0 && column + 1 + len > width {
            out.push('\n');
            column = 0;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_seeds_differ_and_repeat() {
        assert_eq!(run_seed(7, 3), run_seed(7, 3));
        assert_ne!(run_seed(7, 3), run_seed(7, 4));
        assert_ne!(run_seed(7, 3), run_seed(8, 3));
    }

    #[test]
    fn faults_follow_the_plan() {
        assert_eq!(fault_for(FaultPlan::None, 1, 0), None);
        let every_third = FaultPlan::KillAfterLine { every: 3, role: "consumer", text: "x" };
        let runs: Vec<bool> = (0..6).map(|run| fault_for(every_third, 1, run).is_some()).collect();
        assert_eq!(runs, [false, false, true, false, false, true]);
        let Some(Fault::Interrupt(at)) =
            fault_for(FaultPlan::InterruptWithin(Duration::from_millis(40)), 9, 2)
        else {
            panic!("an interrupt every run")
        };
        assert!(at < Duration::from_millis(40));
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc");
        assert_eq!(wrap("a", 7), "a");
    }
}
