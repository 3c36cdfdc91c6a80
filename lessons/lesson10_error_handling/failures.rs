//! Failures provoked on purpose (lesson10): each case makes a call that must fail, prints the
//! call as it was made (`shmget(0x4100c4b3, 4096, 0) = -1 ENOENT`), the C that checks it, and
//! the [`Error`] this library returns instead, then compares the errno with the one the man
//! page promises. [`Cases`] keeps a row per case for the summary table.
//!
//! ```no_run
//! # use nix::errno::Errno;
//! # use shm_workbook::failures::{Case, Cases};
//! # use shm_workbook::{Key, Lesson, Result, Segment, provoke};
//! # fn main() -> Result<()> {
//! # let lesson = Lesson::start("lesson10");
//! # let (out, key) = (lesson.narrator("parent"), Key::PRIVATE);
//! let mut cases = Cases::new(&lesson);
//! let case = Case::fails("shmget: key not in use, no IPC_CREAT", Errno::ENOENT);
//! provoke!(cases, &out, case, Segment::open(key, 4096));
//! cases.print_table();
//! cases.verdict(&out)
//! # }
//! ```

use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

use nix::errno::Errno;

use shm_workbook::call::{self, Call};
use shm_workbook::error::{Error, Result};
use shm_workbook::lesson::Lesson;
use shm_workbook::narrate::{self, Narrator};
use shm_workbook::process;

/// Runs a case through [`Cases::attempt`], printing the Rust expression exactly as written:
/// `provoke!(cases, &out, case, Segment::open(key, SIZE))`. Returns the value, if the call
/// succeeded.
macro_rules! provoke {
    ($cases:expr, $out:expr, $case:expr, $call:expr $(,)?) => {
        $cases.attempt($out, $case, stringify!($call), || $call)
    };
}
pub(crate) use provoke;

// ANCHOR: case
/// How a case should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The call fails with this errno.
    Fails(Errno),
    /// The call succeeds (glibc accepting a name we refuse).
    Succeeds,
}

/// How a case did end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Got {
    /// It failed with this errno.
    Failed(Errno),
    /// It succeeded.
    Succeeded,
    /// An error without an errno: not what any case expects.
    NoErrno,
    /// The case could not be run here, and why.
    Skipped(String),
}

/// One way to fail: its line in the table, how it must end, and how a C program looks at it.
#[derive(Clone, Debug)]
pub struct Case {
    label: String,
    expected: Outcome,
    /// The C program checks the result (`if (shmid == -1) perror("shmget");`).
    checked: bool,
    /// Show our `Result` too (not for a case that shows what C itself does).
    ours: bool,
}

impl Case {
    /// A case that must fail with `errno`.
    pub fn fails(label: &str, errno: Errno) -> Case {
        Case { label: label.to_owned(), expected: Outcome::Fails(errno), checked: true, ours: true }
    }

    /// A case that must succeed.
    pub fn succeeds(label: &str) -> Case {
        Case { expected: Outcome::Succeeds, ..Case::fails(label, Errno::UnknownErrno) }
    }

    /// A case about C's own behaviour (glibc's, or a seed's): the call and the C check only.
    pub fn c_only(mut self) -> Case {
        self.ours = false;
        self
    }

    /// A C program that never looks at the result, as the seeds' programs do (implies
    /// [`c_only`](Self::c_only): in Rust an `Err` cannot be ignored by accident).
    pub fn unchecked(mut self) -> Case {
        self.checked = false;
        self.c_only()
    }
}
// ANCHOR_END: case

/// One row of the summary table.
#[derive(Clone, Debug)]
struct Row {
    label: String,
    expected: Outcome,
    got: Got,
}

/// Every case of a run, numbered, for the summary table.
#[derive(Debug)]
pub struct Cases {
    rows: Vec<Row>,
    /// The number of the first row (a child continues its parent's numbering).
    first: usize,
    /// The teaching pause after each case (none with --fast).
    pause: Duration,
}

