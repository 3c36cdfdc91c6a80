//! Judging a run: each exercise's own look at what it printed, traced and left, then the
//! checks every exercise gets (a run that did not end, a crash, objects or processes left
//! behind). A failure has a kind (`lost update`, `deadlock on FILLED`), the evidence, and a hint.

use std::fmt::Write as _;

use crate::data::Data;
use crate::evidence::{Evidence, Provenance};
use crate::kernel::Stuck;
use crate::runner::{Copy, Ending, StrayHow, Trial};
use crate::trace::Call;

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure: `lost update`, `leaked segment`, `deadlock on LOCK`.
    pub kind: String,
    /// What shows it: values, calls, processes, in a sentence or two.
    pub evidence: String,
    /// What to do about it, when the failure itself suggests it (else the exercise's hint).
    pub hint: Option<String>,
}

impl Failure {
    /// A failure of `kind`, shown by `evidence`.
    pub fn new(kind: impl Into<String>, evidence: impl Into<String>) -> Failure {
        Failure { kind: kind.into(), evidence: evidence.into(), hint: None }
    }

    /// With a hint of its own.
    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
}

/// Whether every copy ended by itself, in time.
fn completed(trial: &Trial) -> bool {
    trial.stuck.is_none()
        && trial.copies.iter().all(|c| {
            !matches!(c.ending, Ending::TimedOut | Ending::TooManyProcesses | Ending::TooMuchOutput)
        })
}

/// Whether every copy ended by itself with status 0 (and no fault was injected).
fn clean(trial: &Trial) -> bool {
    completed(trial) && trial.copies.iter().all(|c| c.ending == Ending::Exited(0))
}

/// The checks every exercise gets; `semaphores` names the exercise's semaphores by number.
pub fn common(semaphores: &[&str], trial: &Trial) -> Option<Failure> {
    if let Some(copy) = trial.copies.iter().find(|c| c.ending == Ending::TooManyProcesses) {
        return Some(
            Failure::new(
                "forks without end",
                format!(
                    "the run (main process {}) had more than {} processes after {} ms, and kept \
                     forking; the checker killed them all",
                    copy.pid,
                    crate::runner::PROCESS_LIMIT,
                    trial.elapsed.as_millis()
                ),
            )
            .hint(
                "a fork() in a loop, or in a child that goes on looping: each child must leave \
                 (return from its closure, or exit) instead of going round again",
            ),
        );
    }
    if let Some(copy) = trial.copies.iter().find(|c| c.ending == Ending::TooMuchOutput) {
        return Some(
            Failure::new(
                "prints without end",
                format!(
                    "the run (main process {}) printed more than {} MiB, or recorded more than {} \
                     MiB of calls, in {} ms; the checker stopped it. Its first line: {}",
                    copy.pid,
                    crate::runner::PRINT_LIMIT >> 20,
                    crate::trace::LIMIT >> 20,
                    trial.elapsed.as_millis(),
                    copy.stdout.lines().next().unwrap_or("")
                ),
            )
            .hint("a loop that prints, and never ends: what should end it?"),
        );
    }
    if let Some(stuck) = &trial.stuck {
        return Some(stuck_failure(semaphores, trial, stuck));
    }
    if trial.fault_done.is_none() {
        for copy in &trial.copies {
            if let Some(failure) = ending_failure(copy) {
                return Some(failure);
            }
        }
    }
    if let Some(first) = trial.leftovers.first() {
        let interrupted = trial.fault_done.as_deref().is_some_and(|f| f.starts_with("Ctrl-C"));
        let kind = if interrupted {
            "left behind after Ctrl-C".to_owned()
        } else {
            format!("leaked {}", first.noun())
        };
        let mut evidence = match &trial.fault_done {
            Some(fault) if interrupted => format!("after {fault}, the run left "),
            _ => "the run left ".to_owned(),
        };
        for (i, leftover) in trial.leftovers.iter().enumerate() {
            let _ = write!(
                evidence,
                "{}{}, made by {}{}",
                if i == 0 { "" } else { "; and " },
                leftover.what,
                leftover.made_by,
                if leftover.removed {
                    " (the checker removed it)"
                } else {
                    " (the checker could not remove it)"
                }
            );
        }
        let hint = if interrupted {
            "a signal ends the process before any destructor runs: install a handler that removes \
             what the run created (shm_workbook::cleanup::install_signal_handlers)"
        } else {
            "an object stays until IPC_RMID (or shm_unlink) removes it, long after every process \
             has gone: the last process that needs it must remove it"
        };
        return Some(Failure::new(kind, evidence).hint(hint));
    }
    if let Some(stray) = trial.strays.first() {
        let (kind, what, hint) = match stray.how {
            StrayHow::StillRunning => (
                "process left running",
                "was still running after the main process had ended (the checker killed it)",
                "wait for every child you start (Child::wait, process::wait_all) before main \
                 returns",
            ),
            StrayHow::NeverWaitedFor => (
                "zombie",
                "had exited, but its parent never waited for it: a zombie until the checker reaped \
                 it",
                "wait for every child (waitpid: Child::wait, process::wait_all), or its exit \
                 status stays in the process table",
            ),
            StrayHow::KilledWithParent => (
                "child not waited for",
                "was still running when its parent ended, and the kernel killed it with its parent",
                "the parent must wait for its children (Child::wait, process::wait_all) before it \
                 ends",
            ),
        };
        return Some(Failure::new(kind, format!("{} {} {what}", stray.role, stray.pid)).hint(hint));
    }
    None
}

/// A run that did not end in time: a deadlock (every process blocked), or a hang (some process
/// spinning), as the kernel showed it.
fn stuck_failure(semaphores: &[&str], trial: &Trial, stuck: &Stuck) -> Failure {
    let evidence = stuck.describe(semaphores, &|pid| trial.role_of(pid));
    let awaited = stuck.awaited();
    let spinning = stuck.spinning();
    if !awaited.is_empty() {
        let names: Vec<String> = awaited
            .iter()
            .map(|(_, n)| {
                semaphores
                    .get(usize::from(*n))
                    .map_or(format!("semaphore {n}"), |s| (*s).to_owned())
            })
            .collect();
        return Failure::new(format!("deadlock on {}", names.join(" and ")), evidence).hint(
            "each waiting process waits for a post that only a blocked (or dead) process could \
             make: look at who holds what, and at the order in which things are taken",
        );
    }
    if !spinning.is_empty() {
        return Failure::new("hang (spinning)", evidence).hint(
            "a loop that checks a flag again and again never ends if the partner that should \
             change it is gone or waits for you: wait with shm_workbook::wait::wait_while, which \
             notices a dead partner",
        );
    }
    Failure::new("stuck", evidence).hint(
        "every process waits for another: find the wait that can never end, and who should have \
         ended it",
    )
}

/// How a copy's main process ended, if that is a failure.
fn ending_failure(copy: &Copy) -> Option<Failure> {
    let said = error_lines(copy);
    match copy.ending {
        Ending::Exited(0) | Ending::TimedOut | Ending::TooManyProcesses | Ending::TooMuchOutput => {
            None
        }
        Ending::Exited(101) => {
            Some(Failure::new("panicked", format!("the program panicked: {said}")).hint(
                "the panic message says where; a panic in a child ends that child with status 101",
            ))
        }
        Ending::Exited(code) => Some(
            Failure::new("error", format!("the program exited with status {code}: {said}")).hint(
                "its own message says which call failed, with which errno, and what that means \
                 here",
            ),
        ),
        Ending::Signaled(signal) => Some(Failure::new(
            format!("killed by {signal}"),
            format!("the main process {} was killed by {signal}. {said}", copy.pid),
        )),
    }
}

/// The lines that say what went wrong: a panic's message, `failed`, `Error:` and what follows.
fn error_lines(copy: &Copy) -> String {
    let all: Vec<&str> = copy.stderr.lines().chain(copy.stdout.lines()).collect();
    if let Some(at) = all.iter().position(|line| line.contains("panicked at")) {
        let place = all[at].split("panicked at").nth(1).unwrap_or("").trim().trim_end_matches(':');
        let message = all.get(at + 1).map_or("", |m| m.trim());
        return format!("`{message}`, at {place}");
    }
    let lines: Vec<&str> = all
        .iter()
        .filter(|line| {
            ["failed", "Error", "error", "what it means"].iter().any(|w| line.contains(w))
        })
        .take(3)
        .map(|line| line.trim())
        .collect();
    if lines.is_empty() { copy.tail(3) } else { lines.join(" / ") }
}

/// A line of the story, shown quoted.
fn quoted(text: &str) -> String {
    format!("`{text}`")
}

/// The first copy's lines by `role`.
fn lines<'a>(trial: &'a Trial, role: &'a str) -> Vec<&'a str> {
    trial.copies[0].said_by(role).collect()
}

/// The first data race in any copy (see `evidence`), as a failure that shows both accesses.
pub fn data_race(trial: &Trial) -> Option<Failure> {
    for copy in &trial.copies {
        let evidence = Evidence::of(copy);
        let Some(race) = evidence.races(1).into_iter().next() else { continue };
        let (store, other) = (evidence.describe(race.store), evidence.describe(race.other));
        return Some(
            Failure::new(
                "data race",
                format!(
                    "nothing orders these two accesses to the same bytes, one a store: {store}; \
                     {other}. No semaphore, no Release store read by an Acquire load, no fork or \
                     waitpid comes between them in the trace. The run may have looked right (x86 \
                     keeps stores in order), but under the Rust and C++ memory model the load \
                     may see old bytes or a mix, and on ARM it does"
                ),
            )
            .hint(
                "order the store before the load: the writer gives a semaphore (or publishes a \
                 flag with Release) after its store, and the reader takes it (or loads the flag \
                 with Acquire) before its load. A synchronization made around the library (a \
                 raw libc call, a pipe) is not in the trace: use the library's calls",
            ),
        );
    }
    None
}

/// Whether `text`, printed by the process of `role` as part of `line`, was read from shared
/// memory, from what another process stored there, in an order something guaranteed. `what`
/// says what the exercise asks (`the child must read the parent's message from the segment`).
pub fn read_from_partner(
    trial: &Trial,
    role: &str,
    line: &str,
    text: &str,
    what: &str,
) -> Option<Failure> {
    bytes_from_partner(trial, role, line, text, text.as_bytes(), what)
}

/// [`read_from_partner`] for any bytes (`shown` is how the line shows them).
fn bytes_from_partner(
    trial: &Trial,
    role: &str,
    line: &str,
    shown: &str,
    needle: &[u8],
    what: &str,
) -> Option<Failure> {
    let text = shown;
    for copy in &trial.copies {
        let said = copy
            .stdout
            .lines()
            .filter_map(crate::runner::story_line)
            .find(|(r, _, t)| *r == role && *t == line);
        let Some((_, pid, _)) = said else { continue };
        let evidence = Evidence::of(copy);
        let provenance = evidence.provenance_of_bytes(pid, needle);
        let sentence = match &provenance {
            Provenance::FromPartner { .. } => continue,
            Provenance::NotLoaded => format!(
                "{role} {pid} printed {}, but none of its loads (through a Region or the \
                 library's atomics) found {}: it did not read it from shared memory. {what}. A \
                 load made around the library (a raw pointer, std's atomics) is not seen",
                quoted(line),
                quoted(text)
            ),
            &Provenance::NotStoredByPartner { load } => format!(
                "{role} {pid} printed {}, and {}, but no other process had stored those bytes \
                 there: it read its own store, or memory nobody wrote. {what}",
                quoted(line),
                evidence.describe(load)
            ),
            &Provenance::Unordered { store, load } => format!(
                "{role} {pid} printed {}: {}, from what {}, but nothing ordered that store before \
                 the load (no semaphore, no Release store read by an Acquire load). On x86 it \
                 arrived anyway; under the Rust and C++ memory model, and on ARM, the load may \
                 see old bytes",
                quoted(line),
                evidence.describe(load),
                evidence.describe(store).replacen(" stored ", " had stored ", 1)
            ),
        };
        let kind = match provenance {
            Provenance::Unordered { load, .. } if evidence.accesses()[load].data => "data race",
            Provenance::Unordered { .. } => "unordered read",
            _ => "not read from shared memory",
        };
        return Some(Failure::new(kind, sentence));
    }
    None
}

