//! # Lesson 10: every way the calls fail
//!
//! What it shows: each common failure of `shmget`, `shmat`, `shm_open` and `ftok`, provoked on
//! purpose. For each one the lesson prints what a C program sees (the call returns `-1` or
//! `(void *) -1` and leaves a number in `errno`, which `perror` turns into a line such as
//! `shmget: No such file or directory`) beside what this workbook's `Result` gives instead: an
//! `Error` that names the call, the errno, what it means here and what to do. Then it checks
//! that the errno is the one the man page promises, and ends with a table of every case. A
//! case that does not fail as expected is marked ✗ and makes the run exit with status 1.
//!
//! It reproduces the error-handling sections of the source documents (seeds 000 and 003):
//! "shmget returns -1, shmat returns (void *) -1: always check them". It adds what they leave
//! out: *which* errno each mistake gives and what it means, that `errno` is only a number that
//! the next failing call overwrites, and what happens to a program that does not check (the
//! ftok program of seed 004 goes on with the key 0xffffffff).
//!
//! - Part 1, `shmget`: ENOENT, EEXIST, EINVAL (above SHMMAX; larger than the existing segment),
//!   EACCES (as root, a child first drops to the user `nobody`: root skips permission checks).
//! - Part 2, `shmat`: EINVAL for the id an unchecked `shmget` leaves (-1) and for a removed one.
//! - Part 3, `shm_open`: ENOENT, EEXIST, and names: what glibc really does with `"/a/b"` and
//!   with a name without a leading slash, beside what our `posix::check_name` says.
//! - Part 4, `ftok`: ENOENT, and what the unchecked `ftok` of the seed hands to `shmget`.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson10             # the whole story, with short pauses between cases
//! cargo run --bin lesson10 -- --step   # pause at the 0400 segment: look at it with `ipcs -m`
//! cargo run --bin lesson10 -- --fast   # no pauses (what the tests use)
//! ```
//!
//! Things to try: run it as root and as an ordinary user and compare Part 1's EACCES case;
//! `sudo sysctl kernel.shmmax=1048576`, run it, and see the SHMMAX case use a small size (put
//! the old value back afterwards); write the C program of the chapter and compare its `perror`
//! lines with the lesson's.

use std::fmt;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::geteuid;
use shm_workbook::privilege::{self, Identity};
use shm_workbook::shm;
use shm_workbook::{
    Error, Key, Lesson, Narrator, Result, ScratchDir, Segment, SharedObject, narrate, posix,
    process,
};

/// The size of the segment the cases use.
const SIZE: usize = 4096;
/// The project id of the seeds' ftok calls: 65 is 'A'.
const PROJECT_ID: u8 = 65;

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson10");
    let parent = lesson.narrator("parent");
    let mut cases = Cases::new(&lesson);
    the_c_idiom(&parent);

    let mut dir = ScratchDir::new("lesson10")?;
    let keyfile = dir.create_file("keyfile", b"ftok reads this file's inode\n")?;
    parent.typed_call_note(
        "mkdtemp + open(\"keyfile\", O_CREAT|O_WRONLY, 0600)",
        keyfile.display(),
        "a key of our own for this run",
    );
    let key = Key::ftok(&keyfile, PROJECT_ID)?;
    parent.typed_call(format!("ftok(\"{}\", {PROJECT_ID})", keyfile.display()), key);

    lesson.part("Part 1: shmget");
    shmget_cases(&lesson, &mut cases, key)?;

    lesson.part("Part 2: shmat");
    shmat_cases(&lesson, &mut cases)?;

    lesson.part("Part 3: shm_open");
    shm_open_cases(&lesson, &mut cases)?;

    lesson.part("Part 4: ftok");
    ftok_cases(&lesson, &mut cases, &dir.path().join("no-such-file"));

    lesson.part("Summary");
    narrate::print_block(cases.table());
    let shown = dir.path().display().to_string();
    drop(dir);
    parent.typed_call_note(format!("unlink + rmdir(\"{shown}\")"), 0, "the key file is gone");
    cases.verdict(&parent)
}

