//! # Lesson 11: under the hood: mappings, addresses, pages
//!
//! What it shows: what `shmat` really does. The kernel keeps the segment's pages; attaching
//! creates a *mapping* of them (a VMA) at whatever virtual address is free in the process, and
//! the page-table entries that lead to the pages come later, page by page, at the first touch.
//! - Part 1: a parent and a child attach one segment at two different addresses, and each sees
//!   the other's writes: the memory is shared, the address is not. (Right after `fork()` the
//!   child would pick the parent's address, as it starts with a copy of the parent's layout; it
//!   maps something else first, and the addresses part.)
//! - Part 2: the attachment's line in `/proc/self/maps`, column by column (System V and POSIX).
//! - Part 3: `/proc/self/pagemap` in both processes: the same physical frame (visible as root;
//!   an ordinary user reads 0, on purpose).
//! - Part 4: pages arrive on first touch: the resident size before and after.
//! - Part 5: one process attaches the same segment twice: two addresses, one memory.
//!
//! It reproduces the "how it works internally" section of the source documents (seed 003),
//! which says all this in words; here the kernel shows it.
//!
//! ```text
//! cargo run --bin lesson11             # the whole story
//! cargo run --bin lesson11 -- --step   # pause in each part: the commands to look with
//! sudo target/debug/lesson11           # as root: real physical frame numbers in Part 3
//! ```
//!
//! Things to try: run it twice and compare the parent's addresses (ASLR moves them); at the
//! `--step` pause, `grep SYSV /proc/<pid>/maps` for both pids; run it under `setarch -R` (no
//! address randomization) and see which addresses stop changing.

mod show;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use shm_workbook::Shareable;
use shm_workbook::procfs::{self, PagemapEntry};
use shm_workbook::wait::{self, Partner, Policy};
use shm_workbook::{
    Attachment, Error, Key, Lesson, Narrator, Result, ScratchDir, Segment, SharedObject, posix,
    process,
};

/// Parts 1 to 3: a segment of four pages.
const SMALL: usize = 4 * 4096;
/// Parts 4 and 5: sixteen pages, to count them arriving.
const LARGE: usize = 16 * 4096;

// ANCHOR: board
/// The start of the Part 1 segment: whose turn it is, and what each side tells the other.
/// Every field is an atomic, because two processes touch them.
#[repr(C)]
struct Board {
    /// Turn 1, 3, 5: the child acts; 2, 4, 6: the parent acts; 7: done.
    turn: AtomicU32,
    parent_address: AtomicU64,
    child_address: AtomicU64,
    child_pagemap: AtomicU64,
}

// SAFETY: repr(C), made only of atomic integers: valid for every bit pattern (a new segment is
// all zeroes), holds no pointers, and every field two processes touch is atomic.
unsafe impl Shareable for Board {}

/// Where the parent writes its greeting and the child its reply.
const GREETING_AT: usize = 256;
const REPLY_AT: usize = 1024;

/// Gives the turn to the other process and sleeps until it gives the next one back. The futex
/// works although the two addresses differ: the kernel keys shared futexes by the page behind
/// the address. If the partner dies instead, the wait ends with an error naming it.
fn take_turns(board: &Board, turn: u32, partner: Partner) -> Result<()> {
    wait::publish(&board.turn, turn, Policy::DEFAULT)?;
    wait::wait_while(&board.turn, turn, Policy::DEFAULT, partner).map(drop)
}
// ANCHOR_END: board

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson11");
    parent_and_child(&lesson)?; // Parts 1 to 3
    lesson.pause_for(Duration::from_millis(600));
    one_process(&lesson) // Parts 4 and 5
}

