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
//! cargo run --bin lesson02 -- --step   # pause to compare `ipcs -m` and `ls -i` with the key
//! ```
//!
//! Things to try: delete and recreate a file, then call ftok on it again (a new inode, so a
//! new key); compare the key with `ls -i` and `stat -c %d`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use shm_workbook::{Error, Key, Lesson, Result, ScratchDir, Segment, SemaphoreSet, process};

/// The document's project id: 65 is the character 'A'.
const PROJECT_ID: u8 = 65;
const SIZE: usize = 1024;
const MESSAGE: &str = "Hello from parent via shared memory";

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson02");
    let parent = lesson.narrator("parent");

    lesson.part("Part 1: a key made from a file");
    let mut dir = ScratchDir::new("lesson02")?;
    parent.typed_call_note(
        "mkdtemp(\"/tmp/shm-workbook-lesson02-XXXXXX\")",
        dir.path().display(),
        "mode 0700: only you can enter it",
    );
    let shmfile =
        dir.create_file("shmfile", b"ftok reads this file's inode, never its contents\n")?;
    parent.typed_call("open(\"shmfile\", O_CREAT|O_WRONLY, 0600)", shmfile.display());
    let key = key_from_file(&lesson, &shmfile)?;

    lesson.part("Part 2: what the document's program does when the file is missing");
    missing_file(&lesson, &dir.path().join("no-such-file"));

    lesson.part("Part 3: the document's program, parent writes and child reads");
    share_by_key(&lesson, key, &shmfile)?;

    let shown = dir.path().display().to_string();
    drop(dir);
    parent.typed_call_note(
        format!("unlink + rmdir(\"{shown}\")"),
        0,
        "the key file is gone, and with it the key",
    );
    Ok(())
}

// ANCHOR: key_from_file
/// `ftok` packs three numbers into the key; show them, then show that the id matters.
fn key_from_file(lesson: &Lesson, path: &Path) -> Result<Key> {
    let parent = lesson.narrator("parent");
    let key = Key::ftok(path, PROJECT_ID)?;
    parent.typed_call(format!("ftok(\"{}\", {PROJECT_ID})", path.display()), key);

    let meta = std::fs::metadata(path)
        .map_err(|err| Error::io(format!("stat(\"{}\")", path.display()), err))?;
    let expected = (u32::from(PROJECT_ID) << 24)
        | ((meta.dev() as u32 & 0xff) << 16)
        | (meta.ino() as u32 & 0xffff);
    parent.explain(format!(
        "the key is the project id {PROJECT_ID:#04x} ('A'), the low 8 bits of the device {:#04x} and the low 16 bits of the inode {:#06x}",
        meta.dev() & 0xff,
        meta.ino() & 0xffff
    ));
    parent
        .line()
        .text("packed by hand: ")
        .value(format!("{expected:#010x}"))
        .note("the same number")
        .print();

    let other = Key::ftok(path, PROJECT_ID + 1)?;
    parent.typed_call_note(
        format!("ftok(\"{}\", {})", path.display(), PROJECT_ID + 1),
        other,
        "another id, another key: one file can name several objects",
    );
    parent.explain("only low bits are used, so two different files can give the same key: that is why we create with IPC_EXCL");
    Ok(key)
}
// ANCHOR_END: key_from_file

// ANCHOR: missing_file
/// In C, `ftok` returns -1 here and the document's program goes on with it.
fn missing_file(lesson: &Lesson, missing: &Path) {
    let parent = lesson.narrator("parent");
    match Key::ftok(missing, PROJECT_ID) {
        Ok(key) => parent.explain(format!("unexpected: ftok found a key {key} for a missing file")),
        Err(err) => {
            parent.explain(
                "our Key::ftok returns an error, so the program cannot go on with a bad key:",
            );
            parent.error(&err);
        }
    }
    let minus_one = Key::from_raw(-1);
    parent.explain(format!(
        "the C program does not check: it passes -1 to shmget, that is the key {minus_one}"
    ));
    parent.explain(format!(
        "{minus_one} is an ordinary key, not IPC_PRIVATE (which is 0): every program that made this mistake shares one segment"
    ));
}
// ANCHOR_END: missing_file

// ANCHOR: share_by_key
/// The document's program: create by key, attach before fork, the parent writes, the child reads.
fn share_by_key(lesson: &Lesson, key: Key, path: &Path) -> Result<()> {
    let parent = lesson.narrator("parent");
    let segment = Segment::create(key, SIZE, 0o600)?;
    parent.typed_call_note(
        format!("shmget({key}, {SIZE}, IPC_CREAT|IPC_EXCL|0600)"),
        format!("shmid {}", segment.id()),
        "IPC_EXCL: fail rather than open a segment someone else made with this key",
    );
    let memory = segment.attach()?;
    parent.typed_call_note(
        format!("shmat({}, NULL, 0)", segment.id()),
        format!("{:#x}", memory.address()),
        "before fork(): the child inherits the attachment",
    );
    let written = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
    parent.typed_call_note(
        "semget(IPC_PRIVATE, 1, IPC_CREAT|0600)",
        format!("semid {}", written.id()),
        "instead of sleep(1)",
    );

    let child = process::spawn("child", |child| {
        // An unrelated process would do exactly this: same file, same id, same key.
        let my_key = Key::ftok(path, PROJECT_ID)?;
        child.typed_call_note(
            format!("ftok(\"{}\", {PROJECT_ID})", path.display()),
            my_key,
            "the parent's key",
        );
        let found = Segment::open(my_key, 0)?;
        child.typed_call_note(
            format!("shmget({my_key}, 0, 0)"),
            format!("shmid {}", found.id()),
            "found by key: the same segment",
        );
        written.wait(0)?;
        child.say(format!("Child reads: {}", memory.load_c_string(0)));
        Ok(())
    })?;
    parent.typed_call("fork()", format!("child {}", child.pid()));

    if lesson.options().step {
        segment.wait_for_attachments(2, std::time::Duration::from_secs(5))?;
        lesson.step(&parent, &format!(
            "In another terminal, run:  ipcs -m\n\
             The segment's key is {key}, not 0x00000000: any process of yours can find it with ftok.\n\
             nattch is 2: the attachment made before fork() is inherited by the child.\n\
             Then:  ls -i {}   the inode's low 16 bits are the key's last four hex digits.",
            path.display()
        ));
    }

    memory.store_c_string(0, MESSAGE)?;
    parent.say("Parent writes message");
    written.post(0)?;
    child.wait()?;
    parent.typed_call("wait(NULL)", "the child has exited");

    let address = memory.address();
    memory.detach()?;
    parent.typed_call(format!("shmdt({address:#x})"), 0);
    let (shmid, semid) = (segment.id(), written.id());
    segment.remove()?;
    parent.typed_call_note(format!("shmctl({shmid}, IPC_RMID, NULL)"), 0, "segment removed");
    written.remove()?;
    parent.typed_call_note(format!("semctl({semid}, 0, IPC_RMID)"), 0, "semaphore set removed");
    Ok(())
}
// ANCHOR_END: share_by_key