impl Cases {
    /// No cases yet; each case is followed by a short pause unless the run is `--fast`.
    pub fn new(lesson: &Lesson) -> Cases {
        let pause = if lesson.fast() { Duration::ZERO } else { Duration::from_millis(500) };
        Cases { rows: Vec::new(), first: 1, pause }
    }

    /// The number the next case will have.
    pub fn next_number(&self) -> usize {
        self.first + self.rows.len()
    }

    /// Runs `call` as `case`: prints the call it made (from the call journal), the C check, our
    /// `Error` (whose Rust expression is `rust`), and whether the errno is the expected one.
    /// Returns the value if the call succeeded. See [`provoke!`](crate::provoke).
    pub fn attempt<T>(
        &mut self,
        out: &Narrator,
        case: Case,
        rust: &str,
        call: impl FnOnce() -> Result<T>,
    ) -> Option<T> {
        announce(out, self.next_number(), &case);
        let before = call::last();
        let result = call();
        let made = call::last().filter(|made| Some(made) != before.as_ref());
        if made.is_some() {
            out.line().text("  ").last_call().print();
        }
        c_side(out, &case, made.as_ref());
        let got = match &result {
            Ok(_) => Got::Succeeded,
            Err(err) => err.errno().map_or(Got::NoErrno, Got::Failed),
        };
        if case.ours {
            rust_side(out, rust, result.as_ref().map(drop));
        }
        self.record(out, case, got);
        result.ok()
    }

    /// A case that cannot be run here: says why, and keeps a row for it.
    pub fn skip(&mut self, out: &Narrator, case: Case, why: &str) {
        announce(out, self.next_number(), &case);
        self.record(out, case, Got::Skipped(why.to_owned()));
    }

    fn record(&mut self, out: &Narrator, case: Case, got: Got) {
        check(out, case.expected, &got);
        self.rows.push(Row { label: case.label, expected: case.expected, got });
        std::thread::sleep(self.pause);
    }

    /// Forks a child in `role` that runs `body` with cases numbered after these; its rows come
    /// back (through a pipe) and join this table. Prints the `fork()`; an error if the child
    /// fails.
    pub fn in_child(
        &mut self,
        out: &Narrator,
        role: &str,
        body: impl FnOnce(&Narrator, &mut Cases) -> Result<()>,
    ) -> Result<()> {
        let (from_child, to_parent) =
            nix::unistd::pipe().map_err(|errno| Error::sys("pipe(fds)", errno))?;
        let (first, pause) = (self.next_number(), self.pause);
        // The closure owns the pipe's write end: in the parent it is dropped (closed) unused.
        let child = process::spawn(role, move |child| {
            let mut cases = Cases { rows: Vec::new(), first, pause };
            let result = body(child, &mut cases);
            let _ = std::fs::File::from(to_parent).write_all(cases.encode().as_bytes());
            result
        })?;
        out.call();
        let mut text = String::new();
        let _ = std::fs::File::from(from_child).read_to_string(&mut text); // until the child ends
        child.wait()?;
        self.rows.extend(text.lines().filter_map(Row::decode));
        Ok(())
    }

    /// Prints the summary: one row per case, `|`-separated so that it reads as a table and
    /// parses.
    pub fn print_table(&self) {
        narrate::print_block(self.table());
    }

