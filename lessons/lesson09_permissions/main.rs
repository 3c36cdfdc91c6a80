//! # Lesson 09: permissions and access control
//!
//! What it shows: who may attach, change and remove a System V segment, and how the kernel
//! decides. Every segment carries an owner, a group and nine mode bits, as a file does.
//! - Part 1: segments with modes 0600, 0640 and 0666, as IPC_STAT and `/proc/sysvipc/shm`
//!   (what `ipcs -m` prints) report them; the umask does not apply.
//! - Part 2: another user knocks. At the `--step` pause a classmate runs the `attach` command
//!   printed; then the lesson reads shm_nattch, shm_lpid and the bytes. As root, two children
//!   become `nobody` too: EACCES on 0600 and 0640 (the one in the owner's group may read
//!   0640), and on 0666 the stranger reads the secret and overwrites it.
//! - Part 3: the mode binds the owner too: on a 0400 segment, the documents'
//!   `shmget(key, size, IPC_CREAT|0666)` fails with EACCES, and so does a read-write attach;
//!   SHM_RDONLY works. (Root is exempt: it holds CAP_IPC_OWNER.)
//! - Part 4: safe Rust cannot store through a read-only attachment (`Region<ReadOnly>` has
//!   loads only); a child does it anyway, in `unsafe`, and dies of SIGSEGV; the data is intact.
//! - Part 5: IPC_SET changes the mode. Only the owner, the creator or a privileged process may
//!   (a stranger gets EPERM, even on 0666), and the owner may set back a mode that locks it out.
//!
//! It reproduces the permissions sections of the source documents (seeds 000 and 003), which
//! say that modes "control access" and then recommend 0666 everywhere: read and write for
//! every user on the machine.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson09                        # as yourself: Part 2 says what it skips
//! cargo build --bin lesson09 && sudo target/debug/lesson09   # as root: the whole story
//! cargo run --bin lesson09 -- --step              # pauses at each part
//! cargo run --bin lesson09 -- attach 32769 --write "hi"   # a classmate, on your segment
//! ```
//!
//! Things to try: after a classmate's attach, `ipcs -m -p` shows their pid as the lpid.

mod access;

use std::time::Duration;

use access::{refusal, tried, umask, who_may};
use nix::sys::signal::Signal;
use shm_workbook::call::octal;
use shm_workbook::privilege::{self, Identity};
use shm_workbook::process::{self, Exit};
use shm_workbook::sysv::shm;
use shm_workbook::{Error, Key, Lesson, Narrator, Result, ScratchDir, Segment, procfs};

/// Every segment's size: one page.
const SIZE: usize = 4096;
/// The three modes of Part 1: owner only; owner and group reading; everyone.
const MODES: [u32; 3] = [0o600, 0o640, 0o666];
/// What the parent keeps in each segment.
const SECRET: &str = "the parent's secret";

fn main() -> Result<()> {
    let lesson = Lesson::start_with_commands("lesson09", access::FLAGS, access::COMMANDS);
    access::story_or_command(&lesson, story) // `-- attach SHMID...` is the classmate's command
}

/// The lesson itself, in five parts.
fn story(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    parent.value("running as", Identity::current().describe());
    // Becoming another user needs privilege; without it, Part 2 and half of Part 5 are skipped.
    let privileged = privilege::can_become(&Identity::nobody());

    lesson.part("Part 1: three modes, as the kernel records them");
    let segments = three_modes(lesson)?;
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 2: another user knocks");
    let ids: Vec<i32> = segments.iter().map(Segment::id).collect();
    lesson.step(&parent, &access::invitation("lesson09", &ids, "a classmate was here"));
    look_again(&parent, &segments)?;
    if privileged {
        another_user_knocks(lesson, &segments)?;
    } else {
        access::skipped(&parent, "only root may become another user: setuid needs CAP_SETUID");
        parent.explain("a classmate can knock for real: run with --step, give them its command");
    }
    for segment in segments {
        segment.remove()?;
        parent.call();
    }
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 3: the mode binds the owner too");
    the_owner_is_checked_too(lesson)?;
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 4: SHM_RDONLY: a write through a read-only attachment faults");
    read_only_write_faults(lesson)?;
    lesson.pause_for(Duration::from_millis(800));

    lesson.part("Part 5: IPC_SET changes the mode, and only the owner may");
    change_the_mode(lesson, privileged)?;
    Ok(())
}

