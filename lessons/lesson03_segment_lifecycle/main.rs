//! # Lesson 03: a segment's life
//!
//! What it shows: everything the kernel records about a System V segment, stage by stage, and
//! the three facts about its lifetime that the source documents (seeds 000 and 003) get wrong:
//! - Part 1 creates a segment, attaches it in the parent and in a child, detaches both, and at
//!   each stage prints `shmctl(IPC_STAT)` (size, mode, cpid, lpid, nattch, atime, dtime, ctime)
//!   beside the segment's line in `/proc/sysvipc/shm`, the table `ipcs -m` reads.
//! - Part 2: a segment outlives the process that created it. A child creates one, writes into
//!   it and exits; the parent finds it by key and reads what the dead child wrote. Detaching
//!   never destroys a segment.
//! - Part 3: `IPC_RMID` while processes are attached only *marks* the segment (`ipcs` shows
//!   `dest`, its key becomes 0, `shmget` by the old key no longer finds it); it goes when the
//!   last process detaches. And any process with permission may remove it, not only its
//!   creator.
//! - Part 4: this machine's limits (SHMMAX, SHMMNI, SHMALL) and what `ipcrm` does.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson03
//! cargo run --bin lesson03 -- --step   # pause at each stage: compare with `ipcs -m -p`
//! ```
//!
//! Things to try: at a `--step` pause, run `ipcs -m -i <shmid>` for the whole record; in Part 3,
//! run `ipcs -m` and find the `dest` status; run `cat /proc/sysvipc/shm` and match the columns.

mod record;

use std::process::Command;
use std::time::Duration;

use record::{RECORD_PAIRS, group_fields, limit_text, time_of_day};
use shm_workbook::call::octal;
use shm_workbook::cleanup::with_signals_held;
use shm_workbook::sysv::shm::{self, SegmentStat};
use shm_workbook::{Error, Key, Lesson, Narrator, Result, ScratchDir, Segment, SemaphoreSet};
use shm_workbook::{process, procfs};

const SIZE: usize = 4096;

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson03");
    let parent = lesson.narrator("parent");

    // Keys come from a file of our own, so that they are unique to this run; a key that a
    // segment holds all the same (another user's, whose file had the same inode bits) is
    // passed over, with a sentence saying whose it is.
    let mut dir = ScratchDir::new("lesson03")?;
    let key_file = dir.create_file("keyfile", b"ftok reads this file's inode\n")?;
    let key = |id: u8| Key::ftok_unused(&key_file, id).map(|chosen| chosen.explain_to(&parent));

    lesson.part("Part 1: what the kernel records, stage by stage");
    stage_by_stage(&lesson, key(b'1')?)?;

    lesson.part("Part 2: a segment outlives its creator");
    outlives_its_creator(&lesson, key(b'2')?)?;

    lesson.part("Part 3: IPC_RMID while attached marks; the last detach frees");
    removed_while_attached(&lesson, key(b'3')?)?;
    anyone_with_permission_may_remove(&lesson)?;

    lesson.part("Part 4: this machine's limits, and ipcrm");
    limits(&lesson)?;
    ipcrm(&lesson, key(b'4')?)?;

    drop(dir);
    parent.explain("the key file and its directory are removed; `ipcs -m` is as before the run");
    Ok(())
}

// ANCHOR: show_stat
/// Prints the IPC_STAT call, what it returned, and the kernel table's line for the segment,
/// each value after its name, folded to fit a terminal.
fn show_stat(out: &Narrator, stage: &str, segment: &Segment) -> Result<SegmentStat> {
    let stat = segment.stat()?;
    out.line().text(stage).text(": ").last_call().print();
    let fields = [
        ("key", stat.key.hex()),
        ("size", stat.size.to_string()),
        ("mode", octal(stat.mode)),
        ("nattch", stat.attachments.to_string()),
        ("cpid", stat.creator_pid.to_string()),
        ("lpid", stat.last_pid.to_string()),
        ("atime", time_of_day(stat.attach_time)),
        ("dtime", time_of_day(stat.detach_time)),
        ("ctime", time_of_day(stat.change_time)),
    ];
    for line in group_fields("    ", &fields, 5) {
        out.line().text(line).print();
    }
    let row = procfs::sysvipc_fields(segment.id())?.unwrap_or_default();
    for line in group_fields("    /proc/sysvipc/shm: ", &row, RECORD_PAIRS) {
        out.line().value(line).print();
    }
    Ok(stat)
}
// ANCHOR_END: show_stat

