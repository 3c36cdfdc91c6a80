//! # Lesson 08: POSIX shared memory
//!
//! What it shows: the POSIX interface to shared memory. An object has a *name* (`/something`),
//! lives as a file in `/dev/shm`, is created with `shm_open`, sized with `ftruncate`, mapped
//! with `mmap(MAP_SHARED)`, unmapped with `munmap` and removed with `shm_unlink`.
//!
//! It reproduces the POSIX program of the source documents (seed 001): create `/myshm`, size it
//! to 4096 bytes, write `Hello POSIX shared memory`, unmap, unlink. That program is a single
//! process, so nothing is ever communicated; here a second process opens the same name and
//! reads the text. Corrected too: a name unique to this user and run instead of `/myshm`,
//! O_EXCL so that someone else's object is never reused, mode 0600 instead of 0666, and every
//! call checked.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson08                        # the whole story
//! cargo run --bin lesson08 -- --step              # pause in every part: look at /dev/shm
//! cargo run --bin lesson08 -- write "some text"   # terminal A: create and write, leave it
//! cargo run --bin lesson08 -- read                # terminal B: read it
//! cargo run --bin lesson08 -- unlink              # remove it
//! ```
//!
//! Things to try: after `write`, run `ls -l /dev/shm` and `cat /dev/shm/<name>`; run `read`
//! after `unlink`; try `--name no-slash` and `--name /a/b`.

use std::sync::atomic::AtomicU32;

use shm_workbook::lesson::{LessonCommand, LessonFlag};
use shm_workbook::posix;
use shm_workbook::posix::name::{check_name, unique_name};
use shm_workbook::posix::shm::ObjectStat;
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Error, Lesson, Narrator, Result, SharedObject, process};

/// The size of the object, as in the document.
const SIZE: usize = 4096;
/// What the writer writes, as in the document.
const MESSAGE: &str = "Hello POSIX shared memory";
/// Where the text starts: the first bytes hold the "message ready" word.
const TEXT_AT: usize = 64;
/// The steps of the exchange, in the word at the start of the object.
const EMPTY: u32 = 0;
const MAPPED: u32 = 1;
const WRITTEN: u32 = 2;
const READ: u32 = 3;
const UNLINKED: u32 = 4;
const REPLIED: u32 = 5;

const FLAGS: &[LessonFlag] = &[LessonFlag::text(
    "--name",
    "NAME",
    "the object's name for write/read/unlink (default /shm-workbook-<user>-lesson08)",
)];
const COMMANDS: &[LessonCommand] = &[
    LessonCommand {
        usage: "write TEXT",
        help: "create the object (or reuse yours) and write TEXT into it",
    },
    LessonCommand { usage: "read", help: "open the object and print its text" },
    LessonCommand { usage: "unlink", help: "shm_unlink the object" },
];

fn main() -> Result<()> {
    let lesson = Lesson::start_with_commands("lesson08", FLAGS, COMMANDS);
    let words: Vec<&str> = lesson.arguments().iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => story(&lesson),
        ["write", text] => write_command(&lesson, text),
        ["read"] => read_command(&lesson),
        ["unlink"] => unlink_command(&lesson),
        ["write"] => {
            lesson.usage_error("write needs the text to write, as in: write \"hello\"", COMMANDS)
        }
        _ => lesson.usage_error(
            &format!("unknown command {}", shm_workbook::lesson::shown(&words.join(" "))),
            COMMANDS,
        ),
    }
}

/// The whole story: the document's program in two processes, /dev/shm, unlink while mapped,
/// names, and the comparison with System V.
fn story(lesson: &Lesson) -> Result<()> {
    if lesson.text("--name").is_some() {
        lesson.usage_error("--name goes with write, read or unlink", COMMANDS);
    }
    lesson.part("Part 1: the document's program, with a second process that reads");
    two_processes(lesson)?;
    lesson.part("Part 2: names");
    names(lesson);
    lesson.part("Part 3: System V and POSIX side by side");
    comparison(lesson);
    if lesson.stepping() {
        one_of_each(lesson)?;
    }
    Ok(())
}

