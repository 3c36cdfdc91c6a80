//! # Lesson 09: permissions and access control
//!
//! What it shows: who may attach, change and remove a System V segment, and how the kernel
//! decides. Every segment carries an owner, a group and nine mode bits, as a file does.
//! - Part 1: three segments with modes 0600, 0640 and 0666, as `shmctl(IPC_STAT)` and
//!   `/proc/sysvipc/shm` (what `ipcs -m` prints) report them; the umask does not apply.
//! - Part 2 (needs root): two children become another user (`nobody`) before they knock. The
//!   stranger gets EACCES on 0600 and 0640, and on 0666 reads the parent's data and overwrites
//!   it; the one in the owner's group may read the 0640 segment, not write it.
//! - Part 3: the mode binds the owner too: on a 0400 segment, the documents' own
//!   `shmget(key, size, IPC_CREAT|0666)` fails with EACCES, and so does a read-write attach;
//!   SHM_RDONLY works. (Root is exempt: it holds CAP_IPC_OWNER.)
//! - Part 4: SHM_RDONLY: a child stores through a read-only attachment and dies of SIGSEGV;
//!   the parent reports the signal and finds its data intact.
//! - Part 5: IPC_SET changes the mode of an existing segment. Only the owner, the creator or a
//!   privileged process may: as root, a stranger gets EPERM for IPC_SET and IPC_RMID even on a
//!   0666 segment it can write; the owner can lock itself out of writing and still set the
//!   mode back, because IPC_SET checks ownership, not mode.
//!
//! It reproduces the permissions sections of the source documents (seeds 000 and 003), which
//! say that modes "control access" and then recommend 0666 everywhere: read and write for
//! every user on the machine.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson09                        # as yourself: Part 2 says why it is skipped
//! cargo build --bin lesson09 && sudo target/debug/lesson09   # as root: the whole story
//! cargo run --bin lesson09 -- --step              # pauses to look at `ipcs -m`
//! ```
//!
//! Things to try: at the first `--step` pause, ask a classmate on the same server to run
//! `ipcs -m`: they see your segments. Then `dmesg | tail` after Part 4 (if you may read the
//! kernel log): the kernel noted the fault ("segfault at ... error 7").

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use shm_workbook::privilege::{self, Identity};
use shm_workbook::process::{self, Exit};
use shm_workbook::shm::{self, octal};
use shm_workbook::{Error, Key, Lesson, Narrator, Result, ScratchDir, Segment};

/// Every segment's size: one page.
const SIZE: usize = 4096;
/// The three modes of Part 1: owner only; owner and group reading; everyone.
const MODES: [u32; 3] = [0o600, 0o640, 0o666];
/// What the parent keeps in each segment.
const SECRET: &str = "the parent's secret";

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson09");
    let parent = lesson.narrator("parent");
    parent.value("running as", Identity::current().describe());
    // Becoming another user needs privilege; without it, Part 2 and half of Part 5 are skipped.
    let privileged = privilege::can_become(&Identity::nobody());

    lesson.part("Part 1: three modes, as the kernel records them");
    let segments = three_modes(&lesson)?;
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 2: another user knocks (needs root)");
    if privileged {
        another_user_knocks(&lesson, &segments)?;
    } else {
        skipped(&parent, "only root may become another user: setuid needs CAP_SETUID");
        parent.explain("what it would show: a process of another user gets EACCES on 0600 and 0640, and on 0666 reads and overwrites your data");
        parent.explain("try it with a classmate: `ipcs -m` shows them your shmids, and their shmat() on a 0666 one succeeds");
    }
    for segment in segments {
        let id = segment.id();
        segment.remove()?;
        parent.typed_call(format!("shmctl({id}, IPC_RMID, NULL)"), 0);
    }
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 3: the mode binds the owner too");
    the_owner_is_checked_too(&lesson)?;
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 4: SHM_RDONLY: a write through a read-only attachment faults");
    read_only_write_faults(&lesson)?;
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 5: IPC_SET changes the mode, and only the owner may");
    change_the_mode(&lesson, privileged)?;
    Ok(())
}

