//! # Lesson 10: every way the calls fail
//!
//! What it shows: each common failure of `shmget`, `shmat`, `shm_open` and `ftok`, provoked on
//! purpose. For each one the lesson prints the call exactly as it was made, with the `-1` (or
//! `(void *) -1`) it returned and the errno it left (`shmget(0x4100c4b3, 4096, 0) = -1 ENOENT`),
//! the C check a careful program writes after it and the line `perror` prints, and beside them
//! what this workbook's `Result` gives instead: an `Error` that names the call, the errno, what
//! it means here and what to do. Then it checks that the errno is the one the man page promises,
//! and ends with a table of every case. A case that does not fail as expected is marked ✗ and
//! makes the run exit with status 1. (The printing and the table are `failures.rs`, beside this
//! file; this file shows the failing calls.)
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
//!   with a name without a leading slash, beside what our `posix::name::check_name` says.
//! - Part 4, `ftok`: ENOENT, and what the unchecked `ftok` of the seed hands to `shmget`.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson10             # the whole story, with short pauses between cases
//! cargo run --bin lesson10 -- --step   # pause in each part: look with `ipcs -m`, `ls`
//! cargo run --bin lesson10 -- --fast   # no pauses (what the tests use)
//! ```
//!
//! Things to try: run it as root and as an ordinary user and compare Part 1's EACCES case;
//! `sudo sysctl kernel.shmmax=1048576`, run it, and see the SHMMAX case use a small size (put
//! the old value back afterwards); write the C program of the chapter and compare its `perror`
//! lines with the lesson's.

mod failures;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use failures::{Case, Cases, provoke};
use nix::errno::Errno;
use nix::unistd::geteuid;
use shm_workbook::privilege::{self, Identity};
use shm_workbook::{
    Key, Lesson, Narrator, Result, ScratchDir, Segment, SharedObject, posix, sysv::shm,
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
    let key = Key::ftok_unused(&keyfile, PROJECT_ID)?.explain_to(&parent);
    parent.call_note("a key of our own: the file is in a directory made for this run");

    lesson.part("Part 1: shmget");
    shmget_cases(&lesson, &mut cases, key)?;

    lesson.part("Part 2: shmat");
    shmat_cases(&lesson, &mut cases)?;

    lesson.part("Part 3: shm_open");
    shm_open_cases(&lesson, &mut cases)?;

    lesson.part("Part 4: ftok");
    ftok_cases(&lesson, &mut cases, &dir.path().join("no-such-file"));

    lesson.part("Summary");
    cases.print_table();
    lesson.step(
        &parent,
        &format!(
            "In another terminal:  ipcs -m   and   ls /dev/shm\n\
             nothing of this run is left; only {} and its key file, removed next.",
            dir.path().display()
        ),
    );
    let shown = dir.path().display().to_string();
    drop(dir);
    parent.explain(format!("removed {shown} and the key file in it"));
    cases.verdict(&parent)
}

/// The C idiom this lesson replaces, said once at the start.
fn the_c_idiom(out: &Narrator) {
    out.explain(
        "in C, a failed call returns a sentinel (-1, or (void *) -1 for shmat) and leaves a number \
         in errno;",
    );
    out.explain(
        "nothing makes the program look: an unchecked -1 travels on as if it were an id, a key or \
         an address,",
    );
    out.explain(
        "and the next failing call (printf included) overwrites errno, so perror must come right \
         after the call.",
    );
    out.explain(
        "here every call returns a Result: the error cannot be used as a value, and it keeps the \
         errno of its own call.",
    );
}

// ANCHOR: shmget_cases
/// One key, four mistakes: open it before it exists, create it twice, ask for too much, and
/// ask for access its mode does not give.
fn shmget_cases(lesson: &Lesson, cases: &mut Cases, key: Key) -> Result<()> {
    let out = lesson.narrator("parent");
    let case = Case::fails("shmget: key not in use, no IPC_CREAT", Errno::ENOENT);
    provoke!(cases, &out, case, Segment::open(key, SIZE));

    let segment = Segment::create(key, SIZE, 0o600)?;
    out.call_note("now the key is in use");
    let case = Case::fails("shmget: IPC_EXCL, key in use", Errno::EEXIST);
    provoke!(cases, &out, case, Segment::create(key, SIZE, 0o600));

    above_shmmax(&out, cases);

    let case = Case::fails("shmget: size above the existing segment's", Errno::EINVAL);
    provoke!(cases, &out, case, Segment::open(key, 2 * SIZE));
    out.explain(format!(
        "size 0 or any size up to {SIZE} would have found it: asking for less than the segment has \
         is fine"
    ));

    without_permission(lesson, cases, &segment)?;

    segment.remove()?;
    out.call_note("segment removed");
    Ok(())
}
// ANCHOR_END: shmget_cases