/// Parts 1 to 3: one segment, attached by a parent and a child that take turns.
fn parent_and_child(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    lesson.part("Part 1: one segment, two processes, two addresses");
    let mut scratch = ScratchDir::new("lesson11")?;
    let key_file = scratch.create_file("key", b"ftok reads this file's inode\n")?;
    let key = Key::ftok_unused(key_file, b'U')?.explain_to(&parent);
    parent.call_note(
        "85 is 'U' (or the next id, if that key was taken): a key of this run's own, which Part 2 \
         finds in /proc/self/maps",
    );
    let segment = Segment::create(key, SMALL, 0o600)?;
    parent.call_note("the shmid, which Part 2 finds too");
    let child = process::spawn("child", |out| child_side(&segment, out))?;
    parent.call();
    let memory = segment.attach()?;
    parent.call();
    let board: &Board = memory.view()?;
    two_addresses(lesson, &segment, &memory, board, child.pid())?;

    lesson.pause_for(Duration::from_millis(600));
    lesson.part("Part 2: the mapping in /proc/self/maps");
    maps_columns(&parent, &segment, &memory)?;
    take_turns(board, 3, Partner::Child(child.pid()))?; // the child prints its own line
    parent.explain("another range, the same device, inode and path: one object, mapped twice");
    posix_maps_line(lesson, &parent)?;

    lesson.pause_for(Duration::from_millis(600));
    lesson.part("Part 3: the same physical page, seen through /proc/self/pagemap");
    same_frame(&parent, &memory, board, Partner::Child(child.pid()))?;
    let (page, pid) = (memory.address() / procfs::page_size(), parent.pid());
    let look = format!(
        "As root, the parent's entry in its pagemap:\n  \
         dd if=/proc/{pid}/pagemap bs=8 skip={page} count=1 status=none | od -A n -t x8\n\
         bit 63: present; bit 61: shared; bits 0-54: the PFN (0 for an ordinary user)"
    );
    lesson.step(&parent, &look);
    wait::publish(&board.turn, 7, Policy::DEFAULT)?; // the child may finish
    child.wait()?;
    parent.call_note("the child exited with status 0");
    memory.detach()?;
    parent.call();
    segment.remove()?;
    parent.call_note("segment removed");
    Ok(()) // dropping `scratch` removes the key file and its directory
}

/// Parts 4 and 5: a new segment, in this process only.
fn one_process(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    lesson.part("Part 4: pages arrive on first touch");
    let segment = Segment::create(Key::PRIVATE, LARGE, 0o600)?;
    parent.call();
    let memory = first_touch(lesson, &segment)?;

    lesson.pause_for(Duration::from_millis(600));
    lesson.part("Part 5: one process, two attachments, one memory");
    attached_twice(lesson, &segment, &memory)?;
    drop(memory);
    segment.remove()?;
    parent.call_note("segment removed");
    Ok(())
}

// ANCHOR: two_addresses
/// The parent's side of Part 1: write a greeting, let the child answer, compare addresses.
fn two_addresses(
    lesson: &Lesson,
    segment: &Segment,
    memory: &Attachment,
    board: &Board,
    child: nix::unistd::Pid,
) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.parent_address.store(memory.address() as u64, Ordering::Relaxed);
    let greeting = format!("hello from the parent, written at {:#x}", memory.address());
    memory.store_c_string(GREETING_AT, &greeting)?;
    parent.line().text("wrote ").value(format!("{greeting:?}")).print();
    take_turns(board, 1, Partner::Child(child))?;
    parent.say(format!("read: {:?}", memory.load_c_string(REPLY_AT)));
    let (mine, childs) = (memory.address(), board.child_address.load(Ordering::Relaxed) as usize);
    let verdict = if mine == childs { "the same address" } else { "different addresses" };
    parent.say(format!(
        "the segment is at {mine:#x} in the parent and at {childs:#x} in the child: {verdict}, one \
         memory"
    ));
    parent.explain(
        "each process has its own address space: shmat created a mapping of the segment (a VMA) \
         wherever this process had room; page-table entries come only at the first touch (Part 4)",
    );
    parent.explain(
        "unrelated processes (started with exec) also get different layouts from ASLR: run the \
         lesson twice and compare the parent's addresses",
    );
    lesson.step(&parent, &show::look_at_both(segment, parent.pid(), child)); // maps, ipcs
    Ok(())
}

