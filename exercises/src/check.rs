//! A check: the exercise's program run many times with jitter, each run judged, and a verdict
//! in one paragraph: what failed, the evidence, a hint, and the seed that repeats it.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use colored::Colorize;

use crate::catalogue::{Exercise, FaultPlan};
use crate::judge::Failure;
use crate::lanes::{self, Lanes};
use crate::replay::{How, Token};
use crate::runner::{self, Fault, Program, Settings, Trial, Workdir};
use crate::schedule::{Choice, Plan};

/// How to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many runs with jitter (the check stops at the first failure).
    pub runs: usize,
    /// How many controlled runs after them, the checker deciding who goes next (PCT).
    pub schedules: usize,
    /// The seed of the first run (the others follow from it).
    pub seed: u64,
    /// A time limit per run instead of the exercise's own.
    pub timeout: Option<Duration>,
    /// The command that repeats this check, for the verdict.
    pub repeat: String,
    /// The checked file's fingerprint, for replay tokens.
    pub source: u32,
    /// Run only this one run again, instead of a check.
    pub replay: Option<Token>,
    /// Whether a failing schedule is shrunk (the benchmark measures without).
    pub shrink: bool,
}

impl Options {
    /// A check of `runs` runs with jitter and as many controlled ones, from `seed`.
    pub fn new(runs: usize, seed: u64, timeout: Option<Duration>, repeat: String) -> Options {
        Options {
            runs,
            schedules: runs,
            seed,
            timeout,
            repeat,
            source: 0,
            replay: None,
            shrink: true,
        }
    }
}

/// How a check ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every run passed.
    Passed {
        /// How many runs with jitter.
        runs: usize,
        /// How long they took.
        elapsed: Duration,
        /// What the controlled runs explored.
        explored: Explored,
    },
    /// Run `run` (counted from 1) failed.
    Failed {
        /// Which run.
        run: usize,
        /// The failure.
        failure: Failure,
        /// The last lines the failing run printed.
        excerpt: String,
        /// The token that runs the failing run again: `ex05:9c1e04ab:812736:x@0=0.2`.
        token: String,
        /// The failing interleaving, drawn, when the checker decided it.
        lanes: Option<Box<Drawn>>,
    },
    /// The checker was interrupted; the run was stopped and what it left removed.
    Interrupted {
        /// What was removed.
        removed: Vec<String>,
    },
}

/// What the controlled runs of a check explored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Explored {
    /// How many controlled runs.
    pub schedules: usize,
    /// How many of them aimed at depth 2.
    pub depth_two: usize,
    /// The most processes a run had.
    pub processes: usize,
    /// The most steps a run took.
    pub steps: u32,
    /// How many schedules make at most one choice other than the default: when few enough,
    /// each was run (else 0).
    pub exhaustive: usize,
    /// Whether every one of those was run (the time allowed may end it sooner).
    pub exhaustive_done: bool,
}

impl Explored {
    /// The chance a bug of depth 2 was missed by all the depth-2 runs, at most.
    pub fn missed_depth_two(&self) -> f64 {
        crate::schedule::miss_bound(self.depth_two, self.processes, self.steps, 2)
    }
}

/// The kinds of failure a race causes: a jitter run that failed of one is drawn.
const RACES: &[&str] = &[
    "lost update",
    "unguarded increment",
    "torn read",
    "half-updated data",
    "data race",
    "lost item",
    "lost message",
    "message lost",
    "read before write",
    "lost wake-up",
];

/// A failing controlled run, drawn.
#[derive(Clone, Debug)]
pub struct Drawn {
    /// The rows.
    pub lanes: Lanes,
    /// The one-line diagnosis under them.
    pub diagnosis: String,
    /// How many preemptions the interleaving needs (after shrinking).
    pub preemptions: u32,
    /// Drawn from a jitter run, in the order of the trace's clock: the checker chose nothing.
    pub clock: bool,
}

