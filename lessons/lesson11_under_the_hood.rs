//! # Lesson 11: under the hood: mappings, addresses, pages
//!
//! What it shows: what `shmat` really does. The kernel keeps the segment's pages; attaching
//! adds a *mapping* of them to the process's page tables, at whatever virtual address is free
//! in that process. So:
//! - Part 1: one segment is attached by a parent and a child at two different addresses, and
//!   each sees the other's writes: the memory is shared, the address is not. (Right after
//!   `fork()` the child would pick the parent's address, because it starts with a copy of the
//!   parent's layout; the child maps something else first, and the addresses part.)
//! - Part 2: the attachment's line in `/proc/self/maps`, column by column (for a System V
//!   segment and for a POSIX object).
//! - Part 3: `/proc/self/pagemap` in both processes: the same physical frame. As root the frame
//!   numbers are visible; an ordinary user reads 0, on purpose.
//! - Part 4: pages arrive on first touch: the resident size before and after.
//! - Part 5: one process attaches the same segment twice: two addresses, one memory.
//!
//! It reproduces the "how it works internally" section of the source documents (seed 003),
//! which says all this in words; here the kernel shows it.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson11             # the whole story
//! cargo run --bin lesson11 -- --step   # pause while both processes are attached
//! sudo target/debug/lesson11           # as root: real physical frame numbers in Part 3
//! ```
//!
//! Things to try: run it twice and compare the parent's addresses (ASLR moves them each run);
//! at the `--step` pause, `grep SYSV /proc/<pid>/maps` for both pids; run it with
//! `setarch -R` (no address randomization) and see which addresses stop changing.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use shm_workbook::process::{self, Child};
use shm_workbook::procfs::{self, MapsLine, PagemapEntry};
use shm_workbook::shm::Shareable;
use shm_workbook::{
    Attachment, Error, Key, Lesson, Narrator, Result, ScratchDir, Segment, SharedObject, futex,
    posix,
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
    let key = Key::ftok(&key_file, b'U')?;
    parent.typed_call_note(
        format!("ftok(\"{}\", 'U')", key_file.display()),
        key.hex(),
        "a key of this run's own: Part 2 finds it in /proc/self/maps",
    );
    let segment = Segment::create(key, SMALL, 0o600)?;
    parent.typed_call(
        format!("shmget({}, {SMALL}, IPC_CREAT|IPC_EXCL|0600)", key.hex()),
        format!("shmid {}", segment.id()),
    );
    let child = process::spawn("child", |out| child_side(&segment, out))?;
    parent.typed_call("fork()", format!("child {}", child.pid()));
    let memory = segment.attach()?;
    parent.typed_call(format!("shmat({}, NULL, 0)", segment.id()), hex(memory.address()));
    let board: &Board = memory.view()?;
    two_addresses(lesson, &segment, &memory, board, &child)?;

    lesson.pause_for(Duration::from_millis(600));
    lesson.part("Part 2: the mapping in /proc/self/maps");
    maps_columns(&parent, &segment, &memory)?;
    hand_over(board, 3)?;
    await_turn(board, 4, Some(&child))?;
    parent.explain("another range, the same device, inode and path: one object, mapped twice");
    posix_maps_line(&parent)?;

    lesson.pause_for(Duration::from_millis(600));
    lesson.part("Part 3: the same physical page, seen through /proc/self/pagemap");
    same_frame(&parent, &memory, board, &child)?;
    hand_over(board, 7)?;
    child.wait()?;
    parent.typed_call("waitpid(child)", "exited with status 0");
    let address = memory.address();
    memory.detach()?;
    parent.typed_call(format!("shmdt({})", hex(address)), 0);
    let id = segment.id();
    segment.remove()?;
    parent.typed_call_note(format!("shmctl({id}, IPC_RMID, NULL)"), 0, "segment removed");
    drop(scratch);
    Ok(())
}

/// Parts 4 and 5: a new segment, in this process only.
fn one_process(lesson: &Lesson) -> Result<()> {
    let parent = lesson.narrator("parent");
    lesson.part("Part 4: pages arrive on first touch");
    let segment = Segment::create(Key::PRIVATE, LARGE, 0o600)?;
    parent.typed_call(
        format!("shmget(IPC_PRIVATE, {LARGE}, IPC_CREAT|0600)"),
        format!("shmid {}", segment.id()),
    );
    let memory = first_touch(lesson, &segment)?;

    lesson.pause_for(Duration::from_millis(600));
    lesson.part("Part 5: one process, two attachments, one memory");
    attached_twice(lesson, &segment, &memory)?;
    drop(memory);
    let id = segment.id();
    segment.remove()?;
    parent.typed_call_note(format!("shmctl({id}, IPC_RMID, NULL)"), 0, "segment removed");
    Ok(())
}

