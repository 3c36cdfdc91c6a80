//! `cargo run --bin workbook`: the exercises, checked against the kernel.
//!
//! With no command it works like rustlings: it shows the next exercise you have not solved,
//! checks it, and checks it again each time you save the file. The commands `list`,
//! `check exNN`, `hint exNN` and `reset exNN` do one thing and exit.
//!
//! A check builds the exercise, runs it many times with the library's jitter (random delays at
//! every shared-memory call, from a printed seed), judges what each run printed, traced and
//! left in the kernel's tables, and says in one paragraph what failed, the evidence, a hint,
//! and how to repeat it. See `check`, `runner`, `kernel` and `judge`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use shm_workbook::flags::{self, Arg, CommandLine, UsageError};

use shm_workbook_exercises::catalogue::{self, EXERCISES, Exercise};
use shm_workbook_exercises::{
    DEFAULT_RUNS, Session, build_program, check, exercises_dir, finish, hints, list, program_for,
    progress, replay, results, run_check, runner, save_progress, shown_file, watch,
};

const USAGE: &str = "\
usage: cargo run --bin workbook [-- COMMAND]

  (no command)          the next exercise you have not solved: checked now, and again each
                        time you save its file; type h (hint), c (check), l (list),
                        n (next), q (quit), then Enter
  list                  every exercise, and which you have solved
  check exNN            check one exercise and exit (0: passed, 1: failed)
  check --all           check every exercise in turn (0: all passed, 1: any did not); a file
                        still as it was given is not checked, and counts as not started
  hint exNN             its hints, from a nudge to nearly the answer
  reset exNN            put the exercise's file back as it was given (yours is kept in a backup)
  bench [exNN]          the checker's benchmark: for each exercise as given, how many runs
                        find its bug with jitter and with controlled schedules (--seeds N,
                        default 20), and whether each failing schedule replays

flags of check (and of the watch mode, for --runs and --timeout):
  --runs N              how many runs with jitter (default 50), and as many controlled
                        schedules after them; the check stops at the first failure
  --schedules N         how many controlled schedules instead (0: none)
  --seed N              repeat a check: the same jitter and schedules in the same runs
  --replay TOKEN        run one run again, from the token a verdict printed
  --save FILE           write a failing schedule to FILE (JSON), for the book's visualizer
  --timeout SECONDS     how long a run may last (default: the exercise's own, 3 to 10 s)
  --solution            check the solution in exercises/solutions/ instead of your file
  --program PATH        check this program as the exercise (for instructors and tests)
  --json FILE           also write the results to FILE, one entry per exercise, for a
                        course's CI (the book's page on grading in CI); with --json -,
                        they go to stdout and the report to stderr

Progress is kept in $XDG_DATA_HOME/shm-workbook/exercises.toml (or
~/.local/share/shm-workbook/), beside the quiz runner's.
";

/// The command line, read.
#[derive(Debug, Default)]
struct Args {
    command: Option<String>,
    exercise: Option<String>,
    runs: Option<usize>,
    schedules: Option<usize>,
    seed: Option<u64>,
    replay: Option<String>,
    save: Option<PathBuf>,
    seeds: Option<u64>,
    timeout: Option<Duration>,
    solution: bool,
    program: Option<PathBuf>,
    all: bool,
    json: Option<String>,
}

fn usage_error(problem: &str) -> ! {
    // The reason last, under one line of usage, so that it does not scroll away above the help.
    eprintln!(
        "Usage: cargo run --bin workbook -- [COMMAND] [EXERCISE] [FLAGS]   (--help lists all)\n\
         workbook: {problem}"
    );
    std::process::exit(2);
}

fn parse_args(raw: Vec<OsString>) -> Args {
    read_args(CommandLine::new(raw)).unwrap_or_else(|UsageError(problem)| usage_error(&problem))
}