// ANCHOR: above_shmmax
/// A size above the system's limit, read from /proc/sys/kernel/shmmax.
fn above_shmmax(out: &Narrator, cases: &mut Cases) {
    let case = Case::fails("shmget: size above SHMMAX", Errno::EINVAL);
    let max = match shm::limits() {
        Ok(limits) => limits.max_segment_bytes,
        Err(err) => {
            return cases.skip(out, case, &format!("cannot read shmmax: {}", err.meaning()));
        }
    };
    out.value("/proc/sys/kernel/shmmax", max);
    if max == u64::MAX - (1 << 24) {
        out.explain(
            "that is ULONG_MAX - 2^24, the kernel's default (SHMMAX in linux/shm.h): in effect no \
             limit, kept 16 MiB below the top so that a program that reads the limit, adds to it \
             and writes it back cannot overflow",
        );
    }
    let Some(size) = usize::try_from(max).ok().and_then(|max| max.checked_add(1)) else {
        let why = format!("shmmax is {max}, the largest size_t: no size is above it");
        return cases.skip(out, case, &why);
    };
    out.explain(format!("shmmax + 1 = {size} still fits in size_t, so it can be asked for"));
    // The kernel checks the size before it allocates anything (a success would be removed at
    // once, by dropping the segment).
    provoke!(cases, out, case, Segment::create(Key::PRIVATE, size, 0o600));
}
// ANCHOR_END: above_shmmax

// ANCHOR: without_permission
const ASK_0600: &str = "shmget: asks 0600, the mode is 0400";
const ATTACH_READ_WRITE: &str = "shmat: read-write, the mode is 0400";

/// Mode 0400, then ask for read-write. Root is never refused, so a root run asks from a
/// child that has become `nobody` first.
fn without_permission(lesson: &Lesson, cases: &mut Cases, segment: &Segment) -> Result<()> {
    let out = lesson.narrator("parent");
    segment.set_mode(0o400)?;
    out.call_note("read-only, even for its owner");
    lesson.step(
        &out,
        &format!(
            "In another terminal, run:  ipcs -m\n\
             The segment with key {} shows perms 400: its owner may read it, no one may write it \
             (root excepted).\n\
             Then:  ipcs -m -i {}   for all the kernel knows about it.",
            segment.key(),
            segment.id()
        ),
    );
    let key = segment.key();
    if !geteuid().is_root() {
        out.explain(
            "the segment is yours, but its mode binds its owner too: asking for write is refused",
        );
        return ask_for_more(&out, cases, segment);
    }
    let mut found = Segment::create_or_open(key, 0, 0o600)?;
    found.disown(); // the parent's `segment` removes it, not this handle
    out.call_note("as root: no EACCES, root's CAP_IPC_OWNER skips the mode check");
    let nobody = Identity::nobody();
    if !privilege::can_become(&nobody) {
        let why = "root may not become nobody here (no CAP_SETUID, or its uid is not mapped)";
        for label in [ASK_0600, ATTACH_READ_WRITE] {
            cases.skip(&out, Case::fails(label, Errno::EACCES), why);
        }
        return Ok(());
    }
    out.explain("to see EACCES, a child gives up root first and asks again");
    cases.in_child(&out, "nobody", |child, cases| {
        // No supplementary groups, then the group, then the user: once the uid is not 0,
        // changing groups is no longer allowed.
        privilege::become_user(&nobody)?;
        let why = "with setgroups, setgid, then setuid: not the owner, no capability";
        child.line().text("gave up root for good: now ").value(nobody.describe()).note(why).print();
        ask_for_more(child, cases, segment)
    })
}

/// The two permission cases, run by whoever lacks the permission (the parent, or the child
/// that became nobody).
fn ask_for_more(out: &Narrator, cases: &mut Cases, segment: &Segment) -> Result<()> {
    let (key, case) = (segment.key(), Case::fails(ASK_0600, Errno::EACCES));
    if let Some(mut found) = provoke!(cases, out, case, Segment::create_or_open(key, 0, 0o600)) {
        found.disown(); // an unexpected success: the segment's owner removes it, not this handle
    }
    // Asking for no access at all (mode bits 0) passes shmget's check; shmat checks again.
    // (Segment::open then checks, with IPC_STAT, that the segment is ours: for nobody it is
    // not, and that check fails. The shmget itself passed, and the shmat below is by id.)
    let _ = Segment::open(key, 0);
    out.call_note("the shmid: mode bits 0 ask for no access, so this passes; shmat checks again");
    let case = Case::fails(ATTACH_READ_WRITE, Errno::EACCES);
    provoke!(cases, out, case, segment.attach());
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
    let case = Case::fails("shmat: the -1 of an unchecked shmget", Errno::EINVAL);
    provoke!(cases, &out, case, Segment::from_id(-1).attach());
    out.explain(
        "in Rust this cannot happen by accident: a failed Segment::open is an Err, and there is no \
         -1 to pass on",
    );

    let segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    out.call();
    let id = segment.id();
    segment.remove()?;
    out.call_note("nobody is attached, so it is destroyed at once");
    lesson.step(
        &out,
        &format!(
            "In another terminal, run:  ipcs -m -i {id}\n\
             \"id {id} not found\": the kernel keeps nothing of a removed segment, not even its id."
        ),
    );
    let case = Case::fails("shmat: the id of a removed segment", Errno::EINVAL);
    provoke!(cases, &out, case, Segment::from_id(id).attach());
    out.explain(
        "the man page also lists EIDRM, but once the id is gone Linux cannot tell it from one that \
         never existed: EINVAL",
    );
    Ok(())
}
// ANCHOR_END: shmat_cases