// ANCHOR: two_addresses
/// The parent's side of Part 1: write a greeting, let the child answer, compare addresses.
fn two_addresses(
    lesson: &Lesson,
    segment: &Segment,
    memory: &Attachment,
    board: &Board,
    child: &Child,
) -> Result<()> {
    let parent = lesson.narrator("parent");
    board.parent_address.store(memory.address() as u64, Ordering::Relaxed);
    let greeting = format!("hello from the parent, written at {}", hex(memory.address()));
    memory.store_c_string(GREETING_AT, &greeting)?;
    parent.line().text("wrote ").value(format!("{greeting:?}")).print();
    hand_over(board, 1)?;
    await_turn(board, 2, Some(child))?;

    parent.say(format!("read: {:?}", memory.load_c_string(REPLY_AT)));
    let (mine, childs) = (memory.address(), board.child_address.load(Ordering::Relaxed) as usize);
    let verdict = if mine == childs { "the same address" } else { "different addresses" };
    parent
        .line()
        .text("the segment is at ")
        .value(hex(mine))
        .text(" in the parent and at ")
        .value(hex(childs))
        .text(format!(" in the child: {verdict}, one memory"))
        .print();
    parent.explain("each process has its own page tables; shmat only added entries pointing at the segment's pages, wherever this process had room");
    parent.explain("unrelated processes (started with exec) also get different layouts from ASLR: run the lesson twice and compare the parent's addresses");
    if lesson.options().step {
        lesson.step(
            &parent,
            &format!(
                "Both processes are attached, at different addresses.\n\
             In another terminal, run:\n  \
             grep SYSV /proc/{me}/maps /proc/{child}/maps\n\
             two lines, two ranges, the same inode ({shmid}) and path /SYSV{key:08x} (deleted).\n  \
             ipcs -m -i {shmid}\n\
             shows nattch 2: the kernel counts attachments, not addresses.",
                me = parent.pid(),
                child = child.pid(),
                shmid = segment.id(),
                key = segment.key().raw() as u32,
            ),
        );
    }
    Ok(())
}

/// Everything the child does, turn by turn. (If it fails, it exits with its error, and the
/// parent, which checks that the child is alive while it waits, stops too.)
fn child_side(segment: &Segment, out: &Narrator) -> Result<()> {
    // Attached right after fork(): the child's layout is still a copy of the parent's.
    let first = segment.attach()?;
    out.typed_call(format!("shmat({}, NULL, 0)", segment.id()), hex(first.address()));
    await_turn(first.view::<Board>()?, 1, None)?;
    let parents = first.view::<Board>()?.parent_address.load(Ordering::Relaxed) as usize;
    if first.address() == parents {
        out.explain("the parent's address too: after fork() the child has a copy of the parent's layout, so the search for a free range ends at the same place");
    } else {
        out.explain("not the parent's address: something was mapped differently in the two processes after fork()");
    }
    let address = first.address();
    first.detach()?;
    out.typed_call(format!("shmdt({})", hex(address)), 0);
    // Something else, as big as the segment: the kernel puts it in the range just freed, the
    // first free range it finds from the top, as it did for the segment.
    let other = Anonymous::map(SMALL)?;
    out.typed_call_note(
        format!("mmap(NULL, {SMALL}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"),
        hex(other.address()),
        "other memory takes the range first",
    );
    let memory = segment.attach()?;
    let note = if memory.address() == address {
        "the same address again: the range was free after all"
    } else {
        "the same segment, at another address"
    };
    out.typed_call_note(format!("shmat({}, NULL, 0)", segment.id()), hex(memory.address()), note);
    let board: &Board = memory.view()?;
    out.say(format!("read: {:?}", memory.load_c_string(GREETING_AT)));
    let reply = format!("hello from the child, written at {}", hex(memory.address()));
    memory.store_c_string(REPLY_AT, &reply)?;
    out.line().text("wrote ").value(format!("{reply:?}")).print();
    board.child_address.store(memory.address() as u64, Ordering::Relaxed);
    hand_over(board, 2)?;

    await_turn(board, 3, None)?; // Part 2: the child's own line in /proc/self/maps
    let line = procfs::maps_line(memory.address())?
        .ok_or_else(|| Error::other("read(/proc/self/maps)", "no line holds the attachment"))?;
    out.line().text("my line: ").value(&line.raw).print();
    hand_over(board, 4)?;

    await_turn(board, 5, None)?; // Part 3: the child's pagemap entry for the first page
    let entry = procfs::pagemap(memory.address())?;
    describe_entry(out, memory.address(), entry);
    board.child_pagemap.store(entry.0, Ordering::Relaxed);
    hand_over(board, 6)?;

    await_turn(board, 7, None)?;
    Ok(()) // dropping `memory` detaches, dropping `other` unmaps the anonymous memory
}
// ANCHOR_END: two_addresses