pub use crate::schedule::run_seed;

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

/// One run: `number` (from 0) of the check, with `run_seed` for its jitter, plan and data.
struct OneRun<'a> {
    exercise: &'a Exercise,
    program: &'a Program,
    options: &'a Options,
    workdir: &'a Workdir,
}

impl OneRun<'_> {
    fn settings(&self, number: usize, seed: u64, schedule: Option<Plan>) -> Settings {
        let exercise = self.exercise;
        Settings {
            copies: exercise.copies,
            seed,
            fault: fault_for(exercise.fault, self.options.seed, number),
            timeout: self.options.timeout.unwrap_or(exercise.timeout),
            // Every other run gets a sealed memfd, from the second on: the first one tests the
            // refusal of an unsealed one.
            peer: exercise.peer.then(|| crate::peer::Plan {
                sealed: number % 2 == 1,
                token: format!("token {seed:016x}"),
            }),
            schedule,
        }
    }

    fn run(
        &self,
        number: usize,
        seed: u64,
        schedule: Option<Plan>,
    ) -> Result<Trial, runner::Interrupted> {
        runner::run(self.program, &self.settings(number, seed, schedule), self.workdir.path())
    }

    fn token(&self, number: usize, how: How) -> Token {
        let exercise = self.exercise.name.to_owned();
        Token { exercise, source: self.options.source, seed: self.options.seed, run: number, how }
    }

    fn failed(&self, run: usize, trial: &Trial, failure: Failure, token: Token) -> Outcome {
        let excerpt =
            trial.copies.iter().map(|copy| copy.tail(12)).collect::<Vec<_>>().join("\n--\n");
        let (kind, evidence) = (failure.kind.to_uppercase(), first_sentence(&failure.evidence));
        let lanes = match &trial.schedule {
            Some(record) => {
                let preemptions = record.preemptions;
                let plural = if preemptions == 1 { "" } else { "s" };
                let lanes = lanes::lay_out(trial, record);
                let met = lanes.met.as_ref().map(|met| format!(". {met}")).unwrap_or_default();
                let diagnosis =
                    format!("{kind}: {evidence}{met}. {preemptions} preemption{plural}.");
                Some(Box::new(Drawn { lanes, diagnosis, preemptions, clock: false }))
            }
            // A jitter run is drawn when it failed of a race and two processes' accesses to the
            // same bytes met: then the clock's order shows it; for any other failure (a flag
            // handed over as it should be meets too) it would only be noise.
            None if RACES.iter().any(|race| failure.kind.starts_with(race)) => {
                let record = lanes::record_from_the_clock(trial);
                let lanes = lanes::lay_out(trial, &record);
                lanes.met.clone().map(|met| {
                    let diagnosis = format!("{kind}: {evidence}. {met}.");
                    Box::new(Drawn {
                        lanes,
                        diagnosis,
                        preemptions: record.preemptions,
                        clock: true,
                    })
                })
            }
            None => None,
        };
        Outcome::Failed { run, failure, excerpt, token: token.to_string(), lanes }
    }

    /// A failing controlled run turned into its choices, and shrunk: each choice left out in
    /// turn, kept out if the run still fails the same way. Returns the smallest failing run.
    fn shrink(&self, number: usize, seed: u64, trial: Trial, failure: Failure) -> Shrunk {
        let pct = trial.schedule.clone().unwrap_or_default();
        let mut best = Shrunk { trial, failure, choices: None };
        if !self.options.shrink {
            return best;
        }
        let kind = best.failure.kind.clone();
        let fails = |choices: &[Choice]| -> Result<Option<(Trial, Failure)>, runner::Interrupted> {
            let trial = self.run(number, seed, Some(Plan::Choices(choices.to_vec())))?;
            let diverged = trial.schedule.as_ref().is_some_and(|r| r.diverged.is_some());
            Ok(match self.exercise.judge(&trial) {
                Some(failure) if failure.kind == kind && !diverged => Some((trial, failure)),
                _ => None,
            })
        };
        let started = Instant::now();
        let mut choices = pct.choices.clone();
        match fails(&choices) {
            Ok(Some((trial, failure))) => {
                best = Shrunk { trial, failure, choices: Some(choices.clone()) }
            }
            _ => return best, // the PCT token still repeats it
        }
        let mut i = choices.len();
        while i > 0
            && started.elapsed() < SHRINK_TIME
            && !runner::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed)
        {
            i -= 1;
            let mut fewer = choices.clone();
            fewer.remove(i);
            if let Ok(Some((trial, failure))) = fails(&fewer) {
                choices = fewer;
                best = Shrunk { trial, failure, choices: Some(choices.clone()) };
            }
        }
        best
    }
}

