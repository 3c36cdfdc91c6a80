//! # Lesson 02: keys, ftok and named segments
//!
//! What it shows: how two processes that share no id can still find the same segment. `ftok`
//! turns an existing file and a one-byte project id into a key; every process that calls it
//! with the same file and id gets the same key, and `shmget(key, ...)` gives them the same
//! segment.
//!
//! It reproduces the ftok program of the source documents (seed 004): a key from
//! `ftok("shmfile", 65)`, `shmget` with IPC_CREAT, the parent writes "Hello from parent via
//! shared memory" and the child prints `Child reads: ...`. Corrected: the file really exists
//! (the lesson makes it in a private temporary directory and removes it afterwards), ftok's
//! result is checked, the mode is 0600, IPC_EXCL refuses someone else's segment, and the child
//! waits on a semaphore instead of `sleep(1)` (lesson 01 shows why).
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson02
//! cargo run --bin lesson02 -- --step   # pause in each part: compare `ipcs -m`, `ls -i`, the key
//! ```
//!
//! Part 4 deletes the key file and creates it again under the same name, then calls ftok again
//! and says what this machine did: on ext4 the freed inode number usually comes back, so the
//! "new" file has the old key and finds the old segment; on tmpfs the inode is new.
//!
//! Part 5 does what the documents' other programs do: a fixed key (1234, 2345 or 12345).
//! Program A creates a segment with it (first checking that no segment on the machine holds
//! it: a fixed key may really be someone else's), and program B, which shares nothing with A
//! but the number, opens A's segment without an error and overwrites A's data; with a larger
//! size it gets EINVAL instead.
//!
//! Things to try: compare the key with `ls -i` and `stat -c %d`; run Part 4 with
//! `TMPDIR=/dev/shm` (tmpfs) and with `TMPDIR=$HOME` (often ext4) and compare.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::errno::Errno;
use shm_workbook::procfs::{IpcTable, sysvipc_owner, user_called};
use shm_workbook::sysv::key::FreeKey;
use shm_workbook::{Error, Key, Lesson, Result, ScratchDir, Segment, SemaphoreSet, process};

/// The document's project id: 65 is the character 'A'.
const PROJECT_ID: u8 = 65;
const SIZE: usize = 1024;
const MESSAGE: &str = "Hello from parent via shared memory";
/// The fixed keys of the source documents' other programs.
const FIXED_KEYS: [libc::key_t; 3] = [1234, 2345, 12345];

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson02");
    let parent = lesson.narrator("parent");

    lesson.part("Part 1: a key made from a file");
    let mut dir = ScratchDir::new("lesson02")?;
    parent
        .line()
        .text("made a private directory ")
        .value(dir.path().display())
        .note("mode 0700: only you can enter it")
        .print();
    let shmfile =
        dir.create_file("shmfile", b"ftok reads this file's inode, never its contents\n")?;
    parent.line().text("created the key file ").value(shmfile.display()).note("mode 0600").print();
    let chosen = key_from_file(&lesson, &shmfile)?;
    let key = chosen.key();

    lesson.part("Part 2: what the document's program does when the file is missing");
    missing_file(&lesson, &dir.path().join("no-such-file"));

    lesson.part("Part 3: the document's program, parent writes and child reads");
    share_by_key(&lesson, key, chosen.proj_id(), &shmfile)?;

    lesson.part("Part 4: the key file deleted and created again");
    recreated_file(&lesson, &mut dir, key, chosen.proj_id())?;

    lesson.part("Part 5: a fixed key, as in the documents' other programs");
    fixed_key(&lesson)?;

    let shown = dir.path().display().to_string();
    drop(dir);
    parent
        .line()
        .text("removed the key file and the directory ")
        .value(shown)
        .note("the key file is gone, and with it the key")
        .print();
    Ok(())
}

// ANCHOR: key_from_file
/// `ftok` packs three numbers into the key; show them, then show that the id matters.
/// (If another segment already holds the key, ftok_unused says whose and takes the next id.)
fn key_from_file(lesson: &Lesson, path: &Path) -> Result<FreeKey> {
    let parent = lesson.narrator("parent");
    let chosen = Key::ftok_unused(path, PROJECT_ID)?;
    chosen.explain_to(&parent);
    parent.call();
    let id = chosen.proj_id();

    let meta = std::fs::metadata(path)
        .map_err(|err| Error::io(format!("reading the inode of {}", path.display()), err))?;
    let expected =
        (u32::from(id) << 24) | ((meta.dev() as u32 & 0xff) << 16) | (meta.ino() as u32 & 0xffff);
    parent.explain(format!(
        "the key is the project id {id:#04x}{}, the low 8 bits of the device {:#04x} and the low \
         16 bits of the inode {:#06x}",
        if id == PROJECT_ID { " ('A')" } else { "" },
        meta.dev() & 0xff,
        meta.ino() & 0xffff
    ));
    parent
        .line()
        .text("packed by hand: ")
        .value(format!("{expected:#010x}"))
        .note("the same number")
        .print();

    Key::ftok(path, id.checked_add(1).unwrap_or(1))?;
    parent.call_note("another id, another key: one file can name several objects");
    parent.explain(
        "only low bits are used, so two different files can give the same key: that is why we \
         create with IPC_EXCL",
    );
    lesson.step(
        &parent,
        &format!(
            "In another terminal:  ls -i {0}\n\
             and:  stat -c %d {0}\n\
             the inode's low 16 bits and the device's low 8 are in the key {1}.",
            path.display(),
            chosen.key()
        ),
    );
    Ok(chosen)
}
// ANCHOR_END: key_from_file