/// Passes the turn to the other process: a store, and a futex wake for whoever sleeps on it.
/// The futex works although the two addresses differ: the kernel keys shared futexes by the
/// page behind the address, not by the address.
fn hand_over(board: &Board, turn: u32) -> Result<()> {
    futex::store_and_wake(&board.turn, turn)
}

/// Waits until the turn reaches `turn`. The child sleeps on the futex; the parent sleeps in
/// short slices and checks that the child is still alive, so that a child that failed cannot
/// leave it waiting.
fn await_turn(board: &Board, turn: u32, child: Option<&Child>) -> Result<()> {
    loop {
        let now = board.turn.load(Ordering::Acquire);
        if now >= turn {
            return Ok(());
        }
        match child {
            None => shm_workbook::wait::wait_while(
                &board.turn,
                now,
                shm_workbook::wait::Policy::DEFAULT,
                shm_workbook::wait::Partner::parent(),
            )?,
            Some(child) => shm_workbook::wait::wait_while(
                &board.turn,
                now,
                shm_workbook::wait::Policy::DEFAULT,
                shm_workbook::wait::Partner::Child(child.pid()),
            )?,
        };
    }
}

// ANCHOR: maps_columns
/// The attachment's line in /proc/self/maps, column by column.
fn maps_columns(parent: &Narrator, segment: &Segment, memory: &Attachment) -> Result<()> {
    let line = find_line(memory.address())?;
    parent.line().text("my line: ").value(&line.raw).print();
    let key_path = format!("/SYSV{:08x} (deleted)", segment.key().raw() as u32);
    let columns = [
        (
            "range ",
            format!("{:x}-{:x}", line.start, line.end),
            format!("{} bytes from shmat's address: the segment, in whole pages", line.len()),
        ),
        (
            "perms ",
            line.perms.clone(),
            "read, write, no execute, s for shared: stores reach the segment; p would mean a private copy-on-write copy".into(),
        ),
        ("offset", format!("{:08x}", line.offset), "the mapping starts at byte 0 of the segment".into()),
        (
            "device",
            line.device.clone(),
            "the kernel's internal shm filesystem, which is never mounted anywhere".into(),
        ),
        (
            "inode ",
            line.inode.to_string(),
            if line.inode == segment.id() as u64 {
                "the shmid: the segment is a file of that hidden filesystem".into()
            } else {
                format!("(this kernel does not use the shmid {} here)", segment.id())
            },
        ),
        (
            "path  ",
            line.path.clone(),
            if line.path == key_path {
                format!("SYSV and the key in hex ({}), deleted because no directory holds a name for it", segment.key().hex())
            } else {
                format!("(expected {key_path})")
            },
        ),
    ];
    for (column, value, meaning) in columns {
        parent.line().text(format!("  {column} ")).value(value).note(meaning).print();
    }
    Ok(())
}

/// The same for a POSIX object (lesson 08): its line names its file in /dev/shm.
fn posix_maps_line(parent: &Narrator) -> Result<()> {
    let name = posix::unique_name("maps");
    let object = SharedObject::create(&name, 0o600)?;
    parent.typed_call(format!("shm_open(\"{name}\", O_CREAT|O_EXCL|O_RDWR, 0600)"), "fd");
    let page = procfs::page_size();
    object.set_len(page as u64)?;
    let mapping = object.map(page)?;
    parent.typed_call(
        format!("mmap(NULL, {page}, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)"),
        hex(mapping.address()),
    );
    let inode = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(object.path()).map_err(|err| Error::io("stat(/dev/shm/...)", err))?,
    );
    let line = find_line(mapping.address())?;
    parent.line().text("its line: ").value(&line.raw).print();
    parent.explain(format!(
        "the device is the tmpfs mounted on /dev/shm, the inode {} is the file's (`ls -i {}` says {inode}), the path is the file",
        line.inode,
        object.path()
    ));
    object.unlink()?;
    parent.typed_call(format!("shm_unlink(\"{name}\")"), 0);
    let line = find_line(mapping.address())?;
    parent.line().text("its line now: ").value(&line.raw).print();
    parent.explain("a mapping outlives the name: like the SysV segment, the file has no name left, and the kernel says (deleted)");
    Ok(()) // dropping `mapping` unmaps it, and the memory goes
}
// ANCHOR_END: maps_columns

