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
//! | `/proc/sys/kernel/shm*` (what a value means) | [`limit_text`] |
//!
//! Each reader has a pure parsing function beside it, so the format is tested on fixed text.
//! A record is shown a fixed number of fields to a line by [`group_fields`].

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

    /// Bit 62: the page is swapped out.
    pub fn swapped(self) -> bool {
        self.0 >> 62 & 1 == 1
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

/// How many `name value` pairs a line of a `/proc/sysvipc/shm` record shows (see
/// [`group_fields`]): four stay within 100 columns after the narrator's prefix for the
/// segments the lessons make (and the narrator folds a wider line).
pub const RECORD_PAIRS: usize = 4;

/// `name value` pairs, two spaces apart, `per_line` to a line: the same fields on the same
/// line at every stage, whatever the width of the values (a pid, an id, a user's uid), so
/// that two records can be compared line by line. The first line starts with `label`, the
/// next ones two spaces deeper than the label's own indentation.
pub fn group_fields<N: AsRef<str>, V: AsRef<str>>(
    label: &str,
    fields: &[(N, V)],
    per_line: usize,
) -> Vec<String> {
    let indent = format!("{}  ", &label[..label.len() - label.trim_start().len()]);
    let pairs: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{} {}", name.as_ref(), value.as_ref()))
        .collect();
    let mut lines: Vec<String> =
        pairs.chunks(per_line.max(1)).map(|group| group.join("  ")).collect();
    match lines.first_mut() {
        Some(first) => first.insert_str(0, label),
        None => lines.push(label.to_owned()),
    }
    for line in lines.iter_mut().skip(1) {
        line.insert_str(0, &indent);
    }
    lines
}

/// What the value of a shared memory limit in `/proc/sys/kernel` means, counted in units of
/// `unit` bytes (1 for `shmmax`, the page size for `shmall`): `8 GiB`, or, for the default of
/// `ULONG_MAX - 2^24` (`man 2 shmget`: chosen so that no allocation is limited) and anything
/// larger, that there is no limit. The value is never multiplied into an overflow.
pub fn limit_text(value: u64, unit: u64) -> String {
    const NO_LIMIT: u64 = u64::MAX - (1 << 24);
    if value >= NO_LIMIT {
        return "no limit (ULONG_MAX - 2^24, the default since Linux 3.16)".to_owned();
    }
    let Some(bytes) = value.checked_mul(unit) else {
        return "more than 16 EiB: no limit in practice".to_owned();
    };
    let units = [(60, "EiB"), (50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
    match units.iter().find(|&&(shift, _)| bytes >> shift > 0) {
        Some(&(shift, name)) => {
            let amount = format!("{:.1}", bytes as f64 / (1u64 << shift) as f64);
            format!("{} {name}", amount.trim_end_matches(".0"))
        }
        None => format!("{bytes} bytes"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const SYSV: &str = "7f3a1c000000-7f3a1c004000 rw-s 00000000 00:01 32769                      \
                        /SYSV4102a1b2 (deleted)";

    #[test]
    fn a_maps_line_splits_into_its_columns() {
        let line = MapsLine::parse(SYSV).unwrap();
        assert_eq!((line.start, line.end, line.len()), (0x7f3a1c000000, 0x7f3a1c004000, 0x4000));
        assert_eq!((line.perms.as_str(), line.offset, line.device.as_str()), ("rw-s", 0, "00:01"));
        assert_eq!(line.inode, 32769);
        assert_eq!(line.path, "/SYSV4102a1b2 (deleted)");
        assert!(
            line.is_shared() && line.contains(0x7f3a1c003fff) && !line.contains(0x7f3a1c004000)
        );
        let anonymous = MapsLine::parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(anonymous.path, "");
        assert!(!anonymous.is_shared());
        assert_eq!(MapsLine::parse("Rss:                   4 kB"), None);
    }

    #[test]
    fn smaps_gives_the_rss_of_the_right_mapping() {
        let smaps = format!(
            "55d000-55e000 r--p 00000000 08:01 12 /usr/bin/x\nRss:                   4 kB\n{SYSV}\n\
             Size:                 16 kB\nRss:                   8 kB\n"
        );
        assert_eq!(rss_kib_in(&smaps, 0x55d800), Some(4));
        assert_eq!(rss_kib_in(&smaps, 0x7f3a1c001000), Some(8));
        assert_eq!(rss_kib_in(&smaps, 0x1000), None);
    }

    #[test]
    fn pagemap_bits_decode() {
        let entry = PagemapEntry(1 << 63 | 1 << 61 | 0x1a2b3c);
        assert!(entry.present() && entry.file_or_shared() && !entry.exclusive());
        assert!(!entry.swapped());
        assert_eq!(entry.pfn(), 0x1a2b3c);
        assert!(!PagemapEntry(1 << 63).shows_pfn(), "present with PFN 0: hidden");
        assert_eq!(PagemapEntry(0x1234).pfn(), 0, "no PFN for a page that is not present");
    }

    #[test]
    fn a_touched_page_of_our_own_is_present_and_in_maps() {
        let value = std::hint::black_box(Box::new([7u8; 64]));
        let address = value.as_ptr() as usize;
        assert!(pagemap(address).unwrap().present());
        let line = maps_line(address).unwrap().expect("the heap is mapped");
        assert!(line.perms.starts_with("rw"));
        assert!(rss_kib(address).unwrap().unwrap() >= 4);
        assert_eq!(maps_line(0).unwrap(), None, "nothing is mapped at address 0");
    }

    #[test]
    fn the_sysvipc_table_gives_a_segments_rss() {
        let table = concat!(
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid",
            "  cuid  cgid      atime      dtime      ctime                   rss",
            "                  swap\n",
            "         0         42   600                 65536  100   100      1     0     0",
            "     0     0 1 0 1 8192 0\n",
        );
        assert_eq!(segment_rss_in(table, 42), Some(8192));
        assert_eq!(segment_rss_in(table, 43), None);
        assert_eq!(segment_rss_in("key shmid perms\n0 42 600\n", 42), None, "an old kernel");
    }

    #[test]
    fn the_sysvipc_table_gives_a_segments_line_by_column_name() {
        let table = "  key shmid perms  size\n    0    42   600  4096\n 1234    43   666  8192\n";
        let rows = ipc_rows_in(table);
        let row = rows.iter().find(|row| row.number("shmid") == Some(43)).unwrap();
        let pairs: Vec<(&str, &str)> =
            row.fields().iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        assert_eq!(pairs, [("key", "1234"), ("shmid", "43"), ("perms", "666"), ("size", "8192")]);
        assert_eq!(row.number::<u32>("size"), Some(8192));
        assert_eq!(row.get("rss"), None, "no such column");
        assert!(ipc_rows_in("").is_empty(), "no header");
    }

    #[test]
    fn a_process_stat_is_read_after_its_command_name() {
        let text = "4242 (a (strange) name) S 4200 4242 4200 0 -1 4194560 1 0 0 0 7 3 0 0 \
                    20 0 1 0 12345 0 0";
        let stat = process_stat_in(text).unwrap();
        assert_eq!(stat.state(), 'S');
        assert_eq!(stat.ppid(), Some(4200));
        assert_eq!(stat.process_group(), Some(4242));
        assert_eq!(stat.cpu_ticks(), Some(10));
        assert_eq!(stat.start_time(), Some(12345));
        assert!(!stat.has_ended());
        let me = process_stat(std::process::id() as i32).unwrap();
        assert_eq!(me.ppid(), Some(nix::unistd::getppid().as_raw()));
        assert!(process_stat(i32::MAX).is_none(), "no such process");
    }

    #[test]
    fn fields_go_a_fixed_number_to_a_line_under_the_label() {
        let fields = [("key", "822116371"), ("shmid", "2293787"), ("perms", "600")];
        assert_eq!(
            group_fields("/proc: ", &fields, 2),
            ["/proc: key 822116371  shmid 2293787", "  perms 600"]
        );
        assert_eq!(group_fields("  ", &fields, 4), ["  key 822116371  shmid 2293787  perms 600"]);
        let lines = group_fields("    ", &fields, 1);
        assert_eq!(lines, ["    key 822116371", "      shmid 2293787", "      perms 600"]);
        let none: [(&str, &str); 0] = [];
        assert_eq!(group_fields("x: ", &none, 4), ["x: "]);
    }

    #[test]
    fn a_limit_is_read_in_its_unit_and_never_overflows() {
        let default = u64::MAX - (1 << 24);
        assert_eq!(
            limit_text(default, 4096),
            "no limit (ULONG_MAX - 2^24, the default since Linux 3.16)"
        );
        assert_eq!(limit_text(default, 1), limit_text(default, 4096));
        assert_eq!(limit_text(2097152, 4096), "8 GiB", "the old default shmall, in pages");
        assert_eq!(limit_text(0x2000000, 1), "32 MiB", "the old default shmmax, in bytes");
        assert_eq!(limit_text(3 << 29, 1), "1.5 GiB");
        assert_eq!(limit_text(100, 1), "100 bytes");
        assert_eq!(limit_text(1 << 60, 4096), "more than 16 EiB: no limit in practice");
    }

    #[test]
    fn the_sysvipc_table_gives_chosen_columns_of_chosen_segments() {
        let table = "  key shmid perms  size\n    0    42   600  4096\n    0    43   666  8192\n";
        let rows = sysvipc_columns_in(table, &[43, 42], &["shmid", "perms"]);
        assert_eq!(rows[1..], ["      43      666", "      42      600"], "in the order asked");
        let rows = sysvipc_columns_in(table, &[43], &["shmid", "perms"]);
        assert_eq!(rows, ["   shmid    perms", "      43      666"]);
        let wide = "  key shmid perms\n    0 10059839   600\n";
        let rows = sysvipc_columns_in(wide, &[10059839], &["key", "shmid"]);
        assert_eq!(rows[1], "       0 10059839", "a wide id stays apart from the key");
    }
}