/// Everything the child does, turn by turn. (If it fails, it exits with its error, and the
/// parent's wait, which watches the child, ends with an error too.)
fn child_side(segment: &Segment, out: &Narrator) -> Result<()> {
    let parent = Partner::parent();
    // Attached right after fork(): the child's layout is still a copy of the parent's.
    let first = segment.attach()?;
    out.call();
    wait::wait_while(&first.view::<Board>()?.turn, 0, Policy::DEFAULT, parent)?;
    let parents = first.view::<Board>()?.parent_address.load(Ordering::Relaxed) as usize;
    if first.address() == parents {
        out.explain(
            "the parent's address too: after fork() the child has a copy of the parent's layout, \
             so the search for a free range ends at the same place",
        );
    } else {
        out.explain(
            "not the parent's address: something was mapped differently in the two processes after \
             fork()",
        );
    }
    let address = first.address();
    first.detach()?;
    out.call();
    // Other memory, as big as the segment: the kernel puts it in the first free range it finds.
    posix::shm::map_anonymous(SMALL)?;
    out.call_note("other memory takes the range first");
    let memory = segment.attach()?;
    out.call_note(if memory.address() == address {
        "the same address again: the range was free after all"
    } else {
        "the same segment, at another address"
    });
    let board: &Board = memory.view()?;
    out.say(format!("read: {:?}", memory.load_c_string(GREETING_AT)));
    let reply = format!("hello from the child, written at {:#x}", memory.address());
    memory.store_c_string(REPLY_AT, &reply)?;
    out.line().text("wrote ").value(format!("{reply:?}")).print();
    board.child_address.store(memory.address() as u64, Ordering::Relaxed);
    take_turns(board, 2, parent)?;

    // Part 2: the child's own line in /proc/self/maps.
    out.line().text("my line: ").value(&memory.maps_line()?.raw).print();
    take_turns(board, 4, parent)?;

    // Part 3: the child's pagemap entry for the first page.
    let entry = procfs::pagemap(memory.address())?;
    show::describe_entry(out, memory.address(), entry);
    board.child_pagemap.store(entry.0, Ordering::Relaxed);
    take_turns(board, 6, parent)?;
    Ok(()) // dropping `memory` detaches
}
// ANCHOR_END: two_addresses

// ANCHOR: maps_columns
/// The attachment's line in /proc/self/maps, column by column.
fn maps_columns(parent: &Narrator, segment: &Segment, memory: &Attachment) -> Result<()> {
    let line = memory.maps_line()?;
    parent.line().text("my line: ").value(&line.raw).print();
    for (column, value, meaning) in show::columns(&line, segment) {
        parent.line().text(format!("  {column} ")).value(value).note(meaning).print();
    }
    Ok(())
}

/// The same for a POSIX object (lesson 08): its line names its file in /dev/shm.
fn posix_maps_line(lesson: &Lesson, parent: &Narrator) -> Result<()> {
    let object = SharedObject::create(&posix::name::unique_name("maps"), 0o600)?;
    parent.call();
    let page = procfs::page_size();
    object.set_len(page as u64)?;
    parent.call();
    let mapping = object.map(page)?;
    parent.call();
    let stat = std::fs::metadata(object.path()).map_err(|err| Error::io(object.path(), err));
    let inode = std::os::unix::fs::MetadataExt::ino(&stat?);
    let line = mapping.maps_line()?;
    parent.line().text("its line: ").value(&line.raw).print();
    parent.explain(format!(
        "the device is the tmpfs mounted on /dev/shm, the inode {} is the file's (`ls -i {}` says \
         {inode}), the path is the file",
        line.inode,
        object.path()
    ));
    let (pid, name) = (parent.pid(), object.name().trim_start_matches('/').to_owned());
    let look = format!(
        "In another terminal:  grep {name} /proc/{pid}/maps\n\
         and:  ls -i {}   the same inode as in the maps line",
        object.path()
    );
    lesson.step(parent, &look);
    object.unlink()?;
    parent.call();
    let line = mapping.maps_line()?;
    parent.line().text("its line now: ").value(&line.raw).print();
    parent.explain(
        "a mapping outlives the name: like the SysV segment, the file has no name left, and the \
         kernel says (deleted)",
    );
    Ok(()) // dropping `mapping` unmaps it, and the memory goes
}
// ANCHOR_END: maps_columns