// ANCHOR: same_frame
/// Both processes look up the first page of their attachment in /proc/self/pagemap.
fn same_frame(parent: &Narrator, memory: &Attachment, board: &Board, child: &Child) -> Result<()> {
    let mine = procfs::pagemap(memory.address())?;
    describe_entry(parent, memory.address(), mine);
    hand_over(board, 5)?;
    await_turn(board, 6, Some(child))?;
    let childs = PagemapEntry(board.child_pagemap.load(Ordering::Relaxed));
    if mine.shows_pfn() && childs.shows_pfn() {
        let verdict =
            if mine.pfn() == childs.pfn() { "the same physical frame" } else { "DIFFERENT frames" };
        parent
            .line()
            .text("PFNs are visible: ")
            .value(format!("{:#x}", mine.pfn()))
            .text(" in the parent, ")
            .value(format!("{:#x}", childs.pfn()))
            .text(format!(" in the child: {verdict}"))
            .print();
        parent.explain("two virtual addresses, two page tables, one page of RAM: nothing is copied between the processes");
    } else {
        parent.line().text("PFNs are hidden: both processes read PFN ").value(0).print();
        parent.explain("since Linux 4.0 only a reader with CAP_SYS_ADMIN (root, outside a container) sees real frame numbers: knowing where pages sit in RAM helps attacks such as rowhammer, which flip bits in memory next to a chosen page");
        parent.explain("the flags are still there: both see the page present, shared, and not exclusively mapped (another mapping uses it); run the lesson as root to compare frames");
    }
    Ok(())
}

/// One line about a pagemap entry.
fn describe_entry(out: &Narrator, address: usize, entry: PagemapEntry) {
    let mut flags = vec![if entry.present() { "present" } else { "not present" }];
    if entry.file_or_shared() {
        flags.push("shared memory");
    }
    if entry.present() {
        flags.push(if entry.exclusive() { "mapped once" } else { "mapped more than once" });
    }
    let pfn = if entry.shows_pfn() {
        format!("PFN {:#x}", entry.pfn())
    } else if entry.present() {
        "PFN 0 (hidden from this user)".to_owned()
    } else {
        "no PFN".to_owned()
    };
    out.line()
        .typed_call(format!(
            "pread(pagemap_fd, &entry, 8, ({address:#x} / {}) * 8)",
            procfs::page_size()
        ))
        .text(" = ")
        .value(format!("{}, {pfn}", flags.join(", ")))
        .print();
}
// ANCHOR_END: same_frame

// ANCHOR: first_touch
/// Attaches the segment and touches it page by page, reading the resident size as it grows.
fn first_touch(lesson: &Lesson, segment: &Segment) -> Result<Attachment> {
    let parent = lesson.narrator("parent");
    let memory = segment.attach()?;
    parent.typed_call(format!("shmat({}, NULL, 0)", segment.id()), hex(memory.address()));
    resident(&parent, "after shmat", segment, &memory)?;
    let page = procfs::page_size();
    let last = memory.address() + LARGE - page;
    describe_entry(&parent, last, procfs::pagemap(last)?);
    parent.explain("shmget and shmat reserved a size and an address range, not memory");

    memory.store(0, b"x")?;
    parent.say("stored one byte in the first page");
    resident(&parent, "after one store", segment, &memory)?;
    lesson.pause_for(Duration::from_millis(300));
    for offset in (0..LARGE).step_by(page) {
        memory.store(offset, b"x")?;
    }
    parent.say(format!("stored one byte in each of the {} pages", LARGE / page));
    resident(&parent, "after touching all", segment, &memory)?;
    describe_entry(&parent, last, procfs::pagemap(last)?);
    parent.explain("each first touch was a page fault: the kernel found no page, took a zeroed one, added it to the segment and to this process's page table");
    Ok(memory)
}

/// The resident size of this attachment (smaps Rss) and of the segment (/proc/sysvipc/shm).
fn resident(out: &Narrator, when: &str, segment: &Segment, memory: &Attachment) -> Result<()> {
    let rss = procfs::rss_kib(memory.address())?.map_or("?".to_owned(), |kib| format!("{kib} kB"));
    let line = out.line().text(format!("{when}: Rss of this mapping ")).value(rss);
    match procfs::segment_rss(segment.id())? {
        Some(bytes) => line
            .text(", the segment's rss in /proc/sysvipc/shm ")
            .value(format!("{bytes} bytes"))
            .print(),
        None => line.note("this kernel's /proc/sysvipc/shm has no rss column").print(),
    }
    Ok(())
}
// ANCHOR_END: first_touch