/// The command line, read with the library's one reader (the lessons' and the quiz runner's).
fn read_args(mut line: CommandLine) -> Result<Args, UsageError> {
    let mut args = Args::default();
    let mut words = Vec::new();
    while let Some(arg) = line.next_arg()? {
        let flag = match arg {
            Arg::Word(word) if word == "help" => String::from("--help"),
            Arg::Word(word) => {
                words.push(word);
                continue;
            }
            Arg::Flag(flag) => flag,
        };
        match flag.as_str() {
            "--help" | "-h" => {
                line.switch()?;
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--runs" => args.runs = Some(line.number((0, 100_000), "50")? as usize),
            "--schedules" => {
                args.schedules = Some(line.number((0, 100_000), "50")? as usize);
            }
            "--seed" => args.seed = Some(line.number((0, u64::MAX), "42")?),
            "--replay" => {
                args.replay = Some(line.value("a token", "ex05:9c1e04ab:812736:pct2/340")?);
            }
            "--seeds" => args.seeds = Some(line.number((1, 1000), "20")?),
            "--save" => args.save = Some(PathBuf::from(line.value("a file", "failure.json")?)),
            "--timeout" => args.timeout = Some(Duration::from_secs(line.number((1, 3600), "10")?)),
            "--solution" => args.solution = line.switch()?,
            "--all" => args.all = line.switch()?,
            "--json" => {
                let file = line.value("a file", "results.json")?;
                if file.is_empty() {
                    return Err(UsageError(
                        "--json needs a file, as in --json results.json".into(),
                    ));
                }
                args.json = Some(file);
            }
            "--program" => {
                args.program = Some(PathBuf::from(line.value("a path", "target/debug/ex01")?));
            }
            _ => return Err(line.unknown()),
        }
    }
    let mut words = words.into_iter();
    args.command = words.next();
    args.exercise = words.next();
    if let Some(extra) = words.next() {
        return Err(flags::unexpected(&extra));
    }
    let checking = args.command.as_deref() == Some("check");
    if (args.all || args.json.is_some()) && !checking {
        let flag = if args.all { "--all" } else { "--json FILE" };
        return Err(UsageError(format!(
            "{flag} goes with `check`, as in `check --all --json r.json`"
        )));
    }
    if args.all
        && let Some(exercise) = &args.exercise
    {
        return Err(UsageError(format!(
            "`check --all` checks every exercise: name {} or --all, not both",
            flags::shown(exercise)
        )));
    }
    if args.runs == Some(0) && args.schedules.is_none_or(|n| n == 0) {
        return Err(UsageError(
            "--runs needs a whole number from 1 to 100000, not `0` (0 goes only with \
             --schedules N, for controlled schedules alone)"
                .into(),
        ));
    }
    if args.replay.is_some() && (args.all || args.seed.is_some() || args.runs.is_some()) {
        return Err(UsageError(
            "--replay runs the one run its token names: it goes with one exercise, without \
             --all, --seed or --runs"
                .into(),
        ));
    }
    if args.all && args.program.is_some() {
        return Err(UsageError(
            "--program is one program, checked as one exercise: it cannot go with --all".into(),
        ));
    }
    Ok(args)
}

/// The exercise a command names, or a usage error listing them.
fn exercise_named(name: Option<&str>, command: &str) -> &'static Exercise {
    let Some(name) = name else {
        usage_error(&format!("`{command}` needs an exercise, as in `{command} ex01`"));
    };
    catalogue::find(name).unwrap_or_else(|| {
        let names: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
        usage_error(&format!(
            "there is no exercise {}; there are {}",
            flags::shown(name),
            names.join(", ")
        ))
    })
}

/// A random seed (the check prints it, so that it can be repeated).
fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into `bytes`.
    unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    u64::from_ne_bytes(bytes) % 1_000_000_000
}