/// Whether `role` loaded `text` from shared memory at all (whoever stored it: in ex15 the
/// writer is the checker's own peer, which the trace does not follow).
fn loaded_by(trial: &Trial, role: &str, line: &str, text: &str, what: &str) -> Option<Failure> {
    let copy = &trial.copies[0];
    let said = copy
        .stdout
        .lines()
        .filter_map(crate::runner::story_line)
        .find(|(r, _, t)| *r == role && *t == line);
    let (_, pid, _) = said?;
    match Evidence::of(copy).provenance(pid, text) {
        Provenance::NotLoaded => Some(Failure::new(
            "not read from shared memory",
            format!(
                "{role} {pid} printed {}, but none of its loads (through a Region or the \
                 library's atomics) found {}: it did not read it from the mapping. {what}",
                quoted(line),
                quoted(text)
            ),
        )),
        _ => None,
    }
}

/// A line that does not hold this run's data: the checker drew it (see [`crate::data`]), and the
/// program printed something else, most often the default written in its file.
fn drawn_not_printed(role: &str, line: &str, expected: &str, what: &str) -> Failure {
    Failure::new(
        "not this run's data",
        format!(
            "the {role} printed {}, but the checker drew this run's {what} afresh, and expected \
             {}: a value written into the program, or remembered from another run, cannot pass",
            quoted(line),
            quoted(expected)
        ),
    )
    .hint(
        "take the data from shm_workbook::exercise_data as the exercise's file does, and print \
         what was read from shared memory, not a value the program already knows",
    )
}

/// The calls named `name` that the run made (not the library's helper calls).
fn calls_named<'a>(trial: &'a Trial, name: &'a str) -> impl Iterator<Item = &'a Call> + 'a {
    trial.calls().filter(move |call| call.name == name && !call.helper)
}

/// Exercise 01: the child must read the message.
pub fn ex01(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let message = trial.data().message;
    let expected = format!("Child read: {message}");
    let read: Vec<&str> =
        lines(trial, "child").into_iter().filter(|l| l.starts_with("Child read:")).collect();
    match read.as_slice() {
        [line] if *line == expected => read_from_partner(
            trial,
            "child",
            line,
            &message,
            "The exercise asks the child to read the message the parent wrote into the segment",
        ),
        [line] if !message.starts_with(line["Child read:".len()..].trim_start()) => {
            Some(drawn_not_printed(
                "child",
                line,
                &expected,
                "message (exercise_data::text(\"message\", ...))",
            ))
        }
        [line] => {
            let stdout = &trial.copies[0].stdout;
            let before = stdout.find(line).zip(stdout.find(&format!("wrote {message:?}")));
            let order = match before {
                Some((read_at, wrote_at)) if read_at < wrote_at => {
                    ", and its line came before the parent's `wrote` line"
                }
                _ => "",
            };
            let waited = trial.calls().any(|c| {
                c.role == "child" && matches!(c.name.as_str(), "semop" | "semtimedop" | "futex")
            });
            let (why, hint) = if waited {
                (
                    "The child did wait, but what it waited for happened before the parent's store",
                    "the parent must signal (post the semaphore) after it has stored the message, \
                     never before",
                )
            } else {
                (
                    "The checker held the parent back until the child had woken up, as a busy \
                     machine may",
                    "a sleep makes the wrong order unlikely, never impossible: make the child wait \
                     for something the parent does after writing (a semaphore at 0: wait in the \
                     child, post in the parent after the store)",
                )
            };
            Some(
                Failure::new(
                    "read before write",
                    format!(
                        "the child printed {}: it read the segment before the parent wrote into \
                         it{order}. {why}",
                        quoted(line)
                    ),
                )
                .hint(hint),
            )
        }
        _ => Some(Failure::new(
            "wrong output",
            format!("expected one line {} from the child, got {}", quoted(&expected), read.len()),
        )),
    }
}

/// Exercise 02: each copy's child reads its own parent's message.
pub fn ex02(trial: &Trial) -> Option<Failure> {
    if !completed(trial) {
        return None;
    }
    let keys: Vec<Option<&str>> = trial
        .copies
        .iter()
        .map(|copy| {
            copy.calls
                .iter()
                .find(|c| c.name == "shmget" && c.args[0] != "IPC_PRIVATE")
                .map(|c| c.args[0].as_str())
        })
        .collect();
    let shared_key = match keys.as_slice() {
        [Some(a), Some(b)] if a == b => Some(*a),
        _ => None,
    };
    for (copy, key) in trial.copies.iter().zip(&keys) {
        let expected = format!("Child read: greetings from process {}", copy.pid);
        let said = copy
            .stdout
            .lines()
            .filter_map(crate::runner::story_line)
            .find(|(r, _, t)| *r == "child" && *t == expected);
        if let (Some((_, child, _)), true) = (said, copy.ending == Ending::Exited(0)) {
            let by_key = copy.calls.iter().any(|c| {
                c.pid == child
                    && c.name == "shmget"
                    && c.result.is_some()
                    && key.is_some_and(|key| c.args.first().is_some_and(|a| a == key))
            });
            if !by_key {
                let key = key.unwrap_or("its key");
                return Some(Failure::new(
                    "not opened by key",
                    format!(
                        "the child {child} of copy {} printed the right greeting, but its trace \
                         has no shmget({key}, ...) of its own: it used what it inherited (the \
                         id, the attachment) or a call made around the library. The exercise \
                         asks the child to find the segment by its key, as an unrelated process \
                         must (Segment::open)",
                        copy.pid
                    ),
                ));
            }
        }
        let read: Vec<&str> =
            copy.said_by("child").filter(|l| l.starts_with("Child read")).collect();
        let problem = match (copy.ending, read.as_slice()) {
            (Ending::Exited(0), [line]) if *line == expected => continue,
            (Ending::Exited(0), [line]) => {
                format!("the child of copy {} printed {}", copy.pid, quoted(line))
            }
            (_, _) => format!("copy {} failed: {}", copy.pid, error_lines(copy)),
        };
        return Some(match shared_key {
            Some(key) => Failure::new(
                "key collision",
                format!(
                    "{problem}. Both copies used the key {key}, so they met in one segment (each \
                     made `shmget({key}, ...)`); two students on one server would too"
                ),
            ),
            None => {
                Failure::new("wrong message", format!("{problem}; expected {}", quoted(&expected)))
            }
        });
    }
    // Both copies made `shmget` with one key, and without IPC_EXCL: they missed each other this
    // time only. (With IPC_EXCL, a key met again after the other copy removed its segment, as
    // ftok of a recycled inode gives, would have been refused had they overlapped.)
    let exclusive = trial.copies.iter().all(|copy| {
        copy.calls.iter().any(|c| {
            c.pid == copy.pid
                && c.name == "shmget"
                && c.args.get(2).is_some_and(|flags| flags.contains("IPC_EXCL"))
        })
    });
    if let Some(key) = shared_key.filter(|_| !exclusive) {
        return Some(Failure::new(
            "key collision",
            format!(
                "both copies used the key {key} (each made `shmget({key}, ...)`): this time \
                 neither saw the other's greeting, but two copies started at the same moment \
                 meet in one segment, as two students on one server would"
            ),
        ));
    }
    // The second TODO: a key that is taken is refused, not quietly opened.
    for copy in &trial.copies {
        let created = copy.calls.iter().find(|c| {
            c.pid == copy.pid
                && c.name == "shmget"
                && c.args.first().is_some_and(|k| k != "IPC_PRIVATE")
        });
        if let Some(call) = created
            && call
                .args
                .get(2)
                .is_some_and(|flags| flags.contains("IPC_CREAT") && !flags.contains("IPC_EXCL"))
        {
            return Some(
                Failure::new(
                    "a taken key is not refused",
                    format!(
                        "copy {} made its segment with `{}`: IPC_CREAT without IPC_EXCL opens \
                         the segment someone else holds under that key instead of failing with \
                         EEXIST. Each run's key was its own this time; the exercise also asks \
                         that a key that is taken be refused",
                        copy.pid, call.text
                    ),
                )
                .hint("Segment::create asks for IPC_CREAT|IPC_EXCL; create_or_open does not"),
            );
        }
    }
    trial.copies.iter().find_map(|copy| {
        let greeting = format!("greetings from process {}", copy.pid);
        read_from_partner(
            &Trial { copies: vec![copy.clone()], ..trial.clone() },
            "child",
            &format!("Child read: {greeting}"),
            &greeting,
            "The exercise asks the child to read its parent's greeting from the segment",
        )
    })
}

/// Exercise 03: the reader reads the message (the leak is a common check).
pub fn ex03(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let read = lines(trial, "reader");
    let message = trial.data().message;
    let line = format!("Reader read: {message}");
    if read.contains(&line.as_str()) {
        return read_from_partner(
            trial,
            "reader",
            &line,
            &message,
            "The exercise asks the reader to read the publisher's message from the segment",
        )
        .or_else(|| removed_through_the_library(trial));
    }
    if let Some(other) = read.iter().find(|l| l.starts_with("Reader read: ")) {
        return Some(drawn_not_printed(
            "reader",
            other,
            &line,
            "message (exercise_data::text(\"message\", ...))",
        ));
    }
    Some(
        Failure::new(
            "message lost",
            format!(
                "the reader did not print {}; the run printed: {}",
                quoted(&line),
                trial.copies[0].tail(4)
            ),
        )
        .hint(
            "the segment must outlive the publisher (it disowns it) and be removed only once the \
             reader has read it",
        ),
    )
}

/// Exercise 16: each time the waiter found `ready` (offset 0) at 0 and later at 1, a
/// FUTEX_WAIT of the library came between: it slept, and through the call the trace shows
/// (not a spin, not a raw `libc::syscall`).
fn slept_between_looks(trial: &Trial) -> Option<Failure> {
    let copy = &trial.copies[0];
    let waiter = copy
        .accesses
        .iter()
        .map(|a| a.pid)
        .find(|&pid| copy.role_of(pid).as_deref() == Some("waiter"))?;
    let looks: Vec<&crate::trace::Access> = copy
        .accesses
        .iter()
        .filter(|a| a.pid == waiter && a.op == crate::trace::Op::Load && a.offset == 0)
        .filter(|a| a.bytes.len() == 4)
        .collect();
    let waits: Vec<u64> = calls_named(trial, "futex")
        .filter(|c| c.pid == waiter && c.args.get(1).is_some_and(|op| op == "FUTEX_WAIT"))
        .map(|c| c.t0_ns)
        .collect();
    // From the first look that found 0 to the last look (the one that found the message),
    // some FUTEX_WAIT: the value passed to it may have been loaded after the first look.
    let first_zero = looks.iter().find(|a| a.value() == 0);
    if let (Some(before), Some(after)) = (first_zero, looks.last())
        && after.value() == 1
        && !waits.iter().any(|&t| t >= before.t_ns && t <= after.t0_ns)
    {
        return Some(Failure::new(
            "no wait",
            format!(
                "the waiter {waiter} loaded `ready` = 0, and later `ready` = 1, with no \
                 futex(..., FUTEX_WAIT, ...) of the library in between: it spun, or slept \
                 around the library (a raw libc::syscall), which the checker cannot see. The \
                 exercise asks the waiter to sleep with futex::wait on the value it checked"
            ),
        ));
    }
    None
}

/// Exercise 03: the segment the run made (its `shmget` with IPC_CREAT) was removed by a
/// `shmctl(..., IPC_RMID, ...)` the trace shows: one made around the library proves nothing
/// about the program's own clean-up path.
fn removed_through_the_library(trial: &Trial) -> Option<Failure> {
    if !trial.leftovers.is_empty() {
        return None; // not removed at all: the leak is the common checks' to report
    }
    let made = calls_named(trial, "shmget")
        .find(|c| c.args.get(2).is_some_and(|flags| flags.contains("IPC_CREAT")))?;
    let id = made.result.as_deref()?;
    let removed = calls_named(trial, "shmctl").any(|c| {
        c.args.first().is_some_and(|a| a == id)
            && c.args.get(1).is_some_and(|op| op == "IPC_RMID")
            && c.result.is_some()
    });
    (!removed).then(|| {
        Failure::new(
            "removed around the library",
            format!(
                "the segment {id} (`{}`) is gone, but no process of the run recorded a \
                 shmctl({id}, IPC_RMID, ...): it was removed by a call made around the library \
                 (a raw libc::shmctl), which the checker cannot tell from a segment removed by \
                 someone else. The exercise asks the last process out to remove it with the \
                 library's call (Segment::remove, or dropping the segment it owns)",
                made.text
            ),
        )
    })
}

