//! What every lesson does first: read the common flags, choose colours, install the cleanup
//! handler; and the helpers for pacing a run (`--fast`, `--step`).
//!
//! Flags every lesson accepts:
//!
//! | flag | effect |
//! |---|---|
//! | `--help` | what the lesson shows and how to run it |
//! | `--fast` | no teaching pauses or sleeps (what the tests use) |
//! | `--step` | stop in every part until Enter, saying what to look at (real ids) |
//! | `--seed N` | repeatable jitter and order |
//! | `--no-color` | plain text (also when `NO_COLOR` is set or stdout is not a terminal) |
//! | `--trace FILE` | every call made, one JSON line each (see [`crate::call`]) |

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::BufRead;
use std::time::Duration;

use colored::Colorize;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use std::ffi::OsString;

use crate::catalogue::{self, LessonInfo};
use crate::cleanup;
use crate::flags::{self, Arg, CommandLine};
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
    /// `--trace FILE`: write every call made as a line of JSON to this file.
    pub trace: Option<String>,
    /// `--help`.
    pub help: bool,
    /// The lesson's own flags that were given, with their values (1 for a switch).
    pub extra: BTreeMap<&'static str, u64>,
    /// The lesson's own text flags that were given (`--name /x`), with their values.
    pub texts: BTreeMap<&'static str, String>,
    /// Words that are not flags (`write "some text"`), for a lesson that takes commands.
    pub arguments: Vec<String>,
}

/// A command a lesson may be run with instead of its story (`cargo run --bin lesson08 -- read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessonCommand {
    /// How to call it, for the usage text: `write TEXT`.
    pub usage: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
}

/// A flag that only one lesson takes: a switch (`--trace`) or a whole number
/// (`--processes 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessonFlag {
    /// The flag, with its dashes: `--processes`.
    pub name: &'static str,
    /// What its value stands for in the usage text (`N`), or `None` for a switch.
    pub value: Option<&'static str>,
    /// One line for `--help`.
    pub help: &'static str,
    /// The value used when the flag is not given (ignored for switches).
    pub default: u64,
    /// The smallest and largest values accepted.
    pub range: (u64, u64),
    /// Whether the value is text rather than a number.
    pub text: bool,
}

impl LessonFlag {
    /// A flag that takes a whole number in `range`.
    pub const fn number(
        name: &'static str,
        value: &'static str,
        help: &'static str,
        default: u64,
        range: (u64, u64),
    ) -> Self {
        LessonFlag { name, value: Some(value), help, default, range, text: false }
    }

    /// A flag that takes a word of text (`--name /my-object`).
    pub const fn text(name: &'static str, value: &'static str, help: &'static str) -> Self {
        LessonFlag { name, value: Some(value), help, default: 0, range: (0, 0), text: true }
    }

    /// A flag without a value.
    pub const fn switch(name: &'static str, help: &'static str) -> Self {
        LessonFlag { name, value: None, help, default: 0, range: (0, 1), text: false }
    }
}

pub use crate::flags::{UsageError, shown};

/// Parses the common flags and the lesson's own (`args` without the program name); any other
/// word is refused.
pub fn parse_args<S: Into<OsString>>(
    args: impl IntoIterator<Item = S>,
    own: &[LessonFlag],
) -> Result<Options, UsageError> {
    parse_args_and_words(CommandLine::new(args), own, false)
}