/// The C idiom this lesson replaces, said once at the start.
fn the_c_idiom(out: &Narrator) {
    out.explain("in C, a failed call returns a sentinel (-1, or (void *) -1 for shmat) and leaves a number in errno;");
    out.explain("nothing makes the program look: an unchecked -1 travels on as if it were an id, a key or an address,");
    out.explain("and the next failing call (printf included) overwrites errno, so perror must come right after the call.");
    out.explain("here every call returns a Result: the error cannot be used as a value, and it keeps the errno of its own call.");
}

// ANCHOR: case
/// How a case should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The call fails with this errno.
    Fails(Errno),
    /// The call succeeds (glibc accepting a name we refuse).
    Succeeds,
}

/// How a case did end.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Got {
    Failed(Errno),
    Succeeded,
    /// An error without an errno: not what any case expects.
    NoErrno,
    /// The case could not be run here, and why.
    Skipped(String),
}

/// One way to fail: the C a careful programmer writes, and our call.
struct Case {
    /// Its line in the summary table.
    label: String,
    /// The C statements, or `None` when our check refuses before any call is made.
    c_code: Option<String>,
    /// The function's name, as `perror` is given it.
    c_name: &'static str,
    /// What the C function returns when it fails.
    c_failure: &'static str,
    /// Our call, or `None` for a case that runs the C call itself.
    rust: Option<String>,
    expected: Outcome,
}

/// Prints a case run through our library: what C would see, what our `Error` says, and
/// whether the errno is the expected one.
fn show_ours<T>(out: &Narrator, number: usize, case: &Case, result: Result<T>) -> (Got, Option<T>) {
    announce(out, number, case);
    let rust = case.rust.as_deref().unwrap_or("our call");
    let (got, value) = match result {
        Ok(value) => {
            if case.c_code.is_some() {
                out.line().text("        ").explain(format!("{} succeeds", case.c_name)).print();
            }
            out.line().text("  Rust: ").typed_call(rust).text(" returns Ok").print();
            (Got::Succeeded, Some(value))
        }
        Err(err) => {
            what_c_sees(out, case, &err);
            out.line()
                .text("  Rust: ")
                .typed_call(rust)
                .text(" returns Err, whose Display is:")
                .print();
            out.error(indent(&err.to_string(), "         "));
            (err.errno().map_or(Got::NoErrno, Got::Failed), None)
        }
    };
    check(out, case.expected, &got);
    (got, value)
}

/// The C lines of a failed case: the sentinel, errno, and the line `perror` prints.
fn what_c_sees(out: &Narrator, case: &Case, err: &Error) {
    match (err.errno(), &case.c_code) {
        (Some(errno), Some(_)) => c_failure_line(out, case, errno),
        (_, None) => out
            .line()
            .text("  C:    ")
            .explain("(nothing: our check refuses the name before any call is made)")
            .print(),
        (None, Some(_)) => out
            .line()
            .text("  C:    ")
            .explain("(no errno: this is not a system call's failure)")
            .print(),
    }
}

fn c_failure_line(out: &Narrator, case: &Case, errno: Errno) {
    let checked = case.c_code.as_deref().is_some_and(|code| code.contains("perror"));
    let prints = if checked { "prints" } else { "would print" };
    out.line()
        .text(format!("        {} returns {} and sets errno = ", case.c_name, case.c_failure))
        .value(format!("{errno:?}"))
        .text(format!(" ({}); perror(\"{}\") {prints}: ", errno as i32, case.c_name))
        .value(format!("{}: {}", case.c_name, errno.desc()))
        .print();
}