// ANCHOR: stage_by_stage
/// Create, attach in the parent, attach in a child, detach both: IPC_STAT after each step.
fn stage_by_stage(lesson: &Lesson, key: Key) -> Result<()> {
    let parent = lesson.narrator("parent");
    parent.explain("at each stage: IPC_STAT, then the segment's line in the kernel's table");

    let segment = Segment::create(key, SIZE, 0o600)?;
    parent.call_note("the shmid");
    let created = show_stat(&parent, "after shmget", &segment)?;
    parent.explain("nattch 0, atime and dtime never: nobody has attached yet; cpid is us, lpid 0");
    parent.explain(format!("the table prints the key in decimal: {} is {}", key.raw(), key.hex()));

    lesson.pause_for(Duration::from_secs(1)); // so that atime differs visibly from ctime

    // The child is forked before the parent attaches: a child forked *after* shmat inherits
    // the attachment, and nattch would count it too.
    let baton = SemaphoreSet::create(Key::PRIVATE, 2, 0o600)?; // 0: child attached, 1: may detach
    let child = process::spawn("child", |child| {
        let memory = segment.attach()?;
        child.call();
        baton.post(0)?;
        baton.wait(1)?;
        memory.detach()?;
        child.call();
        Ok(())
    })?;
    baton.wait(0)?; // ends with an error if the child dies first
    let first = show_stat(&parent, "after the child's shmat", &segment)?;
    parent.explain(format!(
        "nattch 1; lpid ({}) and atime name the last process to attach: the child",
        first.last_pid
    ));

    let memory = segment.attach()?;
    parent.call();
    let both = show_stat(&parent, "after the parent's shmat", &segment)?;
    parent.explain("nattch 2; lpid is now the parent");
    lesson.step(
        &parent,
        &format!(
            "Two processes are attached to shmid {id}.\n\
             In another terminal:  ipcs -m -p      (cpid {cpid}, lpid {lpid})\n\
             and:                  ipcs -m -i {id}  (every field IPC_STAT returns)",
            id = segment.id(),
            cpid = both.creator_pid,
            lpid = both.last_pid
        ),
    );
    baton.post(1)?;
    child.wait()?;
    show_stat(&parent, "after the child's shmdt and exit", &segment)?;
    parent
        .explain("nattch 1; dtime is set and lpid names the child again: a detach is recorded too");

    memory.detach()?;
    parent.call();
    let detached = show_stat(&parent, "after the parent's shmdt", &segment)?;
    parent.explain("nattch 0, and the segment is still here: detaching never destroys it");
    if detached.change_time != created.change_time {
        return Err(Error::other("IPC_STAT", "ctime changed without IPC_SET: unexpected"));
    }
    segment.remove()?;
    parent.call_note("now it is gone");
    Ok(())
}
// ANCHOR_END: stage_by_stage