/// Like [`parse_args`]; with `takes_words`, words that are not flags are collected in
/// [`Options::arguments`] instead of refused.
pub fn parse_args_and_words(
    mut line: CommandLine,
    own: &[LessonFlag],
    takes_words: bool,
) -> Result<Options, UsageError> {
    let mut options = Options::default();
    while let Some(arg) = line.next_arg()? {
        let name = match arg {
            Arg::Word(word) if takes_words => {
                options.arguments.push(word);
                continue;
            }
            Arg::Word(word) => return Err(flags::unexpected(&word)),
            Arg::Flag(name) => name,
        };
        match name.as_str() {
            "--help" | "-h" => options.help = line.switch()?,
            "--fast" => options.fast = line.switch()?,
            "--step" => options.step = line.switch()?,
            "--no-color" | "--no-colour" => options.no_color = line.switch()?,
            "--trace" => options.trace = Some(line.value("a file name", "run.jsonl")?),
            "--seed" => options.seed = Some(line.number((0, u64::MAX), "42")?),
            _ => match own.iter().find(|flag| flag.name == name) {
                Some(flag) if flag.text => {
                    let value = line.value("a value", flag.value.unwrap_or("VALUE"))?;
                    options.texts.insert(flag.name, value);
                }
                Some(flag) if flag.value.is_some() => {
                    let example = flag.default.max(flag.range.0).to_string();
                    options.extra.insert(flag.name, line.number(flag.range, &example)?);
                }
                Some(flag) => {
                    line.switch()?;
                    options.extra.insert(flag.name, 1);
                }
                None => return Err(line.unknown()),
            },
        }
    }
    Ok(options)
}

/// The usage text for a lesson.
pub fn usage(info: &LessonInfo, own: &[LessonFlag]) -> String {
    usage_with_commands(info, own, &[])
}