/// Prints a case where the C call itself is made (as glibc or the seed makes it).
fn show_raw(out: &Narrator, number: usize, case: &Case, result: Result<String, Errno>) -> Got {
    announce(out, number, case);
    let got = match result {
        Ok(returned) => {
            out.line()
                .text(format!("        {} returns ", case.c_name))
                .value(returned)
                .text(": no error, errno is not touched")
                .print();
            Got::Succeeded
        }
        Err(errno) => {
            c_failure_line(out, case, errno);
            Got::Failed(errno)
        }
    };
    check(out, case.expected, &got);
    got
}

fn announce(out: &Narrator, number: usize, case: &Case) {
    out.line()
        .text(format!("case {number}: "))
        .typed_call(&case.label)
        .note(format!("expected: {}", case.expected))
        .print();
    if let Some(code) = &case.c_code {
        out.line().text("  C:    ").typed_call(code).print();
    }
}

// ANCHOR_END: case

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

impl Case {
    fn shmget(label: &str, c_call: String, rust: String, expected: Outcome) -> Case {
        Case {
            label: label.to_owned(),
            c_code: Some(format!("shmid = {c_call}; if (shmid == -1) perror(\"shmget\");")),
            c_name: "shmget",
            c_failure: "-1",
            rust: Some(rust),
            expected,
        }
    }

    fn shmat(label: &str, c_code: String, rust: String, expected: Outcome) -> Case {
        Case {
            label: label.to_owned(),
            c_code: Some(c_code),
            c_name: "shmat",
            c_failure: "(void *) -1",
            rust: Some(rust),
            expected,
        }
    }

    fn shm_open(
        label: &str,
        c_code: Option<String>,
        rust: Option<String>,
        expected: Outcome,
    ) -> Case {
        Case {
            label: label.to_owned(),
            c_code,
            c_name: "shm_open",
            c_failure: "-1",
            rust,
            expected,
        }
    }

    fn ftok(label: &str, c_code: String, rust: Option<String>, expected: Outcome) -> Case {
        Case {
            label: label.to_owned(),
            c_code: Some(c_code),
            c_name: "ftok",
            c_failure: "-1",
            rust,
            expected,
        }
    }
}

/// Every case of the run, for the summary table.
struct Cases {
    rows: Vec<(String, Outcome, Got)>,
    /// The teaching pause after each case (none with --fast).
    pause: Duration,
}

impl Cases {
    fn new(lesson: &Lesson) -> Cases {
        let pause = if lesson.fast() { Duration::ZERO } else { Duration::from_millis(500) };
        Cases { rows: Vec::new(), pause }
    }

    /// The number the next case will have.
    fn next(&self) -> usize {
        self.rows.len() + 1
    }

    /// Runs a case through our library; returns the value if the call unexpectedly succeeded.
    fn ours<T>(&mut self, out: &Narrator, case: Case, result: Result<T>) -> Option<T> {
        let (got, value) = show_ours(out, self.next(), &case, result);
        self.record(case, got);
        value
    }

    /// Runs a case that makes the C call itself.
    fn raw(&mut self, out: &Narrator, case: Case, result: Result<String, Errno>) {
        let got = show_raw(out, self.next(), &case, result);
        self.record(case, got);
    }

    /// A case that cannot be run here: says why, and keeps a row for it.
    fn skip(&mut self, out: &Narrator, case: Case, why: String) {
        announce(out, self.next(), &case);
        let got = Got::Skipped(why);
        check(out, case.expected, &got);
        self.record(case, got);
    }

    fn record(&mut self, case: Case, got: Got) {
        self.rows.push((case.label, case.expected, got));
        std::thread::sleep(self.pause);
    }

