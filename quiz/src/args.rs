//! The runner's command line, read by the library's one reader (`shm_workbook::flags`), as the
//! lessons and the checker read theirs: OS strings (an argument that is not UTF-8 is refused,
//! never a panic), `--flag value` or `--flag=value`, a switch given a value refused, and what
//! the student typed quoted and shortened in every message.

use std::ffi::{OsStr, OsString};

use shm_workbook::flags::{self, Arg, CommandLine, UsageError};
pub use shm_workbook::flags::{shown, shown_path};

/// The usage text (`--help`, and after a refused command line).
pub const USAGE: &str = "\
quiz: drill the shm-workbook quizzes in the terminal

Usage: cargo run --bin quiz -- [NAME] [FLAGS]

  (no NAME)     list the quizzes and your progress
  NAME          run one quiz: lesson01, lesson02, ..., interview

Flags:
  --review      ask only the questions you missed last time
  --count N     ask at most N questions (1 or more)
  --seed N      repeat a random order (the interview bank is shuffled)
  --no-color    plain text (also when NO_COLOR is set or stdout is not a terminal)
  --help        show this text

Environment:
  SHM_WORKBOOK_QUIZZES  the folder of quiz files to use instead of the workbook's quizzes/
  XDG_DATA_HOME         where progress is kept: $XDG_DATA_HOME/shm-workbook/progress.toml
                        (else ~/.local/share/shm-workbook/progress.toml)
  NO_COLOR              plain text, as --no-color
";

/// The command line, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// The quiz to run; none lists them.
    pub name: Option<String>,
    /// `--review`: only what was missed last time.
    pub review: bool,
    /// `--count N`: at most N questions.
    pub count: Option<u64>,
    /// `--seed N`: a repeatable order.
    pub seed: Option<u64>,
    /// `--no-color`.
    pub no_color: bool,
    /// `--help`.
    pub help: bool,
}

/// Reads the arguments (without the program name), with the library's one command-line reader.
/// The error is one sentence saying what is wrong, to print under the usage (exit status 2).
pub fn parse<S: AsRef<OsStr>>(args: &[S]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut line = CommandLine::new(args.iter().map(|arg| arg.as_ref().to_owned()));
    let problem = |err: UsageError| err.0;
    while let Some(arg) = line.next_arg().map_err(problem)? {
        match arg {
            Arg::Flag(flag) => match flag.as_str() {
                "--help" | "-h" => parsed.help = line.switch().map_err(problem)?,
                "--review" => parsed.review = line.switch().map_err(problem)?,
                "--no-color" | "--no-colour" => parsed.no_color = line.switch().map_err(problem)?,
                "--count" => {
                    let value = line.value("a number", "10").map_err(problem)?;
                    if value.parse() == Ok(0) {
                        return Err("--count 0 would ask no questions: give --count 1 or more, \
                                    or leave it out to ask them all"
                            .to_owned());
                    }
                    parsed.count = Some(
                        flags::whole_number("--count", &value, (1, u64::MAX)).map_err(problem)?,
                    );
                }
                "--seed" => parsed.seed = Some(line.number((0, u64::MAX), "7").map_err(problem)?),
                _ => return Err(line.unknown().0),
            },
            Arg::Word(word) if parsed.name.is_none() => parsed.name = Some(word),
            Arg::Word(word) => return Err(flags::unexpected(&word).0),
        }
    }
    Ok(parsed)
}

/// The arguments of this process, as the operating system gave them.
pub fn from_os() -> Vec<OsString> {
    std::env::args_os().skip(1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn flags_parse_with_a_space_or_an_equals_sign() {
        let args = parse(&["lesson05", "--count", "3", "--seed=5", "--review", "--no-color"]);
        assert_eq!(
            args.unwrap(),
            Args {
                name: Some("lesson05".into()),
                review: true,
                count: Some(3),
                seed: Some(5),
                no_color: true,
                help: false
            }
        );
        assert_eq!(parse(&["--count=2"]).unwrap().count, Some(2));
        assert!(parse(&["-h"]).unwrap().help);
    }

    #[test]
    fn wrong_command_lines_are_refused_with_a_reason() {
        let refused = |args: &[&str]| parse(args).unwrap_err();
        assert_eq!(
            refused(&["--review=yes"]),
            "--review is a switch and takes no value: write --review alone, not --review=`yes`"
        );
        assert!(refused(&["--help=please"]).contains("takes no value"));
        assert!(refused(&["--no-color=0"]).contains("takes no value"));
        assert!(refused(&["--count", "0"]).contains("would ask no questions"));
        assert!(refused(&["--count=0"]).contains("would ask no questions"));
        assert!(refused(&["--count"]).contains("--count needs a number, as in --count 10"));
        assert!(refused(&["--count", "-1"]).contains("not `-1`"));
        assert!(refused(&["--seed="]).contains("not ``"));
        assert_eq!(refused(&["--bogus"]), "unknown flag `--bogus`");
        assert_eq!(refused(&["a", "b"]), "unexpected argument `b`");
    }

    #[test]
    fn an_argument_that_is_not_utf8_is_refused_not_a_panic() {
        let bad = OsString::from_vec(b"caf\xe9".to_vec());
        assert_eq!(
            parse(std::slice::from_ref(&bad)).unwrap_err(),
            "argument 1 is not valid UTF-8 text: `caf\\xe9`"
        );
        let after_flag = [OsString::from("--seed"), bad];
        assert!(parse(&after_flag).unwrap_err().contains("not valid UTF-8"));
    }

    #[test]
    fn long_and_odd_values_are_quoted_and_shortened() {
        let long = "x".repeat(100_000);
        let message = parse(&["a", long.as_str()]).unwrap_err();
        assert!(message.len() < 120, "{message}");
        assert!(message.ends_with("…` (100000 characters)"), "{message}");
        assert_eq!(shown("a\nb\u{1b}[2J`"), "`a\\nb\\u{1b}[2J\\``");
    }
}