/// The usage text for a lesson that also takes commands.
pub fn usage_with_commands(
    info: &LessonInfo,
    own: &[LessonFlag],
    commands: &[LessonCommand],
) -> String {
    let mut flags = String::new();
    for flag in own {
        let name = match flag.value {
            Some(value) => format!("{} {value}", flag.name),
            None => flag.name.to_owned(),
        };
        let default = if flag.value.is_some() && !flag.text {
            format!(" (default {})", flag.default)
        } else {
            String::new()
        };
        flags.push_str(&format!("  {name:<16} {}{default}\n", flag.help));
    }
    if !flags.is_empty() {
        flags = format!("\nFlags of this lesson:\n{flags}");
    }
    let mut command_text = String::new();
    for command in commands {
        command_text.push_str(&format!(
            "  cargo run --bin {} -- {:<14} {}\n",
            info.bin, command.usage, command.help
        ));
    }
    if !command_text.is_empty() {
        command_text =
            format!("\nOr one step at a time, for example from two terminals:\n{command_text}");
    }
    format!(
        "{bin}: {title}\n{summary}\n\n\
         Usage: cargo run --bin {bin} -- [FLAGS]\n\n\
         Flags:\n  \
         --help           show this text\n  \
         --fast           no teaching pauses or sleeps (what the tests use)\n  \
         --step           stop at each stage and wait for Enter, \
         saying what to look at{step_note}\n  \
         --seed N         make jitter and random choices repeatable\n  \
         --no-color       plain text (also when NO_COLOR is set or stdout is not a terminal)\n  \
         --trace FILE     also write every call made, one JSON line each, to FILE\n\
         {flags}{command_text}\n\
         Book chapter: {chapter}\n",
        bin = info.bin,
        step_note = catalogue::step_note(info.bin)
            .map(|note| format!("\n                   ({note})"))
            .unwrap_or_default(),
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
    own: &'static [LessonFlag],
    seed: u64,
    /// The `--step` pauses made since the current part began.
    pauses_in_part: Cell<u32>,
}

/// How a lesson reads its command line: which flags and commands it takes.
struct Accepted {
    own: &'static [LessonFlag],
    commands: &'static [LessonCommand],
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
        Lesson::start_with(bin, &[])
    }

    /// Like [`start`](Self::start), for a lesson that also takes flags of its own.
    pub fn start_with(bin: &str, own: &'static [LessonFlag]) -> Lesson {
        Lesson::start_from(bin, Accepted { own, commands: &[] })
    }

    /// Like [`start_with`](Self::start_with), for a lesson that may also be run with one of
    /// `commands` (see [`arguments`](Self::arguments)); the lesson checks the words itself and
    /// calls [`usage_error`](Self::usage_error) on a wrong one.
    pub fn start_with_commands(
        bin: &str,
        own: &'static [LessonFlag],
        commands: &'static [LessonCommand],
    ) -> Lesson {
        Lesson::start_from(bin, Accepted { own, commands })
    }

    fn start_from(bin: &str, accepted: Accepted) -> Lesson {
        let Accepted { own, commands } = accepted;
        let info = catalogue::find(bin).unwrap_or_else(|| panic!("{bin} is not in the catalogue"));
        let options = match parse_args_and_words(CommandLine::from_env(), own, !commands.is_empty())
        {
            Ok(options) => options,
            Err(UsageError(problem)) => refuse(info, commands, &problem),
        };
        if options.help {
            narrate::write_stdout(usage_with_commands(info, own, commands).as_bytes());
            std::process::exit(0);
        }
        narrate::set_colour(narrate::colour_wanted(options.no_color));
        if let Some(path) = &options.trace
            && let Err(err) = crate::call::trace_to(std::path::Path::new(path))
        {
            let problem = format!("{bin}: cannot write the trace to {path:?}: {err}\n");
            narrate::write_stderr(problem.as_bytes());
            std::process::exit(1);
        }
        cleanup::install_signal_handlers();
        install_panic_message();
        narrate::print_block(format!(
            "{}\n",
            format!("Lesson {:02}: {}", info.number, info.title).bold()
        ));
        // Before the trace starts: this housekeeping is not part of the lesson's story.
        if let Some(sentence) = crate::registry::sweep().sentence() {
            narrate::print_block(format!("{}\n", sentence.italic()));
        }
        crate::registry::begin();
        let seed = options.seed.unwrap_or_else(|| {
            use rand::TryRng;
            // Without an OS random source, any seed will do: it only varies the jitter.
            rand::rngs::SysRng.try_next_u64().unwrap_or(u64::from(std::process::id()))
        });
        Lesson { info, options, own, seed, pauses_in_part: Cell::new(0) }
    }

    /// The catalogue entry.
    pub fn info(&self) -> &'static LessonInfo {
        self.info
    }

    /// The parsed flags.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The value of one of the lesson's own number flags, or its default.
    ///
    /// # Panics
    ///
    /// If the lesson did not declare `name` (a mistake in the lesson).
    pub fn number(&self, name: &str) -> u64 {
        let flag = self
            .own
            .iter()
            .find(|flag| flag.name == name)
            .unwrap_or_else(|| panic!("{name} is not declared"));
        self.options.extra.get(name).copied().unwrap_or(flag.default)
    }

    /// The value of one of the lesson's own text flags, if it was given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.options.texts.get(name).map(String::as_str)
    }

    /// The words after the flags (a command and its arguments), for a lesson that takes them.
    pub fn arguments(&self) -> &[String] {
        &self.options.arguments
    }

    /// Refuses the command line: prints a short usage and `problem` (last, where a student
    /// sees it) on stderr, exits 2.
    pub fn usage_error(&self, problem: &str, commands: &[LessonCommand]) -> ! {
        refuse(self.info, commands, problem)
    }

    /// Whether one of the lesson's own switches was given.
    pub fn switch(&self, name: &str) -> bool {
        self.options.extra.contains_key(name)
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

    /// Starts a part of the lesson: `== title ==`. With `--step`, each part pauses at least
    /// once ([`step`](Self::step)); `tests/checks/steps.rs` checks that every lesson does.
    pub fn part(&self, title: impl Display) {
        self.pauses_in_part.set(0);
        narrate::heading(title);
    }

    /// A teaching pause, skipped with `--fast` so that tests run quickly.
    pub fn pause_for(&self, duration: Duration) {
        if !self.options.fast {
            std::thread::sleep(duration);
        }
    }

    /// Whether `--step` was given: a lesson may then wait until there is something to see
    /// (both processes attached, a consumer asleep) before it calls [`step`](Self::step).
    pub fn stepping(&self) -> bool {
        self.options.step
    }

    /// With `--step`: says what to look at (the commands to run in another terminal, with
    /// the real ids), then waits for Enter (end of input continues). Without it, does
    /// nothing. Ctrl-C here still cleans up (see [`crate::cleanup`]).
    pub fn step(&self, out: &Narrator, what_to_look_at: &str) {
        if !self.options.step {
            return;
        }
        self.pauses_in_part.set(self.pauses_in_part.get() + 1);
        out.line().text(PAUSED.bold()).text(": ").explain(PAUSED_EXPLAINED).print();
        let mut block = String::new();
        for line in what_to_look_at.lines() {
            block.push_str(&format!("    {line}\n"));
        }
        block.push_str(&format!("    {}\n", CONTINUE.dimmed()));
        narrate::print_block(block);
        wait_for_enter();
    }

    /// [`step`](Self::step), unless this part has paused already: for a pause inside a
    /// loop or a function that a part runs several times. `what_to_look_at` is only
    /// called when the lesson pauses.
    pub fn step_once(&self, out: &Narrator, what_to_look_at: impl FnOnce() -> String) {
        if self.options.step && self.pauses_in_part.get() == 0 {
            self.step(out, &what_to_look_at());
        }
    }
}