// ANCHOR: three_modes
/// Creates one segment per mode, writes the parent's secret into each, and shows the modes as
/// IPC_STAT and /proc/sysvipc/shm report them.
fn three_modes(lesson: &Lesson) -> Result<Vec<Segment>> {
    let parent = lesson.narrator("parent");
    let umask = current_umask();
    let mut segments = Vec::new();
    for mode in MODES {
        let segment = Segment::create(Key::PRIVATE, SIZE, mode)?;
        parent.typed_call_note(
            format!("shmget(IPC_PRIVATE, {SIZE}, IPC_CREAT|{})", octal(mode)),
            format!("shmid {}", segment.id()),
            who_may(mode),
        );
        segment.attach()?.store_c_string(0, SECRET)?;
        segments.push(segment);
    }
    parent.line().text("wrote ").value(format!("{SECRET:?}")).text(" into each of them").print();

    for segment in &segments {
        let stat = segment.stat()?;
        parent.typed_call_note(
            format!("shmctl({}, IPC_STAT, &ds)", segment.id()),
            0,
            format!(
                "shm_perm.mode {}, uid {}, gid {}, cuid {}, cgid {}",
                octal(stat.mode),
                privilege::describe_uid(stat.uid),
                privilege::describe_gid(stat.gid),
                stat.cuid,
                stat.cgid
            ),
        );
    }
    parent.explain(format!(
        "owner and group are the creator's effective ids; the umask ({umask:03o}) was not applied: \
         open(2) with 0666 would have made a {:03o} file, shmget keeps 0666",
        0o666 & !umask
    ));

    let ids: Vec<i32> = segments.iter().map(Segment::id).collect();
    parent.say("/proc/sysvipc/shm, the table `ipcs -m` reads (some of its columns):");
    for row in sysvipc_rows(&ids)? {
        parent.line().text("    ").value(row).print();
    }
    parent
        .explain("perms is the mode in octal; ipcs -m shows the same rows, with the owner's name");
    parent.explain("IPC_PRIVATE only means \"no key\": every user sees these shmids, and the mode alone decides who gets in");
    lesson.step(
        &parent,
        &format!(
            "Three segments exist: shmids {}, {} and {}.\n\
             In another terminal, run:  ipcs -m\n\
             The perms column shows 600, 640 and 666; the owner column shows {}.\n\
             `ipcs -m -c` shows the creator and owner (cuid, uid) and their groups.",
            ids[0],
            ids[1],
            ids[2],
            shm_workbook::lesson::user_name()
        ),
    );
    Ok(segments)
}
// ANCHOR_END: three_modes

// ANCHOR: another_user
/// Two children give up root before they knock on each segment: the stranger is `nobody` in
/// `nobody`'s group; the member is `nobody` in the owner's group.
fn another_user_knocks(lesson: &Lesson, segments: &[Segment]) -> Result<()> {
    let parent = lesson.narrator("parent");
    let owner_gid = Identity::current().gid();
    let visitors = [
        ("stranger", Identity::nobody(), "others", true),
        ("member", Identity::nobody().with_group(owner_gid), "group", false),
    ];
    for (role, who, class, vandal) in visitors {
        let child = process::spawn(role, |out| {
            privilege::become_user(&who)?;
            out.typed_call_note(
                format!("setgroups(0, NULL); setgid({}); setuid({})", who.gid(), who.uid()),
                0,
                format!("now {}: the {class} class", who.describe()),
            );
            for (segment, mode) in segments.iter().zip(MODES) {
                knock(out, segment, mode, class, vandal)?;
            }
            Ok(())
        })?;
        child.wait()?;
        lesson.pause_for(Duration::from_millis(400));
    }

    for (segment, mode) in segments.iter().zip(MODES) {
        let text = segment.attach()?.load_c_string(0);
        let note = if text == SECRET {
            "untouched".to_owned()
        } else {
            format!("mode {}: any user on the machine may read and change it", octal(mode))
        };
        parent
            .line()
            .text(format!("shmid {} now holds ", segment.id()))
            .value(format!("{text:?}"))
            .note(note)
            .print();
    }
    Ok(())
}