    /// The summary: one row per case, `|`-separated so that it reads as a table and parses.
    fn table(&self) -> String {
        let width = self.rows.iter().map(|(label, ..)| label.chars().count()).max().unwrap_or(4);
        let mut text = format!(
            "| {:>2} | {:<width$} | {:<8} | {:<8} |    |\n|----|-{}-|----------|----------|----|\n",
            "#",
            "case",
            "expected",
            "got",
            "-".repeat(width)
        );
        for (number, (label, expected, got)) in self.rows.iter().enumerate() {
            let mark = match got {
                Got::Skipped(_) => "–",
                _ if outcome_matches(*expected, got) => "✓",
                _ => "✗",
            };
            text.push_str(&format!(
                "| {:>2} | {label:<width$} | {:<8} | {:<8} | {mark}  |\n",
                number + 1,
                expected.to_string(),
                got.to_string()
            ));
        }
        text
    }

    /// Ok if every case that ran ended as expected; an error naming the others.
    fn verdict(&self, out: &Narrator) -> Result<()> {
        let wrong: Vec<String> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, (_, expected, got))| {
                !matches!(got, Got::Skipped(_)) && !outcome_matches(*expected, got)
            })
            .map(|(number, (label, ..))| format!("{} ({label})", number + 1))
            .collect();
        let skipped = self.rows.iter().filter(|(.., got)| matches!(got, Got::Skipped(_))).count();
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
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|line| format!("{by}{line}")).collect::<Vec<_>>().join("\n")
}

// ANCHOR: shmget_cases
/// One key, four mistakes: open it before it exists, create it twice, ask for too much, and
/// ask for access its mode does not give.
fn shmget_cases(lesson: &Lesson, cases: &mut Cases, key: Key) -> Result<()> {
    let out = lesson.narrator("parent");
    let case = Case::shmget(
        "shmget: key not in use, no IPC_CREAT",
        format!("shmget({key}, {SIZE}, 0)"),
        format!("Segment::open(key, {SIZE})"),
        Outcome::Fails(Errno::ENOENT),
    );
    cases.ours(&out, case, Segment::open(key, SIZE));

    let segment = Segment::create(key, SIZE, 0o600)?;
    out.typed_call_note(
        format!("shmget({key}, {SIZE}, IPC_CREAT|IPC_EXCL|0600)"),
        format!("shmid {}", segment.id()),
        "now the key is in use",
    );
    let case = Case::shmget(
        "shmget: IPC_EXCL, key in use",
        format!("shmget({key}, {SIZE}, IPC_CREAT|IPC_EXCL|0600)"),
        format!("Segment::create(key, {SIZE}, 0o600)"),
        Outcome::Fails(Errno::EEXIST),
    );
    cases.ours(&out, case, Segment::create(key, SIZE, 0o600));

    above_shmmax(&out, cases);

    let case = Case::shmget(
        "shmget: size above the existing segment's",
        format!("shmget({key}, {}, 0)", 2 * SIZE),
        format!("Segment::open(key, {})", 2 * SIZE),
        Outcome::Fails(Errno::EINVAL),
    );
    cases.ours(&out, case, Segment::open(key, 2 * SIZE));
    out.explain(format!("size 0 or any size up to {SIZE} would have found it: asking for less than the segment has is fine"));

    without_permission(lesson, cases, &segment)?;

    let id = segment.id();
    segment.remove()?;
    out.typed_call_note(format!("shmctl({id}, IPC_RMID, NULL)"), 0, "segment removed");
    Ok(())
}
// ANCHOR_END: shmget_cases

