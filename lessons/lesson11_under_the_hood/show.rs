//! What lesson 11 prints about what the kernel reports: a pagemap entry in words, the resident
//! sizes, what each column of a `/proc/self/maps` line means, what one frame behind two
//! addresses means, and the `--step` pauses' texts. The lesson's page makes the calls and
//! reads the files; this module only words what they gave.

use nix::unistd::Pid;

use shm_workbook::procfs::{self, MapsLine, PagemapEntry};
use shm_workbook::{Attachment, Narrator, Result, Segment};

// ANCHOR: describe_entry
/// What the pagemap entry of the page holding `address` (at byte (a / page) * 8) says.
pub fn describe_entry(out: &Narrator, address: usize, entry: PagemapEntry) {
    let mut words = vec![if entry.present() { "present" } else { "not present" }];
    words.extend(entry.file_or_shared().then_some("shared memory"));
    let mapped = if entry.exclusive() { "mapped once" } else { "mapped more than once" };
    words.extend(entry.present().then_some(mapped));
    let pfn = format!("PFN {:#x}", entry.pfn());
    words.push(match (entry.shows_pfn(), entry.present()) {
        (true, _) => &pfn,
        (false, true) => "PFN 0 (hidden from this user)",
        (false, false) => "no PFN",
    });
    let at = address / procfs::page_size() * 8;
    out.line()
        .text(format!("pagemap entry of {address:#x} (at byte {at:#x}): "))
        .value(words.join(", "))
        .print();
}
// ANCHOR_END: describe_entry

/// The resident size of this attachment (smaps Rss) and of the segment (/proc/sysvipc/shm).
pub fn resident(out: &Narrator, when: &str, segment: &Segment, memory: &Attachment) -> Result<()> {
    let rss = procfs::rss_kib(memory.address())?.map_or("?".to_owned(), |kib| format!("{kib} kB"));
    let line = out.line().text(format!("{when}: Rss of this mapping ")).value(rss);
    match procfs::segment_rss(segment.id())?.map(|bytes| format!("{bytes} bytes")) {
        Some(rss) => line.text(", the segment's rss in /proc/sysvipc/shm ").value(rss).print(),
        None => line.note("this kernel's /proc/sysvipc/shm has no rss column").print(),
    }
    Ok(())
}

/// The columns of `segment`'s line in /proc/self/maps: each one's name, value and meaning. The
/// inode and the path are checked against the shmid and the key, and say so if they differ.
pub fn columns(line: &MapsLine, segment: &Segment) -> [(&'static str, String, String); 6] {
    let (shmid, key_path) =
        (segment.id(), format!("/SYSV{:08x} (deleted)", segment.key().raw() as u32));
    let inode = if line.inode == shmid as u64 {
        "the shmid: the segment is a file of that hidden filesystem".into()
    } else {
        format!("(this kernel does not use the shmid {shmid} here)")
    };
    let path = if line.path == key_path {
        format!(
            "SYSV and the key in hex ({}), deleted because no directory holds a name for it",
            segment.key().hex()
        )
    } else {
        format!("(expected {key_path})")
    };
    let range = format!("{:x}-{:x}", line.start, line.end);
    [
        (
            "range ",
            range,
            format!("{} bytes from shmat's address: the segment, in whole pages", line.len()),
        ),
        (
            "perms ",
            line.perms.clone(),
            "read, write, no execute, s for shared: stores reach the segment; p would mean a \
             private copy-on-write copy"
                .into(),
        ),
        (
            "offset",
            format!("{:08x}", line.offset),
            "the mapping starts at byte 0 of the segment".into(),
        ),
        (
            "device",
            line.device.clone(),
            "the kernel's internal shm filesystem, which is never mounted anywhere".into(),
        ),
        ("inode ", line.inode.to_string(), inode),
        ("path  ", line.path.clone(), path),
    ]
}

/// What the pagemap entries `one` and `two` of one page, mapped twice by one process, say.
pub fn one_frame_twice(one: PagemapEntry, two: PagemapEntry) -> String {
    match (one.shows_pfn() && two.shows_pfn(), one.pfn() == two.pfn()) {
        (true, true) => format!(
            "PFN {:#x} behind both addresses: one frame, mapped twice by one process",
            one.pfn()
        ),
        (true, false) => "DIFFERENT frames: that would be a copy, which shmat never makes".into(),
        (false, _) => "PFNs hidden again; the flags say it: the page is now mapped more than \
                       once, by one process"
            .into(),
    }
}

/// Part 1's `--step` pause: where to see `segment` attached by this process, `me`, and `child`.
pub fn look_at_both(segment: &Segment, me: i32, child: Pid) -> String {
    let (shmid, key) = (segment.id(), segment.key().raw() as u32);
    format!(
        "Both processes are attached, at different addresses.\n\
         In another terminal, run:\n  \
         grep SYSV /proc/{me}/maps /proc/{child}/maps\n\
         two lines, two ranges, the same inode ({shmid}) and path /SYSV{key:08x} (deleted).\n  \
         ipcs -m -i {shmid}\n\
         shows nattch 2: the kernel counts attachments, not addresses."
    )
}

/// Part 5's `--step` pause: where to see the two attachments of segment `shmid` in `pid`.
pub fn look_twice(pid: i32, shmid: i32) -> String {
    format!(
        "One process, two attachments of one segment.\n\
         In another terminal, run:\n  \
         grep SYSV /proc/{pid}/maps\n\
         two lines with the same inode {shmid};  ipcs -m -i {shmid}  shows nattch 2."
    )
}
