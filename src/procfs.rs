//! The one reader of `/proc` in the library: what the kernel says about a process's memory
//! (the line of `/proc/self/maps` that holds an address, the resident size of that mapping,
//! the `/proc/self/pagemap` entry of a page), about a process (`/proc/<pid>/stat`), and about
//! the System V objects (`/proc/sysvipc/{shm,sem,msg}`, the tables `ipcs` reads).
//!
//! | file | here |
//! |---|---|
//! | `/proc/self/maps` | [`maps_line`], parsed by [`MapsLine::parse`] |
//! | `/proc/self/smaps` (`Rss:`) | [`rss_kib`], parsed by [`rss_kib_in`] |
//! | `/proc/self/pagemap` | [`pagemap`], decoded by [`PagemapEntry`] |
//! | `/proc/sysvipc/shm` (`rss`) | [`segment_rss`], parsed by [`segment_rss_in`] |
//! | `/proc/sysvipc/shm` (some columns) | [`sysvipc_columns`], parsed by [`sysvipc_columns_in`] |
//! | `/proc/sysvipc/{shm,sem,msg}` (any row) | [`IpcTable::rows`], parsed by [`ipc_rows_in`] |
//! | `/proc/sysvipc/shm` (a segment's line) | [`sysvipc_fields`] |
//! | `/proc/<pid>/stat` | [`process_stat`], parsed by [`process_stat_in`] |
//!
//! Each reader has a pure parsing function beside it, so the format is tested on fixed text.

use std::os::unix::fs::FileExt;

use crate::error::{Error, Result};

/// The size of a page in bytes (`sysconf(_SC_PAGESIZE)`; 4096 on x86-64).
pub fn page_size() -> usize {
    // SAFETY: sysconf takes an integer and touches no memory of ours.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|&size| size > 0).unwrap_or(4096)
}

/// One line of `/proc/<pid>/maps`: one mapping (a VMA) of the process.
///
/// ```text
/// 7f3a1c000000-7f3a1c004000 rw-s 00000000 00:01 32769      /SYSV00000000 (deleted)
/// start        end          perms offset device inode       path
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapsLine {
    /// First address of the mapping.
    pub start: usize,
    /// One past its last address.
    pub end: usize,
    /// `r`, `w`, `x`, then `s` (shared) or `p` (private, copy-on-write).
    pub perms: String,
    /// Offset in the file (or object) where the mapping starts.
    pub offset: u64,
    /// The device of the file, `major:minor` in hex.
    pub device: String,
    /// The inode of the file (for a System V segment: its shmid).
    pub inode: u64,
    /// The path, possibly with ` (deleted)`; empty for anonymous memory.
    pub path: String,
    /// The line as the kernel printed it.
    pub raw: String,
}