// ANCHOR: outlives
/// A child creates a segment, writes, and exits without removing it; the parent finds it.
fn outlives_its_creator(lesson: &Lesson, key: Key) -> Result<()> {
    let parent = lesson.narrator("parent");
    // Signals are held from the child's creation of the segment until the parent has taken it
    // over, so that a Ctrl-C in between cannot leave it behind; it is handled right after.
    let (segment, creator) = with_signals_held(|| -> Result<(Segment, i32)> {
        let child = process::spawn("child", |child| {
            let mut segment = Segment::create(key, SIZE, 0o600)?;
            child.call_note("the shmid");
            let memory = segment.attach()?;
            let text = format!("written by pid {}, which has exited since", child.pid());
            memory.store_c_string(0, &text)?;
            child.line().text("wrote ").value(format!("{text:?}")).print();
            memory.detach()?;
            child.call();
            segment.hand_over(); // leave it behind on purpose, for the parent to take over
            child.explain("exits without IPC_RMID");
            Ok(())
        })?;
        let creator = child.pid().as_raw();
        if let Err(err) = child.wait() {
            // Killed after it gave the segment up, it left it to nobody: take it over, so
            // that dropping it here removes it.
            drop(Segment::adopt(key));
            return Err(err);
        }
        parent.call_note(format!("process {creator} has exited"));
        Ok((Segment::adopt(key)?, creator))
    })?;
    parent.call_note("found by key: it outlived its creator");
    let stat = show_stat(&parent, "its creator gone", &segment)?;
    let gone = !std::path::Path::new(&format!("/proc/{creator}")).exists();
    parent.explain(format!(
        "cpid {} names a process that {}",
        stat.creator_pid,
        if gone { "no longer exists" } else { "still exists (unexpected)" }
    ));
    let memory = segment.attach_read_only()?;
    parent.call_note("read-only: nothing writes");
    parent.line().text("read ").value(format!("{:?}", memory.load_c_string(0))).print();
    lesson.step(
        &parent,
        &format!(
            "The creator (pid {creator}) is gone, the segment is not.\n\
             In another terminal:  ipcs -m -p   (shmid {id}, cpid {creator})",
            id = segment.id()
        ),
    );
    memory.detach()?;
    parent.explain("correction: a segment outlives its creator and every detach;");
    parent.explain("it lasts until IPC_RMID (or a reboot)");
    segment.remove()?;
    parent.call_note("removed, not by its creator");
    Ok(())
}
// ANCHOR_END: outlives

// ANCHOR: removed_while_attached
/// IPC_RMID while a child is attached: the segment is marked, keeps working, and goes at the
/// last detach.
fn removed_while_attached(lesson: &Lesson, key: Key) -> Result<()> {
    let parent = lesson.narrator("parent");
    let mut segment = Segment::create(key, SIZE, 0o600)?;
    let id = segment.id();
    parent.call_note("the shmid");

    let baton = SemaphoreSet::create(Key::PRIVATE, 2, 0o600)?; // 0: child attached, 1: go on
    let child = process::spawn("child", |child| {
        let memory = segment.attach()?;
        child.call();
        baton.post(0)?;
        baton.wait(1)?;
        let text = memory.load_c_string(0);
        child.line().text("reads ").value(format!("{text:?}")).note("after IPC_RMID").print();
        memory.store_c_string(256, "the child wrote this after IPC_RMID")?;
        memory.detach()?;
        child.call();
        Ok(())
    })?;
    baton.wait(0)?; // ends with an error if the child dies first
    let memory = segment.attach()?;
    parent.call();
    memory.store_c_string(0, "written before IPC_RMID")?;
    show_stat(&parent, "before IPC_RMID", &segment)?;

    Segment::from_id(id).remove()?; // a second handle: `segment` keeps the id for IPC_STAT
    parent.call_note("with two processes attached");
    let marked = show_stat(&parent, "after IPC_RMID", &segment)?;
    let (key_now, nattch) = (marked.key.hex(), marked.attachments);
    parent.explain(format!("still there: key {key_now} (no longer findable), nattch {nattch}"));
    let mode = octal(marked.mode);
    parent.explain(format!("mode {mode}: its 01000 bit is SHM_DEST, `dest` in `ipcs -m`"));
    if let Ok(found) = Segment::open(key, 0) {
        let found = format!("the old key still finds shmid {}", found.id());
        return Err(Error::other("shmget by the old key", found));
    }
    parent.call_note("the old key finds nothing");
    let successor = Segment::create(key, SIZE, 0o600)?;
    parent.call();
    parent.explain("the key is free again: a new, different segment");
    successor.remove()?;
    parent.call();
    lesson.step(
        &parent,
        &format!(
            "shmid {id} is marked for removal but still attached twice.\n\
             In another terminal:  ipcs -m   (key 0x00000000, status `dest`, nattch 2)"
        ),
    );

    baton.post(1)?;
    child.wait()?;
    let one_left = show_stat(&parent, "after the child's shmdt", &segment)?;
    parent.explain(format!(
        "nattch {}: the memory lives on for the last process",
        one_left.attachments
    ));
    parent.line().text("reads ").value(format!("{:?}", memory.load_c_string(256))).print();
    memory.detach()?;
    parent.call();
    if segment.stat().is_ok() {
        return Err(Error::other("IPC_STAT", "the segment survived its last detach"));
    }
    parent.call_note("the last detach freed it");
    segment.disown(); // nothing left to remove
    parent.explain("correction: IPC_RMID marks the segment at once, whoever is attached;");
    parent.explain("the kernel frees it at the last detach");
    Ok(())
}
// ANCHOR_END: removed_while_attached