/// Tries a read-write attach, then a read-only one; the stranger overwrites what it can.
fn knock(out: &Narrator, segment: &Segment, mode: u32, class: &str, vandal: bool) -> Result<()> {
    let id = segment.id();
    let why = |what: &str| refusal(what, mode, class);
    let read_write = attempt(
        out,
        format!("shmat({id}, NULL, 0)"),
        segment.attach().map_err(|err| err.with_meaning(why("read-write needs r and w"))),
        address,
    )?;
    if let Some(memory) = read_write {
        out.line()
            .text(format!("  mode {}: read ", octal(mode)))
            .value(format!("{:?}", memory.load_c_string(0)))
            .print();
        if vandal {
            let graffiti = format!("overwritten by uid {}", nix::unistd::getuid());
            memory.store_c_string(0, &graffiti)?;
            out.line()
                .text("  wrote ")
                .value(format!("{graffiti:?}"))
                .note("into another user's segment")
                .print();
        }
        return Ok(());
    }
    let read_only = attempt(
        out,
        format!("shmat({id}, NULL, SHM_RDONLY)"),
        segment.attach_read_only().map_err(|err| err.with_meaning(why("SHM_RDONLY needs r"))),
        address,
    )?;
    if let Some(memory) = read_only {
        out.line()
            .text(format!("  mode {}: read ", octal(mode)))
            .value(format!("{:?}", memory.load_c_string(0)))
            .note("reading is all it may do")
            .print();
    }
    Ok(())
}
// ANCHOR_END: another_user

// ANCHOR: owner_too
/// A segment with mode 0400, opened by a second program of the same user: the documents' way
/// (asking for read and write) and the careful way (asking for nothing, attaching read-only).
fn the_owner_is_checked_too(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let mut dir = ScratchDir::new("lesson09")?;
    let path = dir.create_file("keyfile", b"ftok reads this file's inode, never its contents\n")?;
    let key = Key::ftok(&path, 9)?;
    let segment = Segment::create(key, SIZE, 0o400)?;
    parent.typed_call_note(
        format!("shmget({}, {SIZE}, IPC_CREAT|IPC_EXCL|0400)", key.hex()),
        format!("shmid {}", segment.id()),
        who_may(0o400),
    );

    let program = process::spawn("second", |out| {
        out.explain("another program of the same user, opening the segment by its key:");
        let call = format!("shmget({}, {SIZE}, IPC_CREAT|0666)", key.hex());
        attempt(out, call, Segment::create_or_open(key, SIZE, 0o666), |s| {
            format!("shmid {}", s.id())
        })?;
        out.explain("the mode bits in shmflg are the access asked for: 0666 asks for read and write, and the owner's bits are r--");
        let opened = Segment::open(key, 0)?;
        out.typed_call_note(
            format!("shmget({}, 0, 0)", key.hex()),
            format!("shmid {}", opened.id()),
            "asks for no access: only the id",
        );
        let id = opened.id();
        let read_write = attempt(
            out,
            format!("shmat({id}, NULL, 0)"),
            opened.attach().map_err(|err| {
                err.with_meaning(refusal("read-write needs r and w", 0o400, "owner"))
            }),
            address,
        )?;
        let read_only = attempt(
            out,
            format!("shmat({id}, NULL, SHM_RDONLY)"),
            opened.attach_read_only(),
            address,
        )?;
        if read_only.is_some() {
            out.explain("SHM_RDONLY needs only the read bit, which the owner has");
        }
        if read_write.is_some() {
            out.explain("read-write worked: this process holds CAP_IPC_OWNER (root does), which skips the mode check; as an ordinary user both read-write requests fail with EACCES");
        } else {
            out.explain("the kernel checks the owner against the owner's bits like anyone else: being the owner gives no write access that the mode does not");
        }
        Ok(())
    })?;
    program.wait()?;
    let id = segment.id();
    segment.remove()?;
    parent.typed_call(format!("shmctl({id}, IPC_RMID, NULL)"), 0);
    Ok(())
}
// ANCHOR_END: owner_too