impl MapsLine {
    /// Parses one line of `maps`; `None` if it does not have the six columns.
    pub fn parse(line: &str) -> Option<MapsLine> {
        // The path is the rest of the line and may contain spaces: split off five fields only.
        let mut fields = line.splitn(6, ' ');
        let (range, perms, offset, device, inode) =
            (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        let path = fields.next().unwrap_or("").trim_start().to_owned();
        let (start, end) = range.split_once('-')?;
        Some(MapsLine {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            perms: perms.to_owned(),
            offset: u64::from_str_radix(offset, 16).ok()?,
            device: device.to_owned(),
            inode: inode.parse().ok()?,
            path,
            raw: line.to_owned(),
        })
    }

    /// Whether the mapping is shared (`s` as the fourth permission letter).
    pub fn is_shared(&self) -> bool {
        self.perms.ends_with('s')
    }

    /// Whether `address` falls inside the mapping.
    pub fn contains(&self, address: usize) -> bool {
        (self.start..self.end).contains(&address)
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether it is empty (never, for a line the kernel printed).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// The line of `/proc/self/maps` whose range holds `address`, or `None` if nothing is mapped
/// there.
pub fn maps_line(address: usize) -> Result<Option<MapsLine>> {
    let text = read("/proc/self/maps")?;
    Ok(text.lines().filter_map(MapsLine::parse).find(|line| line.contains(address)))
}

/// The `Rss:` (resident set size, in KiB) of the mapping that holds `address`, in the text of
/// a `smaps` file: how much of that mapping is backed by pages mapped into this process now.
pub fn rss_kib_in(smaps: &str, address: usize) -> Option<u64> {
    let mut inside = false;
    for line in smaps.lines() {
        if let Some(header) = MapsLine::parse(line) {
            inside = header.contains(address);
        } else if inside && let Some(rest) = line.strip_prefix("Rss:") {
            return rest.trim().trim_end_matches("kB").trim().parse().ok();
        }
    }
    None
}

/// [`rss_kib_in`] for this process: the resident size of the mapping holding `address`.
pub fn rss_kib(address: usize) -> Result<Option<u64>> {
    Ok(rss_kib_in(&read("/proc/self/smaps")?, address))
}

/// The 64-bit entry of `/proc/<pid>/pagemap` for one virtual page (see the kernel's
/// `Documentation/admin-guide/mm/pagemap.rst`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagemapEntry(pub u64);

impl PagemapEntry {
    /// Bit 63: the page is in RAM (mapped into this process now).
    pub fn present(self) -> bool {
        self.0 >> 63 & 1 == 1
    }

    /// Bit 61: the page belongs to a file, or is shared anonymous memory (shmem).
    pub fn file_or_shared(self) -> bool {
        self.0 >> 61 & 1 == 1
    }

    /// Bit 56: the page is mapped exactly once (by one mapping of one process).
    pub fn exclusive(self) -> bool {
        self.0 >> 56 & 1 == 1
    }

    /// Bits 0-54: the physical frame number, when present. Since Linux 4.0 the kernel writes 0
    /// here for a reader without `CAP_SYS_ADMIN`: knowing where pages sit in physical memory
    /// helps attacks such as rowhammer.
    pub fn pfn(self) -> u64 {
        if self.present() { self.0 & ((1 << 55) - 1) } else { 0 }
    }

    /// Whether the entry shows a real frame number (present, and not hidden as 0).
    pub fn shows_pfn(self) -> bool {
        self.pfn() != 0
    }
}

/// Reads the `/proc/self/pagemap` entry of the page holding `address`. The file is opened
/// for each call: the kernel decides at `open` whether this reader may see frame numbers.
pub fn pagemap(address: usize) -> Result<PagemapEntry> {
    let path = "/proc/self/pagemap";
    let page = address / page_size();
    let offset = (page as u64) * 8;
    let call = format!("pread(\"{path}\", 8 bytes, offset {offset:#x})");
    let file =
        std::fs::File::open(path).map_err(|err| Error::io(format!("open(\"{path}\")"), err))?;
    let mut bytes = [0u8; 8];
    file.read_exact_at(&mut bytes, offset).map_err(|err| Error::io(call, err))?;
    Ok(PagemapEntry(u64::from_ne_bytes(bytes)))
}

/// The resident size in bytes of segment `shmid`, from the `rss` column of the text of
/// `/proc/sysvipc/shm`: the segment's own pages in RAM, whoever touched them. `None` if the
/// segment is not listed or the kernel has no such column.
pub fn segment_rss_in(table: &str, shmid: i32) -> Option<u64> {
    let rows = ipc_rows_in(table);
    rows.iter().find(|row| row.number("shmid") == Some(shmid))?.number("rss")
}

/// [`segment_rss_in`] for the live table.
pub fn segment_rss(shmid: i32) -> Result<Option<u64>> {
    Ok(segment_rss_in(&read("/proc/sysvipc/shm")?, shmid))
}

/// The whole text of a file under `/proc`, with an error that names the path.
pub fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|err| Error::io(format!("read(\"{path}\")"), err))
}

/// A file under `/proc` that holds one number, such as `/proc/sys/kernel/shmmax`.
pub fn read_number<T: std::str::FromStr>(path: &str) -> Result<T> {
    let text = read(path)?;
    text.trim().parse().map_err(|_| {
        Error::other(format!("read(\"{path}\")"), format!("not a number: {:?}", text.trim()))
    })
}

/// One of the kernel's System V tables under `/proc/sysvipc`, which `ipcs` reads too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpcTable {
    /// `/proc/sysvipc/shm`: shared memory segments.
    Shm,
    /// `/proc/sysvipc/sem`: semaphore sets.
    Sem,
    /// `/proc/sysvipc/msg`: message queues.
    Msg,
}