// ANCHOR: missing_file
/// In C, `ftok` returns -1 here and the document's program goes on with it.
fn missing_file(lesson: &Lesson, missing: &Path) {
    let parent = lesson.narrator("parent");
    match Key::ftok(missing, PROJECT_ID) {
        Ok(key) => parent.explain(format!("unexpected: ftok found a key {key} for a missing file")),
        Err(err) => {
            parent.call_note("a C program gets this -1 back as if it were a key");
            parent.explain(
                "our Key::ftok makes it an error, so the program cannot go on with a bad key:",
            );
            let hint = err.hint().unwrap_or_default();
            parent.error(format!("  what it means: {}\n  what to do:    {hint}", err.meaning()));
        }
    }
    let minus_one = Key::from_raw(-1);
    parent.explain(format!(
        "the C program does not check: it passes -1 to shmget, that is the key {minus_one}"
    ));
    parent.explain(format!(
        "{minus_one} is an ordinary key, not IPC_PRIVATE (which is 0): every program that made \
         this mistake shares one segment"
    ));
    lesson.step(
        &parent,
        &format!(
            "In another terminal:  ls {}   (No such file: what ftok was given)\n\
             and:  ipcs -m | grep {}   a segment there is some program's unchecked ftok.",
            missing.display(),
            minus_one.hex()
        ),
    );
}
// ANCHOR_END: missing_file