/// Exercise 04: Ctrl-C must stop the service (leftovers are a common check); the service must
/// be at work when the Ctrl-C comes.
pub fn ex04(trial: &Trial) -> Option<Failure> {
    if let Some(stuck) = trial.stuck.as_ref() {
        let fault = trial.fault_done.clone().unwrap_or_else(|| "Ctrl-C".to_owned());
        return Some(
            Failure::new(
                "did not stop on Ctrl-C",
                format!("after {fault}, {}", stuck.describe(&["LOCK"], &|pid| trial.role_of(pid))),
            )
            .hint(
                "the handler must end the process (and the worker): after cleaning up, exit, or \
                 return from main",
            ),
        );
    }
    let copy = &trial.copies[0];
    let asks = "The exercise asks for a service that works (its worker counts, its parent reports \
                the counter) until Ctrl-C stops it, and that removes what it made when it stops";
    // Ended by itself with status 0 (a failing status, a panic, are the common checks' to
    // report, with the program's own message).
    if trial.fault_done.is_none() && clean(trial) {
        let last = copy.calls.iter().rfind(|c| !c.helper && c.pid == copy.pid);
        let last = last.map_or(String::new(), |c| format!(" Its last call: `{}`.", c.text));
        return Some(
            Failure::new(
                "ended before Ctrl-C",
                format!(
                    "the main process {} exited with status 0 after {} ms, by itself, before the \
                     checker's Ctrl-C was due: nothing was running for the Ctrl-C to stop, so the \
                     clean-up on a signal was never put to the test.{last} {asks}",
                    copy.pid,
                    trial.elapsed.as_millis()
                ),
            )
            .hint(
                "keep the worker and the loop that reports the counter: the service runs until \
                 the Ctrl-C",
            ),
        );
    }
    idle_at_ctrl_c(trial, asks)
}

/// How long the service may go without any work (a load or store of shared memory through the
/// library, a semaphore taken or given) just before the Ctrl-C. The worker works every
/// millisecond and the parent reports every 20 ms: jitter holds one of them back for a few
/// milliseconds, seldom both for this long.
pub const EX04_IDLE: std::time::Duration = std::time::Duration::from_millis(30);

/// Exercise 04: a Ctrl-C that came [`EX04_IDLE`] or more after the run's first call must find
/// the service at work: some step of work in the last [`EX04_IDLE`] before it.
fn idle_at_ctrl_c(trial: &Trial, asks: &str) -> Option<Failure> {
    let fault = trial.fault_ns?;
    let copy = &trial.copies[0];
    let idle = EX04_IDLE.as_nanos() as u64;
    let first = copy.calls.iter().map(|c| c.t0_ns).filter(|&t| t > 0).min()?;
    if fault < first + idle {
        return None; // too early to ask for work
    }
    let worked = |t: u64| t + idle >= fault && t <= fault;
    let accessed = copy.accesses.iter().any(|a| a.op != crate::trace::Op::Fence && worked(a.t_ns));
    let synced = copy.calls.iter().any(|c| crate::evidence::sync_of(c).is_some() && worked(c.t_ns));
    if accessed || synced {
        return None;
    }
    let last = copy
        .accesses
        .iter()
        .filter(|a| a.op != crate::trace::Op::Fence && a.t_ns <= fault)
        .map(|a| a.t_ns)
        .chain(
            copy.calls
                .iter()
                .filter(|c| crate::evidence::sync_of(c).is_some() && c.t_ns <= fault)
                .map(|c| c.t_ns),
        )
        .max();
    // With jitter, a service that seems idle for the window may only have been held back, by a
    // busy machine or by the jitter itself (which may make a process wait for another's sleep):
    // it is judged under the controlled schedules, whose Ctrl-C comes before a step, while some
    // process is at work, or after a long spell with nobody at a point.
    trial.schedule.as_ref()?;
    let since = match last {
        Some(t) => format!("its last step of work came {} ms before it", (fault - t) / 1_000_000),
        None => "it had done no work at all".to_owned(),
    };
    Some(
        Failure::new(
            "idle at Ctrl-C",
            format!(
                "the Ctrl-C came {} ms after the run's first call, and for the {} ms before it no \
                 process of the service loaded or stored shared memory or took or gave a \
                 semaphore through the library: {since}. {asks}. Work done around the library (a \
                 raw pointer, a raw libc::semop) is not seen",
                (fault - first) / 1_000_000,
                EX04_IDLE.as_millis()
            ),
        )
        .hint(
            "keep the worker's loop (lock, fetch_add, unlock) and the parent's report loop: the \
             Ctrl-C must interrupt a service at work",
        ),
    )
}

/// Exercise 05: the counter must be exact, and guarded by a semaphore.
pub fn ex05(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let line = lines(trial, "parent").into_iter().find(|l| l.starts_with("counter: "))?;
    let numbers: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    let drawn = 3 * trial.data().increments;
    if let [_, expected] = numbers.as_slice()
        && *expected != drawn
    {
        return Some(drawn_not_printed(
            "parent",
            line,
            &format!("counter: {drawn} (expected {drawn})"),
            "number of increments (exercise_data::number(\"increments\", ...), for each of 3 \
             workers)",
        ));
    }
    if let [counter, expected] = numbers.as_slice()
        && counter != expected
    {
        return Some(Failure::new(
            "lost update",
            format!(
                "the counter ended at {counter}, not {expected}: {} increments vanished. Two \
                 workers loaded the same value, and both stored value + 1",
                expected - counter
            ),
        ));
    }
    guarded_increments(trial)
}

/// Exercise 05, from the trace: every worker's load and store of the counter happen while it
/// holds a semaphore (or a lock), the same one for every worker, and no atomic does the count.
fn guarded_increments(trial: &Trial) -> Option<Failure> {
    use crate::evidence::{Step, sync_of};
    let copy = &trial.copies[0];
    let evidence = Evidence::of(copy);
    let workers: Vec<i32> =
        copy.roles.iter().filter(|(_, r)| r.starts_with("worker")).map(|(p, _)| *p).collect();
    let mut guards: Vec<(i32, std::collections::BTreeSet<String>)> = Vec::new();
    for &pid in &workers {
        let mut held: Vec<String> = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        for step in evidence.steps_of(pid) {
            match *step {
                Step::Call(i) => match sync_of(&copy.calls[i]) {
                    Some((object, false)) => held.push(object),
                    Some((object, true)) => held.retain(|h| *h != object),
                    None => {}
                },
                Step::Access(i) => {
                    let access = &evidence.accesses()[i];
                    if access.op == crate::trace::Op::Fence || access.bytes.len() != 8 {
                        continue;
                    }
                    if access.op == crate::trace::Op::Rmw {
                        return Some(Failure::new(
                            "no semaphore",
                            format!(
                                "{}: an atomic read-modify-write counts right without any lock. \
                                 This exercise asks for the counter's load and store inside a \
                                 semaphore (exercise 06 does it with an atomic)",
                                evidence.describe(i)
                            ),
                        ));
                    }
                    match held.last() {
                        Some(object) => {
                            used.insert(object.clone());
                        }
                        None => {
                            return Some(Failure::new(
                                "unguarded increment",
                                format!(
                                    "{} while it held no semaphore: another worker could load \
                                     the same value in between. The exercise asks for each load \
                                     and store of the counter between a semop -1 (or sem_wait) \
                                     and the +1 that gives it back",
                                    evidence.describe(i)
                                ),
                            ));
                        }
                    }
                }
            }
        }
        guards.push((pid, used));
    }
    let shared =
        guards.iter().skip(1).all(|(_, used)| used.iter().any(|o| guards[0].1.contains(o)));
    if !shared {
        let each: Vec<String> = guards
            .iter()
            .map(|(pid, used)| {
                let names: Vec<&str> = used.iter().map(String::as_str).collect();
                format!("worker {pid} held {}", names.join(", "))
            })
            .collect();
        return Some(Failure::new(
            "one semaphore per worker",
            format!(
                "each worker took a semaphore of its own ({}): a lock guards only against those \
                 who take the same one. Make one set before the fork and let every worker take it",
                each.join("; ")
            ),
        ));
    }
    None
}

/// Exercise 06: every ticket exactly once, without a semaphore.
pub fn ex06(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let line = lines(trial, "parent").into_iter().find(|l| l.starts_with("tickets: "))?;
    let numbers: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    if let [taken, twice, never] = numbers.as_slice()
        && (*twice > 0 || *never > 0)
    {
        return Some(Failure::new(
            "lost update",
            format!(
                "of {taken} tickets, {twice} went to two workers or more and {never} were never \
                 handed out: two workers loaded the same number and both took that ticket"
            ),
        ));
    }
    let drawn = 3 * trial.data().tickets;
    if let [taken, ..] = numbers.as_slice()
        && *taken != drawn
    {
        return Some(drawn_not_printed(
            "parent",
            line,
            &format!("tickets: {drawn} taken, 0 twice, 0 never"),
            "number of tickets (exercise_data::number(\"tickets\", ...), for each of 3 workers)",
        ));
    }
    if let [taken, ..] = numbers.as_slice()
        && let Some(failure) = tickets_from_the_dispenser(trial, *taken)
    {
        return Some(failure);
    }
    if let Some(call) = calls_named(trial, "semget").next() {
        return Some(Failure::new(
            "semaphore used",
            format!(
                "the tickets are right, but the trace shows {}: this exercise asks for fetch_add, \
                 which needs no lock and no system call",
                call.text
            ),
        ));
    }
    None
}

/// Exercise 06, from the trace: the workers' read-modify-writes of the dispenser (8 bytes)
/// handed out the tickets 0 to `taken` - 1, each once.
fn tickets_from_the_dispenser(trial: &Trial, taken: u64) -> Option<Failure> {
    use crate::trace::{Op, little_endian};
    let copy = &trial.copies[0];
    let evidence = Evidence::of(copy);
    let workers: Vec<i32> =
        copy.roles.iter().filter(|(_, r)| r.starts_with("worker")).map(|(p, _)| *p).collect();
    let words: Vec<usize> = (0..evidence.accesses().len())
        .filter(|&i| {
            let a = &evidence.accesses()[i];
            workers.contains(&a.pid) && a.bytes.len() == 8 && a.op != Op::Fence
        })
        .collect();
    let mut handed: Vec<(u64, u64)> = Vec::new();
    for &i in &words {
        let access = &evidence.accesses()[i];
        match (access.op, &access.old) {
            (Op::Rmw, Some(old)) => handed.push((little_endian(old), access.value())),
            (Op::Store, _) => {
                return Some(Failure::new(
                    "no fetch_add",
                    format!(
                        "{}: a ticket taken with a load and then a store, which another worker \
                         can cut in two. The exercise asks for each ticket to be taken in one \
                         atomic step (fetch_add on the dispenser)",
                        evidence.describe(i)
                    ),
                ));
            }
            _ => {}
        }
    }
    handed.sort_unstable();
    let mut next = 0;
    for &(from, to) in &handed {
        if from != next || to <= from {
            break;
        }
        next = to;
    }
    if handed.is_empty() || next != taken {
        return Some(Failure::new(
            "tickets not taken",
            format!(
                "the parent reports {taken} tickets, but the workers' fetch_adds on the dispenser \
                 handed out {} (tickets 0 to {next} in order, then a gap or an overlap): the \
                 count did not come from the dispenser. The exercise asks each worker to take \
                 its tickets from the one shared dispenser",
                handed.len()
            ),
        ));
    }
    None
}

/// Exercise 07: one line per writer survives.
pub fn ex07(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let copy = &trial.copies[0];
    let writers: Vec<(String, i32)> = copy
        .stdout
        .lines()
        .filter_map(crate::runner::story_line)
        .filter(|(role, _, text)| role.starts_with("writer") && *text == "wrote my line")
        .map(|(role, pid, _)| (role.to_owned(), pid))
        .collect();
    let kept: Vec<&str> = copy.said_by("parent").filter_map(|l| l.strip_prefix("  ")).collect();
    let mut lost = Vec::new();
    for (role, pid) in &writers {
        let line = format!("Process {pid} writing to shared memory.");
        if kept.iter().filter(|k| **k == line).count() != 1 {
            lost.push(format!("{role} ({pid})"));
        }
    }
    if lost.is_empty() && writers.len() == 3 {
        return writers.iter().find_map(|(_, pid)| {
            let line = format!("Process {pid} writing to shared memory.");
            read_from_partner(
                trial,
                "parent",
                &format!("  {line}"),
                &line,
                "The exercise asks the parent to print what the writers left in the segment",
            )
        });
    }
    let how = if kept.len() <= 1 {
        "every writer copied its line to offset 0, over the one before"
    } else {
        "a writer wrote over a line that was already there: where the text ends must be found \
         while the semaphore is held, or two writers find the same end"
    };
    Some(Failure::new(
        "lost message",
        format!(
            "the segment holds {} line(s) at the end, {}; the line of {} is not there (once each): \
             {how}",
            kept.len(),
            kept.iter().map(|k| quoted(k)).collect::<Vec<_>>().join(", "),
            lost.join(" and ")
        ),
    ))
}