impl IpcTable {
    /// The table's file.
    pub fn path(self) -> &'static str {
        match self {
            IpcTable::Shm => "/proc/sysvipc/shm",
            IpcTable::Sem => "/proc/sysvipc/sem",
            IpcTable::Msg => "/proc/sysvipc/msg",
        }
    }

    /// The header of the column that holds an object's id.
    pub fn id_column(self) -> &'static str {
        match self {
            IpcTable::Shm => "shmid",
            IpcTable::Sem => "semid",
            IpcTable::Msg => "msqid",
        }
    }

    /// Every row of the live table.
    pub fn rows(self) -> Result<Vec<IpcRow>> {
        let text = read(self.path()).map_err(|err| {
            err.with_hint("this needs Linux with /proc mounted and System V IPC enabled")
        })?;
        Ok(ipc_rows_in(&text))
    }

    /// The row of the object with this id, if the table lists it.
    pub fn row(self, id: i32) -> Result<Option<IpcRow>> {
        Ok(self.rows()?.into_iter().find(|row| row.number(self.id_column()) == Some(id)))
    }

    /// The row of the object with this key, if one exists (`IPC_PRIVATE` is no one key).
    pub fn row_with_key(self, key: libc::key_t) -> Result<Option<IpcRow>> {
        if key == libc::IPC_PRIVATE {
            return Ok(None);
        }
        Ok(self.rows()?.into_iter().find(|row| row.number("key") == Some(key)))
    }
}

/// One line of a System V table: each value after its column's name, in the table's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcRow(Vec<(String, String)>);

impl IpcRow {
    /// The value under `column` (`key`, `shmid`, `perms`, `uid`, ...).
    pub fn get(&self, column: &str) -> Option<&str> {
        self.0.iter().find(|(name, _)| name == column).map(|(_, value)| value.as_str())
    }

    /// The value under `column`, parsed.
    pub fn number<T: std::str::FromStr>(&self, column: &str) -> Option<T> {
        self.get(column)?.parse().ok()
    }

    /// Every `(column, value)` pair, in the table's order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.0
    }
}

/// The rows of a System V table's text, each value paired with its column's name from the
/// header (the kernel adds columns over the years: never count on a position).
pub fn ipc_rows_in(text: &str) -> Vec<IpcRow> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    lines
        .map(|line| {
            let values = line.split_whitespace();
            IpcRow(header.iter().zip(values).map(|(n, v)| (n.to_string(), v.into())).collect())
        })
        .collect()
}

/// The owner's uid of the object with `key` in a System V table, if one exists: who holds a
/// key that a lesson wanted.
pub fn sysvipc_owner(table: IpcTable, key: libc::key_t) -> Option<u32> {
    table.row_with_key(key).ok()??.number("uid")
}

/// What `/proc/<pid>/stat` says about a process (`man 5 proc`), read in one go.
#[derive(Clone, Debug)]
pub struct ProcessStat {
    /// The fields after the command name: `after[0]` is field 3 (the state).
    after: Vec<String>,
}

impl ProcessStat {
    /// Field `number` as `man 5 proc` numbers it (3 is the state, 4 the parent's pid, ...);
    /// fields 1 and 2 (pid and command) are not kept.
    pub fn field(&self, number: usize) -> Option<&str> {
        self.after.get(number.checked_sub(3)?).map(String::as_str)
    }

    fn number<T: std::str::FromStr>(&self, number: usize) -> Option<T> {
        self.field(number)?.parse().ok()
    }