// ANCHOR: attached_twice
/// A second attachment of the same segment in the same process.
fn attached_twice(lesson: &Lesson, segment: &Segment, first: &Attachment) -> Result<()> {
    let parent = lesson.narrator("parent");
    let second = segment.attach()?;
    parent.typed_call_note(
        format!("shmat({}, NULL, 0)", segment.id()),
        hex(second.address()),
        format!("again: the first attachment is at {}", hex(first.address())),
    );
    let stat = segment.stat()?;
    parent.typed_call_note(
        format!("shmctl({}, IPC_STAT, &ds)", segment.id()),
        format!("shm_nattch {}", stat.attachments),
        "two attachments, one process",
    );
    for memory in [first, &second] {
        parent.line().text("maps: ").value(&find_line(memory.address())?.raw).print();
    }
    resident(&parent, "the second attachment, untouched", segment, &second)?;
    parent.explain(
        "the segment's pages all exist, but none is in the second mapping's page-table entries yet",
    );

    let text = format!("written through {}", hex(first.address()));
    first.store_c_string(0, &text)?;
    parent.line().text("wrote ").value(format!("{text:?}")).text(" through the first").print();
    parent.say(format!(
        "read through the second ({}): {:?}",
        hex(second.address()),
        second.load_c_string(0)
    ));
    resident(&parent, "the second attachment, after one read", segment, &second)?;
    parent.explain("the read faulted the page into the second mapping without allocating anything: the page already existed");

    for memory in [first, &second] {
        describe_entry(&parent, memory.address(), procfs::pagemap(memory.address())?);
    }
    let (one, two) = (procfs::pagemap(first.address())?, procfs::pagemap(second.address())?);
    if one.shows_pfn() && two.shows_pfn() {
        parent.explain(if one.pfn() == two.pfn() {
            format!(
                "PFN {:#x} behind both addresses: one frame, mapped twice by one process",
                one.pfn()
            )
        } else {
            "DIFFERENT frames: that would be a copy, which shmat never makes".to_owned()
        });
    } else {
        parent.explain("PFNs hidden again; the flags say it: the page is now mapped more than once, by one process");
    }
    if lesson.options().step {
        lesson.step(
            &parent,
            &format!(
                "One process, two attachments of one segment.\n\
             In another terminal, run:\n  \
             grep SYSV /proc/{pid}/maps\n\
             two lines with the same inode {shmid};  ipcs -m -i {shmid}  shows nattch 2.",
                pid = parent.pid(),
                shmid = segment.id(),
            ),
        );
    }
    let address = second.address();
    second.detach()?;
    parent.typed_call(format!("shmdt({})", hex(address)), 0);
    Ok(())
}
// ANCHOR_END: attached_twice

/// The maps line holding `address` (it must exist: the address is one of our mappings).
fn find_line(address: usize) -> Result<MapsLine> {
    procfs::maps_line(address)?.ok_or_else(|| {
        Error::other("read(\"/proc/self/maps\")", format!("no line holds {}", hex(address)))
    })
}

fn hex(address: usize) -> String {
    format!("{address:#x}")
}

/// Private anonymous memory, unmapped on drop: the "something else" the child maps first.
struct Anonymous {
    addr: std::ptr::NonNull<std::ffi::c_void>,
    len: usize,
}

impl Anonymous {
    fn map(len: usize) -> Result<Anonymous> {
        let length = NonZeroUsize::new(len).ok_or_else(|| Error::other("mmap", "length 0"))?;
        use nix::sys::mman::{MapFlags, ProtFlags};
        // SAFETY: the kernel chooses the address (None), so no existing mapping is replaced;
        // the memory is private to this process and never read or written here.
        let addr = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                length,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .map_err(|errno| Error::sys(format!("mmap(NULL, {len}, ...)"), errno))?;
        Ok(Anonymous { addr, len })
    }

    fn address(&self) -> usize {
        self.addr.as_ptr() as usize
    }
}

impl Drop for Anonymous {
    fn drop(&mut self) {
        // SAFETY: `addr` and `len` came from mmap above and are unmapped once, here.
        let _ = unsafe { nix::sys::mman::munmap(self.addr, self.len) };
    }
}