/// Exercise 08: the crash stays, and the others get their turn.
pub fn ex08(trial: &Trial) -> Option<Failure> {
    let copy = &trial.copies[0];
    let crashed = copy.said_by("parent").any(|l| l.starts_with("writer 1 crashed"));
    if completed(trial) && !crashed {
        return Some(Failure::new(
            "crash removed",
            "writer 1 did not crash: the crash is the test, leave it where it is and make LOCK \
             survive it",
        ));
    }
    if !clean(trial) {
        return None;
    }
    died_holding(copy).or_else(|| lock_values(copy, &trial.watched))
}

/// One semaphore operation of a traced `semop`: (semaphore, change, SEM_UNDO).
fn sem_ops(call: &Call) -> Vec<(u16, i64, bool)> {
    let Some(sops) = call.args.get(1) else { return Vec::new() };
    sops.split('}')
        .filter_map(|op| {
            let op = op.trim_start_matches([',', ' ', '{']);
            let mut parts = op.split(',').map(str::trim);
            let n = parts.next()?.parse().ok()?;
            let delta = parts.next()?.trim_start_matches('+').parse().ok()?;
            let undo = parts.next()?.contains("SEM_UNDO");
            Some((n, delta, undo))
        })
        .collect()
}

/// A traced, successful `semop` on semaphore `n` of set `semid` by anyone: (call, change, undo).
fn semops_on<'a>(copy: &'a Copy, semid: &str, n: u16) -> Vec<(&'a Call, i64, bool)> {
    copy.calls
        .iter()
        .filter(|c| {
            matches!(c.name.as_str(), "semop" | "semtimedop")
                && c.result.is_some()
                && c.args.first().is_some_and(|a| a == semid)
        })
        .flat_map(|c| {
            sem_ops(c).into_iter().filter(move |op| op.0 == n).map(move |(_, d, u)| (c, d, u))
        })
        .collect()
}

/// Exercise 08, from the trace: writer 1 took LOCK with SEM_UNDO and died holding it (no give
/// after its take); nobody set LOCK by hand after that; every other writer took it.
fn died_holding(copy: &Copy) -> Option<Failure> {
    let first = *copy.roles.iter().find(|(_, r)| *r == "writer 1")?.0;
    let own: Vec<&Call> = copy.calls.iter().filter(|c| c.pid == first && !c.helper).collect();
    let listed = |calls: &[&Call]| {
        if calls.is_empty() {
            "no call".to_owned()
        } else {
            calls.iter().map(|c| quoted(&c.text)).collect::<Vec<_>>().join(", ")
        }
    };
    let asks = "The exercise asks that writer 1 die while it holds LOCK, taken with SEM_UNDO, so \
                that the kernel gives LOCK back when it dies";
    let take = own.iter().find_map(|c| {
        let ops = sem_ops(c);
        let op = ops.iter().find(|op| op.1 < 0)?;
        (matches!(c.name.as_str(), "semop" | "semtimedop") && c.result.is_some())
            .then_some((*c, op.0, op.2))
    });
    let Some((take, lock, undo)) = take else {
        return Some(
            Failure::new(
                "did not die holding LOCK",
                format!(
                    "writer 1 ({first}) ended without taking LOCK: it made {}. {asks}. A semop \
                     made around the library (a raw libc::semop) is not seen: use the library's \
                     call",
                    listed(&own)
                ),
            )
            .hint("take LOCK in writer 1 with `let _held = set.lock(LOCK)?;` before the crash"),
        );
    };
    let semid = take.args.first().cloned().unwrap_or_default();
    let on_lock = semops_on(copy, &semid, lock);
    let reset = |c: &&Call| {
        c.name == "semctl"
            && c.result.is_some()
            && c.args.first() == Some(&semid)
            && c.args.get(2).is_some_and(|a| a == "SETVAL" || a == "SETALL")
            && c.t0_ns >= take.t_ns
    };
    // A give by writer 1 after its take: it no longer held LOCK when it died.
    let given = on_lock.iter().find(|(c, d, _)| c.pid == first && *d > 0 && c.seq > take.seq);
    let set_by_itself = own.iter().find(|c| reset(c) && c.seq > take.seq);
    if let Some(give) = given.map(|(c, _, _)| *c).or(set_by_itself.copied()) {
        let twice = if undo {
            "; it had taken LOCK with SEM_UNDO, so the kernel's undo then gave it back a second \
             time: a double release, and LOCK ends above 1, a lock that no longer excludes"
        } else {
            "; the kernel had nothing to give back"
        };
        return Some(
            Failure::new(
                "did not die holding LOCK",
                format!(
                    "writer 1 ({first}) took LOCK with `{}`, then gave it back itself with `{}` \
                     before it ended{twice}. {asks}",
                    take.text, give.text
                ),
            )
            .hint(
                "writer 1 must not give LOCK back: the crash is the test, and SEM_UNDO's undo \
                   is the only give",
            ),
        );
    }
    if !undo {
        return Some(
            Failure::new(
                "LOCK taken without SEM_UNDO",
                format!(
                    "writer 1 ({first}) took LOCK with `{}`: without SEM_UNDO the kernel has \
                     nothing to undo when it dies. {asks}",
                    take.text
                ),
            )
            .hint("`let _held = set.lock(LOCK)?;` is semop with SEM_UNDO"),
        );
    }
    if let Some(call) = copy.calls.iter().filter(|c| !c.helper).find(reset) {
        return Some(
            Failure::new(
                "LOCK set by hand",
                format!(
                    "after writer 1 ({first}) took LOCK, the {} {} set it with `{}`: the kernel's \
                     SEM_UNDO must give LOCK back, not the program. {asks}",
                    call.role, call.pid, call.text
                ),
            )
            .hint("remove the set_value after the crash: SEM_UNDO gives LOCK back"),
        );
    }
    // The others' turns: a take of LOCK by each other writer (before or after writer 1's).
    let writers: Vec<(i32, &String)> = copy
        .roles
        .iter()
        .filter(|(pid, r)| r.starts_with("writer ") && **pid != first)
        .map(|(pid, r)| (*pid, r))
        .collect();
    for (pid, name) in &writers {
        if !on_lock.iter().any(|(c, d, _)| c.pid == *pid && *d < 0) {
            let made: Vec<&Call> = copy.calls.iter().filter(|c| c.pid == *pid).collect();
            return Some(Failure::new(
                "no turn",
                format!(
                    "{name} ({pid}) never took LOCK (it made {}): every writer must have its \
                     turn under LOCK. A semop made around the library is not seen: use the \
                     library's call",
                    listed(&made)
                ),
            ));
        }
    }
    None
}

/// Exercise 08, from the kernel: LOCK as the checker read it itself (semctl GETVAL, every
/// millisecond or so, while the set existed), never above 1, and 1 whenever the trace shows
/// nobody holding it. The set and LOCK's number are those of writer 1's traced take, or else
/// semaphore 0 of every set the run made; a value read from the kernel cannot be changed by
/// what the program traces or leaves out (a raw libc::semop or semctl changes it, and is seen).
fn lock_values(copy: &Copy, watched: &crate::kernel::Watch) -> Option<Failure> {
    use crate::kernel::Table;
    let role = |pid: i32| copy.role_of(pid).unwrap_or_else(|| "process".to_owned());
    let first = copy.roles.iter().find(|(_, r)| *r == "writer 1").map(|(pid, _)| *pid);
    let take = copy.calls.iter().find_map(|c| {
        let op = sem_ops(c).into_iter().find(|op| op.1 < 0)?;
        (Some(c.pid) == first
            && !c.helper
            && matches!(c.name.as_str(), "semop" | "semtimedop")
            && c.result.is_some())
        .then_some((c, op.0))
    });
    let (sets, lock): (Vec<i32>, u16) = match take {
        Some((call, lock)) => {
            (call.args.first().and_then(|a| a.parse().ok()).into_iter().collect(), lock)
        }
        None => {
            let mut ids: Vec<i32> =
                watched.in_table(Table::SemaphoreSet).map(|s| s.object.id).collect();
            ids.dedup();
            (ids, 0)
        }
    };
    let since = take.map_or(0, |(c, _)| c.t_ns);
    let asks = "The exercise asks that writer 1 die while it holds LOCK, taken with SEM_UNDO, so \
                that the kernel gives LOCK back when it dies";
    let at = |t: u64| match take {
        Some((c, _)) => {
            format!("{:.1} ms after writer 1 took it", t.saturating_sub(c.t_ns) as f64 / 1e6)
        }
        None => "while the run went on".to_owned(),
    };
    for id in sets {
        let semid = id.to_string();
        let on_lock = semops_on(copy, &semid, lock);
        let reaped = copy
            .calls
            .iter()
            .find(|c| {
                c.name == "waitpid" && first.is_some_and(|f| c.returned() == Some(i64::from(f)))
            })
            .map(|c| c.t_ns);
        // Who held LOCK when, by the trace: from the start of each take to the end of its give
        // (writer 1: to its reaping); a hold with no give lasts for ever.
        let mut holds: Vec<(u64, u64)> = Vec::new();
        for (c, _, _) in on_lock.iter().filter(|(_, d, _)| *d < 0) {
            let give = on_lock
                .iter()
                .filter(|(g, gd, _)| g.pid == c.pid && *gd > 0 && g.seq > c.seq)
                .map(|(g, _, _)| g.t_ns)
                .min();
            let end = if Some(c.pid) == first { reaped } else { give };
            holds.push((c.t0_ns, end.unwrap_or(u64::MAX)));
        }
        for seen in watched.of(Table::SemaphoreSet, id) {
            let Some(&(value, last)) = seen.values.get(usize::from(lock)) else { continue };
            if value > 1 {
                return Some(
                    Failure::new(
                        "LOCK above 1",
                        format!(
                            "the checker read LOCK = {value} from the kernel (semctl GETVAL on set \
                         {id}, {}; last changed by {} {last}): LOCK was given back more times \
                         than it was taken, so it no longer keeps writers apart. A lock is 0 \
                         (held) or 1 (free)",
                            at(seen.t0_ns),
                            role(last)
                        ),
                    )
                    .hint(
                        "one give per take: SEM_UNDO's undo is writer 1's give, so writer 1 must \
                       not post",
                    ),
                );
            }
            let free = take.is_some()
                && seen.t0_ns > since
                && !holds.iter().any(|&(from, to)| from <= seen.until_ns && seen.t0_ns <= to);
            if free && value != 1 {
                return Some(
                    Failure::new(
                        "LOCK not given back",
                        format!(
                            "the checker read LOCK = {value} from the kernel (semctl GETVAL on set \
                         {id}, {}) while the trace shows no process holding it: writer 1 had \
                         died and nothing had given LOCK back. {asks}",
                            at(seen.t0_ns)
                        ),
                    )
                    .hint("`let _held = set.lock(LOCK)?;` in writer 1: SEM_UNDO gives it back"),
                );
            }
        }
    }
    None
}

/// The hint for a consumer forked before the segment was made (exercise 09).
const CREATE_BEFORE_FORK: &str =
    "create the segment before fork(): then it exists whichever process runs first";