// ANCHOR: three_modes
/// Creates one segment per mode, writes the parent's secret into each, and shows the modes as
/// IPC_STAT and /proc/sysvipc/shm report them.
fn three_modes(lesson: &Lesson) -> Result<Vec<Segment>> {
    let parent = lesson.narrator("parent");
    let umask = umask();
    let mut segments = Vec::new();
    for mode in MODES {
        let segment = Segment::create(Key::PRIVATE, SIZE, mode)?;
        parent.call_note(who_may(mode));
        segment.attach()?.store_c_string(0, SECRET)?;
        segments.push(segment);
    }
    parent.line().text("wrote ").value(format!("{SECRET:?}")).text(" into each of them").print();

    for segment in &segments {
        let stat = segment.stat()?;
        let (uid, gid) = (privilege::describe_uid(stat.uid), privilege::describe_gid(stat.gid));
        let (mode, cuid, cgid) = (octal(stat.mode), stat.cuid, stat.cgid);
        parent.call_note(format!(
            "shm_perm.mode {mode}, uid {uid}, gid {gid}, cuid {cuid}, cgid {cgid}"
        ));
    }
    parent.explain(format!(
        "owner and group are the creator's effective ids; the umask ({umask:03o}) was not applied: \
         open(2) with 0666 would have made a {:03o} file, shmget keeps 0666",
        0o666 & !umask
    ));

    let ids: Vec<i32> = segments.iter().map(Segment::id).collect();
    parent.say("/proc/sysvipc/shm, the table `ipcs -m` reads (some of its columns):");
    const COLUMNS: [&str; 7] = ["key", "shmid", "perms", "size", "cpid", "uid", "gid"];
    for row in procfs::sysvipc_columns(&ids, &COLUMNS)? {
        parent.line().text("    ").value(row).print();
    }
    parent
        .explain("perms is the mode in octal; ipcs -m shows the same rows, with the owner's name");
    parent.explain(
        "IPC_PRIVATE only means \"no key\": every user sees these shmids, and the mode alone \
         decides who gets in",
    );
    lesson.step(&parent, &access::look_at_modes(&ids)); // in another terminal: ipcs -m
    Ok(segments)
}
// ANCHOR_END: three_modes

// ANCHOR: look_again
/// What the kernel says about the segments now: how many are attached (shm_nattch), the last
/// process to attach or detach (shm_lpid), and the text, compared with what the lesson wrote.
fn look_again(parent: &Narrator, segments: &[Segment]) -> Result<()> {
    let me = nix::unistd::getpid().as_raw();
    let mut someone_came = false;
    for segment in segments {
        let stat = segment.stat()?;
        let (attached, last) = (stat.attachments, stat.last_pid);
        let whose = if last == me { "this lesson" } else { "another process" };
        parent.call_note(format!("shm_nattch {attached}, shm_lpid {last}: {whose}"));
        let text = segment.attach_read_only()?.load_c_string(0);
        let changed = if text == SECRET { "what the lesson wrote" } else { "someone changed it" };
        parent.line().text("  it holds ").value(format!("{text:?}")).note(changed).print();
        someone_came |= last != me || attached > 0 || text != SECRET;
    }
    if someone_came {
        parent.explain("someone else came: shm_lpid is their pid (the last shmat or shmdt)");
    } else {
        parent.explain("nobody else came: every shm_lpid is this lesson's pid, every text its own");
    }
    Ok(())
}
// ANCHOR_END: look_again

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
            let now = who.describe();
            out.explain(format!("setgroups, setgid, then setuid: now {now}, the {class} class"));
            for (segment, mode) in segments.iter().zip(MODES) {
                knock(out, segment, mode, class, vandal)?;
            }
            Ok(())
        })?;
        child.wait()?;
        lesson.pause_for(Duration::from_millis(400));
    }

    look_again(&parent, segments)
}