// ANCHOR: above_shmmax
/// A size above the system's limit, read from /proc/sys/kernel/shmmax.
fn above_shmmax(out: &Narrator, cases: &mut Cases) {
    let shmmax = shm::limits().map(|limits| limits.max_segment_bytes);
    let size = shmmax.as_ref().ok().and_then(|&max| usize::try_from(max).ok()?.checked_add(1));
    let call = |size: &dyn fmt::Display| format!("shmget(IPC_PRIVATE, {size}, IPC_CREAT|0600)");
    let label = "shmget: size above SHMMAX";
    let expected = Outcome::Fails(Errno::EINVAL);
    match (shmmax, size) {
        (Ok(max), Some(size)) => {
            out.value("/proc/sys/kernel/shmmax", max);
            if max == u64::MAX - (1 << 24) {
                out.explain("that is ULONG_MAX - 2^24, the kernel's default: in effect no limit, kept 16 MiB below the top so that rounding a size up to whole pages cannot overflow");
            }
            out.explain(format!(
                "shmmax + 1 = {size} still fits in size_t, so it can be asked for"
            ));
            let case = Case::shmget(
                label,
                call(&size),
                format!("Segment::create(Key::PRIVATE, {size}, 0o600)"),
                expected,
            );
            // A success would be removed at once by dropping the segment, but the kernel
            // checks the size before it allocates anything.
            cases.ours(out, case, Segment::create(Key::PRIVATE, size, 0o600));
        }
        (Ok(max), None) => {
            let case = Case::shmget(label, call(&"SHMMAX + 1"), "-".into(), expected);
            cases.skip(
                out,
                case,
                format!("shmmax is {max}, the largest size_t: no size is above it"),
            );
        }
        (Err(err), _) => {
            let case = Case::shmget(label, call(&"SHMMAX + 1"), "-".into(), expected);
            cases.skip(out, case, format!("cannot read shmmax: {}", err.meaning()));
        }
    }
}
// ANCHOR_END: above_shmmax

// ANCHOR: without_permission
/// Mode 0400, then ask for read-write. Root is never refused, so a root run asks from a
/// child that has become `nobody` first.
fn without_permission(lesson: &Lesson, cases: &mut Cases, segment: &Segment) -> Result<()> {
    let out = lesson.narrator("parent");
    segment.set_mode(0o400)?;
    out.typed_call_note(
        format!("shmctl({}, IPC_SET, {{.shm_perm.mode = 0400}})", segment.id()),
        0,
        "read-only, even for its owner",
    );
    lesson.step(
        &out,
        &format!(
            "In another terminal, run:  ipcs -m\n\
             The segment with key {} shows perms 400: its owner may read it, no one may write it (root excepted).\n\
             Then:  ipcs -m -i {}   for all the kernel knows about it.",
            segment.key(),
            segment.id()
        ),
    );
    let numbers = [cases.next(), cases.next() + 1];
    let got = if geteuid().is_root() {
        root_is_not_refused(&out, segment);
        as_nobody(&out, segment, numbers)?
    } else {
        out.explain(
            "the segment is yours, but its mode binds its owner too: asking for write is refused",
        );
        ask_for_more(&out, segment.key(), numbers)
    };
    for (label, got) in [ASK_0600, ATTACH_READ_WRITE].into_iter().zip(got) {
        cases.rows.push((label.to_owned(), Outcome::Fails(Errno::EACCES), got));
        std::thread::sleep(cases.pause);
    }
    Ok(())
}

const ASK_0600: &str = "shmget: asks 0600, the mode is 0400";
const ATTACH_READ_WRITE: &str = "shmat: read-write, the mode is 0400";

/// The two permission cases, run by whoever lacks the permission (the parent, or the child
/// that became nobody).
fn ask_for_more(out: &Narrator, key: Key, numbers: [usize; 2]) -> [Got; 2] {
    let case = Case::shmget(
        ASK_0600,
        format!("shmget({key}, 0, IPC_CREAT|0600)"),
        "Segment::create_or_open(key, 0, 0o600)".into(),
        Outcome::Fails(Errno::EACCES),
    );
    let (asked, found) = show_ours(out, numbers[0], &case, Segment::create_or_open(key, 0, 0o600));
    if let Some(mut found) = found {
        found.disown(); // an unexpected success: the segment's owner removes it, not this handle
    }

    // Asking for no access at all (mode bits 0) passes shmget's check; shmat checks again.
    let opened = match Segment::open(key, 0) {
        Ok(segment) => segment,
        Err(err) => {
            out.error(&err);
            return [asked, Got::Skipped("shmget(key, 0, 0) failed, see above".into())];
        }
    };
    out.typed_call_note(
        format!("shmget({key}, 0, 0)"),
        format!("shmid {}", opened.id()),
        "mode bits 0 ask for no access, so this passes; shmat checks again",
    );
    let case = Case::shmat(
        ATTACH_READ_WRITE,
        format!(
            "addr = shmat({}, NULL, 0); if (addr == (void *) -1) perror(\"shmat\");",
            opened.id()
        ),
        "segment.attach()".into(),
        Outcome::Fails(Errno::EACCES),
    );
    let (attached, _) = show_ours(out, numbers[1], &case, opened.attach());
    [asked, attached]
}