/// Exercise 09: fork before create, a spin that outlives its partner, five messages in order.
pub fn ex09(trial: &Trial) -> Option<Failure> {
    if let Some(failed) = trial
        .calls()
        .find(|c| c.name == "shmget" && c.role == "consumer" && c.failed_with("ENOENT"))
    {
        let created = calls_named(trial, "shmget").find(|c| {
            c.role == "producer" && c.args.get(2).is_some_and(|f| f.contains("IPC_CREAT"))
        });
        let after = match created {
            Some(created) if created.t_ns > failed.t_ns => format!(
                "; the producer's `{}` came {} µs later",
                created.text,
                (created.t_ns - failed.t_ns) / 1000
            ),
            _ => String::new(),
        };
        let then = if trial.stuck.is_some() {
            ", and then the producer spun for ever on a flag that nobody would ever clear"
        } else {
            ""
        };
        return Some(
            Failure::new(
                "fork before create",
                format!(
                    "the consumer ran first after the fork: its `{}` found no segment{after}{then}",
                    failed.text
                ),
            )
            .hint(CREATE_BEFORE_FORK),
        );
    }
    // The same fault when the consumer did not happen to look first: it was forked before the
    // segment existed, and then opened it by key (a sleep, say, made it look late enough).
    let consumer_opened = trial.calls().find(|c| {
        c.name == "shmget"
            && c.role == "consumer"
            && c.returned().is_some_and(|id| id >= 0)
            && !c.args.get(2).is_some_and(|f| f.contains("IPC_CREAT"))
    });
    let created = calls_named(trial, "shmget")
        .find(|c| c.role != "consumer" && c.args.get(2).is_some_and(|f| f.contains("IPC_CREAT")));
    if let (Some(opened), Some(created)) = (consumer_opened, created)
        && let Some(fork) = calls_named(trial, "fork")
            .find(|f| f.returned() == Some(i64::from(opened.pid)) && f.t_ns < created.t0_ns)
    {
        return Some(
            Failure::new(
                "fork before create",
                format!(
                    "`{}` made the consumer before `{}` made the segment. This run the \
                     consumer's `{}` came late enough to find it; in another the consumer runs \
                     first and finds nothing (ENOENT)",
                    fork.text, created.text, opened.text
                ),
            )
            .hint(CREATE_BEFORE_FORK),
        );
    }
    if let (Some(stuck), Some(fault)) = (&trial.stuck, &trial.fault_done) {
        return Some(
            Failure::new(
                "hangs after its partner died",
                format!("after {fault}, {}", stuck.describe(&[], &|pid| trial.role_of(pid))),
            )
            .hint(
                "wait with shm_workbook::wait::wait_while and the partner it waits for \
                 (Partner::Child, Partner::parent()): it ends with an error when the partner dies",
            ),
        );
    }
    if !clean(trial) {
        return None;
    }
    let consumed: Vec<&str> =
        lines(trial, "consumer").into_iter().filter_map(|l| l.strip_prefix("consumed: ")).collect();
    let messages = trial.data().messages;
    let expected: Vec<String> = (1..=messages).map(|n| format!("message {n}")).collect();
    if consumed != expected {
        let drawn = if consumed.len() == 5 && messages != 5 {
            ". The checker drew this run's number of messages afresh \
             (exercise_data::number(\"messages\", ...)): a count written into the program \
             cannot pass"
        } else {
            ""
        };
        return Some(Failure::new(
            "lost message",
            format!(
                "the consumer printed {consumed:?}, expected message 1 to message {messages}, \
                 each once and in order{drawn}"
            ),
        ));
    }
    expected.iter().find_map(|message| {
        read_from_partner(
            trial,
            "consumer",
            &format!("consumed: {message}"),
            message,
            "The exercise asks the consumer to take each message from the mailbox in the segment",
        )
    })
}

/// Exercise 10: twenty items in order (a deadlock is a common check).
pub fn ex10(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let took: Vec<&str> =
        lines(trial, "consumer").into_iter().filter_map(|l| l.strip_prefix("took item ")).collect();
    let items = trial.data().items;
    let expected: Vec<String> = (1..=items).map(|n| n.to_string()).collect();
    if took != expected {
        let drawn = if took.len() == 20 && items != 20 {
            ". The checker drew this run's number of items afresh \
             (exercise_data::number(\"items\", ...)): a count written into the program cannot \
             pass"
        } else {
            ""
        };
        return Some(Failure::new(
            "lost item",
            format!(
                "the consumer took items {}, expected 1 to {items}, each once and in order{drawn}",
                took.join(", ")
            ),
        ));
    }
    (1..=items).find_map(|item| {
        bytes_from_partner(
            trial,
            "consumer",
            &format!("took item {item}"),
            &item.to_string(),
            &item.to_ne_bytes(),
            "The exercise asks the consumer to take each item from the ring in the segment",
        )
    })
}

/// Exercise 11: another process opened the object by name and read the message.
pub fn ex11(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let copy = &trial.copies[0];
    let created = calls_named(trial, "shm_open")
        .find(|c| c.args.get(1).is_some_and(|f| f.contains("O_CREAT")));
    let read = copy
        .stdout
        .lines()
        .filter_map(crate::runner::story_line)
        .find(|(_, _, text)| text.starts_with("Reader read:"));
    let Some((_, reader, text)) = read else {
        return Some(Failure::new(
            "no reader",
            format!("no process printed `Reader read: ...`; the run printed: {}", copy.tail(4)),
        ));
    };
    let message = trial.data().message;
    let expected = format!("Reader read: {message}");
    if text != expected {
        return Some(drawn_not_printed(
            "reader",
            text,
            &expected,
            "message (exercise_data::text(\"message\", ...))",
        ));
    }
    let writer = created.map_or(copy.pid, |c| c.pid);
    if reader == writer {
        return Some(Failure::new(
            "no communication",
            format!("`Reader read: ...` came from the writer itself ({reader}), which created the \
                     object and reads back its own mapping, as the document's one-process example \
                     does: that shows no communication at all"),
        ).hint("start the reader as a program of its own (std::process::Command with the arguments \
                `read` and the name) and let it open the object by name"));
    }
    let name = created.and_then(|c| c.args.first()).cloned().unwrap_or_default();
    let opened = trial.calls().any(|c| {
        c.pid == reader
            && c.name == "shm_open"
            && c.args.first() == Some(&name)
            && c.args.get(1).is_some_and(|f| !f.contains("O_CREAT"))
            && c.result.is_some()
    });
    let mapped = trial.calls().any(|c| c.pid == reader && c.name == "mmap" && c.result.is_some());
    if opened && mapped {
        return read_from_partner(
            trial,
            "reader",
            text,
            &message,
            "The exercise asks the reader to read the writer's message from the object",
        );
    }
    Some(
        Failure::new(
            "reader did not open the object",
            format!(
                "process {reader} printed the message without opening {name} itself (its trace \
                     has no shm_open of that name without O_CREAT, and an mmap): it used what it \
                     inherited from the writer"
            ),
        )
        .hint(
            "the reader must be a program that knows only the name: shm_open it \
                 (SharedObject::open_read_only), then mmap it (map_read_only)",
        ),
    )
}

/// Exercise 12: no segment open to others, by the mode the kernel holds; the helper attaches
/// read-only.
pub fn ex12(trial: &Trial) -> Option<Failure> {
    if let Some(failure) = ex12_kernel_mode(trial) {
        return Some(failure);
    }
    for call in calls_named(trial, "shmget") {
        let mode = call
            .args
            .get(2)
            .and_then(|flags| flags.rsplit('|').next())
            .and_then(|m| u32::from_str_radix(m, 8).ok());
        if let Some(mode) = mode
            && mode & 0o077 != 0
        {
            return Some(Failure::new(
                "open to others",
                format!(
                    "`{}` by the {}: mode {mode:04o} lets other users attach the segment (`ipcs \
                     -m` shows its id to everyone) and read or change the token",
                    call.text, call.role
                ),
            ));
        }
    }
    // A widening too short for the checker's looks at the kernel is still in the trace.
    for call in calls_named(trial, "shmctl").filter(|c| c.result.is_some()) {
        let mode = call
            .args
            .get(2)
            .and_then(|perm| perm.split("mode=").nth(1))
            .and_then(|m| u32::from_str_radix(m.trim_end_matches('}'), 8).ok());
        if call.args.get(1).is_some_and(|a| a == "IPC_SET")
            && let Some(mode) = mode
            && mode & 0o077 != 0
        {
            return Some(Failure::new(
                "open to others",
                format!(
                    "`{}` by the {} {}: IPC_SET gave the segment mode {mode:04o}, so other users \
                     could attach it and read or change the token. The exercise asks for a \
                     segment only its owner can use, from its creation to its removal",
                    call.text, call.role, call.pid
                ),
            ));
        }
    }
    if let Some(call) = calls_named(trial, "shmat")
        .find(|c| c.role == "helper" && c.args.get(2).is_some_and(|f| f != "SHM_RDONLY"))
    {
        return Some(
            Failure::new(
                "helper attached read-write",
                format!(
                    "the helper only reads, but attached with `{}`: a bug in it could change the \
                     token",
                    call.text
                ),
            )
            .hint(
                "segment.attach_read_only() makes shmat(..., SHM_RDONLY): the region then offers \
                 loads only",
            ),
        );
    }
    if clean(trial) && !lines(trial, "helper").contains(&"helper sees a token of 32 characters") {
        return Some(Failure::new(
            "wrong output",
            format!(
                "expected `helper sees a token of 32 characters`; the run printed: {}",
                trial.copies[0].tail(4)
            ),
        ));
    }
    if clean(trial) {
        return ex12_helper_attached(trial);
    }
    None
}

/// Exercise 12, from the kernel: every segment the run made, at every look the checker took at
/// `/proc/sysvipc/shm` while it ran, had no permission bit for group or others, and belonged to
/// the user who ran it. The trace only says how it got that way.
fn ex12_kernel_mode(trial: &Trial) -> Option<Failure> {
    use crate::kernel::Table;
    let me = nix::unistd::geteuid().as_raw();
    let start = trial.calls().map(|c| c.t0_ns).filter(|&t| t > 0).min();
    for seen in trial.watched.in_table(Table::Segment) {
        let object = &seen.object;
        let open = object.mode & 0o077 != 0;
        if !open && object.uid == me {
            continue;
        }
        let id = i64::from(object.id);
        let made = trial.calls().find(|c| c.name == "shmget" && c.returned() == Some(id));
        let set = trial.calls().filter(|c| {
            c.name == "shmctl"
                && c.result.is_some()
                && c.args.first().and_then(|a| a.parse().ok()) == Some(id)
                && c.args.get(1).is_some_and(|a| a == "IPC_SET")
                && c.t_ns <= seen.until_ns
        });
        let how = match (set.last(), made) {
            (Some(call), _) => {
                format!("`{}` by the {} {} set it so", call.text, call.role, call.pid)
            }
            (None, Some(call)) => {
                format!("`{}` by the {} {} made it so", call.text, call.role, call.pid)
            }
            (None, None) => "no call of the library made it so: a call made around the library \
                             (a raw libc::shmget or shmctl) did, and the checker read the mode \
                             from the kernel all the same"
                .to_owned(),
        };
        let when = match start {
            Some(start) => {
                format!(
                    "{} ms after the run's first call",
                    seen.t0_ns.saturating_sub(start) / 1_000_000
                )
            }
            None => "while the run went on".to_owned(),
        };
        let (kind, what) = if open {
            (
                "open to others",
                format!(
                    "mode {:04o}: group or other users could attach it (`ipcs -m` shows its id to \
                     everyone) and read or change the token",
                    object.mode
                ),
            )
        } else {
            (
                "given to another user",
                format!(
                    "owner uid {}, not {me}, the user who ran it: that user, not this one, could \
                     read the token",
                    object.uid
                ),
            )
        };
        return Some(
            Failure::new(
                kind,
                format!(
                    "the exercise asks for a segment only its owner can use, from its creation to \
                     its removal. The kernel held segment {} (/proc/sysvipc/shm, {when}) with \
                     {what}; {how}",
                    object.id
                ),
            )
            .hint(
                "create it with Segment::create(Key::PRIVATE, SIZE, 0o600) and never widen its \
                 mode (set_mode may only make it stricter: 0400)",
            ),
        );
    }
    None
}

/// Exercise 12: the helper attached the segment, read-only, with the library's call.
fn ex12_helper_attached(trial: &Trial) -> Option<Failure> {
    let copy = &trial.copies[0];
    let pid = copy.roles.iter().find(|(_, role)| *role == "helper").map(|(pid, _)| *pid)?;
    let attached = calls_named(trial, "shmat").any(|c| {
        c.pid == pid && c.result.is_some() && c.args.get(2).is_some_and(|f| f == "SHM_RDONLY")
    });
    if attached {
        return None;
    }
    let made: Vec<String> =
        trial.calls().filter(|c| c.pid == pid && !c.helper).map(|c| quoted(&c.text)).collect();
    let made = if made.is_empty() { "no call at all".to_owned() } else { made.join(", ") };
    Some(
        Failure::new(
            "attach read-only",
            format!(
                "the exercise asks the helper to attach the segment read-only (shmat with \
                 SHM_RDONLY) and read the token there; helper {pid} made {made}: it never \
                 attached the segment, so what it printed was not read from it. An attachment \
                 made around the library (a raw libc::shmat) is not seen"
            ),
        )
        .hint("in the helper: `let memory = segment.attach_read_only()?;`, then load the token"),
    )
}

