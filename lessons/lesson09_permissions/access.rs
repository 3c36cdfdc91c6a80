//! Lesson 09's plumbing: a refusal told apart from a failure, a mode in words and why it
//! refused, a quiet end for a process about to fault, two `--step` pauses' texts, and a
//! classmate's part: the command the lesson gives them, and that command (`attach SHMID...`),
//! which attaches, reads and writes another user's segments and reports what the kernel said.

use nix::errno::Errno;

use shm_workbook::lesson::{Lesson, LessonCommand, LessonFlag, shown};
use shm_workbook::{Error, Narrator, Result, Segment};

// ANCHOR: tried
/// Prints the call just made. A refusal (EACCES, EPERM) is part of the story: it is printed
/// with why (`why`, or the errno's meaning for that call) and gives `None`; any other failure
/// is a real error.
pub fn tried<T>(out: &Narrator, result: Result<T>, why: Option<String>) -> Result<Option<T>> {
    match result {
        Ok(value) => {
            out.call();
            Ok(Some(value))
        }
        Err(err) if matches!(err.errno(), Some(Errno::EACCES | Errno::EPERM)) => {
            out.call_note(why.unwrap_or_else(|| err.meaning().to_owned()));
            Ok(None)
        }
        Err(err) => Err(err),
    }
}
// ANCHOR_END: tried

/// Why an attach was refused: `read-write needs r and w; mode 0640 gives others ---`.
/// `class` is `owner`, `group` or `others`.
pub fn refusal(what: &str, mode: u32, class: &str) -> String {
    let shift = match class {
        "owner" => 6,
        "group" => 3,
        _ => 0,
    };
    let whom = if class == "others" { class.to_owned() } else { format!("the {class}") };
    let (mode, bits) = (shm_workbook::call::octal(mode), rwx(mode >> shift));
    format!("{what}; mode {mode} gives {whom} {bits}")
}

/// In a child about to fault on purpose: no core file (not dumpable), and SIGSEGV's default
/// action, so that the process simply dies and its parent sees the signal, with no message.
pub fn die_quietly_on_a_fault() -> Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    nix::sys::prctl::set_dumpable(false).map_err(|errno| Error::sys("prctl", errno))?;
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_DFL runs no code of ours in a signal handler; it replaces the
    // handler Rust's runtime installs to report stack overflows, which has nothing to report.
    unsafe { sigaction(Signal::SIGSEGV, &default) }.map_err(|e| Error::sys("sigaction", e))?;
    Ok(())
}

/// The flags of lesson 09's `attach` command.
pub const FLAGS: &[LessonFlag] = &[
    LessonFlag::switch("--read-only", "with attach: attach with SHM_RDONLY, only read"),
    LessonFlag::text("--write", "TEXT", "with attach: write TEXT at the start of each segment"),
];

/// Lesson 09's command, for a classmate (another user) to run on the lesson's segments.
pub const COMMANDS: &[LessonCommand] = &[LessonCommand {
    usage: "attach SHMID...",
    help: "for a classmate: attach these segments, read, write; say what the kernel said",
}];

/// What the lesson prints at its pause for a classmate: the exact command to run on `ids`,
/// with cargo from their own copy of the workbook, or with this very binary (which another
/// user can run if they may enter every directory on its path).
pub fn invitation(bin: &str, ids: &[i32], text: &str) -> String {
    let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
    let args = format!("attach {} --write \"{text}\"", ids.join(" "));
    let binary = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| format!("target/debug/{bin}"));
    format!(
        "A classmate (another user on this machine) may now try your segments.\n\
         From their own copy of the workbook:\n  cargo run --bin {bin} -- {args}\n\
         or with your build, if they may enter its directories:\n  {binary} {args}\n\
         (--read-only instead of --write TEXT asks only to read.)\n\
         When they are done, press Enter: the lesson looks at its segments again."
    )
}

/// Runs the lesson's `story` when the command line names no command, or the classmate's
/// command (`attach SHMID...`); any other word is refused (exit status 2).
pub fn story_or_command(lesson: &Lesson, story: fn(&Lesson) -> Result<()>) -> Result<()> {
    match lesson.arguments() {
        [] => {
            refuse_attach_flags(lesson);
            story(lesson)
        }
        [command, shmids @ ..] if command == "attach" => attach_command(lesson, shmids),
        words => {
            let words = shown(&words.join(" "));
            lesson.usage_error(&format!("unknown command {words}"), COMMANDS)
        }
    }
}

/// Part 1's `--step` pause: where to see the three segments' modes and owners.
pub fn look_at_modes(ids: &[i32]) -> String {
    let me = shm_workbook::lesson::user_name();
    let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
    let [a, b, c] = [&ids[0], &ids[1], &ids[2]];
    format!(
        "Three segments exist: shmids {a}, {b} and {c}.\n\
         In another terminal, run:  ipcs -m\n\
         The perms column shows 600, 640 and 666; the owner column shows {me}.\n\
         `ipcs -m -c` shows the creator and owner (cuid, uid) and their groups."
    )
}

/// Part 3's `--step` pause: the owner of segment `id` (mode 0400) tries to write it.
pub fn try_to_write(id: i32) -> String {
    format!(
        "Segment {id} has mode 0400: its owner may read it, and nobody may write it.\n\
         You own it: try to write it anyway:  cargo run --bin lesson09 -- attach {id} --write x\n\
         The kernel says EACCES (unless you are root: CAP_IPC_OWNER skips the check)."
    )
}