/// What root sees: the same calls succeed, because CAP_IPC_OWNER skips the mode check.
fn root_is_not_refused(out: &Narrator, segment: &Segment) {
    let key = segment.key();
    match Segment::create_or_open(key, 0, 0o600) {
        Ok(mut found) => {
            found.disown(); // the parent's `segment` removes it, not this handle
            out.typed_call_note(
                format!("shmget({key}, 0, IPC_CREAT|0600)"),
                format!("shmid {}", found.id()),
                "as root: no EACCES, root's CAP_IPC_OWNER skips the mode check",
            );
        }
        Err(err) => out.error(&err),
    }
    out.explain("to see EACCES, a child gives up root first and asks again");
}

/// Forks a child that becomes `nobody` and runs the permission cases; the errnos it got come
/// back through a small segment attached before the fork.
fn as_nobody(out: &Narrator, segment: &Segment, numbers: [usize; 2]) -> Result<[Got; 2]> {
    const NOT_RUN: i32 = -1;
    const SUCCEEDED: i32 = 0;
    let results = Segment::create(Key::PRIVATE, 64, 0o600)?;
    let slots = results.attach()?;
    let got = slots.view::<[AtomicI32; 2]>()?;
    for slot in got {
        slot.store(NOT_RUN, Ordering::Relaxed);
    }
    let key = segment.key();
    let child = process::spawn("nobody", |child| {
        become_nobody(child)?;
        for (slot, outcome) in got.iter().zip(ask_for_more(child, key, numbers)) {
            let code = match outcome {
                Got::Failed(errno) => errno as i32,
                Got::Succeeded => SUCCEEDED,
                Got::NoErrno | Got::Skipped(_) => NOT_RUN,
            };
            slot.store(code, Ordering::Relaxed);
        }
        Ok(())
    })?;
    out.typed_call("fork()", format!("child {}", child.pid()));
    let ended = child.wait_exit()?; // after waitpid, the child's stores are visible here
    let read = |slot: &AtomicI32| match slot.load(Ordering::Relaxed) {
        SUCCEEDED => Got::Succeeded,
        NOT_RUN => Got::Skipped(format!("the child could not run it ({ended:?})")),
        errno => Got::Failed(Errno::from_raw(errno)),
    };
    Ok([read(&got[0]), read(&got[1])])
}

/// Gives up root for good in this process: no supplementary groups, then the group, then the
/// user (in that order: once the uid is not 0, changing groups is no longer allowed).
fn become_nobody(out: &Narrator) -> Result<()> {
    let nobody = Identity::nobody();
    privilege::become_user(&nobody)?;
    out.typed_call_note(
        format!("setgroups(0, NULL); setgid({}); setuid({})", nobody.gid(), nobody.uid()),
        0,
        "this child is now the user nobody: not the owner, no capability",
    );
    Ok(())
}
// ANCHOR_END: without_permission