/// Tries a read-write attach, then a read-only one; the stranger overwrites what it can.
fn knock(out: &Narrator, segment: &Segment, mode: u32, class: &str, vandal: bool) -> Result<()> {
    let why = |what: &str| Some(refusal(what, mode, class));
    if let Some(memory) = tried(out, segment.attach(), why("read-write needs r and w"))? {
        let text = format!("{:?}", memory.load_c_string(0));
        out.line().text(format!("  mode {}: read ", octal(mode))).value(text).print();
        if vandal {
            let graffiti = format!("overwritten by uid {}", nix::unistd::getuid());
            memory.store_c_string(0, &graffiti)?;
            let graffiti = format!("{graffiti:?}");
            out.line().text("  wrote ").value(graffiti).note("into another user's segment").print();
        }
    } else if let Some(memory) = tried(out, segment.attach_read_only(), why("SHM_RDONLY needs r"))?
    {
        let (mode, text) = (octal(mode), format!("{:?}", memory.load_c_string(0)));
        let read = format!("  mode {mode}: read ");
        out.line().text(read).value(text).note("reading is all it may do").print();
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
    let key = Key::ftok_unused(&path, 9)?.explain_to(&parent);
    let segment = Segment::create(key, SIZE, 0o400)?;
    parent.call_note(who_may(0o400));
    lesson.step(&parent, &access::try_to_write(segment.id())); // with this lesson's `attach`

    let program = process::spawn("second", |out| {
        out.explain("another program of the same user, opening the segment by its key:");
        tried(out, Segment::create_or_open(key, SIZE, 0o666), None)?;
        out.explain(
            "the mode bits in shmflg are the access asked for: 0666 asks for read and write, and \
             the owner's bits are r--",
        );
        let opened = Segment::open(key, 0)?;
        out.call_note("asks for no access: only the id");
        let why = refusal("read-write needs r and w", 0o400, "owner");
        let read_write = tried(out, opened.attach(), Some(why))?;
        if tried(out, opened.attach_read_only(), None)?.is_some() {
            out.explain("SHM_RDONLY needs only the read bit, which the owner has");
        }
        if read_write.is_some() {
            out.explain(
                "read-write worked: this process holds CAP_IPC_OWNER (root does), which skips the \
                 mode check; as an ordinary user both read-write requests fail with EACCES",
            );
        } else {
            out.explain(
                "the kernel checks the owner against the owner's bits like anyone else: being the \
                 owner gives no write access that the mode does not",
            );
        }
        Ok(())
    })?;
    program.wait()?;
    segment.remove()?;
    parent.call();
    Ok(())
}
// ANCHOR_END: owner_too

// ANCHOR: read_only_fault
/// A child attaches read-only, reads, and then stores through the attachment anyway.
fn read_only_write_faults(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    parent.call();
    let memory = segment.attach()?;
    memory.store_c_string(0, SECRET)?;
    parent.line().text("wrote ").value(format!("{SECRET:?}")).print();

    let child = process::spawn("child", |out| {
        let view = segment.attach_read_only()?;
        out.call_note("mapped without write permission: the CPU will refuse stores");
        out.line().text("read ").value(format!("{:?}", view.load_c_string(0))).print();
        out.explain(
            "`view.store(0, b\"X\")` would not even compile: a Region<ReadOnly> has loads only",
        );
        access::die_quietly_on_a_fault()?;
        out.explain(
            "not dumpable (no core file), and SIGSEGV back to its default action: a fault simply \
             ends this process",
        );
        out.explain(
            "now a raw store through an unsafe pointer, outside what Rust guarantees: the CPU \
             traps before anything is written, and the kernel sends SIGSEGV",
        );
        // SAFETY: deliberately *not* a sound operation, and outside Rust's guarantees: a write
        // to read-only memory is undefined behaviour for the language (so would be any atomic
        // store through this mapping: only small Relaxed loads are allowed on read-only
        // memory). What makes it harmless here is the machine, not Rust: the page is mapped
        // without write permission, so the store instruction traps before it writes anything;
        // the kernel delivers SIGSEGV, whose default action (restored just above, with core
        // dumps off) ends this child at that instruction. Nothing is written, no Rust code runs
        // after it, and the child owns no object, so the parent cleans up as usual. A volatile
        // write keeps the compiler from removing or moving the store.
        unsafe { std::ptr::write_volatile(view.as_ptr().cast_mut(), b'X') };
        out.say("this line is never printed: the store did not fault");
        Ok(())
    })?;
    let exit = child.wait_exit()?;
    if exit != Exit::Signal(Signal::SIGSEGV) {
        let got = format!("expected death by SIGSEGV, got {exit:?}");
        return Err(Error::other("waiting for the child", got));
    }
    parent.call_note("WIFSIGNALED, WTERMSIG = SIGSEGV: the child was killed by the fault");
    let text = format!("{:?}", memory.load_c_string(0));
    parent.line().text("the segment still holds ").value(text).note("nothing was written").print();
    let attached = segment.stat()?.attachments;
    parent.call_note(format!("shm_nattch {attached}: the kernel detached the dead child"));
    let look = "The child died of SIGSEGV. If you may read the kernel log, run:\n  \
                dmesg | grep segfault | tail -1\n\
                It says error 7: a write, from user mode, to a page that is present.";
    lesson.step(&parent, look);
    drop(memory);
    segment.remove()?;
    parent.call();
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
    parent.call();
    set_mode(&parent, &segment, 0o666)?;

    if privileged {
        let stranger = Identity::nobody();
        let child = process::spawn("stranger", |out| {
            privilege::become_user(&stranger)?;
            out.explain(format!("setgroups, setgid, setuid: now {}", stranger.describe()));
            tried(out, segment.attach(), None)?;
            tried(out, shm::set_mode(id, 0o600), None)?;
            tried(out, Segment::from_id(id).remove(), None)?;
            Ok(())
        })?;
        child.wait()?;
        let mode = octal(segment.stat()?.mode);
        parent.call_note(format!("mode {mode}: still there, mode unchanged"));
        parent.explain(
            "the mode decides who reads and writes the data; IPC_SET and IPC_RMID need ownership: \
             the owner (uid), the creator (cuid) or CAP_SYS_ADMIN",
        );
    } else {
        access::skipped(
            &parent,
            "a stranger's IPC_SET and IPC_RMID need another user, and only root may become one",
        );
        parent.explain(
            "what it would show: another user, even with 0666 (read and write), gets EPERM from \
             IPC_SET and IPC_RMID: they check ownership, not the mode",
        );
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
    let why = refusal("read-write needs r and w", 0o400, "owner");
    match tried(&parent, segment.attach(), Some(why))? {
        None => parent.explain("the owner locked itself out of writing"),
        Some(_) => parent.explain(
            "root got in anyway: CAP_IPC_OWNER skips the mode check (an ordinary owner gets \
             EACCES)",
        ),
    }
    lesson.pause_for(Duration::from_millis(800));
    set_mode(&parent, &segment, 0o600)?;
    parent.explain(
        "IPC_SET worked although the mode grants no write: it checks who you are, not the mode",
    );
    tried(&parent, segment.attach(), None)?;
    segment.remove()?;
    parent.call();
    Ok(())
}

/// `shmctl(id, IPC_SET, ...)` by the owner, then IPC_STAT to show the new mode.
fn set_mode(out: &Narrator, segment: &Segment, mode: u32) -> Result<()> {
    segment.set_mode(mode)?;
    out.call();
    let now = segment.stat()?.mode;
    out.call_note(format!("shm_perm.mode is now {}: {}", octal(now), who_may(now)));
    Ok(())
}
// ANCHOR_END: ipc_set