/// Exercise 13: the mutex made consistent and the accounts repaired.
pub fn ex13(trial: &Trial) -> Option<Failure> {
    let copy = &trial.copies[0];
    if let Some(line) =
        copy.stdout.lines().chain(copy.stderr.lines()).find(|l| l.contains("ENOTRECOVERABLE"))
    {
        return Some(Failure::new(
            "mutex not made consistent",
            format!(
                "the mutex was unlocked after EOWNERDEAD without pthread_mutex_consistent, so the \
                 next lock failed: {}",
                line.trim()
            ),
        ));
    }
    if !clean(trial) {
        return None;
    }
    if !copy.said_by("parent").any(|l| l.starts_with("the owner crashed")) {
        return Some(Failure::new(
            "crash removed",
            "the owner did not crash: the crash is the test, leave it where it is",
        ));
    }
    let result = copy.said_by("parent").find(|l| l.starts_with("a = "));
    let data = trial.data();
    let (a, b) = data.accounts();
    let expected = format!("a = {a}, b = {b}, total = {}", data.total);
    let numbers: Vec<u64> = result
        .unwrap_or("")
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let half_updated = (data.total - data.amount - data.transfer, data.transfer);
    match result {
        Some(line) if line == expected => [a, b]
            .iter()
            .find_map(|value| {
                bytes_from_partner(
                    trial,
                    "parent",
                    line,
                    &value.to_string(),
                    &value.to_ne_bytes(),
                    "The exercise asks the parent to print the accounts as the clerk left them",
                )
            })
            .or_else(|| clerk_under_the_mutex(trial)),
        Some(line)
            if numbers.as_slice() == [half_updated.0, half_updated.1, data.total - data.amount] =>
        {
            Some(
                Failure::new(
                    "half-updated data",
                    format!(
                        "the parent printed {}: the {} the owner took from a never reached b, \
                         because nobody repaired the accounts after EOWNERDEAD",
                        quoted(line),
                        data.amount
                    ),
                )
                .hint(format!(
                    "on Locked::OwnerDied, restore the invariant a + b = {} (the total) before \
                     make_consistent: give b what a lost",
                    data.total
                )),
            )
        }
        Some(line) => Some(drawn_not_printed(
            "parent",
            line,
            &expected,
            "total, amount taken and amount moved (exercise_data::number(\"total\", ...), \
             \"amount\", \"transfer\")",
        )),
        None => Some(Failure::new(
            "wrong output",
            format!("no `a = ..., b = ..., total = ...` line; the run printed: {}", copy.tail(4)),
        )),
    }
}

/// Exercise 13, from the trace: the clerk's loads and stores of the accounts happen while it
/// holds the mutex.
fn clerk_under_the_mutex(trial: &Trial) -> Option<Failure> {
    use crate::evidence::{Step, sync_of};
    let copy = &trial.copies[0];
    let evidence = Evidence::of(copy);
    let clerk = copy.roles.iter().find(|(_, r)| r.as_str() == "clerk").map(|(p, _)| *p);
    let Some(clerk) = clerk else {
        return Some(Failure::new(
            "no clerk",
            "no process named `clerk` ran: the exercise asks a clerk process to move the 5, \
             under the mutex, after the repair",
        ));
    };
    let mut held = 0usize;
    let mut stored = false;
    for step in evidence.steps_of(clerk) {
        match *step {
            Step::Call(i) => match sync_of(&copy.calls[i]) {
                Some((object, false)) if object.starts_with("mutex") => held += 1,
                Some((object, true)) if object.starts_with("mutex") => {
                    held = held.saturating_sub(1)
                }
                _ => {}
            },
            Step::Access(i) => {
                let access = &evidence.accesses()[i];
                if access.bytes.len() != 8 || access.op == crate::trace::Op::Fence {
                    continue;
                }
                stored |= access.writes();
                if held == 0 {
                    return Some(Failure::new(
                        "clerk without the mutex",
                        format!(
                            "{} while it did not hold the mutex: a transfer another process can \
                             see half done. The exercise asks the clerk to lock the mutex, move \
                             the 5, and unlock it",
                            evidence.describe(i)
                        ),
                    ));
                }
            }
        }
    }
    if !stored {
        return Some(Failure::new(
            "no clerk",
            format!(
                "the clerk {clerk} stored nothing in the accounts: the exercise asks the clerk to \
                 move the 5 itself"
            ),
        ));
    }
    None
}

/// Exercise 14: no reader sees a torn configuration.
pub fn ex14(trial: &Trial) -> Option<Failure> {
    if !clean(trial) {
        return None;
    }
    let copy = &trial.copies[0];
    for (role, _, text) in copy.stdout.lines().filter_map(crate::runner::story_line) {
        if !role.starts_with("reader") {
            continue;
        }
        let numbers: Vec<u64> =
            text.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
        if let [reads, torn] = numbers.as_slice()
            && *torn > 0
        {
            return Some(Failure::new(
                "torn read",
                format!(
                    "{role} saw {torn} of its {reads} readings torn: fields of two versions at \
                     once, read while the writer was in the middle of an update"
                ),
            ));
        }
    }
    let [version, width, height, area] = Data::of_version(trial.data().updates);
    let expected = format!("final: version {version}, {width} x {height}, area {area}");
    if !copy.said_by("parent").any(|l| l == expected) {
        if let Some(line) = copy.said_by("parent").find(|l| l.starts_with("final: ")) {
            return Some(drawn_not_printed(
                "parent",
                line,
                &expected,
                "number of updates (exercise_data::number(\"updates\", ...))",
            ));
        }
        return Some(Failure::new(
            "wrong output",
            format!("expected {}; the run printed: {}", quoted(&expected), copy.tail(4)),
        ));
    }
    seqlock_reads(trial)
}

/// Exercise 14, from the trace: each reading a reader accepted is four field loads between two
/// loads of the sequence that found the same even value, with an Acquire fence after the field
/// loads; and its four fields were stored by one update.
fn seqlock_reads(trial: &Trial) -> Option<Failure> {
    use crate::evidence::Step;
    use crate::trace::Op;
    let copy = &trial.copies[0];
    let evidence = Evidence::of(copy);
    let accesses = evidence.accesses();
    let is_sequence = |a: &crate::trace::Access| a.offset == 0 && a.bytes.len() == 4;
    let is_field = |a: &crate::trace::Access| a.data && a.offset >= 64 && a.bytes.len() == 8;
    // Which update stored each field: (process, how many sequence stores came before).
    let mut update_of: std::collections::HashMap<usize, (i32, usize)> = Default::default();
    for &pid in copy.roles.keys() {
        let mut updates = 0;
        for step in evidence.steps_of(pid) {
            let Step::Access(i) = *step else { continue };
            let a = &accesses[i];
            if a.writes() && is_sequence(a) {
                updates += 1;
            } else if a.writes() && is_field(a) {
                update_of.insert(i, (pid, updates));
            }
        }
    }
    // The retry is only exercised by readings that meet a write: some reader must have begun
    // a reading (loaded the sequence) before the writer's last update ended.
    let last_update = accesses
        .iter()
        .filter(|a| {
            a.writes() && is_sequence(a) && copy.roles.get(&a.pid).is_some_and(|r| r == "writer")
        })
        .map(|a| a.t_ns)
        .max();
    let began = |pid: i32| {
        accesses
            .iter()
            .filter(|a| a.pid == pid && is_sequence(a) && a.op == Op::Load)
            .map(|a| a.t0_ns)
            .min()
    };
    let readers: Vec<i32> =
        copy.roles.iter().filter(|(_, r)| r.starts_with("reader")).map(|(&pid, _)| pid).collect();
    if let Some(last) = last_update
        && !readers.is_empty()
        && readers.iter().all(|&pid| began(pid).is_none_or(|first| first > last))
    {
        return Some(Failure::new(
            "no read beside the writer",
            "no reader loaded the sequence before the writer's last update had ended: every \
             reading came after the writing was over, so none could meet a write and the retry \
             was never put to work. The exercise has the readers read over and over while the \
             writer works, and retry when they met it",
        ));
    }
    for (&pid, role) in copy.roles.iter().filter(|(_, r)| r.starts_with("reader")) {
        let mut open: Option<(u64, Vec<usize>, bool)> = None; // (before, fields, fenced)
        let mut accepted = 0;
        for step in evidence.steps_of(pid) {
            let Step::Access(i) = *step else { continue };
            let a = &accesses[i];
            if a.op == Op::Fence {
                if let Some((_, fields, fenced)) = open.as_mut() {
                    *fenced |= !fields.is_empty() && a.order.acquires();
                }
            } else if is_field(a) && a.op == Op::Load {
                match open.as_mut() {
                    Some((_, fields, fenced)) => {
                        fields.push(i);
                        *fenced = false;
                    }
                    None => {
                        return Some(Failure::new(
                            "sequence not checked",
                            format!(
                                "{} with no load of the sequence before it: a reading that \
                                 nothing tells apart from a torn one. The exercise asks each \
                                 reader to load the sequence, the fields, then the sequence \
                                 again, and to retry unless both found the same even value",
                                evidence.describe(i)
                            ),
                        ));
                    }
                }
            } else if is_sequence(a) && a.op == Op::Load {
                let closing = open.as_ref().is_some_and(|(_, fields, _)| !fields.is_empty());
                if !closing {
                    open = Some((a.value(), Vec::new(), false)); // the first load of a reading
                    continue;
                }
                // The load that ends one reading may begin the next: the trace writes a load
                // that finds what the one before found only once.
                let ended = open.replace((a.value(), Vec::new(), false));
                if let Some((before, fields, fenced)) = ended
                    && before % 2 == 0
                    && a.value() == before
                {
                    accepted += 1;
                    if !fenced {
                        return Some(Failure::new(
                            "field loads not ordered",
                            format!(
                                "{role} {pid} accepted a reading: {}, then {}, with no Acquire \
                                 fence between the field loads and the second load of the \
                                 sequence. Nothing orders the field loads before that check, \
                                 so the compiler, or an ARM CPU, may make them after it, and a \
                                 torn reading passes. x86 hides this; the memory model does not",
                                evidence.describe(fields[fields.len() - 1]),
                                evidence.describe(i)
                            ),
                        ));
                    }
                    let updates: std::collections::BTreeSet<(i32, usize)> = fields
                        .iter()
                        .filter_map(|&f| evidence.byte_source(f, 0))
                        .filter_map(|store| update_of.get(&store).copied())
                        .collect();
                    if fields.len() != 4 || updates.len() > 1 {
                        return Some(Failure::new(
                            "torn read accepted",
                            format!(
                                "{role} {pid} accepted a reading of {} field load(s) whose \
                                 values came from {} different updates, between two loads of \
                                 the sequence that found {before}: whatever it printed, the \
                                 reading it kept was torn",
                                fields.len(),
                                updates.len()
                            ),
                        ));
                    }
                }
            }
        }
        if accepted == 0 {
            return Some(Failure::new(
                "sequence not checked",
                format!(
                    "{role} {pid} never accepted a reading between two loads of the sequence \
                     that found the same even value: it read the fields without the check the \
                     exercise is about"
                ),
            ));
        }
    }
    None
}