// ANCHOR: shmat_cases
/// An id that never was one, and an id whose segment is gone.
fn shmat_cases(lesson: &Lesson, cases: &mut Cases) -> Result<()> {
    let out = lesson.narrator("parent");
    out.explain(
        "a C program that does not check shmget's -1 passes it on to shmat as if it were an id:",
    );
    let case = Case::shmat(
        "shmat: the -1 of an unchecked shmget",
        "shmid = shmget(key, 4096, 0); /* not checked */ addr = shmat(shmid, NULL, 0); if (addr == (void *) -1) perror(\"shmat\");".into(),
        "Segment::from_id(-1).attach()".into(),
        Outcome::Fails(Errno::EINVAL),
    );
    cases.ours(&out, case, Segment::from_id(-1).attach());
    out.explain("in Rust this cannot happen by accident: a failed Segment::open is an Err, and there is no -1 to pass on");

    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let id = segment.id();
    out.typed_call(format!("shmget(IPC_PRIVATE, {SIZE}, IPC_CREAT|0600)"), format!("shmid {id}"));
    segment.remove()?;
    out.typed_call_note(
        format!("shmctl({id}, IPC_RMID, NULL)"),
        0,
        "nobody is attached, so it is destroyed at once",
    );
    let case = Case::shmat(
        "shmat: the id of a removed segment",
        format!("addr = shmat({id}, NULL, 0); if (addr == (void *) -1) perror(\"shmat\");"),
        format!("Attachment::new({id}::ReadWrite)"),
        Outcome::Fails(Errno::EINVAL),
    );
    cases.ours(&out, case, Segment::from_id(id).attach());
    out.explain("the man page also lists EIDRM, but once the id is gone Linux cannot tell it from one that never existed: EINVAL");
    Ok(())
}
// ANCHOR_END: shmat_cases

// ANCHOR: shm_open_cases
/// A name nobody created, a name created twice, and two bad names: first what glibc does
/// with them, then what our check says.
fn shm_open_cases(lesson: &Lesson, cases: &mut Cases) -> Result<()> {
    let out = lesson.narrator("parent");
    let missing = posix::unique_name("never-created");
    let case = Case::shm_open(
        "shm_open: name not in use, no O_CREAT",
        Some(format!(
            "fd = shm_open(\"{missing}\", O_RDWR, 0); if (fd == -1) perror(\"shm_open\");"
        )),
        Some(format!("SharedObject::open(\"{missing}\")")),
        Outcome::Fails(Errno::ENOENT),
    );
    cases.ours(&out, case, SharedObject::open(&missing));

    let object = SharedObject::create(&posix::unique_name("lesson10"), 0o600)?;
    let name = object.name().to_owned();
    out.typed_call_note(
        format!("shm_open(\"{name}\", O_CREAT|O_EXCL|O_RDWR, 0600)"),
        format!("fd {}", object.fd().as_raw_fd()),
        format!("the file {} now exists", object.path()),
    );
    let case = Case::shm_open(
        "shm_open: O_EXCL, name in use",
        Some(format!(
            "fd = shm_open(\"{name}\", O_CREAT|O_EXCL|O_RDWR, 0600); if (fd == -1) perror(\"shm_open\");"
        )),
        Some(format!("SharedObject::create(\"{name}\", 0o600)")),
        Outcome::Fails(Errno::EEXIST),
    );
    cases.ours(&out, case, SharedObject::create(&name, 0o600));

    // An inner slash: glibc refuses the name before any system call.
    let inner = format!("{name}/inner");
    let case = Case::shm_open(
        "shm_open \"/a/b\": glibc",
        Some(format!("fd = shm_open(\"{inner}\", O_RDWR, 0); if (fd == -1) perror(\"shm_open\");")),
        None,
        Outcome::Fails(Errno::EINVAL),
    );
    let glibc = nix::sys::mman::shm_open(inner.as_str(), OFlag::O_RDWR, Mode::empty());
    cases.raw(&out, case, glibc.map(|fd| format!("fd {}", fd.as_raw_fd())));
    let case = Case::shm_open(
        "shm_open \"/a/b\": our check_name",
        None,
        Some(format!("posix::check_name(\"{inner}\")")),
        Outcome::Fails(Errno::EINVAL),
    );
    cases.ours(&out, case, posix::check_name(&inner));

    // No leading slash: glibc quietly accepts it, and finds our object.
    let bare = name.trim_start_matches('/').to_owned();
    let case = Case::shm_open(
        "shm_open without a leading slash: glibc",
        Some(format!("fd = shm_open(\"{bare}\", O_RDWR, 0); if (fd == -1) perror(\"shm_open\");")),
        None,
        Outcome::Succeeds,
    );
    let glibc = nix::sys::mman::shm_open(bare.as_str(), OFlag::O_RDWR, Mode::empty());
    let inodes = glibc.as_ref().ok().and_then(|fd| {
        let theirs = nix::sys::stat::fstat(fd).ok()?.st_ino;
        let ours = std::fs::metadata(object.path()).ok()?.ino();
        Some((theirs, ours))
    });
    cases.raw(
        &out,
        case,
        glibc.as_ref().map(|fd| format!("fd {}", fd.as_raw_fd())).map_err(|e| *e),
    );
    if let Some((theirs, ours)) = inodes {
        out.explain(format!(
            "its inode is {theirs}, and {}'s is {ours}: glibc dropped nothing and added nothing, it opened /dev/shm/{bare}",
            object.path()
        ));
    }
    drop(glibc); // close(fd)
    let case = Case::shm_open(
        "shm_open without a leading slash: our check_name",
        None,
        Some(format!("posix::check_name(\"{bare}\")")),
        Outcome::Fails(Errno::EINVAL),
    );
    cases.ours(&out, case, posix::check_name(&bare));
    out.explain("POSIX leaves a name without a leading slash to each system: glibc and musl accept it, others may not, so we refuse it");

    drop(object);
    out.typed_call_note(format!("shm_unlink(\"{name}\")"), 0, "the object is removed");
    Ok(())
}
// ANCHOR_END: shm_open_cases