// ANCHOR: read_only_fault
/// A child attaches read-only, reads, and then stores through the attachment anyway.
fn read_only_write_faults(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let id = segment.id();
    parent
        .typed_call(format!("shmget(IPC_PRIVATE, {SIZE}, IPC_CREAT|0600)"), format!("shmid {id}"));
    let memory = segment.attach()?;
    memory.store_c_string(0, SECRET)?;
    parent.line().text("wrote ").value(format!("{SECRET:?}")).print();

    let child = process::spawn("child", |out| {
        let view = segment.attach_read_only()?;
        out.typed_call_note(
            format!("shmat({id}, NULL, SHM_RDONLY)"),
            address(&view),
            "mapped PROT_READ: the CPU will refuse stores",
        );
        out.line().text("read ").value(format!("{:?}", view.load_c_string(0))).print();
        out.explain(
            "`view.store(0, b\"X\")` would not even compile: a Region<ReadOnly> has loads only",
        );
        die_quietly_on_a_fault()?;
        out.typed_call_note(
            "prctl(PR_SET_DUMPABLE, 0); signal(SIGSEGV, SIG_DFL)",
            0,
            "no core file, no handler: a fault simply ends the process",
        );
        out.explain(
            "now a raw store through an unsafe pointer, outside what the types allow: the CPU faults, the kernel sends SIGSEGV",
        );
        // SAFETY: deliberately *not* a sound operation, and outside Rust's guarantees: writing
        // to read-only memory is undefined behaviour as far as the language is concerned. What
        // makes it harmless here is the machine, not Rust: the page is mapped PROT_READ, so the
        // store instruction traps before it writes anything; the kernel delivers SIGSEGV, whose
        // default action (restored just above, with core dumps off) ends this child at that
        // instruction. Nothing is written, no Rust code runs after it, and the child owns no
        // object, so the parent cleans up as usual. A volatile write keeps the compiler from
        // removing or moving the store.
        unsafe { std::ptr::write_volatile(view.as_ptr().cast_mut(), b'X') };
        out.say("this line is never printed: the store did not fault");
        Ok(())
    })?;
    let pid = child.pid();
    match child.wait_exit()? {
        Exit::Signal(Signal::SIGSEGV) => parent.typed_call_note(
            format!("waitpid({pid}, &status, 0)"),
            "WIFSIGNALED, WTERMSIG = SIGSEGV",
            "the child was killed by the fault",
        ),
        other => {
            return Err(Error::other(
                format!("waitpid({pid}) for the child"),
                format!("expected death by SIGSEGV, got {other:?}"),
            ));
        }
    }
    parent
        .line()
        .text("the segment still holds ")
        .value(format!("{:?}", memory.load_c_string(0)))
        .note("the store never happened")
        .print();
    parent.typed_call_note(
        format!("shmctl({id}, IPC_STAT, &ds)"),
        format!("shm_nattch {}", segment.stat()?.attachments),
        "the kernel detached the dead child: only ours is left",
    );
    drop(memory);
    segment.remove()?;
    parent.typed_call(format!("shmctl({id}, IPC_RMID, NULL)"), 0);
    Ok(())
}