/// Says that a step was skipped, and why.
pub fn skipped(out: &Narrator, why: &str) {
    out.line().text("skipped: this step needs root").note(why).print();
}

/// Refuses `--read-only` and `--write` without `attach` (exit status 2).
fn refuse_attach_flags(lesson: &Lesson) {
    if lesson.switch("--read-only") || lesson.text("--write").is_some() {
        lesson.usage_error("--read-only and --write go with attach SHMID", COMMANDS);
    }
}

/// `attach SHMID... [--read-only | --write TEXT]`, what a classmate runs: each segment in turn
/// attached, read, written if asked, and detached, as the kernel allows. Bad words (no shmid,
/// not a number, an id no segment has) end the command with a sentence and exit status 2.
pub fn attach_command(lesson: &Lesson, words: &[String]) -> Result<()> {
    let (read_only, text) = (lesson.switch("--read-only"), lesson.text("--write"));
    if read_only && text.is_some() {
        lesson.usage_error("--read-only cannot --write: choose one", COMMANDS);
    }
    let ids = shmids(words).unwrap_or_else(|problem| lesson.usage_error(&problem, COMMANDS));
    let out = lesson.narrator("classmate");
    out.value("running as", shm_workbook::privilege::Identity::current().describe());
    for id in ids {
        let attached = attach(&out, id, read_only, text);
        unless_missing(lesson, &out, id, attached)?;
    }
    Ok(())
}

/// The shmids a command was given (`attach 5 6 7`), or the sentence that says why the words
/// are not shmids: none given, or one that is not a whole number.
pub fn shmids(words: &[String]) -> std::result::Result<Vec<i32>, String> {
    if words.is_empty() {
        return Err("attach needs one shmid or more, as `ipcs -m` lists them: attach 32769".into());
    }
    let shmid = |word: &String| {
        word.parse::<i32>().ok().filter(|&id| id >= 0).ok_or_else(|| {
            let word = shown(word);
            format!("{word} is not a shmid: a shmid is a whole number, as `ipcs -m` lists them")
        })
    };
    words.iter().map(shmid).collect()
}

/// An attach refused because no segment has the id (EINVAL: never made, or removed; EIDRM)
/// means the command was given a bad shmid: the call is printed as made, then the command
/// stops with a sentence and exit status 2. Any other result is handed back.
fn unless_missing<T>(lesson: &Lesson, out: &Narrator, id: i32, result: Result<T>) -> Result<T> {
    match result {
        Err(err) if matches!(err.errno(), Some(Errno::EINVAL | Errno::EIDRM)) => {
            out.call_note(err.meaning());
            let problem = format!(
                "no segment has shmid {id} (never made, or removed): \
                 `ipcs -m` lists those that exist"
            );
            lesson.usage_error(&problem, COMMANDS)
        }
        other => other,
    }
}

// ANCHOR: attach
/// What `attach` does with one shmid: `shmat` read-write (or SHM_RDONLY), read the text at the
/// start, write `text` over it if asked to, `shmdt`; each call printed as the kernel answered
/// it. A refusal (EACCES) is part of the report; any other failure is returned.
pub fn attach(out: &Narrator, id: i32, read_only: bool, text: Option<&str>) -> Result<()> {
    let segment = Segment::from_id(id);
    let read_aloud = |text: String| out.line().text("  read ").value(format!("{text:?}")).print();
    if read_only {
        let why = Some("SHM_RDONLY needs r for your class".to_owned());
        if let Some(memory) = tried(out, segment.attach_read_only(), why)? {
            read_aloud(memory.load_c_string(0));
            memory.detach()?;
            out.call();
        }
    } else if let Some(memory) =
        tried(out, segment.attach(), Some("read-write needs r and w for your class".into()))?
    {
        read_aloud(memory.load_c_string(0));
        if let Some(text) = text {
            memory.store_c_string(0, text)?;
            out.line().text("  wrote ").value(format!("{text:?}")).print();
        }
        memory.detach()?;
        out.call();
    }
    Ok(())
}
// ANCHOR_END: attach

/// The low three bits of `bits` as `ls -l` writes them: `rw-`.
pub fn rwx(bits: u32) -> String {
    let bit = |mask: u32, letter: char| if bits & mask != 0 { letter } else { '-' };
    [bit(4, 'r'), bit(2, 'w'), bit(1, 'x')].iter().collect()
}

/// What a mode grants each class: `owner rw-, group r--, others ---` for 0640.
pub fn who_may(mode: u32) -> String {
    format!("owner {}, group {}, others {}", rwx(mode >> 6), rwx(mode >> 3), rwx(mode))
}

/// The process's umask (`umask(2)` has no read-only form: it is set and put back at once).
pub fn umask() -> u32 {
    use nix::sys::stat::Mode;
    let old = nix::sys::stat::umask(Mode::from_bits_truncate(0o077));
    nix::sys::stat::umask(old);
    old.bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_ls_writes_them() {
        assert_eq!(rwx(0o6), "rw-");
        assert_eq!(who_may(0o640), "owner rw-, group r--, others ---");
    }
}