/// How long the controlled runs of a check may take, once [`MIN_SCHEDULES`] have been made: a
/// program whose runs are long gets fewer, and its pass says how many.
pub const SCHEDULE_TIME: Duration = Duration::from_secs(8);

/// The most schedules one choice away from the default that a check runs all of: a program
/// with more steps gets PCT alone.
pub const EXHAUSTIVE_LIMIT: usize = 150;

/// How many controlled runs a check makes at least (when it is asked for as many).
pub const MIN_SCHEDULES: usize = 10;

/// How long a check spends shrinking a failing schedule, at most.
const SHRINK_TIME: Duration = Duration::from_secs(20);

struct Shrunk {
    trial: Trial,
    failure: Failure,
    /// The choices that still fail, if the choices form repeated the failure.
    choices: Option<Vec<Choice>>,
}

fn first_sentence(text: &str) -> &str {
    let text = text.trim();
    match text.find(". ") {
        Some(end) => &text[..end],
        None => text.trim_end_matches('.'),
    }
}

/// Runs `program` as `exercise`: `options.runs` runs with jitter, then `options.schedules`
/// controlled ones; stops at the first failed run (a controlled one is shrunk and drawn).
/// With `options.replay`, runs that one run only.
pub fn check(
    exercise: &Exercise,
    program: &Program,
    options: &Options,
    workdir: &Workdir,
) -> Outcome {
    if let Some(token) = &options.replay {
        // The run as it was in its check: that check's seed gives its fault and its peer too.
        let options = Options { seed: token.seed, ..options.clone() };
        return replay(&OneRun { exercise, program, options: &options, workdir }, token);
    }
    let one = OneRun { exercise, program, options, workdir };
    let start = Instant::now();
    let live = std::io::stdout().is_terminal();
    let progress = |run: usize, total: usize, what: &str| {
        if live {
            print!("\r  run {run} of {total} {what}");
            let _ = std::io::stdout().flush();
        }
    };
    let clear = || {
        if live {
            print!("\r{}\r", " ".repeat(50));
        }
    };
    for run in 0..options.runs {
        progress(run + 1, options.runs, "(jitter)    ");
        let seed = run_seed(options.seed, run);
        let trial = match one.run(run, seed, None) {
            Ok(trial) => trial,
            Err(interrupted) => {
                clear();
                return Outcome::Interrupted { removed: interrupted.removed };
            }
        };
        if let Some(failure) = exercise.judge(&trial) {
            clear();
            return one.failed(run + 1, &trial, failure, one.token(run, How::Jitter));
        }
    }
    let mut explored = Explored::default();
    let scheduled = Instant::now();
    // First the default schedule (the one that ran last goes on while it can); if the schedules
    // one choice away from it are few, every one of them; then PCT.
    let mut exhaustive: Vec<Vec<Choice>> = Vec::new();
    let mut pct = 0;
    let mut k = 0;
    let mut first_failure = None;
    while options.schedules > 0 && !runner::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
        // The one-choice schedules and PCT's take turns, so that neither waits for the other.
        let pct_turn = k % 2 == 0 && pct < options.schedules;
        let plan = if k == 0 {
            Plan::Choices(Vec::new())
        } else if !pct_turn && !exhaustive.is_empty() {
            Plan::Choices(exhaustive.pop().expect("not empty"))
        } else if pct < options.schedules {
            pct += 1;
            let steps = explored.steps.max(1);
            // Depth 2 and 3 in turn; the change points among as many steps as runs have taken.
            Plan::Pct { depth: 2 + (pct % 2) as u32, steps, seed: run_seed(options.seed, k) }
        } else {
            break;
        };
        if k >= MIN_SCHEDULES && scheduled.elapsed() > SCHEDULE_TIME {
            break; // the pass says how many were made
        }
        progress(k + 1, options.schedules + explored.exhaustive, "(scheduled) ");
        let number = options.runs + k;
        let seed = run_seed(options.seed, number);
        let plan = match plan {
            Plan::Pct { depth, steps, .. } => Plan::Pct { depth, steps, seed },
            other => other,
        };
        k += 1;
        let trial = match one.run(number, seed, Some(plan.clone())) {
            Ok(trial) => trial,
            Err(interrupted) => {
                clear();
                return Outcome::Interrupted { removed: interrupted.removed };
            }
        };
        if let Some(record) = &trial.schedule {
            explored.schedules += 1;
            explored.depth_two += usize::from(matches!(plan, Plan::Pct { depth: 2, .. }));
            explored.processes = explored.processes.max(record.processes);
            explored.steps = explored.steps.max(record.steps);
            if number == options.runs {
                let away = record.one_choice_away();
                if away.len() <= EXHAUSTIVE_LIMIT {
                    explored.exhaustive = away.len() + 1;
                    exhaustive = away;
                    exhaustive.reverse(); // popped from the end: in the order of the steps
                }
            }
        }
        let failed = exercise.judge(&trial);
        let preempted = trial.schedule.as_ref().is_some_and(|r| r.preemptions > 0);
        if let Some(failure) = failed {
            if !preempted && first_failure.is_none() && k < options.schedules {
                // A failure without a preemption shows no interleaving to draw: look a few
                // schedules further for one that does, and fall back on this one.
                first_failure = Some((number, seed, trial, failure, plan, k));
                continue;
            }
            return settle(&one, number, seed, trial, failure, plan);
        }
        if let Some((.., at)) = &first_failure
            && k >= at + LOOK_FURTHER
        {
            break;
        }
    }
    if let Some((number, seed, trial, failure, plan, _)) = first_failure {
        return settle(&one, number, seed, trial, failure, plan);
    }
    explored.exhaustive_done = explored.exhaustive > 0 && exhaustive.is_empty();
    clear();
    Outcome::Passed { runs: options.runs, elapsed: start.elapsed(), explored }
}