// ANCHOR: anyone_may_remove
/// Not only the creator: any process of the owner (or creator, or root) may remove it.
fn anyone_with_permission_may_remove(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let mut segment = Segment::create(Key::PRIVATE, SIZE, 0o600)?;
    let id = segment.id();
    parent.call_note("the shmid");
    let child = process::spawn("child", |child| {
        Segment::from_id(id).remove()?;
        child.call_note("not its creator, but the same user");
        Ok(())
    })?;
    child.wait()?;
    if segment.stat().is_ok() {
        return Err(Error::other("IPC_STAT", "the child's IPC_RMID did not remove it"));
    }
    parent.call_note(format!("shmid {id} is gone"));
    parent.explain("not only the creator may remove a segment: its owner, its creator or root may");
    segment.disown(); // nothing left to remove
    Ok(())
}
// ANCHOR_END: anyone_may_remove

// ANCHOR: limits
/// SHMMAX, SHMMNI and SHMALL, from /proc/sys/kernel, each in its own unit.
fn limits(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    let limits = shm::limits()?;
    let page = procfs::page_size() as u64;
    let in_use = procfs::read("/proc/sysvipc/shm")?.lines().count().saturating_sub(1);
    let show = |name: &str, value: u64, unit: &str, meaning: String| {
        let file = name.to_lowercase();
        let label = format!("{name} (/proc/sys/kernel/{file}) = ");
        parent.line().text(label).value(value).text(format!(" {unit}")).print();
        parent.explain(format!("    {meaning}"));
    };
    let largest = limit_text(limits.max_segment_bytes, 1);
    show("SHMMAX", limits.max_segment_bytes, "bytes", format!("per segment: {largest}"));
    let note = format!("on the whole machine at once; {in_use} exist now");
    show("SHMMNI", limits.max_segments, "segments", note);
    let total = limit_text(limits.max_total_pages, page);
    let pages = format!("pages of {page} bytes");
    show("SHMALL", limits.max_total_pages, &pages, format!("all together: {total}"));
    parent.explain("SHMMIN is 1 byte; sizes are rounded up to whole pages");
    parent.explain("root can change the limits with sysctl (kernel.shmmax ...)");
    Ok(())
}
// ANCHOR_END: limits

// ANCHOR: ipcrm
/// `ipcrm -M key` is IPC_RMID from the command line: run the real one on a segment of ours.
fn ipcrm(lesson: &Lesson, key: Key) -> Result<()> {
    let parent = lesson.narrator("parent");
    let mut segment = Segment::create(key, SIZE, 0o600)?;
    let id = segment.id();
    parent.call_note("the shmid");
    lesson.step(
        &parent,
        &format!("In another terminal:  ipcs -m -i {id}   (what ipcrm removes next)"),
    );
    let ran = Command::new("ipcrm").arg("-M").arg(key.hex()).output();
    match ran {
        Ok(output) if output.status.success() => {
            parent
                .line()
                .text(format!("ran `ipcrm -M {}`: ", key.hex()))
                .value("exit status 0")
                .note("shmget by key, then IPC_RMID")
                .print();
            if segment.stat().is_ok() {
                return Err(Error::other("ipcrm", "the segment is still there"));
            }
            parent.call_note(format!("shmid {id} is gone"));
            parent.explain("`ipcrm -m <shmid>` does the same by id");
            segment.disown();
        }
        Ok(output) => {
            let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            parent.explain(format!("ipcrm failed ({said}); removing the segment ourselves"));
        }
        Err(_) => {
            parent.explain(
                "ipcrm is not installed here (it comes with util-linux); it would ask for IPC_RMID",
            );
        }
    }
    Ok(()) // if ipcrm did not remove it, dropping `segment` does
}
// ANCHOR_END: ipcrm
