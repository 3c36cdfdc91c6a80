//! Reading a command line: the one reader behind the lessons' flags, the quiz runner's and the
//! checker's. Each program says which flags it knows; this module splits the words and words
//! every refusal the same way.
//!
//! - `--flag value` and `--flag=value` both work; a value that is another flag (`--seed
//!   --fast`) is refused, since it is almost always a value forgotten.
//! - A switch given a value (`--fast=1`) is refused, not ignored.
//! - A word that is not UTF-8 is refused with its bytes shown, never a panic.
//! - What the user typed is quoted back short and escaped ([`shown`]), so that a huge
//!   argument or an escape sequence never floods or repaints the terminal.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Why the command line was refused: one sentence, to print under a short usage (exit 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One word of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `--name` or `-h` (for `--name=value`, the name; the value waits for
    /// [`CommandLine::value`]).
    Flag(String),
    /// Any other word: a command, a name.
    Word(String),
}

/// The words of a command line, read one at a time.
#[derive(Debug)]
pub struct CommandLine {
    words: std::vec::IntoIter<OsString>,
    read: usize,
    flag: String,
    inline: Option<String>,
}

impl CommandLine {
    /// The words, without the program's name.
    pub fn new<S: Into<OsString>>(words: impl IntoIterator<Item = S>) -> CommandLine {
        let words: Vec<OsString> = words.into_iter().map(Into::into).collect();
        CommandLine { words: words.into_iter(), read: 0, flag: String::new(), inline: None }
    }

    /// This process's command line, as the operating system gave it.
    pub fn from_env() -> CommandLine {
        CommandLine::new(std::env::args_os().skip(1))
    }

    fn next_text(&mut self) -> Result<Option<String>, UsageError> {
        let Some(word) = self.words.next() else { return Ok(None) };
        self.read += 1;
        match word.into_string() {
            Ok(text) => Ok(Some(text)),
            Err(word) => Err(UsageError(format!(
                "argument {} is not valid UTF-8 text: {}",
                self.read,
                shown_os(&word)
            ))),
        }
    }

    /// The next word, or `None` at the end. A `--flag=value` left with its value unread (a
    /// flag that takes none) is refused here.
    pub fn next_arg(&mut self) -> Result<Option<Arg>, UsageError> {
        if self.inline.is_some() {
            self.switch()?;
        }
        let Some(word) = self.next_text()? else { return Ok(None) };
        if !word.starts_with('-') || word == "-" {
            return Ok(Some(Arg::Word(word)));
        }
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value.into())),
            _ => (word, None),
        };
        self.flag.clone_from(&name);
        self.inline = inline;
        Ok(Some(Arg::Flag(name)))
    }

    /// The flag just read is a switch: refused if it was given a value (`--fast=1`).
    pub fn switch(&mut self) -> Result<bool, UsageError> {
        match self.inline.take() {
            Some(value) => Err(UsageError(format!(
                "{flag} is a switch and takes no value: write {flag} alone, not {flag}={}",
                shown(&value),
                flag = self.flag
            ))),
            None => Ok(true),
        }
    }

    /// The value of the flag just read: after its `=`, or the next word. `what` and `example`
    /// word the refusal: `--trace needs a file name, as in --trace run.jsonl`.
    pub fn value(&mut self, what: &str, example: &str) -> Result<String, UsageError> {
        if let Some(value) = self.inline.take() {
            return Ok(value);
        }
        let flag = self.flag.clone();
        match self.next_text()? {
            Some(value) if value.starts_with("--") => Err(UsageError(format!(
                "{flag} needs {what}, as in {flag} {example}; {} is another flag",
                shown(&value)
            ))),
            Some(value) => Ok(value),
            None => Err(UsageError(format!("{flag} needs {what}, as in {flag} {example}"))),
        }
    }

    /// The value of the flag just read, as a whole number from `low` to `high` (`example`
    /// words the refusal of a missing one).
    pub fn number(&mut self, range: (u64, u64), example: &str) -> Result<u64, UsageError> {
        let value = self.value("a number", example)?;
        whole_number(&self.flag, &value, range)
    }

    /// The refusal of the flag just read, which nobody knows.
    pub fn unknown(&self) -> UsageError {
        UsageError(format!("unknown flag {}", shown(&self.flag)))
    }
}

/// `value`, given to `flag`, as a whole number from `low` to `high`.
pub fn whole_number(flag: &str, value: &str, (low, high): (u64, u64)) -> Result<u64, UsageError> {
    let range = if high == u64::MAX {
        format!(", {low} or more,")
    } else {
        format!(" from {low} to {high},")
    };
    value.parse().ok().filter(|n| (low..=high).contains(n)).ok_or_else(|| {
        UsageError(format!("{flag} needs a whole number{range} not {}", shown(value)))
    })
}

/// The refusal of a word nobody expected.
pub fn unexpected(word: &str) -> UsageError {
    UsageError(format!("unexpected argument {}", shown(word)))
}

/// The longest text shown whole in a message; longer text is cut and its length given.
const SHOWN_CHARS: usize = 40;

/// The longest path shown whole in a message.
const SHOWN_PATH_CHARS: usize = 200;

/// `text` as a message quotes it: in backticks, control characters escaped (`\n`,
/// `\u{1b}`), and cut after 40 characters with its full length.
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