/// The failing controlled run `number`, shrunk, drawn and named by its token.
fn settle(
    one: &OneRun,
    number: usize,
    seed: u64,
    trial: Trial,
    failure: Failure,
    plan: Plan,
) -> Outcome {
    if std::io::stdout().is_terminal() {
        print!("\r  run {} failed: shrinking its schedule...      ", number + 1);
        let _ = std::io::stdout().flush();
    }
    let shrunk = one.shrink(number, seed, trial, failure);
    if std::io::stdout().is_terminal() {
        print!("\r{}\r", " ".repeat(50));
    }
    if runner::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
        return Outcome::Interrupted { removed: Vec::new() };
    }
    let how = match (shrunk.choices, plan) {
        (Some(choices), _) => How::Choices(choices),
        (None, Plan::Pct { depth, steps, .. }) => How::Pct { depth, steps },
        (None, Plan::Choices(choices)) => How::Choices(choices),
    };
    let token = one.token(number, how);
    one.failed(number + 1, &shrunk.trial, shrunk.failure, token)
}

/// How many schedules a check looks further, after a failure with no preemption, for one with
/// an interleaving to draw.
const LOOK_FURTHER: usize = 10;

/// One run again, from its token.
fn replay(one: &OneRun, token: &Token) -> Outcome {
    let start = Instant::now();
    let seed = run_seed(token.seed, token.run);
    let trial = match one.run(token.run, seed, token.plan()) {
        Ok(trial) => trial,
        Err(interrupted) => return Outcome::Interrupted { removed: interrupted.removed },
    };
    if let Some(choice) = trial.schedule.as_ref().and_then(|r| r.diverged.as_ref()) {
        println!(
            "{}",
            wrap(
                &format!(
                    "Note: the replay could not follow its schedule: when {} had taken {} steps, \
                     {} was to go but was not at a point (it was still on its way, or blocked). \
                     A program that sleeps, or that the machine holds back, may take its own \
                     way from there.",
                    if choice.after.is_empty() { "nobody" } else { &choice.after },
                    choice.at,
                    choice.run
                ),
                100
            )
            .dimmed()
        );
    }
    match one.exercise.judge(&trial) {
        Some(failure) => one.failed(1, &trial, failure, token.clone()),
        None => {
            let explored =
                trial.schedule.as_ref().map_or_else(Explored::default, |record| Explored {
                    schedules: 1,
                    depth_two: 0,
                    processes: record.processes,
                    steps: record.steps,
                    ..Explored::default()
                });
            Outcome::Passed { runs: 0, elapsed: start.elapsed(), explored }
        }
    }
}