    /// The summary table as text.
    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|row| row.label.chars().count()).max().unwrap_or(4);
        let mut text = format!(
            "| {:>2} | {:<width$} | {:<8} | {:<8} |    |\n|----|-{}-|----------|----------|----|\n",
            "#",
            "case",
            "expected",
            "got",
            "-".repeat(width)
        );
        for (index, row) in self.rows.iter().enumerate() {
            let mark = match &row.got {
                Got::Skipped(_) => "–",
                got if outcome_matches(row.expected, got) => "✓",
                _ => "✗",
            };
            text.push_str(&format!(
                "| {:>2} | {:<width$} | {:<8} | {:<8} | {mark}  |\n",
                self.first + index,
                row.label,
                row.expected.to_string(),
                row.got.to_string()
            ));
        }
        text
    }

    /// Ok if every case that ran ended as expected; an error naming the others.
    pub fn verdict(&self, out: &Narrator) -> Result<()> {
        let numbered = || (self.first..).zip(&self.rows);
        let wrong: Vec<String> = numbered()
            .filter(|(_, row)| {
                !matches!(row.got, Got::Skipped(_)) && !outcome_matches(row.expected, &row.got)
            })
            .map(|(number, row)| format!("{number} ({})", row.label))
            .collect();
        let skipped = self.rows.iter().filter(|row| matches!(row.got, Got::Skipped(_))).count();
        if wrong.is_empty() {
            out.line()
                .text("every case ended with the errno the man page promises")
                .note(format!("{} cases, {skipped} skipped", self.rows.len()))
                .print();
            return Ok(());
        }
        Err(Error::other(
            "lesson10's checks",
            format!(
                "{} case(s) did not fail the way the man page says: {}",
                wrong.len(),
                wrong.join(", ")
            ),
        )
        .with_hint(
            "read the case's lines above: the errno it got says what the system did instead",
        ))
    }

    /// The rows as lines of text, for a child to hand them to its parent.
    fn encode(&self) -> String {
        self.rows.iter().map(Row::encode).collect()
    }
}

impl Row {
    fn encode(&self) -> String {
        let code = |outcome: Result<Errno, &str>| match outcome {
            Ok(errno) => (errno as i32).to_string(),
            Err(word) => word.to_owned(),
        };
        let expected = code(match self.expected {
            Outcome::Fails(errno) => Ok(errno),
            Outcome::Succeeds => Err("ok"),
        });
        let got = match &self.got {
            Got::Failed(errno) => code(Ok(*errno)),
            Got::Succeeded => "ok".to_owned(),
            Got::NoErrno => "none".to_owned(),
            Got::Skipped(why) => format!("skip {}", why.replace(['\t', '\n'], " ")),
        };
        format!("{}\t{expected}\t{got}\n", self.label.replace(['\t', '\n'], " "))
    }

    fn decode(line: &str) -> Option<Row> {
        let mut fields = line.splitn(3, '\t');
        let (label, expected, got) = (fields.next()?, fields.next()?, fields.next()?);
        let errno = |text: &str| text.parse().ok().map(Errno::from_raw);
        let expected = match expected {
            "ok" => Outcome::Succeeds,
            number => Outcome::Fails(errno(number)?),
        };
        let got = match got {
            "ok" => Got::Succeeded,
            "none" => Got::NoErrno,
            skip if skip.starts_with("skip ") => Got::Skipped(skip[5..].to_owned()),
            number => Got::Failed(errno(number)?),
        };
        Some(Row { label: label.to_owned(), expected, got })
    }
}

/// `case 3: shmget: size above SHMMAX   (expected: EINVAL)`
fn announce(out: &Narrator, number: usize, case: &Case) {
    out.line()
        .text(format!("case {number}: "))
        .value(&case.label)
        .note(format!("expected: {}", case.expected))
        .print();
}

/// How C names the result of a call, and the value that means it failed.
fn c_result(name: &str) -> (&'static str, &'static str) {
    match name {
        "shmget" => ("shmid", "-1"),
        "shmat" => ("addr", "(void *) -1"),
        "shm_open" => ("fd", "-1"),
        "ftok" => ("key", "-1"),
        _ => ("result", "-1"),
    }
}