// ANCHOR: same_frame
/// Both processes look up the first page of their attachment in /proc/self/pagemap.
fn same_frame(parent: &Narrator, memory: &Attachment, board: &Board, child: Partner) -> Result<()> {
    parent.explain(format!(
        "pagemap holds 8 bytes per page of this process: the entry of address a is at byte \
         (a / {}) * 8",
        procfs::page_size()
    ));
    let mine = procfs::pagemap(memory.address())?;
    show::describe_entry(parent, memory.address(), mine);
    take_turns(board, 5, child)?; // the child reads its own entry
    let childs = PagemapEntry(board.child_pagemap.load(Ordering::Relaxed));
    if mine.shows_pfn() && childs.shows_pfn() {
        let (mine, childs) = (mine.pfn(), childs.pfn());
        let verdict = if mine == childs { "the same physical frame" } else { "DIFFERENT frames" };
        parent.say(format!(
            "PFNs are visible: {mine:#x} in the parent, {childs:#x} in the child: {verdict}"
        ));
        parent.explain(
            "two virtual addresses, two page tables, one page of RAM: nothing is copied between \
             the processes",
        );
    } else {
        parent.line().text("PFNs are hidden: both processes read PFN ").value(0).print();
        parent.explain(
            "since Linux 4.0 only a reader with CAP_SYS_ADMIN (root, outside a container) sees \
             real frame numbers: knowing where pages sit in RAM helps attacks such as rowhammer, \
             which flip bits in memory next to a chosen page",
        );
        parent.explain(
            "the flags are still there: both see the page present, shared, and not exclusively \
             mapped (another mapping uses it); run the lesson as root to compare frames",
        );
    }
    Ok(())
}
// ANCHOR_END: same_frame

// ANCHOR: first_touch
/// Attaches the segment and touches it page by page, reading the resident size as it grows.
fn first_touch(lesson: &Lesson, segment: &Segment) -> Result<Attachment> {
    let parent = lesson.narrator("parent");
    let memory = segment.attach()?;
    parent.call();
    show::resident(&parent, "after shmat", segment, &memory)?;
    let page = procfs::page_size();
    let last = memory.address() + LARGE - page;
    show::describe_entry(&parent, last, procfs::pagemap(last)?);
    parent.explain(
        "shmget reserved a size and shmat a range of addresses (a mapping), not memory: no page, \
         no page-table entry yet",
    );
    memory.store(0, b"x")?;
    parent.say("stored one byte in the first page");
    show::resident(&parent, "after one store", segment, &memory)?;
    let (pid, kib) = (parent.pid(), LARGE / 1024);
    let look = format!(
        "In another terminal:  grep -A 4 SYSV /proc/{pid}/smaps\n\
         Size is {kib} kB, Rss 4 kB: of the mapping, only the page touched is in memory."
    );
    lesson.step(&parent, &look);
    lesson.pause_for(Duration::from_millis(300));
    for offset in (0..LARGE).step_by(page) {
        memory.store(offset, b"x")?;
    }
    parent.say(format!("stored one byte in each of the {} pages", LARGE / page));
    show::resident(&parent, "after touching all", segment, &memory)?;
    show::describe_entry(&parent, last, procfs::pagemap(last)?);
    parent.explain(
        "each first touch was a page fault: the kernel found no page, took a zeroed one, added it \
         to the segment and to this process's page table",
    );
    Ok(memory)
}
// ANCHOR_END: first_touch

// ANCHOR: attached_twice
/// A second attachment of the same segment in the same process.
fn attached_twice(lesson: &Lesson, segment: &Segment, first: &Attachment) -> Result<()> {
    let parent = lesson.narrator("parent");
    let second = segment.attach()?;
    parent.call_note(format!("again: the first attachment is at {:#x}", first.address()));
    let stat = segment.stat()?;
    parent.call_note(format!("shm_nattch is {}: two attachments, one process", stat.attachments));
    for memory in [first, &second] {
        parent.line().text("maps: ").value(&memory.maps_line()?.raw).print();
    }
    show::resident(&parent, "the second attachment, untouched", segment, &second)?;
    parent.explain(
        "the segment's pages all exist, but none is in the second mapping's page-table entries yet",
    );

    let text = format!("written through {:#x}", first.address());
    first.store_c_string(0, &text)?;
    parent.line().text("wrote ").value(format!("{text:?}")).text(" through the first").print();
    let read = second.load_c_string(0);
    parent.say(format!("read through the second ({:#x}): {read:?}", second.address()));
    show::resident(&parent, "the second attachment, after one read", segment, &second)?;
    parent.explain(
        "the read faulted the page into the second mapping without allocating anything: the page \
         already existed",
    );

    let entries = [procfs::pagemap(first.address())?, procfs::pagemap(second.address())?];
    for (memory, entry) in [first, &second].into_iter().zip(entries) {
        show::describe_entry(&parent, memory.address(), entry);
    }
    let [one, two] = entries;
    parent.explain(show::one_frame_twice(one, two));
    lesson.step(&parent, &show::look_twice(parent.pid(), segment.id())); // maps, ipcs
    second.detach()?;
    parent.call();
    Ok(())
}
// ANCHOR_END: attached_twice
