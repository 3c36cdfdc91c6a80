//! The runner's command line, read the way the lessons read theirs (`src/lesson.rs`): OS
//! strings (an argument that is not UTF-8 is refused, never a panic), `--flag value` or
//! `--flag=value`, a switch given a value refused, and what the student typed quoted and
//! shortened in every message.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

/// Reads the arguments (without the program name). The error is one sentence saying what is
/// wrong, to print before the usage text (exit status 2).
pub fn parse<S: AsRef<OsStr>>(args: &[S]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.iter().map(AsRef::as_ref);
    while let Some(raw) = args.next() {
        let arg = text(raw)?;
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (arg, None),
        };
        let mut value = |flag: &str, example: &str| -> Result<String, String> {
            match inline {
                Some(value) => Ok(value.to_owned()),
                None => match args.next() {
                    Some(value) => text(value).map(str::to_owned),
                    None => Err(format!("{flag} needs a number, as in {flag} {example}")),
                },
            }
        };
        let switch = |on: &mut bool| -> Result<(), String> {
            match inline {
                Some(_) => Err(format!("{flag} takes no value: {}", shown(arg))),
                None => {
                    *on = true;
                    Ok(())
                }
            }
        };
        match flag {
            "--help" | "-h" => switch(&mut parsed.help)?,
            "--review" => switch(&mut parsed.review)?,
            "--no-color" | "--no-colour" => switch(&mut parsed.no_color)?,
            "--count" => {
                let value = value("--count", "10")?;
                parsed.count = Some(number("--count", &value, 1)?);
            }
            "--seed" => {
                let value = value("--seed", "7")?;
                parsed.seed = Some(number("--seed", &value, 0)?);
            }
            _ if arg.starts_with('-') => return Err(format!("unknown flag {}", shown(arg))),
            _ if parsed.name.is_none() => parsed.name = Some(arg.to_owned()),
            _ => return Err(format!("unexpected argument {}", shown(arg))),
        }
    }
    Ok(parsed)
}

/// An argument as text, or the sentence refusing it.
fn text(arg: &OsStr) -> Result<&str, String> {
    arg.to_str().ok_or_else(|| format!("an argument is not UTF-8 text: {}", shown_os(arg)))
}

fn number(flag: &str, value: &str, low: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= low => Ok(n),
        Ok(_) => Err(format!(
            "{flag} {value} would ask no questions: give {flag} 1 or more, or leave it out to ask them all"
        )),
        Err(_) if low > 0 => {
            Err(format!("{flag} needs a whole number, {low} or more, not {}", shown(value)))
        }
        Err(_) => Err(format!(
            "{flag} needs a whole number from {low} to {}, not {}",
            u64::MAX,
            shown(value)
        )),
    }
}

/// The longest text shown whole in a message; longer text is cut and its length given.
const SHOWN_CHARS: usize = 40;

/// The longest path shown whole in a message.
const SHOWN_PATH_CHARS: usize = 200;

/// `text` as a message shows it: in backticks, control characters escaped (`\n`, `\u{1b}`),
/// and cut after 40 characters with its full length, so that a 100 KB argument or an escape
/// sequence never floods or repaints the terminal.
pub fn shown(text: &str) -> String {
    shown_within(text, SHOWN_CHARS)
}

fn shown_within(text: &str, limit: usize) -> String {
    let mut out = String::new();
    for (chars, c) in text.chars().enumerate() {
        if chars == limit {
            return format!("`{out}…` ({} characters)", text.chars().count());
        }
        if c == '`' {
            out.push_str("\\`");
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    format!("`{out}`")
}

/// Like [`shown`], for text that may not be UTF-8: a byte that is not is shown as `\xNN`.
pub fn shown_os(text: &OsStr) -> String {
    shown(&readable(text))
}

/// A path as a message shows it: like [`shown`], but cut only after 200 characters.
pub fn shown_path(path: &Path) -> String {
    shown_within(&readable(path.as_os_str()), SHOWN_PATH_CHARS)
}

fn readable(text: &OsStr) -> String {
    let mut readable = String::new();
    for chunk in text.as_bytes().utf8_chunks() {
        readable.push_str(chunk.valid());
        for byte in chunk.invalid() {
            readable.push_str(&format!("\\x{byte:02x}"));
        }
    }
    readable
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
        assert_eq!(refused(&["--review=yes"]), "--review takes no value: `--review=yes`");
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
            "an argument is not UTF-8 text: `caf\\xe9`"
        );
        let after_flag = [OsString::from("--seed"), bad];
        assert!(parse(&after_flag).unwrap_err().contains("not UTF-8"));
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