// ANCHOR: shm_open_cases
/// A name nobody created, a name created twice, and two bad names: first what glibc does
/// with them, then what our check says.
fn shm_open_cases(lesson: &Lesson, cases: &mut Cases) -> Result<()> {
    let out = lesson.narrator("parent");
    let missing = posix::name::unique_name("never-created");
    let case = Case::fails("shm_open: name not in use, no O_CREAT", Errno::ENOENT);
    provoke!(cases, &out, case, SharedObject::open(&missing));

    let object = SharedObject::create(&posix::name::unique_name("lesson10"), 0o600)?;
    out.call_note(format!("the file {} now exists", object.path()));
    let name = object.name().to_owned();
    let case = Case::fails("shm_open: O_EXCL, name in use", Errno::EEXIST);
    provoke!(cases, &out, case, SharedObject::create(&name, 0o600));
    lesson.step(
        &out,
        &format!(
            "In another terminal:  ls -l {}\n\
             the name that O_EXCL found in use: a file of yours, mode 0600, 0 bytes.",
            object.path()
        ),
    );

    // An inner slash: glibc refuses the name itself, before any system call.
    let inner = format!("{name}/inner");
    let case = Case::fails("shm_open \"/a/b\": glibc", Errno::EINVAL).c_only();
    provoke!(cases, &out, case, posix::shm::open_unchecked(&inner));
    out.explain("glibc refused the name before any system call: it never tried to open a file");
    let case = Case::fails("shm_open \"/a/b\": our check_name", Errno::EINVAL);
    provoke!(cases, &out, case, posix::name::check_name(&inner));
    out.explain("our check gives the EINVAL glibc gives this name, without a call");

    // No leading slash: glibc quietly accepts it, and finds our object.
    let bare = name.trim_start_matches('/').to_owned();
    let glibc_case = cases.next_number();
    let case = Case::succeeds("shm_open without a leading slash: glibc").c_only();
    if let Some(fd) = provoke!(cases, &out, case, posix::shm::open_unchecked(&bare)) {
        let theirs = nix::sys::stat::fstat(&fd).map_or(0, |stat| stat.st_ino);
        let ours = std::fs::metadata(object.path()).map_or(0, |meta| meta.ino());
        out.explain(format!(
            "its inode is {theirs}, and {}'s is {ours}: glibc dropped nothing and added nothing, \
             it opened /dev/shm/{bare}",
            object.path()
        ));
    } // dropping `fd` closes it
    let case = Case::fails("shm_open without a leading slash: our check_name", Errno::EINVAL);
    provoke!(cases, &out, case, posix::name::check_name(&bare));
    out.explain(format!(
        "this EINVAL is ours alone: glibc accepts the name (case {glibc_case}), and POSIX leaves \
         such names to each system, so a portable program does not use one"
    ));

    object.unlink()?;
    out.call_note("the object is removed");
    Ok(())
}
// ANCHOR_END: shm_open_cases

// ANCHOR: ftok_cases
/// ftok of a file that does not exist: our error, then what the seed's unchecked call does.
fn ftok_cases(lesson: &Lesson, cases: &mut Cases, missing: &Path) {
    let out = lesson.narrator("parent");
    let case = Case::fails("ftok: the file does not exist", Errno::ENOENT);
    provoke!(cases, &out, case, Key::ftok(missing, PROJECT_ID));
    lesson.step(
        &out,
        &format!(
            "In another terminal:  ls -i {}\n\
             \"No such file\": no inode, so no key; ftok's ENOENT is ls's.",
            missing.display()
        ),
    );

    out.explain("the seed makes the same call, and never looks at what it returns:");
    let case = Case::fails("ftok unchecked, as the seed calls it", Errno::ENOENT).unchecked();
    provoke!(cases, &out, case, Key::ftok(missing, PROJECT_ID));
    let minus_one = Key::from_raw(-1);
    out.explain(format!(
        "so the seed's next shmget, with IPC_CREAT and mode 0666, gets the -1 as its key: \
         {minus_one}"
    ));
    out.explain(format!(
        "{minus_one} is an ordinary key, not IPC_PRIVATE (which is 0): every program on the \
         machine that made this mistake shares one segment"
    ));
}
// ANCHOR_END: ftok_cases