/// In the child about to fault: no core file (not dumpable), and SIGSEGV's default action, so
/// that the process simply dies and the parent sees the signal, without a message.
fn die_quietly_on_a_fault() -> Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    nix::sys::prctl::set_dumpable(false)
        .map_err(|errno| Error::sys("prctl(PR_SET_DUMPABLE, 0)", errno))?;
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_DFL runs no code of ours in a signal handler; it replaces the
    // handler Rust's runtime installs to report stack overflows, which has nothing to report.
    unsafe { sigaction(Signal::SIGSEGV, &default) }
        .map_err(|errno| Error::sys("sigaction(SIGSEGV, SIG_DFL)", errno))?;
    Ok(())
}
// ANCHOR_END: read_only_fault

// ANCHOR: ipc_set
/// The owner changes the mode; a stranger may not (as root); the owner locks itself out of
/// writing and still sets the mode back.
fn change_the_mode(lesson: &Lesson, privileged: bool) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let id = segment.id();
    parent
        .typed_call(format!("shmget(IPC_PRIVATE, {SIZE}, IPC_CREAT|0600)"), format!("shmid {id}"));
    set_mode(&parent, &segment, 0o666)?;

    if privileged {
        let stranger = Identity::nobody();
        let child = process::spawn("stranger", |out| {
            privilege::become_user(&stranger)?;
            out.typed_call_note(
                format!(
                    "setgroups(0, NULL); setgid({}); setuid({})",
                    stranger.gid(),
                    stranger.uid()
                ),
                0,
                format!("now {}", stranger.describe()),
            );
            attempt(out, format!("shmat({id}, NULL, 0)"), segment.attach(), address)?;
            let call = format!("shmctl({id}, IPC_SET, {{.shm_perm.mode = 0600}})");
            attempt(out, call, shm::set_mode(id, 0o600), |_| "0".to_owned())?;
            let call = format!("shmctl({id}, IPC_RMID, NULL)");
            attempt(out, call, Segment::from_id(id).remove(), |_| "0".to_owned())?;
            Ok(())
        })?;
        child.wait()?;
        let stat = segment.stat()?;
        parent.typed_call_note(
            format!("shmctl({id}, IPC_STAT, &ds)"),
            format!("mode {}", octal(stat.mode)),
            "still there, mode unchanged",
        );
        parent.explain("the mode decides who reads and writes the data; IPC_SET and IPC_RMID need ownership: the owner (uid), the creator (cuid) or CAP_SYS_ADMIN");
    } else {
        skipped(
            &parent,
            "a stranger's IPC_SET and IPC_RMID need another user, and only root may become one",
        );
        parent.explain("what it would show: another user, even with 0666 (read and write), gets EPERM from IPC_SET and IPC_RMID: they check ownership, not the mode");
    }

    set_mode(&parent, &segment, 0o400)?;
    lesson.step(
        &parent,
        &format!(
            "Segment {id} now has mode 0400.\n\
             In another terminal, run:  ipcs -m -i {id}\n\
             mode=0400: its owner may read it, and no one may write it (root aside)."
        ),
    );
    let locked = attempt(
        &parent,
        format!("shmat({id}, NULL, 0)"),
        segment
            .attach()
            .map_err(|err| err.with_meaning(refusal("read-write needs r and w", 0o400, "owner"))),
        address,
    )?;
    match locked {
        None => parent.explain("the owner locked itself out of writing"),
        Some(_) => parent.explain("root got in anyway: CAP_IPC_OWNER skips the mode check (an ordinary owner gets EACCES)"),
    }
    lesson.pause_for(Duration::from_millis(800));
    set_mode(&parent, &segment, 0o600)?;
    parent.explain(
        "IPC_SET worked although the mode grants no write: it checks who you are, not the mode",
    );
    attempt(&parent, format!("shmat({id}, NULL, 0)"), segment.attach(), address)?;
    segment.remove()?;
    parent.typed_call(format!("shmctl({id}, IPC_RMID, NULL)"), 0);
    Ok(())
}