// ANCHOR: two_processes
/// The writer creates, sizes and maps the object; a reader process opens it by name. Each
/// waits for the other on the word at the start of the object, and stops if the other dies.
fn two_processes(lesson: &Lesson) -> Result<()> {
    let writer = lesson.narrator("writer");
    let name = unique_name("lesson08");
    let object = SharedObject::create(&name, 0o600)?;
    writer.call_note("the descriptor; a name of this user and run, new (O_EXCL), 0600");
    show_in_dev_shm(&writer, &object)?;
    writer.explain("a new object is empty: 0 bytes, nothing to map yet");
    object.set_len(SIZE as u64)?;
    writer.call();
    show_in_dev_shm(&writer, &object)?;
    let memory = object.map(SIZE)?;
    writer.call();
    let ready: &AtomicU32 = memory.view()?;

    // The reader is another process that knows only the name: it opens and maps it itself.
    let reader = process::spawn("reader", |out| {
        let (writer, policy) = (Partner::parent(), Policy::DEFAULT);
        let object = SharedObject::open(&name)?;
        out.call_note("the same name, opened by another process");
        let memory = object.map(SIZE)?;
        out.call_note("its own address, the same memory");
        object.close()?;
        out.call_note("a mapping does not need its descriptor");
        let ready: &AtomicU32 = memory.view()?;
        publish(ready, MAPPED, policy)?;
        wait_while(ready, MAPPED, policy, writer)?; // sleeps until the writer has written
        out.say(format!("Reader read: {}", memory.load_c_string(TEXT_AT)));
        publish(ready, READ, policy)?;
        // The writer unlinks the name while we are still mapped; we answer after that.
        wait_while(ready, READ, policy, writer)?;
        memory.store_c_string(TEXT_AT, "reply written after shm_unlink")?;
        publish(ready, REPLIED, policy)?;
        memory.detach()?;
        out.call();
        Ok(())
    })?;
    let the_reader = |now| wait_while(ready, now, Policy::DEFAULT, Partner::Child(reader.pid()));

    the_reader(EMPTY)?; // the reader has mapped it
    memory.store_c_string(TEXT_AT, MESSAGE)?;
    writer
        .line()
        .text("wrote ")
        .value(format!("{MESSAGE:?}"))
        .note(format!("the document's sprintf, at {:#x} + {TEXT_AT}", memory.address()))
        .print();
    publish(ready, WRITTEN, Policy::DEFAULT)?; // Release: the text is visible before the flag
    lesson.step(
        &writer,
        &format!(
            "The object exists and two processes map it.\n\
             In another terminal:  ls -l /dev/shm{name}\n\
             and:                  grep shm-workbook /proc/{pid}/maps",
            pid = writer.pid()
        ),
    );
    the_reader(WRITTEN)?; // the reader has read
    lesson.pause_for(std::time::Duration::from_millis(300));
    unlink_while_mapped(lesson, &writer, object, &name)?;
    publish(ready, UNLINKED, Policy::DEFAULT)?; // the reader may answer now
    the_reader(UNLINKED)?;
    writer
        .line()
        .text("read the reply: ")
        .value(format!("{:?}", memory.load_c_string(TEXT_AT)))
        .note("the mapping outlived the name")
        .print();
    reader.wait()?;
    memory.detach()?;
    writer.call();
    writer.explain("the last mapping is gone and the name was unlinked: the memory is freed");
    Ok(())
}
// ANCHOR_END: two_processes

// ANCHOR: unlink_while_mapped
/// shm_unlink removes the name; mappings that exist keep working.
fn unlink_while_mapped(
    lesson: &Lesson,
    writer: &Narrator,
    object: SharedObject,
    name: &str,
) -> Result<()> {
    object.unlink()?;
    writer.call_note("while both processes still map it");
    let path = format!("/dev/shm{name}");
    writer
        .line()
        .text(format!("{path} exists: "))
        .value(std::path::Path::new(&path).exists())
        .print();
    if SharedObject::open(name).is_ok() {
        return Err(Error::other(name, "the name still opens after shm_unlink"));
    }
    writer.call_note("the name is gone");
    lesson.step(
        writer,
        &format!(
            "The name is gone, the memory is not.\n\
             In another terminal:  ls /dev/shm | grep lesson08    (nothing)\n\
             and:                  grep lesson08 /proc/{}/maps    (\"(deleted)\" after the path)",
            writer.pid()
        ),
    );
    Ok(())
}
// ANCHOR_END: unlink_while_mapped

/// What `ls -l /dev/shm/<name>` would say, from fstat.
fn show_in_dev_shm(out: &Narrator, object: &SharedObject) -> Result<()> {
    let ObjectStat { len, mode, uid, .. } = object.stat()?;
    let owner = nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map_or(uid.to_string(), |user| user.name);
    out.line()
        .text("ls -l: ")
        .value(format!("{} {owner} {len:>5} {}", permissions(mode), object.path()))
        .print();
    Ok(())
}

/// `0600` as `ls` prints it: `-rw-------`.
fn permissions(mode: u32) -> String {
    let mut text = String::from("-");
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}

// ANCHOR: names
/// A name is one leading slash and a file name: anything else is refused before the call.
fn names(lesson: &Lesson) {
    let out = lesson.narrator("parent");
    for name in ["myshm", "/dir/myshm", "/"] {
        match check_name(name) {
            Err(err) => out
                .line()
                .value(format!("{name:?}"))
                .text(" refused before any call: ")
                .value(err.meaning())
                .print(),
            Ok(()) => out.line().text(format!("{name:?} accepted")).print(),
        }
    }
    out.explain(format!(
        "a good name: {:?}; POSIX leaves names without the leading '/' to each system, so do not \
         rely on them",
        unique_name("lesson08")
    ));
    out.explain(
        "the seed's \"/myshm\" is one name for every user of the machine: the second student gets \
         EEXIST, or worse, the first one's data",
    );
    lesson.step(
        &out,
        "In another terminal:  ls -l /dev/shm\n\
         Every user's objects are in this one flat directory: only the name tells them apart.",
    );
}
// ANCHOR_END: names

