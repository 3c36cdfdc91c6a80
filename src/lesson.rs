//! What every lesson does first: read the common flags, choose colours, install the cleanup
//! handler; and the helpers for pacing a run (`--fast`, `--step`).
//!
//! Flags every lesson accepts:
//!
//! | flag | effect |
//! |---|---|
//! | `--help` | what the lesson shows and how to run it |
//! | `--fast` | no teaching pauses or sleeps (what the tests use) |
//! | `--step` | stop at each stage until Enter, saying what to look at |
//! | `--seed N` | repeatable jitter and order |
//! | `--no-color` | plain text (also when `NO_COLOR` is set or stdout is not a terminal) |

use std::fmt::Display;
use std::io::BufRead;
use std::time::Duration;

use colored::Colorize;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::catalogue::{self, LessonInfo};
use crate::cleanup;
use crate::narrate::{self, Narrator};

/// The common flags, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--fast`: skip teaching pauses and sleeps.
    pub fast: bool,
    /// `--step`: wait for Enter at each stage.
    pub step: bool,
    /// `--seed N`: repeatable randomness.
    pub seed: Option<u64>,
    /// `--no-color`.
    pub no_color: bool,
    /// `--help`.
    pub help: bool,
}

/// Why the command line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

/// Parses the common flags (`args` without the program name).
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Options, UsageError> {
    let mut options = Options::default();
    let mut args = args.iter().map(AsRef::as_ref);
    while let Some(arg) = args.next() {
        match arg {
            "--help" | "-h" => options.help = true,
            "--fast" => options.fast = true,
            "--step" => options.step = true,
            "--no-color" | "--no-colour" => options.no_color = true,
            "--seed" => {
                let value = args
                    .next()
                    .ok_or_else(|| UsageError("--seed needs a number, as in --seed 42".into()))?;
                options.seed = Some(parse_seed(value)?);
            }
            _ if arg.starts_with("--seed=") => {
                options.seed = Some(parse_seed(&arg["--seed=".len()..])?)
            }
            _ if arg.starts_with('-') => return Err(UsageError(format!("unknown flag `{arg}`"))),
            _ => return Err(UsageError(format!("unexpected argument `{arg}`"))),
        }
    }
    Ok(options)
}

fn parse_seed(value: &str) -> Result<u64, UsageError> {
    value.parse().map_err(|_| {
        UsageError(format!("--seed needs a whole number from 0 to {}, not `{value}`", u64::MAX))
    })
}

/// The usage text for a lesson.
pub fn usage(info: &LessonInfo) -> String {
    format!(
        "{bin}: {title}\n{summary}\n\n\
         Usage: cargo run --bin {bin} -- [FLAGS]\n\n\
         Flags:\n  \
         --help       show this text\n  \
         --fast       no teaching pauses or sleeps (what the tests use)\n  \
         --step       stop at each stage and wait for Enter, saying what to look at\n  \
         --seed N     make jitter and random choices repeatable\n  \
         --no-color   plain text (also when NO_COLOR is set or stdout is not a terminal)\n\n\
         Book chapter: {chapter}\n",
        bin = info.bin,
        title = info.title,
        summary = info.summary,
        chapter = info.chapter,
    )
}

/// A running lesson: its flags and pacing.
#[derive(Debug)]
pub struct Lesson {
    info: &'static LessonInfo,
    options: Options,
    seed: u64,
}

impl Lesson {
    /// Reads the flags (printing usage and exiting 2 on a bad one, or 0 after `--help`),
    /// sets up colour, the cleanup handler and a panic message without a backtrace, and
    /// prints the lesson's title.
    ///
    /// # Panics
    ///
    /// If `bin` is not in the [`catalogue`]: a mistake in the workbook itself.
    pub fn start(bin: &str) -> Lesson {
        let info = catalogue::find(bin).unwrap_or_else(|| panic!("{bin} is not in the catalogue"));
        let args: Vec<String> = std::env::args().skip(1).collect();
        let options = match parse_args(&args) {
            Ok(options) => options,
            Err(UsageError(problem)) => {
                eprintln!("{bin}: {problem}\n\n{}", usage(info));
                std::process::exit(2);
            }
        };
        if options.help {
            print!("{}", usage(info));
            std::process::exit(0);
        }
        narrate::set_colour(narrate::colour_wanted(options.no_color));
        cleanup::install_signal_handlers();
        install_panic_message();
        narrate::print_block(format!(
            "{}\n",
            format!("Lesson {:02}: {}", info.number, info.title).bold()
        ));
        let seed = options.seed.unwrap_or_else(|| {
            use rand::TryRng;
            // Without an OS random source, any seed will do: it only varies the jitter.
            rand::rngs::SysRng.try_next_u64().unwrap_or(u64::from(std::process::id()))
        });
        Lesson { info, options, seed }
    }