// ANCHOR: share_by_key
/// The document's program: create by key, attach before fork, the parent writes, the child reads.
fn share_by_key(lesson: &Lesson, key: Key, proj_id: u8, path: &Path) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(key, SIZE, 0o600)?;
    parent.call_note(
        "the shmid; IPC_EXCL: fail rather than open a segment someone else made with this key",
    );
    let memory = segment.attach()?;
    parent.call_note("before the fork: the child inherits the attachment");
    let written = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.call_note("the semid: instead of the document's one-second sleep");

    let child = process::spawn("child", |child| {
        // An unrelated process would do exactly this: same file, same id, same key.
        let my_key = Key::ftok(path, proj_id)?;
        child.call_note("the parent's key");
        Segment::open(my_key, 0)?;
        child.call_note("found by key: the parent's shmid, the same segment");
        written.wait(0)?;
        child.call_note("the parent has written");
        child.say(format!("Child reads: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    parent.call_note("the child's pid");

    if lesson.options().step {
        segment.wait_for_attachments(2, std::time::Duration::from_secs(5))?;
        lesson.step(
            &parent,
            &format!(
                "In another terminal, run:  ipcs -m\n\
                 The segment's key is {key}, not 0x00000000: any process of yours can find it with \
                 ftok.\n\
                 nattch is 2: the attachment made before fork() is inherited by the child.\n\
                 Then:  ls -i {}   the inode's low 16 bits are the key's last four hex digits.",
                path.display()
            ),
        );
    }

    memory.store_c_string(0, MESSAGE)?;
    parent.say("Parent writes message");
    written.post(0)?;
    parent.call_note("the child may read now");
    child.wait()?;
    parent.call_note("the child exited with status 0");

    memory.detach()?;
    parent.call();
    segment.remove()?;
    parent.call_note("segment removed");
    written.remove()?;
    parent.call_note("semaphore set removed");
    Ok(())
}
// ANCHOR_END: share_by_key

// ANCHOR: recreated_file
/// `rm shmfile; touch shmfile`: the same name, but is it the same key? ftok reads the inode
/// number, and a file system may give a freed inode number to the next new file.
fn recreated_file(lesson: &Lesson, dir: &mut ScratchDir, key: Key, proj_id: u8) -> Result<()> {
    let parent = lesson.narrator("parent");
    let old = Segment::create(key, SIZE, 0o600)?;
    parent.call_note("a segment made with the old file's key, as a running program would hold");
    let path = dir.path().join("shmfile");
    let before = inode(&path)?;
    std::fs::remove_file(&path)
        .map_err(|err| Error::io(format!("removing {}", path.display()), err))?;
    let path = dir.create_file("shmfile", b"a new file with the old name\n")?;
    let after = inode(&path)?;
    parent.explain(format!(
        "deleted shmfile (inode {before}) and created it again: the new file's inode is {after}"
    ));
    let new_key = Key::ftok(&path, proj_id)?;
    if new_key == key {
        parent.call_note("the same key as before the delete");
        let found = Segment::open(new_key, 0)?;
        parent.call_note("the old segment: the new file names it");
        parent.explain(if before == after {
            "this file system gave the freed inode number back, so the recreated file has the old \
             key"
        } else {
            "another inode, but with the same low 16 bits, the only ones ftok keeps: the same key"
        });
        parent.explain(format!(
            "shmid {} is the segment made for the old file: a program that recreates its key file \
             does not get a fresh segment, it silently shares the old one, with whatever data is \
             in it",
            found.id()
        ));
    } else {
        parent.call_note("another key: the inode changed");
        parent.explain(format!(
            "this file system gave the new file another inode number, so the key changed: a \
             program started now cannot find shmid {} by key, and it stays behind until removed",
            old.id()
        ));
        parent.explain(
            "on ext4 the freed number often comes back instead, and the old key then finds the old \
             segment: never count on either",
        );
    }
    lesson.step(
        &parent,
        &format!(
            "In another terminal:  ls -i {}   (inode {after}; the deleted file's was {before})\n\
             and:  ipcs -m -i {}   the old file's segment, key {key}: the new key is {new_key}.",
            path.display(),
            old.id()
        ),
    );
    old.remove()?;
    parent.call_note("segment removed");
    Ok(())
}
// ANCHOR_END: recreated_file

// ANCHOR: fixed_key
/// The documents' other programs name their segments with fixed numbers. Two programs that
/// picked the same number share one segment, and neither is told.
fn fixed_key(lesson: &Lesson) -> Result<()> {
    let a = lesson.narrator("program A");
    // A fixed key may really be in use on this machine: take the first that no segment holds,
    // and let IPC_EXCL prove it (it fails with EEXIST if one appeared meanwhile).
    let mut held = Vec::new();
    let mut candidates = FIXED_KEYS.into_iter().chain(12346..);
    let segment = loop {
        let key = Key::from_raw(candidates.next().unwrap_or(libc::IPC_PRIVATE));
        if let Some(owner) = sysvipc_owner(IpcTable::Shm, key.raw()) {
            held.push(format!("{} ({}) by {}", key.raw(), key.hex(), user_called(owner)));
            continue;
        }
        match Segment::create(key, SIZE, 0o600) {
            Err(err) if err.errno() == Some(Errno::EEXIST) => {
                held.push(format!("{} ({}), made meanwhile", key.raw(), key.hex()));
            }
            made => break made?,
        }
    };
    let key = segment.key();
    if !held.is_empty() {
        let more = held.len().saturating_sub(3);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        a.explain(format!(
            "held on this machine, so left alone: {}{more}",
            held[..held.len().min(3)].join(", ")
        ));
    }
    a.call_note(format!(
        "the key {}: /proc/sysvipc/shm listed no segment with it, and IPC_EXCL proves it was free",
        key.raw()
    ));
    let memory = segment.attach()?;
    a.call();
    memory.store_c_string(0, "program A's data: balance 100")?;
    a.say("program A stores: program A's data: balance 100");

    let b = process::spawn("program B", |b| {
        // Another program, by someone else, sharing nothing with A but the number in its source.
        let theirs = Segment::create_or_open(key, SIZE, 0o600)?;
        b.call_note("the documents' IPC_CREAT without IPC_EXCL: no error, and not a new segment");
        let memory = theirs.attach()?;
        b.call();
        b.say(format!("program B finds: {}", memory.load_c_string(0)));
        memory.store_c_string(0, "program B's data: 7 rows")?;
        b.say("program B stores: program B's data: 7 rows");
        if let Err(err) = Segment::create_or_open(key, 4 * SIZE, 0o600) {
            b.call_note("had B's record been larger: the segment with this key is too small");
            b.explain(format!("  what it means: {}", err.meaning()));
        }
        Ok(())
    })?;
    a.call_note("program B: it inherits nothing from A, and computes the same key from its source");
    let b_pid = b.pid();
    b.wait()?;
    a.call_note("program B has finished");
    a.say(format!("program A reads back: {}", memory.load_c_string(0)));
    lesson.step(
        &a,
        &format!(
            "In another terminal:  ipcs -m -i {}\n\
             the key {} (the fixed number); lpid is program B's pid, {}: it attached A's segment.",
            segment.id(),
            key.hex(),
            b_pid
        ),
    );
    a.explain(
        "A's data is gone and neither program got an error: the kernel cannot tell two programs \
         that picked the same number apart. With the documents' mode 0666 the other program may be \
         another user's",
    );
    memory.detach()?;
    a.call();
    segment.remove()?;
    a.call_note("segment removed: the fixed key is free again");
    Ok(())
}
// ANCHOR_END: fixed_key

/// The inode number of `path`, the part of its identity that ftok uses.
fn inode(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|meta| meta.ino())
        .map_err(|err| Error::io(format!("reading the inode of {}", path.display()), err))
}