// ANCHOR: comparison
fn comparison(lesson: &Lesson) {
    let rows = [
        ("", "System V", "POSIX"),
        ("named by", "a number (key, from ftok)", "a name: \"/something\""),
        ("created by", "shmget with IPC_CREAT", "shm_open with O_CREAT, then ftruncate"),
        ("size", "fixed at creation", "ftruncate, can change"),
        ("mapped by", "shmat / shmdt", "mmap / munmap"),
        ("lives until", "IPC_RMID and the last shmdt", "shm_unlink and the last munmap/close"),
        ("seen with", "ipcs -m, /proc/sysvipc/shm", "ls -l /dev/shm"),
        ("removed by hand", "ipcrm -m ID", "rm /dev/shm/NAME"),
        ("permissions", "shm_perm.mode, IPC_SET", "file mode, fchmod"),
    ];
    let mut table = String::new();
    for (what, sysv, posix) in rows {
        table.push_str(&format!("    {what:<16} {sysv:<30} {posix}\n"));
    }
    shm_workbook::narrate::print_block(table);
    lesson
        .narrator("parent")
        .explain("both end as the same kind of memory: pages that several processes map");
}
// ANCHOR_END: comparison

/// With `--step`: a segment and an object of the same size, to look at with each one's tools.
fn one_of_each(lesson: &Lesson) -> Result<()> {
    let out = lesson.narrator("parent");
    let segment = shm_workbook::Segment::create(shm_workbook::Key::PRIVATE, SIZE, 0o600)?;
    out.call_note("System V: a number");
    let object = SharedObject::create(&unique_name("lesson08"), 0o600)?;
    out.call_note("POSIX: a name");
    object.set_len(SIZE as u64)?;
    out.call();
    let (shmid, path) = (segment.id(), object.path());
    let look = format!("One of each, {SIZE} bytes. In another terminal:\n  ipcs -m -i {shmid}");
    lesson.step(&out, &format!("{look}\n  ls -l {path}   (its size, owner and mode, as a file's)"));
    Ok(()) // dropping them removes the segment and unlinks the name
}

/// The name the commands use: `--name`, or one of this user's own.
fn command_name(lesson: &Lesson) -> Result<String> {
    let name = lesson
        .text("--name")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("/shm-workbook-{}-lesson08", shm_workbook::lesson::user_name()));
    check_name(&name)?;
    Ok(name)
}

// ANCHOR: commands
/// `write TEXT`: create the object (or open ours), write the text, and leave it for `read`.
fn write_command(lesson: &Lesson, text: &str) -> Result<()> {
    let out = lesson.narrator("writer");
    let name = command_name(lesson)?;
    if text.len() >= SIZE {
        return Err(Error::other(
            "write",
            format!("the text is {} bytes; at most {} fit", text.len(), SIZE - 1),
        ));
    }
    let mut object = match SharedObject::create(&name, 0o600) {
        Ok(object) => {
            out.call();
            object
        }
        Err(err) if err.errno() == Some(nix::errno::Errno::EEXIST) => {
            out.call_note("it exists already");
            let object = SharedObject::open(&name)?;
            out.call_note("opened without O_CREAT: overwriting");
            object
        }
        Err(err) => return Err(err),
    };
    object.set_len(SIZE as u64)?;
    out.call();
    let memory = object.map(SIZE)?;
    out.call();
    memory.store_c_string(0, text)?;
    out.line()
        .text("wrote ")
        .value(format!("{text:?}"))
        .text(format!(" into {}", object.path()))
        .print();
    memory.detach()?;
    out.call();
    object.disown(); // left on purpose, for `read` in another terminal
    out.explain(format!(
        "left in /dev/shm: now run `cargo run --bin lesson08 -- read{}`, and `-- unlink` when done",
        name_flag(lesson)
    ));
    Ok(())
}

/// `read`: open the object read-only and print its text.
fn read_command(lesson: &Lesson) -> Result<()> {
    let out = lesson.narrator("reader");
    let name = command_name(lesson)?;
    let object = SharedObject::open_read_only(&name).map_err(|err| missing_hint(err, lesson))?;
    out.call();
    let len = object.stat()?.len;
    let memory = object.map_read_only(len as usize)?;
    out.call_note("read-only: this memory offers loads only");
    out.say(format!("Reader read: {}", memory.load_c_string(0)));
    Ok(())
}

/// `unlink`: remove the name.
fn unlink_command(lesson: &Lesson) -> Result<()> {
    let out = lesson.narrator("parent");
    let name = command_name(lesson)?;
    posix::shm::unlink(&name)?; // a missing name: nothing to remove, and the error says so
    out.call_note("the name is gone from /dev/shm");
    Ok(())
}
// ANCHOR_END: commands

fn name_flag(lesson: &Lesson) -> String {
    lesson.text("--name").map(|name| format!(" --name {name}")).unwrap_or_default()
}

fn missing_hint(err: Error, lesson: &Lesson) -> Error {
    if err.errno() == Some(nix::errno::Errno::ENOENT) {
        err.with_hint(format!(
            "create it first: `cargo run --bin lesson08 -- write \"some text\"{}`",
            name_flag(lesson)
        ))
    } else {
        err
    }
}