/// Prints the outcome: for a failure, the failing run's last lines, the interleaving drawn
/// when the checker decided it, then the verdict.
pub fn report(exercise: &Exercise, options: &Options, outcome: &Outcome) {
    match outcome {
        Outcome::Passed { runs, elapsed, explored } => {
            let sentence = passed_sentence(exercise, options, *runs, *elapsed, explored);
            let rest = sentence.strip_prefix(exercise.name).unwrap_or(&sentence);
            println!("{} {}{rest}", "✓".green().bold(), exercise.name.bold());
        }
        Outcome::Failed { run, failure, excerpt, token, lanes } => {
            if !excerpt.trim().is_empty() {
                println!("{}", "The failing run printed (last lines):".dimmed());
                for line in excerpt.lines() {
                    println!("    {}", line.dimmed());
                }
            }
            if let Some(drawn) = lanes {
                let header = if drawn.clock {
                    "The failing interleaving, in the order the trace's clock saw it (a jitter \
                     run: the processes ran side by side; \"preempted\" marks where another \
                     process's step came between two of one process's):"
                } else {
                    "The failing interleaving (the checker chose who went next):"
                };
                println!("{}", wrap(header, 100).dimmed());
                print!("{}", drawn.lanes.draw());
                println!("{}", wrap(&drawn.diagnosis, 100));
            }
            println!("{}", verdict(exercise, options, *run, failure, token));
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

/// The sentence of a check that passed, without its mark: `ex01 passed: 50 runs in 2.1 s...`,
/// with what the controlled runs explored.
pub fn passed_sentence(
    exercise: &Exercise,
    options: &Options,
    runs: usize,
    elapsed: Duration,
    explored: &Explored,
) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if let Some(token) = &options.replay {
        let how = match token.how {
            How::Jitter => "with the same jitter (the machine may still order it otherwise)",
            _ => "in the same interleaving",
        };
        return format!(
            "{}: the run of {token} passed this time, run {how}, every result right, nothing \
             left behind.",
            exercise.name
        );
    }
    let mut sentence = format!(
        "{} passed: {runs} run{} with jitter (seed {})",
        exercise.name,
        plural(runs),
        options.seed
    );
    if explored.schedules > 0 {
        sentence.push_str(&format!(
            " and {} controlled schedule{}",
            explored.schedules,
            plural(explored.schedules)
        ));
        if explored.schedules < options.schedules {
            sentence.push_str(&format!(
                " (of {}: the rest did not fit in the {} s the schedules may take)",
                options.schedules,
                SCHEDULE_TIME.as_secs()
            ));
        }
    }
    sentence.push_str(&format!(
        " in {:.1} s, every result right, nothing left behind.",
        elapsed.as_secs_f64()
    ));
    if explored.exhaustive_done {
        sentence.push_str(&format!(
            " The schedules took every interleaving that makes at most one choice other than \
             letting the process that ran last go on ({} of them), then PCT.",
            explored.exhaustive
        ));
    }
    if explored.depth_two > 0 && explored.processes > 1 {
        let found = 100.0 * (1.0 - explored.missed_depth_two());
        sentence.push_str(&format!(
            " Those schedules (PCT, up to {} processes and {} steps a run) would have found a \
             bug of depth 2 (two events in the wrong order) with probability at least {}.",
            explored.processes,
            explored.steps,
            percent(found)
        ));
    }
    sentence
}

/// `99.9%`, `41%`, `0.3%`: enough digits to say something, never rounded up to 100%.
fn percent(value: f64) -> String {
    if value >= 99.9 {
        let digits = (-(100.0 - value).max(1e-9).log10()).ceil().clamp(1.0, 6.0) as usize;
        let shown = format!("{value:.digits$}");
        if shown.starts_with("100") {
            return format!("{:.prec$}%", 100.0 - 10f64.powi(-(digits as i32)), prec = digits);
        }
        return format!("{shown}%");
    }
    if value >= 10.0 { format!("{value:.0}%") } else { format!("{value:.1}%") }
}

/// The token that repeats run `run` of a check with `options`, when the run went with jitter
/// (the results file and anything else that names a repeatable run call this).
pub fn replay_token(exercise: &Exercise, options: &Options, run: usize) -> String {
    let (exercise, source, seed) = (exercise.name.to_owned(), options.source, options.seed);
    Token { exercise, source, seed, run, how: How::Jitter }.to_string()
}

/// The hint a failure's verdict shows: the failure's own, else the exercise's first.
pub fn hint_shown(exercise: &Exercise, failure: &Failure) -> String {
    failure.hint.clone().unwrap_or_else(|| exercise.hints[0].to_owned())
}

/// The command that runs the run of `token` again.
pub fn replay_command(token: &str) -> String {
    let exercise = token.split(':').next().unwrap_or_default();
    format!("cargo run --bin workbook -- check {exercise} --replay {token}")
}

/// The verdict as plain text on one line, without its mark: what failed, the evidence, a hint,
/// how to repeat it.
pub fn verdict_text(
    exercise: &Exercise,
    options: &Options,
    run: usize,
    failure: &Failure,
    token: &str,
) -> String {
    let hint = hint_shown(exercise, failure);
    let hint = hint.trim_end_matches('.');
    let stop = if hint.ends_with(['?', '!']) { "" } else { "." };
    let which = if options.replay.is_some() {
        "on run 1 of 1 (the replayed run)".to_owned()
    } else if run > options.runs {
        format!("on run {run} of the check (controlled schedule {})", run - options.runs)
    } else {
        format!("on run {run} of {}", options.runs + options.schedules)
    };
    format!(
        "{} failed {which}: {}. {}. Hint: {hint}{stop} To repeat this run: {} (the whole \
         check: {})",
        exercise.name,
        failure.kind,
        capitalised(failure.evidence.trim_end_matches('.')),
        replay_command(token),
        options.repeat
    )
}

/// The verdict in one paragraph, wrapped and coloured, as a check prints it.
pub fn verdict(
    exercise: &Exercise,
    options: &Options,
    run: usize,
    failure: &Failure,
    token: &str,
) -> String {
    let text = format!("✗ {}", verdict_text(exercise, options, run, failure, token));
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