/// Exercise 15: the client asks for the seals before it trusts the memfd; it refuses an
/// unsealed one (never maps it) and reads a sealed one.
pub fn ex15(trial: &Trial) -> Option<Failure> {
    let peer = trial.peer.as_ref()?;
    if !completed(trial) || !peer.sent {
        return None; // the common checks say why (or the program never connected)
    }
    let copy = &trial.copies[0];
    let mine: Vec<&Call> = trial.calls().filter(|c| !c.helper).collect();
    let received = mine.iter().find_map(|c| {
        let passed = c.text.split_once("SCM_RIGHTS {")?.1.split_once('}')?.0;
        (c.name == "recvmsg").then(|| passed.to_owned())
    });
    let Some(fd) = received else {
        return Some(Failure::new(
            "no descriptor received",
            format!(
                "the client recorded no recvmsg that brought a descriptor; it printed: {}",
                copy.tail(4)
            ),
        ));
    };
    let on_fd = |c: &&&Call| match c.name.as_str() {
        "fcntl" | "fstat" => c.args.first() == Some(&fd),
        "mmap" => c.args.get(4) == Some(&fd),
        _ => false,
    };
    let uses: Vec<&&Call> = mine.iter().filter(on_fd).collect();
    let asked = uses
        .iter()
        .position(|c| c.name == "fcntl" && c.args.get(1).is_some_and(|a| a == "F_GET_SEALS"));
    let mapped = uses.iter().any(|c| c.name == "mmap" && c.result.is_some());
    let said = |start: &str| {
        copy.stdout
            .lines()
            .filter_map(crate::runner::story_line)
            .find(|(_, _, t)| t.starts_with(start))
            .map(|(_, _, t)| t.to_owned())
    };
    if !peer.sealed && mapped {
        let died = match copy.ending {
            Ending::Signaled(signal) => {
                format!(", and died of {signal} when it loaded from the last page")
            }
            _ => String::new(),
        };
        let shrink = match &peer.shrink {
            Some(Ok(())) => "; the server then shrank it to 0 bytes with ftruncate",
            _ => "",
        };
        let checked = if asked.is_some() {
            "asked for the seals, then"
        } else {
            "never asked for the seals, and"
        };
        return Some(
            Failure::new(
                "mapped an unsealed buffer",
                format!(
                    "the server sent memfd {fd} with no seals; the client {checked} mapped \
                     it{shrink}{died}"
                ),
            )
            .hint(
                "ask with F_GET_SEALS (memfd.seals()) before fstat and mmap, and refuse the buffer \
                 unless F_SEAL_SHRINK and F_SEAL_SEAL are set",
            ),
        );
    }
    let first_use = uses.iter().position(|c| c.name == "fstat" || c.name == "mmap");
    match (asked, first_use) {
        (None, _) => {
            return Some(Failure::new(
                "seals not checked",
                format!(
                    "the client made no fcntl({fd}, F_GET_SEALS) on the descriptor it received"
                ),
            ));
        }
        (Some(at), Some(before)) if before < at => {
            return Some(
                Failure::new(
                    "size trusted before the seals",
                    format!(
                        "the client's `{}` came before its F_GET_SEALS: the size it read could \
                         change before the check",
                        uses[before].text
                    ),
                )
                .hint("the order is F_GET_SEALS, then fstat, then mmap"),
            );
        }
        _ => {}
    }
    if !peer.sealed {
        if said("Client refused").is_none() || peer.answer != Some(b'r') {
            return Some(Failure::new(
                "refusal not said",
                "the client did not map the unsealed buffer, but did not send b'r' and print \
                 `Client refused: ...` either",
            ));
        }
        return None;
    }
    let expected = format!("Client read: {} / {}", peer.token, crate::peer::TRAILER);
    match said("Client read:") {
        Some(text) if text == expected => {
            [peer.token.as_str(), crate::peer::TRAILER].iter().find_map(|part| {
                loaded_by(
                    trial,
                    "client",
                    &text,
                    part,
                    "The exercise asks the client to read the buffer it was sent",
                )
            })
        }
        Some(text) => Some(Failure::new(
            "wrong text",
            format!("the client printed `{text}`, where the server wrote `{expected}`"),
        )),
        None if said("Client refused").is_some() => Some(
            Failure::new(
                "refused a sealed buffer",
                "the server sent a memfd sealed with \
                 F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE|F_SEAL_SEAL, and the client refused it",
            )
            .hint("refuse only what lacks F_SEAL_SHRINK or F_SEAL_SEAL: Seals::missing says which"),
        ),
        None => Some(Failure::new(
            "nothing read",
            format!("the client printed no `Client read: ...`: {}", copy.tail(4)),
        )),
    }
}