    /// R (running), S (sleeping), D (disk), Z (zombie), T (stopped), X (dead)...
    pub fn state(&self) -> char {
        self.field(3).and_then(|state| state.chars().next()).unwrap_or('?')
    }

    /// Whether the process has ended (a zombie waiting to be reaped, or dead).
    pub fn has_ended(&self) -> bool {
        matches!(self.state(), 'Z' | 'X')
    }

    /// The parent's pid (field 4).
    pub fn ppid(&self) -> Option<i32> {
        self.number(4)
    }

    /// The process group (field 5).
    pub fn process_group(&self) -> Option<i32> {
        self.number(5)
    }

    /// CPU time used so far, user and system, in clock ticks (fields 14 and 15).
    pub fn cpu_ticks(&self) -> Option<u64> {
        Some(self.number::<u64>(14)? + self.number::<u64>(15)?)
    }

    /// When the process started, in clock ticks after boot (field 22): with the pid, it tells
    /// a process from a later one that was given the same pid.
    pub fn start_time(&self) -> Option<u64> {
        self.number(22)
    }

    /// The CPU the process last ran on (field 39).
    pub fn last_cpu(&self) -> Option<i64> {
        self.number(39)
    }
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of a process's times in
/// [`ProcessStat`].
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf takes an integer and touches no memory of ours.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// When the system booted, in seconds since the epoch (`btime` in `/proc/stat`).
pub fn boot_time() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())
}

/// `/proc/<pid>/stat`, or `None` if there is no such process (or it cannot be read).
pub fn process_stat(pid: i32) -> Option<ProcessStat> {
    process_stat_in(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// [`process_stat`] on a given text. The command name may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
pub fn process_stat_in(text: &str) -> Option<ProcessStat> {
    let (_, rest) = text.rsplit_once(')')?;
    Some(ProcessStat { after: rest.split_whitespace().map(str::to_owned).collect() })
}

/// A user as a sentence names them: `user alice (uid 1001)`, or `uid 1001` if unknown.
pub fn user_called(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => format!("user {} (uid {uid})", user.name),
        _ => format!("uid {uid}"),
    }
}

/// The line of `/proc/sysvipc/shm` for segment `id`, each value after its column's name from
/// the header (`key`, `shmid`, `perms`, ...), in the table's order; `None` if it is not listed.
/// The kernel's own table, which `ipcs -m` reads too.
pub fn sysvipc_fields(id: i32) -> Result<Option<Vec<(String, String)>>> {
    Ok(IpcTable::Shm.row(id)?.map(|row| row.0))
}

/// Some `columns` of `/proc/sysvipc/shm` (by their names in its header) for the segments in
/// `ids`: a header row, then one row per segment, each field right-aligned in 8 characters.
pub fn sysvipc_columns(ids: &[i32], columns: &[&str]) -> Result<Vec<String>> {
    let text = read(IpcTable::Shm.path())
        .map_err(|err| err.with_hint("this needs Linux with /proc mounted and System V IPC"))?;
    Ok(sysvipc_columns_in(&text, ids, columns))
}

/// [`sysvipc_columns`] on a given text of the table.
pub fn sysvipc_columns_in(table: &str, ids: &[i32], columns: &[&str]) -> Vec<String> {
    // Right-aligned in 8 characters, and always a space apart, so a wide id never runs into
    // the key before it.
    let row =
        |fields: &[&str]| fields.iter().map(|f| format!("{f:>8}")).collect::<Vec<_>>().join(" ");
    let rows = ipc_rows_in(table);
    let known: Vec<&str> = match rows.first() {
        Some(first) => columns.iter().copied().filter(|&c| first.get(c).is_some()).collect(),
        None => columns.to_vec(),
    };
    // In the order of `ids` (the order the lesson made them), not the table's, which follows
    // the kernel's reuse of ids and changes from run to run.
    let found = ids.iter().filter_map(|&id| rows.iter().find(|r| r.number("shmid") == Some(id)));
    let picked = found.map(|r| row(&known.iter().filter_map(|&c| r.get(c)).collect::<Vec<_>>()));
    std::iter::once(row(columns)).chain(picked).collect()
}