/// The C side of a case: the check a careful program writes after the call (built from the
/// call's name), and what it does with this result.
fn c_side(out: &Narrator, case: &Case, made: Option<&Call>) {
    let Some(made) = made else {
        let why = "no call is made: the check refuses first, and the errno is its own";
        return out.line().text("  C:    ").explain(why).print();
    };
    let name = made.name();
    let (variable, failed) = c_result(name);
    let line = out.line().text("  C:    ");
    let Some(errno) = made.errno() else {
        let check = format!("if ({variable} == {failed}) perror(\"{name}\");");
        let result = made.result_text();
        return line
            .text(check)
            .explain(format!("   not taken: {result} is not {failed}, and errno is not touched"))
            .print();
    };
    let said = format!("{name}: {}", errno.desc());
    let errno = format!("errno = {errno:?} ({})", errno as i32);
    if case.checked {
        line.text(format!("if ({variable} == {failed}) perror(\"{name}\");   "))
            .value(errno)
            .text(", so perror prints: ")
            .value(said)
            .print();
    } else {
        line.explain(format!("not checked: the program goes on with {variable} = {failed};   "))
            .value(errno)
            .text(", and perror would have printed: ")
            .value(said)
            .print();
    }
}

/// Our side: the Rust expression, and the `Error` it returned, as `Display` prints it.
fn rust_side(out: &Narrator, rust: &str, result: std::result::Result<(), &Error>) {
    let line = out.line().text("  Rust: ").value(rust);
    match result {
        Ok(()) => line.text(" returns Ok").print(),
        Err(err) => {
            line.text(" returns Err, whose Display is:").print();
            // Quoted, so that the error's first line is not taken for a call made here.
            let text: Vec<String> =
                err.to_string().lines().map(|line| format!("        │ {line}")).collect();
            out.error(text.join("\n"));
        }
    }
}

// ANCHOR: check
/// Compares what happened with what the man page promises, and says so.
fn check(out: &Narrator, expected: Outcome, got: &Got) {
    let line = out.line().text("  check: expected ").value(expected).text(", got ").value(got);
    if let Got::Skipped(why) = got {
        return line.note(why).print();
    }
    if outcome_matches(expected, got) {
        line.text(" ✓").print();
    } else {
        line.text(" ✗").print();
        out.error(format!(
            "  unexpected: this call should have ended with {expected}, and it ended with {got}"
        ));
    }
}

fn outcome_matches(expected: Outcome, got: &Got) -> bool {
    match (expected, got) {
        (Outcome::Fails(want), Got::Failed(errno)) => want == *errno,
        (Outcome::Succeeds, Got::Succeeded) => true,
        _ => false,
    }
}
// ANCHOR_END: check

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Fails(errno) => write!(f, "{errno:?}"),
            Outcome::Succeeds => f.write_str("success"),
        }
    }
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Failed(errno) => write!(f, "{errno:?}"),
            Got::Succeeded => f.write_str("success"),
            Got::NoErrno => f.write_str("no errno"),
            Got::Skipped(_) => f.write_str("skipped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_the_trip_from_a_child() {
        let rows = [
            Row {
                label: "a".into(),
                expected: Outcome::Fails(Errno::EACCES),
                got: Got::Failed(Errno::EACCES),
            },
            Row {
                label: "b c".into(),
                expected: Outcome::Succeeds,
                got: Got::Skipped("why\tnot".into()),
            },
            Row { label: "d".into(), expected: Outcome::Succeeds, got: Got::NoErrno },
        ];
        let cases = Cases { rows: rows.to_vec(), first: 5, pause: Duration::ZERO };
        let back: Vec<Row> = cases.encode().lines().filter_map(Row::decode).collect();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].got, Got::Failed(Errno::EACCES));
        assert_eq!(back[1].got, Got::Skipped("why not".into()));
        assert_eq!((back[2].expected, &back[2].got), (Outcome::Succeeds, &Got::NoErrno));
        assert!(
            cases.table().contains("|  5 | a   | EACCES   | EACCES   | ✓  |"),
            "{}",
            cases.table()
        );
        assert!(cases.table().contains("|  7 | d   | success  | no errno | ✗  |"));
    }
}