/// Exercise 16: the waiter gets the message, and no wake-up is lost (or papered over by a
/// timeout).
pub fn ex16(trial: &Trial) -> Option<Failure> {
    let wakes: Vec<&Call> = calls_named(trial, "futex")
        .filter(|c| c.args.get(1).is_some_and(|op| op == "FUTEX_WAKE") && c.role == "parent")
        .collect();
    if trial.stuck.is_some()
        && let Some(wake) = wakes.iter().find(|c| c.returned() == Some(0))
    {
        return Some(Failure::new(
            "lost wake-up",
            format!(
                "the parent's {} woke nobody: the waiter had checked `ready` but was not asleep \
                 yet; it then went to sleep on a word that would never change again",
                quoted(&wake.text)
            ),
        ));
    }
    // A wait for `ready` to leave 1 (the value it holds once the message is there) can only end
    // by its timeout: the waiter slept on the new value, after the wake had gone by.
    let timed_out = calls_named(trial, "futex").find(|c| {
        c.role == "waiter"
            && c.args.get(1).is_some_and(|op| op == "FUTEX_WAIT")
            && c.args.get(2).is_some_and(|value| value == "1")
            && c.failed_with("ETIMEDOUT")
    });
    if let Some(wait) = timed_out {
        return Some(
            Failure::new(
                "lost wake-up, hidden by a timeout",
                format!(
                    "the waiter's {} ended by its timeout, not by the parent's wake: the wake was \
                     lost, and the timeout only makes the loss slow",
                    quoted(&wait.text)
                ),
            )
            .hint(
                "do not paper over a lost wake-up with a timeout: pass FUTEX_WAIT the value you \
                 checked",
            ),
        );
    }
    if !clean(trial) {
        return None;
    }
    let copy = &trial.copies[0];
    let message = trial.data().message;
    let expected = format!("got: {message}");
    if !copy.said_by("waiter").any(|l| l == expected) {
        if let Some(line) = copy.said_by("waiter").find(|l| l.starts_with("got: ")) {
            return Some(drawn_not_printed(
                "waiter",
                line,
                &expected,
                "message (exercise_data::text(\"message\", ...))",
            ));
        }
        return Some(Failure::new(
            "wrong output",
            format!(
                "expected the waiter to print {}; the run printed: {}",
                quoted(&expected),
                copy.tail(4)
            ),
        ));
    }
    read_from_partner(
        trial,
        "waiter",
        &expected,
        &message,
        "The exercise asks the waiter to read the parent's message from the segment once woken",
    )
    .or_else(|| slept_between_looks(trial))
    .or_else(|| {
        let slept = calls_named(trial, "futex")
            .any(|c| c.role == "waiter" && c.args.get(1).is_some_and(|op| op == "FUTEX_WAIT"));
        let not_ready = copy.said_by("waiter").any(|l| l.starts_with("not ready"));
        (not_ready && !slept).then(|| {
            Failure::new(
                "no wait",
                "the waiter found no message, yet its trace has no futex(..., FUTEX_WAIT, ...): \
                 it slept some other way (a raw libc::syscall, a sleep), which the checker cannot \
                 see and which loses the wake-up or wastes time. The exercise asks the waiter to \
                 sleep with futex::wait",
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::Report;
    use crate::runner::Copy;

    /// A recorded call: its name, its arguments, and its errno if it failed.
    type Made = (&'static str, &'static [&'static str], Option<&'static str>);

    /// A run of exercise 15 whose client (pid 10) made `calls` (name, args, errno) and printed
    /// `said`, against a peer that sent a memfd, `sealed` or not, and got `answer`.
    /// The client's loads of what `said` says it read (`Client read: A / B`), as the library
    /// records them: A at the start of the mapping, B on its last page.
    fn loads_of(said: &str) -> Vec<crate::trace::Access> {
        let Some(read) = said.strip_prefix("Client read: ") else { return Vec::new() };
        read.split(" / ")
            .zip([0u64, 4096])
            .enumerate()
            .map(|(n, (text, offset))| crate::trace::Access {
                pid: 10,
                seq: 100 + n as u64,
                op: crate::trace::Op::Load,
                object: "00:01:7".into(),
                offset,
                bytes: [text.as_bytes(), &[0]].concat(),
                old: None,
                order: crate::trace::Order::Relaxed,
                t0_ns: 1,
                t_ns: 2,
                data: true,
            })
            .collect()
    }

    fn run15(sealed: bool, calls: &[Made], said: &str, answer: u8) -> Trial {
        let calls = calls
            .iter()
            .map(|(name, args, errno)| Call {
                pid: 10,
                role: "client".into(),
                name: (*name).into(),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
                result: errno.is_none().then(|| "0".to_owned()),
                errno: errno.map(str::to_owned),
                text: if *name == "recvmsg" {
                    "recvmsg(3, &msg /* 1 byte, SCM_RIGHTS {4} */, MSG_CMSG_CLOEXEC) = 1".into()
                } else {
                    format!("{name}({}) = 0", args.join(", "))
                },
                ..Call::default()
            })
            .collect();
        Trial {
            copies: vec![Copy {
                pid: 10,
                ending: Ending::Exited(0),
                stdout: format!("[client 10] {said}\n"),
                stderr: String::new(),
                calls,
                accesses: loads_of(said),
                objects: Default::default(),
                roles: Default::default(),
            }],
            fault_done: None,
            stuck: None,
            leftovers: Vec::new(),
            strays: Vec::new(),
            elapsed: std::time::Duration::ZERO,
            peer: Some(Report {
                sealed,
                token: "token 1".into(),
                sent: true,
                answer: Some(answer),
                shrink: (answer == b'm').then(|| if sealed { Err("EPERM".into()) } else { Ok(()) }),
                problem: None,
            }),
            fault_ns: None,
            watched: Default::default(),
            schedule: None,
            seed: 0,
        }
    }

    const RECEIVED: Made = ("recvmsg", &["3", "&msg", "MSG_CMSG_CLOEXEC"], None);
    const SEALS: Made = ("fcntl", &["4", "F_GET_SEALS"], None);
    const SIZE: Made = ("fstat", &["4", "&st"], None);
    const MAP: Made = ("mmap", &["NULL", "8192", "PROT_READ", "MAP_SHARED", "4", "0"], None);
    const READ: &str = "Client read: token 1 / end of the buffer";
    const REFUSED: &str = "Client refused: F_SEAL_SEAL|F_SEAL_SHRINK missing";

    fn kind(trial: &Trial) -> Option<String> {
        ex15(trial).map(|failure| failure.kind)
    }

    #[test]
    fn ex15_valid_clients_pass() {
        // Seals, size, map, read; and an unsealed buffer refused after the check alone.
        assert_eq!(kind(&run15(true, &[RECEIVED, SEALS, SIZE, MAP], READ, b'm')), None);
        assert_eq!(kind(&run15(false, &[RECEIVED, SEALS], REFUSED, b'r')), None);
        // An alternative: the size asked after the check even when the buffer is refused.
        assert_eq!(kind(&run15(false, &[RECEIVED, SEALS, SIZE], REFUSED, b'r')), None);
    }

    #[test]
    fn ex15_a_client_that_prints_what_it_did_not_load_fails() {
        let mut trial = run15(true, &[RECEIVED, SEALS, SIZE, MAP], READ, b'm');
        trial.copies[0].accesses.truncate(1); // the first page loaded, the last page made up
        assert_eq!(kind(&trial).as_deref(), Some("not read from shared memory"));
    }

    #[test]
    fn ex15_cheats_fail() {
        let cases: [(bool, &[Made], &str, u8, &str); 6] = [
            // The document's trust: no check, mapped.
            (false, &[RECEIVED, SIZE, MAP], READ, b'm', "mapped an unsealed buffer"),
            // Checked, but mapped anyway.
            (false, &[RECEIVED, SEALS, SIZE, MAP], REFUSED, b'r', "mapped an unsealed buffer"),
            // Mapped first, checked after.
            (true, &[RECEIVED, SIZE, MAP, SEALS], READ, b'm', "size trusted before the seals"),
            // Never checks, and never maps: it refuses everything.
            (true, &[RECEIVED], REFUSED, b'r', "seals not checked"),
            // Checks, and refuses even a sealed buffer.
            (true, &[RECEIVED, SEALS], REFUSED, b'r', "refused a sealed buffer"),
            // Prints a text it did not read.
            (true, &[RECEIVED, SEALS, SIZE, MAP], "Client read: token 0 / end", b'm', "wrong text"),
        ];
        for (sealed, calls, said, answer, expected) in cases {
            assert_eq!(
                kind(&run15(sealed, calls, said, answer)).as_deref(),
                Some(expected),
                "{said}"
            );
        }
    }

    use crate::kernel::{IpcObject, Sighting, Table, Watch};

    /// A traced call of `pid` (`role`): its name, arguments, result, place and times (ms).
    fn call(
        pid: i32,
        role: &str,
        name: &str,
        args: &[&str],
        result: &str,
        seq: u64,
        ms: u64,
    ) -> Call {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        Call {
            pid,
            role: role.into(),
            name: name.into(),
            text: format!("{name}({}) = {result}", args.join(", ")),
            args,
            result: Some(result.into()),
            t0_ns: ms * 1_000_000,
            t_ns: ms * 1_000_000 + 1000,
            seq,
            ..Call::default()
        }
    }

    /// A run of one copy whose main process is pid 1, with these calls, roles and sightings.
    fn run_of(calls: Vec<Call>, roles: &[(i32, &str)], sightings: Vec<Sighting>) -> Trial {
        Trial {
            copies: vec![Copy {
                pid: 1,
                ending: Ending::Exited(0),
                stdout: String::new(),
                stderr: String::new(),
                calls,
                accesses: Vec::new(),
                objects: Default::default(),
                roles: roles.iter().map(|(pid, role)| (*pid, (*role).to_owned())).collect(),
            }],
            fault_done: None,
            stuck: None,
            leftovers: Vec::new(),
            strays: Vec::new(),
            elapsed: std::time::Duration::from_millis(50),
            peer: None,
            fault_ns: None,
            watched: Watch { sightings, looks: 10 },
            schedule: None,
            seed: 0,
        }
    }

    fn object(table: Table, id: i32, mode: u32) -> IpcObject {
        IpcObject {
            table,
            id,
            key: "0x00000000".into(),
            mode,
            uid: nix::unistd::geteuid().as_raw(),
            cpid: Some(1),
            last_pids: Vec::new(),
            size: 1,
            attached: Some(1),
        }
    }

    /// Set 9's LOCK seen at `value` from `from` to `to` ms.
    fn lock_seen(value: i32, from: u64, to: u64) -> Sighting {
        Sighting {
            t0_ns: from * 1_000_000,
            until_ns: to * 1_000_000,
            object: object(Table::SemaphoreSet, 9, 0o600),
            values: vec![(value, 2)],
        }
    }

    const ROLES08: [(i32, &str); 4] =
        [(1, "parent"), (2, "writer 1"), (3, "writer 2"), (4, "writer 3")];
    const UNDO_TAKE: &str = "{0, -1, SEM_UNDO}";
    const UNDO_GIVE: &str = "{0, +1, SEM_UNDO}";

    /// Exercise 08 as solved: writer 1 takes LOCK with SEM_UNDO at 2 ms and is reaped at 5 ms;
    /// writers 2 and 3 take and give it at 10-11 and 20-21 ms.
    fn solved08() -> Vec<Call> {
        vec![
            call(
                1,
                "parent",
                "semget",
                &["IPC_PRIVATE", "1", "IPC_CREAT|IPC_EXCL|0600"],
                "9",
                1,
                0,
            ),
            call(1, "parent", "semctl", &["9", "0", "SETVAL", "1"], "0", 2, 1),
            call(2, "writer 1", "semop", &["9", UNDO_TAKE, "1"], "0", 2, 2),
            call(1, "parent", "waitpid", &["2", "&status", "0"], "2", 3, 5),
            call(3, "writer 2", "semop", &["9", UNDO_TAKE, "1"], "0", 2, 10),
            call(3, "writer 2", "semop", &["9", UNDO_GIVE, "1"], "0", 3, 11),
            call(4, "writer 3", "semop", &["9", UNDO_TAKE, "1"], "0", 2, 20),
            call(4, "writer 3", "semop", &["9", UNDO_GIVE, "1"], "0", 3, 21),
        ]
    }

    fn kind08(calls: Vec<Call>, sightings: Vec<Sighting>) -> Option<String> {
        let mut trial = run_of(calls, &ROLES08, sightings);
        trial.copies[0].stdout = "[parent 1] writer 1 crashed (exit status 3)\n".into();
        ex08(&trial).map(|failure| failure.kind)
    }

    #[test]
    fn ex08_a_writer_that_dies_holding_lock_passes() {
        // LOCK held by writer 1 (0), free after its death (1), held by writer 2, free again.
        let seen = vec![
            lock_seen(0, 3, 4),
            lock_seen(1, 6, 9),
            lock_seen(0, 10, 11),
            lock_seen(1, 12, 19),
        ];
        assert_eq!(kind08(solved08(), seen), None);
    }

    #[test]
    fn ex08_the_trace_shows_a_writer_1_that_did_not_die_holding_lock() {
        // It posts after its take (a double release, since the take had SEM_UNDO).
        let mut calls = solved08();
        calls.push(call(2, "writer 1", "semop", &["9", "{0, +1, 0}", "1"], "0", 3, 3));
        assert_eq!(kind08(calls, Vec::new()).as_deref(), Some("did not die holding LOCK"));
        // It never takes LOCK.
        let calls: Vec<Call> = solved08().into_iter().filter(|c| c.pid != 2).collect();
        assert_eq!(kind08(calls, Vec::new()).as_deref(), Some("did not die holding LOCK"));
        // It takes LOCK without SEM_UNDO (and the parent sets it back by hand).
        let mut calls = solved08();
        calls[2].args[1] = "{0, -1, 0}".into();
        calls.push(call(1, "parent", "semctl", &["9", "0", "SETVAL", "1"], "0", 4, 6));
        assert_eq!(kind08(calls, Vec::new()).as_deref(), Some("LOCK taken without SEM_UNDO"));
        // It takes with SEM_UNDO, and the parent sets LOCK by hand all the same.
        let mut calls = solved08();
        calls.push(call(1, "parent", "semctl", &["9", "0", "SETVAL", "1"], "0", 4, 6));
        assert_eq!(kind08(calls, Vec::new()).as_deref(), Some("LOCK set by hand"));
        // Writer 3 never takes LOCK.
        let calls: Vec<Call> = solved08().into_iter().filter(|c| c.pid != 4).collect();
        assert_eq!(kind08(calls, Vec::new()).as_deref(), Some("no turn"));
    }

    #[test]
    fn ex08_the_kernel_shows_what_raw_calls_did() {
        // A raw libc::semop +1 by writer 1 (not traced): the kernel held LOCK at 2 after its
        // death.
        let seen = vec![lock_seen(0, 3, 4), lock_seen(2, 6, 9)];
        assert_eq!(kind08(solved08(), seen).as_deref(), Some("LOCK above 1"));
        // Nothing gave LOCK back (a raw SETVAL came later): 0 while the trace shows no holder.
        let seen = vec![lock_seen(0, 3, 4), lock_seen(0, 6, 8), lock_seen(1, 8, 9)];
        assert_eq!(kind08(solved08(), seen).as_deref(), Some("LOCK not given back"));
        // Writer 1's take made with a raw semop: only the kernel's values are left, and 3 fails.
        let calls: Vec<Call> = solved08().into_iter().filter(|c| c.pid != 2).collect();
        let failure = lock_values(
            &run_of(calls, &ROLES08, vec![lock_seen(3, 6, 9)]).copies[0],
            &Watch { sightings: vec![lock_seen(3, 6, 9)], looks: 1 },
        );
        assert_eq!(failure.map(|f| f.kind).as_deref(), Some("LOCK above 1"));
    }

    /// A segment (id 5) seen with `mode` from 1 to 9 ms.
    fn segment_seen(mode: u32) -> Sighting {
        Sighting {
            t0_ns: 1_000_000,
            until_ns: 9_000_000,
            object: object(Table::Segment, 5, mode),
            values: Vec::new(),
        }
    }

    fn solved12() -> Vec<Call> {
        vec![
            call(
                1,
                "service",
                "shmget",
                &["IPC_PRIVATE", "64", "IPC_CREAT|IPC_EXCL|0600"],
                "5",
                1,
                0,
            ),
            call(1, "service", "shmat", &["5", "NULL", "0"], "0x7f00", 2, 1),
            call(2, "helper", "shmat", &["5", "NULL", "SHM_RDONLY"], "0x7f00", 2, 3),
        ]
    }

    fn ex12_run(calls: Vec<Call>, seen: Vec<Sighting>) -> Option<Failure> {
        let mut trial = run_of(calls, &[(1, "service"), (2, "helper")], seen);
        trial.copies[0].stdout = "[helper 2] helper sees a token of 32 characters\n".into();
        ex12(&trial)
    }

    #[test]
    fn ex12_the_mode_and_owner_are_the_kernels() {
        assert_eq!(ex12_run(solved12(), vec![segment_seen(0o600), segment_seen(0o400)]), None);
        // Widened with IPC_SET after a 0600 shmget: the kernel held 0666.
        let mut calls = solved12();
        calls.push(call(
            1,
            "service",
            "shmctl",
            &["5", "IPC_SET", "{shm_perm={mode=0666}}"],
            "0",
            3,
            1,
        ));
        let failure =
            ex12_run(calls.clone(), vec![segment_seen(0o600), segment_seen(0o666)]).unwrap();
        assert_eq!(failure.kind, "open to others");
        assert!(failure.evidence.contains("IPC_SET"), "{}", failure.evidence);
        // Too short for the checker's looks: the trace still shows it.
        let failure = ex12_run(calls.clone(), vec![segment_seen(0o600)]).unwrap();
        assert_eq!(failure.kind, "open to others");
        assert!(failure.evidence.contains("IPC_SET gave"), "{}", failure.evidence);
        // Made 0666 around the library: no call says so, the kernel does.
        let calls: Vec<Call> = solved12().into_iter().filter(|c| c.name != "shmget").collect();
        let failure = ex12_run(calls, vec![segment_seen(0o666)]).unwrap();
        assert_eq!(failure.kind, "open to others");
        assert!(failure.evidence.contains("around the library"), "{}", failure.evidence);
        // Given to another user.
        let mut other = segment_seen(0o600);
        other.object.uid += 1;
        assert_eq!(ex12_run(solved12(), vec![other]).unwrap().kind, "given to another user");
    }

    #[test]
    fn ex12_a_helper_that_never_attaches_fails() {
        let calls: Vec<Call> = solved12().into_iter().filter(|c| c.pid != 2).collect();
        let failure = ex12_run(calls, vec![segment_seen(0o600)]).unwrap();
        assert_eq!(failure.kind, "attach read-only");
        assert!(failure.evidence.contains("helper 2 made no call"), "{}", failure.evidence);
    }

    /// A run of exercise 04: the parent creates at 1 ms; the worker (pid 2) works at `work`
    /// (ms); the Ctrl-C comes at `ctrl_c` ms, if it came.
    fn ex04_run(work: &[u64], ctrl_c: Option<u64>) -> Option<String> {
        ex04_run_in(work, ctrl_c, false)
    }

    /// [`ex04_run`], with or without a controlled schedule.
    fn ex04_run_in(work: &[u64], ctrl_c: Option<u64>, scheduled: bool) -> Option<String> {
        let mut calls = vec![call(
            1,
            "parent",
            "shmget",
            &["IPC_PRIVATE", "64", "IPC_CREAT|IPC_EXCL|0600"],
            "5",
            1,
            1,
        )];
        for (i, &ms) in work.iter().enumerate() {
            calls.push(call(2, "worker", "semop", &["9", UNDO_TAKE, "1"], "0", i as u64 + 2, ms));
        }
        let mut trial = run_of(calls, &[(1, "parent"), (2, "worker")], Vec::new());
        trial.fault_ns = ctrl_c.map(|ms| ms * 1_000_000);
        trial.fault_done = ctrl_c.map(|ms| format!("Ctrl-C after {ms} ms"));
        trial.schedule = scheduled.then(crate::schedule::Record::default);
        trial.copies[0].ending = match ctrl_c {
            Some(_) => Ending::Exited(130),
            None => Ending::Exited(0),
        };
        ex04(&trial).map(|failure| failure.kind)
    }

    #[test]
    fn ex04_the_service_must_be_at_work_when_ctrl_c_comes() {
        assert_eq!(ex04_run(&[1, 2, 3, 20, 38], Some(39)), None);
        // Too early to ask for work.
        assert_eq!(ex04_run(&[], Some(5)), None);
        // Ended by itself before the Ctrl-C: no fault was injected.
        assert_eq!(ex04_run(&[1, 2], None).as_deref(), Some("ended before Ctrl-C"));
        // At work once, then idle: nothing in the last 30 ms before a Ctrl-C at 39 ms. With
        // jitter that may be a held-back service; under a controlled schedule it is not.
        assert_eq!(ex04_run(&[1, 2], Some(39)), None);
        assert_eq!(ex04_run_in(&[1, 2], Some(39), true).as_deref(), Some("idle at Ctrl-C"));
        assert_eq!(ex04_run_in(&[], Some(39), true).as_deref(), Some("idle at Ctrl-C"));
    }
}