    /// The catalogue entry.
    pub fn info(&self) -> &'static LessonInfo {
        self.info
    }

    /// The parsed flags.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Whether `--fast` was given.
    pub fn fast(&self) -> bool {
        self.options.fast
    }

    /// The seed of this run: `--seed N`, or one drawn from the operating system.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A random generator seeded with [`seed`](Self::seed), so `--seed N` repeats a run's
    /// choices.
    pub fn rng(&self) -> SmallRng {
        SmallRng::seed_from_u64(self.seed)
    }

    /// A narrator for a role in this process (the parent's, usually).
    pub fn narrator(&self, role: &str) -> Narrator {
        Narrator::new(role)
    }

    /// Starts a part of the lesson: `== title ==`.
    pub fn part(&self, title: impl Display) {
        narrate::heading(title);
    }

    /// A teaching pause, skipped with `--fast` so that tests run quickly.
    pub fn pause_for(&self, duration: Duration) {
        if !self.options.fast {
            std::thread::sleep(duration);
        }
    }

    /// With `--step`: says what to look at, then waits for Enter (end of input continues).
    /// Without it, does nothing. Ctrl-C here still cleans up (see [`crate::cleanup`]).
    pub fn step(&self, out: &Narrator, what_to_look_at: &str) {
        if !self.options.step {
            return;
        }
        out.line()
            .text("paused".bold())
            .text(": ")
            .explain("look around, then press Enter to go on")
            .print();
        let mut block = String::new();
        for line in what_to_look_at.lines() {
            block.push_str(&format!("    {line}\n"));
        }
        block.push_str(&format!(
            "    {}\n",
            "[Enter] to continue, Ctrl-C to stop (nothing is left behind)".dimmed()
        ));
        narrate::print_block(block);
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
    }
}

/// The name of the user running the lesson, as `ipcs` shows it in the owner column.
pub fn user_name() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// Replaces Rust's panic message (which suggests RUST_BACKTRACE) with one a student can act on.
fn install_panic_message() {
    std::panic::set_hook(Box::new(|panic| {
        let what = panic
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        let place =
            panic.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!(
            "[pid {}] internal error{place}: {what}\n  This is a bug in the workbook, not in your setup: please report it with the command you ran.",
            std::process::id()
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_flags_parse() {
        let options = parse_args(&["--fast", "--step", "--seed", "7", "--no-color"]).unwrap();
        assert_eq!(
            options,
            Options { fast: true, step: true, seed: Some(7), no_color: true, help: false }
        );
        assert_eq!(parse_args(&["--seed=9"]).unwrap().seed, Some(9));
        assert!(parse_args(&["--help"]).unwrap().help);
        assert_eq!(parse_args::<&str>(&[]).unwrap(), Options::default());
    }

    #[test]
    fn bad_flags_are_refused_with_a_reason() {
        assert_eq!(
            parse_args(&["--fats"]).unwrap_err(),
            UsageError("unknown flag `--fats`".into())
        );
        assert!(parse_args(&["--seed"]).unwrap_err().0.contains("needs a number"));
        assert!(parse_args(&["--seed", "many"]).unwrap_err().0.contains("not `many`"));
        assert!(parse_args(&["extra"]).unwrap_err().0.contains("unexpected argument"));
    }

    #[test]
    fn usage_names_every_flag() {
        let text = usage(&catalogue::LESSONS[0]);
        for flag in
            ["--help", "--fast", "--step", "--seed N", "--no-color", "cargo run --bin lesson01"]
        {
            assert!(text.contains(flag), "usage lacks {flag}");
        }
    }
}