// ANCHOR: ftok_cases
/// ftok of a file that does not exist: our error, then what the seed's unchecked call does.
fn ftok_cases(lesson: &Lesson, cases: &mut Cases, missing: &Path) {
    let out = lesson.narrator("parent");
    let shown = missing.display();
    let case = Case::ftok(
        "ftok: the file does not exist",
        format!("key = ftok(\"{shown}\", {PROJECT_ID}); if (key == -1) perror(\"ftok\");"),
        Some(format!("Key::ftok(\"{shown}\", {PROJECT_ID})")),
        Outcome::Fails(Errno::ENOENT),
    );
    cases.ours(&out, case, Key::ftok(missing, PROJECT_ID));

    let case = Case::ftok(
        "ftok unchecked, as the seed calls it",
        format!("key = ftok(\"{shown}\", {PROJECT_ID}); /* the seed goes on: shmget(key, ...) */"),
        None,
        Outcome::Fails(Errno::ENOENT),
    );
    let raw = unchecked_ftok(missing);
    cases.raw(&out, case, raw.map(|key| key.to_string()));
    let minus_one = Key::from_raw(-1);
    out.explain(format!("the seed never looks: it calls shmget({minus_one}, 1024, 0666|IPC_CREAT) with the -1 as its key"));
    out.explain(format!("{minus_one} is an ordinary key, not IPC_PRIVATE (which is 0): every program on the machine that made this mistake shares one segment"));
}

/// The C call itself, as the seed makes it: -1 and errno on failure.
fn unchecked_ftok(path: &Path) -> Result<Key, Errno> {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Err(Errno::EINVAL);
    };
    // SAFETY: `c_path` is a NUL-terminated string that lives until the call returns; ftok
    // only reads it (it calls stat on the path).
    let key = unsafe { libc::ftok(c_path.as_ptr(), libc::c_int::from(PROJECT_ID)) };
    if key == -1 { Err(Errno::last()) } else { Ok(Key::from_raw(key)) }
}
// ANCHOR_END: ftok_cases