/// `shmctl(id, IPC_SET, ...)` by the owner, then IPC_STAT to show the new mode.
fn set_mode(out: &Narrator, segment: &Segment, mode: u32) -> Result<()> {
    segment.set_mode(mode)?;
    let now = segment.stat()?.mode;
    out.typed_call_note(
        format!("shmctl({}, IPC_SET, {{.shm_perm.mode = {}}})", segment.id(), octal(mode)),
        0,
        format!("IPC_STAT now says {}: {}", octal(now), who_may(now)),
    );
    Ok(())
}
// ANCHOR_END: ipc_set

/// Narrates a call that may be refused on purpose: `call = value` on success, `call = -1
/// EACCES   (what it means)` on EACCES or EPERM. Any other failure is a real error.
fn attempt<T>(
    out: &Narrator,
    call: String,
    result: Result<T>,
    shown: impl FnOnce(&T) -> String,
) -> Result<Option<T>> {
    match result {
        Ok(value) => {
            out.typed_call(call, shown(&value));
            Ok(Some(value))
        }
        Err(err) if matches!(err.errno(), Some(Errno::EACCES | Errno::EPERM)) => {
            let errno = err.errno().unwrap_or(Errno::UnknownErrno);
            let failed = if call.starts_with("shmat") { "(void *) -1" } else { "-1" };
            out.typed_call_note(call, format!("{failed}, errno {errno:?}"), err.meaning());
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// An attachment's address, as `shmat` returns it.
fn address<A: shm_workbook::region::Access>(memory: &shm_workbook::Region<A>) -> String {
    format!("{:#x}", memory.address())
}

/// `owner rw-, group r--, others ---`.
fn who_may(mode: u32) -> String {
    format!("owner {}, group {}, others {}", rwx(mode >> 6), rwx(mode >> 3), rwx(mode))
}

/// Why an attach was refused: `read-write needs r and w; mode 0640 gives others ---`.
fn refusal(what: &str, mode: u32, class: &str) -> String {
    let shift = match class {
        "owner" => 6,
        "group" => 3,
        _ => 0,
    };
    let whom = if class == "others" { class.to_owned() } else { format!("the {class}") };
    format!("{what}; mode {} gives {whom} {}", octal(mode), rwx(mode >> shift))
}

/// The low three bits of `bits` as `ls -l` writes them: `rw-`.
fn rwx(bits: u32) -> String {
    let bit = |mask: u32, letter: char| if bits & mask != 0 { letter } else { '-' };
    [bit(4, 'r'), bit(2, 'w'), bit(1, 'x')].iter().collect()
}

/// Says that a step was skipped, and why.
fn skipped(out: &Narrator, why: &str) {
    out.line().text("skipped: this step needs root").note(why).print();
}

/// The process's umask (read by setting it and putting it back).
fn current_umask() -> u32 {
    use nix::sys::stat::{Mode, umask};
    let old = umask(Mode::from_bits_truncate(0o077));
    umask(old);
    old.bits()
}

/// Our rows of /proc/sysvipc/shm, with a header, in a few of its columns.
fn sysvipc_rows(ids: &[i32]) -> Result<Vec<String>> {
    const COLUMNS: [&str; 7] = ["key", "shmid", "perms", "size", "cpid", "uid", "gid"];
    let text = shm_workbook::procfs::read("/proc/sysvipc/shm")?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    let at: Vec<usize> =
        COLUMNS.iter().filter_map(|c| header.iter().position(|h| h == c)).collect();
    let format = |fields: Vec<&str>| fields.iter().map(|f| format!("{f:>8}")).collect::<String>();
    let mut rows = vec![format(COLUMNS.to_vec())];
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let id =
            header.iter().position(|&h| h == "shmid").and_then(|i| fields.get(i)?.parse().ok());
        if id.is_some_and(|id| ids.contains(&id)) {
            rows.push(format(at.iter().filter_map(|&i| fields.get(i).copied()).collect()));
        }
    }
    Ok(rows)
}