/// SIGINT, SIGTERM and SIGHUP set a flag that the checker's loops watch: the run in progress is
/// stopped and cleaned up before the checker exits.
fn install_interrupt_handler() {
    extern "C" fn on_signal(_: libc::c_int) {
        runner::INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// Whether a panic is `print!`'s on a closed stdout (`workbook list | head -1`).
fn is_closed_stdout(message: &str) -> bool {
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// The text of a panic's payload, when it has one.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
}

fn main() {
    // A reader that stops reading (`| head`) ends the checker quietly: the panic that `print!`
    // raises on a closed pipe unwinds (so whatever a check holds is dropped and cleaned up) and
    // ends in status 0, without a message or a backtrace. Any other panic is reported as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !panic_text(info.payload()).is_some_and(is_closed_stdout) {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(run) {
        Ok(code) => std::process::exit(code),
        Err(payload) if panic_text(payload.as_ref()).is_some_and(is_closed_stdout) => {
            std::process::exit(0)
        }
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

fn run() -> i32 {
    let args = parse_args(std::env::args_os().skip(1).collect());
    colored::control::set_override(
        std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    );
    // The checker's own process is never jittered nor traced: only the runs it starts are.
    // SAFETY: nothing else runs yet (no thread reads the environment).
    unsafe {
        std::env::remove_var(shm_workbook::jitter::VARIABLE);
        std::env::remove_var(shm_workbook::call::TRACE_VARIABLE);
    }
    install_interrupt_handler();
    match args.command.as_deref() {
        None => watch::watch(args_runs(&args), args.timeout),
        Some("list") => {
            no_exercise(&args, "list");
            list();
            0
        }
        Some("hint") => {
            let exercise = exercise_named(args.exercise.as_deref(), "hint");
            hints(exercise);
            0
        }
        Some("reset") => reset(exercise_named(args.exercise.as_deref(), "reset")),
        Some("bench") => {
            let names: Vec<String> = args
                .exercise
                .as_deref()
                .map(|name| vec![exercise_named(Some(name), "bench").name.to_owned()])
                .unwrap_or_default();
            let session = Session::start();
            shm_workbook_exercises::bench::run(&names, args.seeds.unwrap_or(20), &session)
        }
        Some("check") if args.all => check_each(EXERCISES.iter().collect(), &args),
        Some("check") => {
            let exercise = exercise_named(args.exercise.as_deref(), "check");
            if args.json.is_some() {
                check_each(vec![exercise], &args)
            } else {
                check_command(exercise, &args)
            }
        }
        Some(other) => usage_error(&format!("unknown command {}", flags::shown(other))),
    }
}

fn args_runs(args: &Args) -> usize {
    args.runs.unwrap_or(DEFAULT_RUNS)
}

fn no_exercise(args: &Args, command: &str) {
    if let Some(extra) = &args.exercise {
        usage_error(&format!("`{command}` takes no exercise, not {}", flags::shown(extra)));
    }
}

fn check_command(exercise: &'static Exercise, args: &Args) -> i32 {
    let session = Session::start();
    let program = match program_for(exercise, args.solution, args.program.as_deref()) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let mut options = options_for(exercise, args, seed);
    if let Some(text) = &args.replay {
        match replay_of(exercise, text, options.source) {
            Ok(token) => options.replay = Some(token),
            Err(sentence) => {
                eprintln!("workbook: {sentence}");
                return 2;
            }
        }
    }
    let outcome = run_check(exercise, &program, &options, &session);
    if let (Some(path), check::Outcome::Failed { lanes: Some(drawn), token, .. }) =
        (&args.save, &outcome)
    {
        let json = drawn.lanes.to_json(&drawn.diagnosis, token);
        let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
        match std::fs::write(path, text) {
            Ok(()) => println!("The failing schedule is saved in {}.", path.display()),
            Err(err) => {
                eprintln!(
                    "workbook: the failing schedule could not be saved in {}: {err}.",
                    path.display()
                );
                return 3;
            }
        }
    } else if let Some(path) = &args.save
        && matches!(outcome, check::Outcome::Failed { .. })
    {
        println!(
            "Nothing saved in {}: the failing run went with jitter, not a controlled \
             schedule, so there is no interleaving to draw.",
            path.display()
        );
    }
    // A replay repeats a run: it does not count as a check of the file.
    let mine = !args.solution && args.program.is_none() && args.replay.is_none();
    finish(exercise, &options, &outcome, mine)
}

/// The token `--replay` gives, checked against the exercise and the file being checked.
fn replay_of(exercise: &Exercise, text: &str, source: u32) -> Result<replay::Token, String> {
    let token = replay::Token::parse(text)?;
    if token.exercise != exercise.name {
        return Err(format!(
            "the token {} is a run of {}, not of {}: check {} with it, or take a token that \
             a check of {} printed.",
            shm_workbook::flags::shown(text),
            token.exercise,
            exercise.name,
            token.exercise,
            exercise.name
        ));
    }
    if token.source != source {
        return Err(format!(
            "the token {} was made from another version of the file (fingerprint {:08x}; \
             the file is {:08x} now): a schedule is a list of steps of one program, so it \
             would not mean the same run. Check the file again for a token of this version.",
            shm_workbook::flags::shown(text),
            token.source,
            source
        ));
    }
    Ok(token)
}

/// How to check `exercise` with `seed`, and the command that repeats it.
fn options_for(exercise: &Exercise, args: &Args, seed: u64) -> check::Options {
    let runs = args_runs(args);
    let mut repeat = format!("cargo run --bin workbook -- check {} --seed {seed}", exercise.name);
    if runs != DEFAULT_RUNS {
        repeat.push_str(&format!(" --runs {runs}"));
    }
    if args.solution {
        repeat.push_str(" --solution");
    }
    if let Some(path) = &args.program {
        repeat.push_str(&format!(" --program {}", path.display()));
    }
    let mut options = check::Options::new(runs, seed, args.timeout, repeat);
    if let Some(schedules) = args.schedules {
        options.schedules = schedules;
        options.repeat.push_str(&format!(" --schedules {schedules}"));
    }
    options.source = replay::fingerprint(&checked_file(exercise, args));
    options
}

/// The file whose fingerprint a token carries: the student's file, the solution, or the
/// program given.
fn checked_file(exercise: &Exercise, args: &Args) -> PathBuf {
    match &args.program {
        Some(path) => path.clone(),
        None if args.solution => exercises_dir().join("solutions").join(exercise.file),
        None => exercises_dir().join(exercise.file),
    }
}

/// `check --all`, or `check exNN --json FILE`: each exercise checked in turn with one seed, and
/// the results written to the file `--json` names, if any. A file as it was given is not
/// checked. Exit status: 0 if every exercise passed, 1 if any did not, 2 if the file cannot be
/// written (tried before any check), 3 if progress could not be saved, 130 if interrupted (and
/// then no file is written).
fn check_each(exercises: Vec<&'static Exercise>, args: &Args) -> i32 {
    let destination = match args.json.as_deref().map(results::Destination::open) {
        None => None,
        Some(Ok(destination)) => Some(destination),
        Some(Err(sentence)) => {
            eprintln!("workbook: {sentence}.");
            return 2;
        }
    };
    let session = Session::start();
    let seed = args.seed.unwrap_or_else(random_seed);
    let mine = !args.solution && args.program.is_none();
    let started = std::time::SystemTime::now();
    let mut entries = Vec::new();
    let mut code = 0;
    for &exercise in &exercises {
        if mine && results::as_given(exercise) {
            let entry = results::Entry::not_started(exercise);
            println!("· {}", entry.verdict);
            entries.push(entry);
            continue;
        }
        let options = options_for(exercise, args, seed);
        let interrupted = || {
            if destination.is_some() {
                println!("No results were written.");
            }
            130
        };
        let entry = match build_program(exercise, args.solution, args.program.as_deref()) {
            Err(unbuilt) if unbuilt.code == 130 => return interrupted(),
            Err(unbuilt) => results::Entry::unbuilt(exercise, &unbuilt),
            Ok(program) => {
                let outcome = run_check(exercise, &program, &options, &session);
                let Some(entry) = results::Entry::checked(exercise, &options, &outcome) else {
                    return interrupted();
                };
                let passed = entry.status == results::Status::Pass;
                if mine && save_progress(exercise, passed, &options).is_err() {
                    code = 3;
                }
                entry
            }
        };
        entries.push(entry);
    }
    let report = results::Report {
        started,
        finished: std::time::SystemTime::now(),
        solution: args.solution,
        runs: args_runs(args),
        seed,
        entries: &entries,
    };
    let passed = entries.iter().filter(|e| e.status == results::Status::Pass).count();
    let mut summary = format!("{passed} of {} passed", entries.len());
    for status in &results::Status::ALL[1..] {
        let count = entries.iter().filter(|e| e.status == *status).count();
        if count > 0 {
            let label = match status {
                results::Status::Fail => "failed",
                results::Status::NotStarted => "not started",
                _ => "could not be built",
            };
            summary.push_str(&format!(", {count} {label}"));
        }
    }
    if let Some(destination) = destination {
        let shown = destination.shown();
        if let Err(sentence) = destination.write(&(report.to_json().render() + "\n")) {
            eprintln!("workbook: {sentence}.");
            return 2;
        }
        summary.push_str(&format!("; the results are in {shown}"));
    }
    println!("{summary}.");
    if code == 0 && passed < entries.len() { 1 } else { code }
}

/// `reset exNN`: the pristine copy back in place; the student's version kept in a backup.
fn reset(exercise: &Exercise) -> i32 {
    let dir = exercises_dir();
    let file = dir.join(exercise.file);
    let pristine = match std::fs::read(dir.join("pristine").join(exercise.file)) {
        Ok(bytes) => bytes,
        Err(err) => {
            eprintln!("workbook: cannot read the pristine copy of {}: {err}", exercise.name);
            return 1;
        }
    };
    let current = std::fs::read(&file).ok();
    if current.as_deref() == Some(pristine.as_slice()) {
        println!("{} is already as it was given.", shown_file(exercise));
        return 0;
    }
    let mut kept = String::new();
    if let (Some(current), Some(data)) = (&current, progress::path()) {
        let backups = data.with_file_name("exercise-backups");
        let stamp = shm_workbook_tools::store::utc_stamp(std::time::SystemTime::now());
        let backup = backups.join(format!("{}.{stamp}", exercise.file));
        if let Err(err) =
            std::fs::create_dir_all(&backups).and_then(|()| std::fs::write(&backup, current))
        {
            eprintln!(
                "workbook: not reset: your version could not be kept in {} ({err})",
                backup.display()
            );
            return 1;
        }
        kept = format!("; your version is kept as {}", backup.display());
    }
    let temporary = dir.join(format!(".{}.reset-{}", exercise.file, std::process::id()));
    let written =
        std::fs::write(&temporary, &pristine).and_then(|()| std::fs::rename(&temporary, &file));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        eprintln!("workbook: cannot write {}: {err}", file.display());
        return 1;
    }
    println!("{} is as it was given again{kept}.", shown_file(exercise));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(words: &[&str]) -> Args {
        parse_args(words.iter().map(OsString::from).collect())
    }

    #[test]
    fn commands_and_flags_parse() {
        let args = parsed(&["check", "ex05", "--runs", "10", "--seed=42", "--solution"]);
        assert_eq!(args.command.as_deref(), Some("check"));
        assert_eq!(args.exercise.as_deref(), Some("ex05"));
        assert_eq!((args.runs, args.seed, args.solution), (Some(10), Some(42), true));
        assert!(parsed(&[]).command.is_none());
    }

    #[test]
    fn wrong_lines_are_refused_with_the_librarys_sentences() {
        let refused =
            |words: &[&str]| read_args(CommandLine::new(words.iter().copied())).unwrap_err().0;
        assert_eq!(
            refused(&["--runs", "0"]),
            "--runs needs a whole number from 1 to 100000, not `0` (0 goes only with \
             --schedules N, for controlled schedules alone)"
        );
        assert!(refused(&["--solution=yes"]).contains("is a switch and takes no value"));
        assert_eq!(refused(&["check", "ex01", "more"]), "unexpected argument `more`");
        assert_eq!(refused(&["--bogus"]), "unknown flag `--bogus`");
    }
}