/// How a pause starts: `[parent 42] paused: look around, then press Enter to go on`.
pub const PAUSED: &str = "paused";
const PAUSED_EXPLAINED: &str = "look around, then press Enter to go on";
/// How a pause ends, in its own line.
pub const CONTINUE: &str = "[Enter] to continue, Ctrl-C to stop (nothing is left behind)";

/// Waits for a line on stdin. End of input, a closed terminal (EIO) or any other error goes
/// on at once; a signal's EINTR is retried by the standard library, and Ctrl-C ends the run
/// through the cleanup handler.
fn wait_for_enter() {
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
}

/// Refuses a command line: a short usage, how to see every flag, and the problem last, where
/// the student's eye is; exit status 2.
fn refuse(info: &LessonInfo, commands: &[LessonCommand], problem: &str) -> ! {
    let text = format!("{}{}: {problem}\n", short_usage(info, commands), info.bin);
    narrate::write_stderr(text.as_bytes());
    std::process::exit(2);
}

/// Two lines: the shape of the command line, and where the rest is.
fn short_usage(info: &LessonInfo, commands: &[LessonCommand]) -> String {
    let words: Vec<&str> = commands.iter().map(|command| command.usage).collect();
    let (words, and_commands) = if words.is_empty() {
        (String::new(), "")
    } else {
        (format!(" [{}]", words.join(" | ")), " and command")
    };
    format!(
        "Usage: cargo run --bin {bin} -- [FLAGS]{words}\n       \
         cargo run --bin {bin} -- --help   lists every flag{and_commands}\n",
        bin = info.bin
    )
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
        let text = format!(
            "[pid {}] internal error{place}: {what}\n  This is a bug in the workbook, not in your \
             setup: please report it with the command you ran.\n",
            std::process::id()
        );
        narrate::write_stderr(text.as_bytes());
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_short_and_ends_with_the_problem() {
        let lesson08 = catalogue::find("lesson08").unwrap();
        const COMMANDS: &[LessonCommand] = &[
            LessonCommand { usage: "write TEXT", help: "write" },
            LessonCommand { usage: "read", help: "read" },
        ];
        let usage = short_usage(lesson08, COMMANDS);
        assert_eq!(
            usage,
            "Usage: cargo run --bin lesson08 -- [FLAGS] [write TEXT | read]\n       \
             cargo run --bin lesson08 -- --help   lists every flag and command\n"
        );
        let lesson01 = catalogue::find("lesson01").unwrap();
        assert!(short_usage(lesson01, &[]).ends_with("--help   lists every flag\n"));
    }
}
