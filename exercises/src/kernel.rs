//! What the kernel shows about a run: the System V IPC tables and `/dev/shm` before and after
//! it, the processes it left, and, for a run that does not end, what each of its processes is
//! blocked in (`/proc/<pid>/syscall`, `/proc/<pid>/wchan`) and the state of every semaphore it
//! waits on (GETVAL, GETNCNT, GETZCNT, GETPID).

use nix::errno::Errno;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use shm_workbook::SemaphoreSet;

use crate::trace::Call;

/// Which table an object lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// `/proc/sysvipc/shm`.
    Segment,
    /// `/proc/sysvipc/sem`.
    SemaphoreSet,
    /// `/proc/sysvipc/msg`.
    MessageQueue,
}

impl Table {
    fn file(self) -> &'static str {
        match self {
            Table::Segment => "/proc/sysvipc/shm",
            Table::SemaphoreSet => "/proc/sysvipc/sem",
            Table::MessageQueue => "/proc/sysvipc/msg",
        }
    }

    /// How a person calls it: `segment`.
    pub fn noun(self) -> &'static str {
        match self {
            Table::Segment => "segment",
            Table::SemaphoreSet => "semaphore set",
            Table::MessageQueue => "message queue",
        }
    }

    fn creating_call(self) -> &'static str {
        match self {
            Table::Segment => "shmget",
            Table::SemaphoreSet => "semget",
            Table::MessageQueue => "msgget",
        }
    }
}

/// One System V object, as its table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcObject {
    /// Its table.
    pub table: Table,
    /// Its id (shmid, semid, msqid).
    pub id: i32,
    /// Its key, as `ipcs` shows it: `0x000004d2`.
    pub key: String,
    /// Its permission bits.
    pub mode: u32,
    /// Its owner.
    pub uid: u32,
    /// The pid that created it (segments only).
    pub cpid: Option<i32>,
    /// The last pids that used it, as its table shows them: a segment's `lpid`, a queue's
    /// `lspid` and `lrpid`. (A semaphore set's are asked of the kernel: see [`leftovers`].)
    pub last_pids: Vec<i32>,
    /// Bytes (segment) or semaphores (set).
    pub size: u64,
    /// How many attachments it has (segments only: `nattch`).
    pub attached: Option<u64>,
}

/// The IPC tables and `/dev/shm` at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// System V objects by (table, id).
    pub objects: BTreeMap<(Table, i32), IpcObject>,
    /// Names in `/dev/shm`, with their leading slash.
    pub posix: BTreeSet<String>,
}

/// Reads the three tables and `/dev/shm`.
pub fn snapshot() -> Snapshot {
    let mut objects = BTreeMap::new();
    for table in [Table::Segment, Table::SemaphoreSet, Table::MessageQueue] {
        let text = std::fs::read_to_string(table.file()).unwrap_or_default();
        for object in parse_table(table, &text) {
            objects.insert((table, object.id), object);
        }
    }
    // Only files: a folder there (the library keeps its run records in one) is no object.
    let posix = std::fs::read_dir("/dev/shm")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| format!("/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    Snapshot { objects, posix }
}

/// The rows of one table's text (its first line names the columns).
pub fn parse_table(table: Table, text: &str) -> Vec<IpcObject> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    let column = |name: &str| header.iter().position(|c| *c == name);
    let id_column = match table {
        Table::Segment => "shmid",
        Table::SemaphoreSet => "semid",
        Table::MessageQueue => "msqid",
    };
    let size_column = match table {
        Table::Segment => "size",
        Table::SemaphoreSet => "nsems",
        Table::MessageQueue => "cbytes",
    };
    lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let get = |name: &str| column(name).and_then(|i| fields.get(i)).copied();
            Some(IpcObject {
                table,
                id: get(id_column)?.parse().ok()?,
                key: format!("0x{:08x}", get("key")?.parse::<i64>().ok()? as u32),
                mode: u32::from_str_radix(get("perms")?, 8).ok()?,
                uid: get("uid")?.parse().ok()?,
                cpid: get("cpid").and_then(|pid| pid.parse().ok()),
                last_pids: ["lpid", "lspid", "lrpid"]
                    .iter()
                    .filter_map(|column| get(column)?.parse().ok())
                    .filter(|&pid: &i32| pid > 0)
                    .collect(),
                size: get(size_column)?.parse().ok()?,
                attached: get("nattch").and_then(|n| n.parse().ok()),
            })
        })
        .collect()
}

/// An object a run created and did not remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    /// What it is: `segment 32769 (key 0x00000000, 1024 bytes, mode 0600)`.
    pub what: String,
    /// The table, or `None` for a POSIX object.
    pub table: Option<Table>,
    /// The call that created it, and who made it: `shmget(...) = 32769, by publisher 4243`.
    pub made_by: String,
    /// Whether the checker removed it.
    pub removed: bool,
}

impl Leftover {
    /// `segment`, `semaphore set`, `message queue` or `POSIX object`.
    pub fn noun(&self) -> &'static str {
        self.table.map_or("POSIX object", Table::noun)
    }
}

/// What a run left: the objects that are in `after` and not in `before` and that the run made,
/// by its trace (the call that returned the id, or created the name) or by their creator's pid.
/// Objects that other processes (other users, other runs) made meanwhile are not the run's.
pub fn leftovers(
    before: &Snapshot,
    after: &Snapshot,
    calls: &[Call],
    pids: &BTreeSet<i32>,
) -> Vec<Leftover> {
    let mut found = Vec::new();
    for (place, object) in &after.objects {
        if before.objects.contains_key(place) {
            continue;
        }
        let creator = calls.iter().find(|call| {
            call.name == object.table.creating_call()
                && call.returned() == Some(i64::from(object.id))
        });
        // Made around the library (raw libc::semget, no trace) and with no creator's pid in its
        // table (a semaphore set, a queue): the run's if a process of the run used it last.
        let last_pids = match object.table {
            Table::SemaphoreSet => semaphores(object.id)
                .map(|set| set.iter().map(|s| s.last_pid).filter(|&pid| pid > 0).collect())
                .unwrap_or_default(),
            _ => object.last_pids.clone(),
        };
        let used_by = last_pids.iter().find(|pid| pids.contains(pid));
        let made_by = match (creator, object.cpid, used_by) {
            (Some(call), _, _) => format!("{}, by {} {}", call.text, call.role, call.pid),
            (None, Some(cpid), _) if pids.contains(&cpid) => format!("process {cpid} of the run"),
            (None, _, Some(pid)) => {
                format!("not by the library's calls; process {pid} of the run used it last")
            }
            _ => continue,
        };
        let size = match object.table {
            Table::Segment => format!("{} bytes, ", object.size),
            Table::SemaphoreSet => format!("{} semaphore(s), ", object.size),
            Table::MessageQueue => String::new(),
        };
        found.push(Leftover {
            what: format!(
                "{} {} (key {}, {size}mode {:04o})",
                object.table.noun(),
                object.id,
                object.key,
                object.mode
            ),
            table: Some(object.table),
            made_by,
            removed: false,
        });
    }
    for name in after.posix.difference(&before.posix) {
        let quoted = format!("{name:?}");
        let creator = calls.iter().find(|call| {
            call.name == "shm_open"
                && call.args.first() == Some(&quoted)
                && call.args.get(1).is_some_and(|flags| flags.contains("O_CREAT"))
                && call.result.is_some()
        });
        let made_by = match creator {
            Some(call) => format!("{}, by {} {}", call.text, call.role, call.pid),
            None if pids.iter().any(|pid| name.contains(&format!("-{pid}-"))) => {
                "a process of the run (its pid is in the name)".to_owned()
            }
            None => continue,
        };
        found.push(Leftover {
            what: format!("POSIX object {name}"),
            table: None,
            made_by,
            removed: false,
        });
    }
    found
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock the trace's lines are stamped with.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec on our stack.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// One state of one segment or semaphore set of a run, as the kernel showed it while the run
/// went on, and how long the checker saw it unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// When the first look that found this state began (`CLOCK_MONOTONIC`, as the trace).
    pub t0_ns: u64,
    /// When the last look that still found it ended.
    pub until_ns: u64,
    /// The object, as its table showed it (mode, owner, attachments).
    pub object: IpcObject,
    /// A set's semaphores by number: (GETVAL, GETPID); empty for a segment.
    pub values: Vec<(i32, i32)>,
}

impl Sighting {
    fn same_state(&self, other: &Sighting) -> bool {
        self.object == other.object && self.values == other.values
    }
}

/// What the checker saw of the segments and semaphore sets a run made, by looking at the
/// kernel's tables again and again while the run went on (see [`Watch::look`]): each state of
/// each object, in the order seen. It reads the kernel, not the trace: a call made around the
/// library (a raw `libc::shmget`, `IPC_SET`, `semop`) changes what it sees all the same.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    /// Each state seen, in the order first seen.
    pub sightings: Vec<Sighting>,
    /// How many looks were made.
    pub looks: u64,
}

impl Watch {
    /// Looks once at `/proc/sysvipc/shm` and `/proc/sysvipc/sem`, and at the values of every
    /// set not in `before` (`semctl` GETVAL and GETPID); notes each state that changed.
    pub fn look(&mut self, before: &Snapshot) {
        let t0_ns = monotonic_ns();
        let mut seen = Vec::new();
        for table in [Table::Segment, Table::SemaphoreSet] {
            let text = std::fs::read_to_string(table.file()).unwrap_or_default();
            for object in parse_table(table, &text) {
                if before.objects.contains_key(&(table, object.id)) {
                    continue;
                }
                let values = match table {
                    Table::SemaphoreSet => match values_of(object.id) {
                        Some(values) => values,
                        None => continue, // removed meanwhile
                    },
                    _ => Vec::new(),
                };
                seen.push((object, values));
            }
        }
        let until_ns = monotonic_ns();
        self.looks += 1;
        for (object, values) in seen {
            let new = Sighting { t0_ns, until_ns, object, values };
            let last = self
                .sightings
                .iter_mut()
                .rev()
                .find(|s| s.object.table == new.object.table && s.object.id == new.object.id);
            match last {
                Some(last) if last.same_state(&new) => last.until_ns = until_ns,
                _ => self.sightings.push(new),
            }
        }
    }

    /// Keeps only the objects the run made: a segment whose creator is a process of the run,
    /// a set that a traced `semget` returned or that a process of the run changed.
    pub fn keep_the_runs(&mut self, calls: &[Call], pids: &BTreeSet<i32>) {
        let made: BTreeSet<(Table, i32)> = self
            .sightings
            .iter()
            .filter(|s| {
                let object = &s.object;
                let traced = calls.iter().any(|call| {
                    call.name == object.table.creating_call()
                        && call.returned() == Some(i64::from(object.id))
                });
                traced
                    || object.cpid.is_some_and(|pid| pids.contains(&pid))
                    || s.values.iter().any(|(_, pid)| pids.contains(pid))
            })
            .map(|s| (s.object.table, s.object.id))
            .collect();
        self.sightings.retain(|s| made.contains(&(s.object.table, s.object.id)));
    }

    /// The states seen of one object, in order.
    pub fn of(&self, table: Table, id: i32) -> impl Iterator<Item = &Sighting> + '_ {
        self.sightings.iter().filter(move |s| s.object.table == table && s.object.id == id)
    }

    /// The states seen of the run's objects of `table`.
    pub fn in_table(&self, table: Table) -> impl Iterator<Item = &Sighting> + '_ {
        self.sightings.iter().filter(move |s| s.object.table == table)
    }
}

/// GETVAL and GETPID of each semaphore of set `semid`, or `None` if it is gone.
fn values_of(semid: i32) -> Option<Vec<(i32, i32)>> {
    let set = SemaphoreSet::from_id(semid).ok()?;
    (0..set.len()).map(|n| Some((set.value(n).ok()?, set.last_pid(n).ok()?))).collect()
}

/// Looks at the kernel's tables (see [`Watch::look`]) every `every` on a thread of its own,
/// from [`Watcher::start`] until [`Watcher::finish`].
pub struct Watcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Watch>,
}

impl Watcher {
    /// Starts looking, for objects not in `before`.
    pub fn start(before: Snapshot, every: Duration) -> Watcher {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut watch = Watch::default();
            while !flag.load(Ordering::Relaxed) {
                watch.look(&before);
                std::thread::sleep(every);
            }
            watch.look(&before);
            watch
        });
        Watcher { stop, thread }
    }

    /// Stops looking; what was seen.
    pub fn finish(self) -> Watch {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// Removes what a run left (each is this user's: the run made it).
pub fn remove(leftovers: &mut [Leftover]) {
    // An object that is already gone counts as removed: between the checker's look and its
    // IPC_RMID, another program's sweep of stale run files may have removed it (the leak was
    // real all the same).
    let gone = |status: i32| status == 0 || matches!(Errno::last(), Errno::EINVAL | Errno::EIDRM);
    for leftover in leftovers {
        let id: Option<i32> = leftover.what.split_whitespace().find_map(|word| word.parse().ok());
        leftover.removed = match (leftover.table, id) {
            // SAFETY: IPC_RMID takes no buffer.
            (Some(Table::Segment), Some(id)) => {
                gone(unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) })
            }
            // SAFETY: IPC_RMID reads no semun argument.
            (Some(Table::SemaphoreSet), Some(id)) => {
                gone(unsafe { libc::semctl(id, 0, libc::IPC_RMID) })
            }
            // SAFETY: IPC_RMID takes no buffer.
            (Some(Table::MessageQueue), Some(id)) => {
                gone(unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) })
            }
            (None, _) => leftover.what.strip_prefix("POSIX object ").is_some_and(|name| {
                matches!(nix::sys::mman::shm_unlink(name), Ok(()) | Err(Errno::ENOENT))
            }),
            _ => false,
        };
    }
}

/// One process, as `/proc/<pid>/stat` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// Its pid.
    pub pid: i32,
    /// Its parent's pid.
    pub ppid: i32,
    /// Its process group.
    pub pgrp: i32,
    /// R (running), S (sleeping), D (disk), Z (zombie), T (stopped)...
    pub state: char,
    /// CPU time used so far, in clock ticks.
    pub cpu_ticks: u64,
}

/// What `/proc/<pid>/stat` says, or `None` if the process is gone.
pub fn process(pid: i32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &stat)
}

fn parse_stat(pid: i32, stat: &str) -> Option<Process> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<i64>().ok());
    Some(Process {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: number(1)? as i32,
        pgrp: number(2)? as i32,
        cpu_ticks: (number(11)? + number(12)?) as u64,
    })
}

/// The CPU time `pid` has used, user and system (`/proc/<pid>/stat`, in clock ticks).
pub fn cpu_time(pid: i32) -> Duration {
    // SAFETY: sysconf takes an integer.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    process(pid).map_or(Duration::ZERO, |p| Duration::from_millis(p.cpu_ticks * 1000 / ticks))
}

/// Every process whose group is one of `groups`, or whose parent is `parent` (orphans that the
/// checker, a subreaper, adopted).
pub fn processes(groups: &[i32], parent: i32) -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(process)
        .filter(|p| groups.contains(&p.pgrp) || p.ppid == parent)
        .collect()
}

/// What a process that does not go on is doing, as the kernel sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Doing {
    /// `semop`/`semtimedop` on a set: (semaphore, operation, flags) for each operation.
    Semop { semid: i32, ops: Vec<(u16, i16, i16)> },
    /// `futex` wait on a word; where the word lives, and its value.
    Futex { place: String, value: Option<u32> },
    /// `wait4`/`waitid`: waiting for a child.
    WaitChild,
    /// `nanosleep`/`clock_nanosleep`.
    Sleep,
    /// `msgrcv`/`msgsnd` on a queue.
    Queue { call: &'static str, msqid: i32 },
    /// `read`/`write` on a descriptor.
    Io { call: &'static str, fd: i32 },
    /// Another system call.
    Syscall { nr: i64, wchan: String },
    /// Running, not in a system call: this share of a CPU, measured over a short while.
    Running { cpu_percent: u32 },
    /// It ended.
    Ended,
    /// Something /proc would not tell (it needs the right to trace the process).
    Unknown { state: char, wchan: String },
}

/// What `pid` is blocked in, now.
pub fn doing(pid: i32) -> Doing {
    let Some(before) = process(pid) else { return Doing::Ended };
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    if before.state == 'Z' || before.state == 'X' {
        return Doing::Ended;
    }
    // A process seen "running" may be a loop that polls, between two sleeps: look a few times
    // over 100 ms, and call it running only if it never was in a system call meanwhile.
    let read_syscall =
        || std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    let cpu_before = cpu_time(pid);
    let mut syscall = read_syscall();
    for _ in 0..10 {
        if !(syscall.trim() == "running" || (syscall.is_empty() && before.state == 'R')) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        syscall = read_syscall();
    }
    if syscall.trim() == "running" || (syscall.is_empty() && before.state == 'R') {
        let used = cpu_time(pid).saturating_sub(cpu_before);
        return Doing::Running { cpu_percent: (used.as_micros() / 1000).min(100) as u32 };
    }
    let numbers: Vec<i64> = syscall
        .split_whitespace()
        .map(|word| match word.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16).unwrap_or(-1),
            None => word.parse().unwrap_or(-1),
        })
        .collect();
    let (Some(&nr), Some(args)) = (numbers.first(), numbers.get(1..7)) else {
        return Doing::Unknown { state: before.state, wchan };
    };
    match nr {
        libc::SYS_semop | libc::SYS_semtimedop => {
            let nsops = args[2].clamp(0, 16) as usize;
            let ops = read_memory(pid, args[1] as u64, nsops * 6)
                .map(|bytes| {
                    bytes
                        .chunks_exact(6)
                        .map(|op| {
                            let half = |i: usize| [op[i], op[i + 1]];
                            (
                                u16::from_ne_bytes(half(0)),
                                i16::from_ne_bytes(half(2)),
                                i16::from_ne_bytes(half(4)),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Doing::Semop { semid: args[0] as i32, ops }
        }
        libc::SYS_futex => {
            let address = args[0] as u64;
            let value = read_memory(pid, address, 4)
                .and_then(|bytes| Some(u32::from_ne_bytes(bytes.try_into().ok()?)));
            Doing::Futex { place: place_of(pid, address), value }
        }
        libc::SYS_wait4 | libc::SYS_waitid => Doing::WaitChild,
        libc::SYS_nanosleep | libc::SYS_clock_nanosleep => Doing::Sleep,
        libc::SYS_msgrcv => Doing::Queue { call: "msgrcv", msqid: args[0] as i32 },
        libc::SYS_msgsnd => Doing::Queue { call: "msgsnd", msqid: args[0] as i32 },
        libc::SYS_read => Doing::Io { call: "read", fd: args[0] as i32 },
        libc::SYS_write => Doing::Io { call: "write", fd: args[0] as i32 },
        -1 => Doing::Unknown { state: before.state, wchan },
        nr => Doing::Syscall { nr, wchan },
    }
}

/// Reads `len` bytes at `address` in another process (allowed for a descendant).
fn read_memory(pid: i32, address: u64, len: usize) -> Option<Vec<u8>> {
    let file = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, address).ok()?;
    Some(bytes)
}

/// Where `address` lies in `pid`: `offset 0 of segment 32769`, `offset 8 of /dev/shm/name`.
fn place_of(pid: i32, address: u64) -> String {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let line = maps
        .lines()
        .filter_map(shm_workbook::procfs::MapsLine::parse)
        .find(|line| line.contains(address as usize));
    match line {
        Some(line) if line.path.starts_with("/SYSV") => {
            format!("offset {} of segment {}", address as usize - line.start, line.inode)
        }
        Some(line) if line.path.starts_with("/dev/shm/") => {
            format!(
                "offset {} of {}",
                address as usize - line.start,
                line.path.trim_end_matches(" (deleted)")
            )
        }
        Some(_) => format!("{address:#x}, in memory of its own"),
        None => format!("{address:#x}"),
    }
}

/// One semaphore of a set, as `semctl` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Semaphore {
    /// Its number in the set.
    pub n: usize,
    /// GETVAL.
    pub value: i32,
    /// GETNCNT: processes waiting for it to grow.
    pub waiting: i32,
    /// GETZCNT: processes waiting for it to be 0.
    pub waiting_for_zero: i32,
    /// GETPID: the last process that changed it.
    pub last_pid: i32,
    /// Whether that process was still alive when the set was looked at.
    pub last_alive: bool,
}

/// Every semaphore of set `semid`, or `None` if it is gone.
pub fn semaphores(semid: i32) -> Option<Vec<Semaphore>> {
    let set = SemaphoreSet::from_id(semid).ok()?;
    (0..set.len())
        .map(|n| {
            Some(Semaphore {
                n,
                value: set.value(n).ok()?,
                waiting: set.waiting(n).ok()?,
                waiting_for_zero: set.waiting_for_zero(n).ok()?,
                last_pid: set.last_pid(n).ok()?,
                last_alive: false,
            })
            .map(|mut semaphore| {
                semaphore.last_alive =
                    process(semaphore.last_pid).is_some_and(|p| p.state != 'Z' && p.state != 'X');
                semaphore
            })
        })
        .collect()
}

/// A run that did not end in time, as the kernel saw it before the checker stopped it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stuck {
    /// How long the run had lasted.
    pub after: Duration,
    /// Each process of the run and what it was doing: (pid, role, doing).
    pub processes: Vec<(i32, String, Doing)>,
    /// Each semaphore set some process waited on, with its semaphores.
    pub sets: Vec<(i32, Vec<Semaphore>)>,
    /// How long nothing had happened, if that is why the run was stopped before its limit.
    pub quiet_for: Option<Duration>,
}

impl Stuck {
    /// Looks at every process in `pids` (with their roles) and at the sets they wait on.
    pub fn inspect(after: Duration, pids: &[(i32, String)]) -> Stuck {
        let processes: Vec<(i32, String, Doing)> =
            pids.iter().map(|(pid, role)| (*pid, role.clone(), doing(*pid))).collect();
        let mut semids: Vec<i32> = processes
            .iter()
            .filter_map(|(_, _, doing)| match doing {
                Doing::Semop { semid, .. } => Some(*semid),
                _ => None,
            })
            .collect();
        semids.sort_unstable();
        semids.dedup();
        let sets = semids.into_iter().filter_map(|id| Some((id, semaphores(id)?))).collect();
        Stuck { after, processes, sets, quiet_for: None }
    }

    /// The semaphores some process waits to take (`op` < 0), by number: (semid, n).
    pub fn awaited(&self) -> Vec<(i32, u16)> {
        let mut awaited: Vec<(i32, u16)> = self
            .processes
            .iter()
            .filter_map(|(_, _, doing)| match doing {
                Doing::Semop { semid, ops } => Some((*semid, ops.clone())),
                _ => None,
            })
            .flat_map(|(semid, ops)| ops.into_iter().map(move |(n, _, _)| (semid, n)))
            .collect();
        awaited.sort_unstable();
        awaited.dedup();
        awaited
    }

    /// Whether some process was running (spinning) rather than blocked.
    pub fn spinning(&self) -> Vec<(i32, String, u32)> {
        self.processes
            .iter()
            .filter_map(|(pid, role, doing)| match doing {
                Doing::Running { cpu_percent } => Some((*pid, role.clone(), *cpu_percent)),
                _ => None,
            })
            .collect()
    }

    /// The report, in sentences: each process, then each set's semaphores. `names` gives the
    /// semaphores' names by number; `role_of` names a pid.
    pub fn describe(&self, names: &[&str], role_of: &dyn Fn(i32) -> Option<String>) -> String {
        let name = |n: u16| {
            names.get(usize::from(n)).map_or(format!("semaphore {n}"), |s| (*s).to_owned())
        };
        let mut text = match self.quiet_for {
            Some(quiet) => format!(
                "after {:.1} s, nothing had happened for {:.1} s (no output, no call, no process \
                 started or ended):",
                self.after.as_secs_f64(),
                quiet.as_secs_f64()
            ),
            None => format!("after {:.1} s the run had not ended:", self.after.as_secs_f64()),
        };
        let mut first = true;
        for (pid, role, doing) in &self.processes {
            let what = match doing {
                Doing::Semop { semid, ops } => {
                    let ops: Vec<String> = ops
                        .iter()
                        .map(|(n, op, flags)| {
                            let undo =
                                if *flags as i32 & libc::SEM_UNDO != 0 { "SEM_UNDO" } else { "0" };
                            format!("{{{}, {op:+}, {undo}}}", name(*n))
                        })
                        .collect();
                    format!("waits in semop({semid}, {})", ops.join(", "))
                }
                Doing::Futex { place, value } => match value {
                    Some(value) => {
                        format!("sleeps in futex on the word at {place} (value {value})")
                    }
                    None => format!("sleeps in futex on the word at {place}"),
                },
                Doing::WaitChild => "waits for a child (waitpid)".to_owned(),
                Doing::Sleep => "sleeps in nanosleep (a sleep, or a loop that polls)".to_owned(),
                Doing::Queue { call, msqid } => format!("waits in {call} on queue {msqid}"),
                Doing::Io { call, fd } => format!("waits in {call} on descriptor {fd}"),
                Doing::Syscall { nr, wchan } => format!("waits in system call {nr} ({wchan})"),
                Doing::Running { cpu_percent } => {
                    format!(
                        "is running, outside any system call, at {cpu_percent}% of a CPU: a loop \
                         that waits for something that will not come"
                    )
                }
                Doing::Ended => "has ended".to_owned(),
                Doing::Unknown { state, wchan } if wchan.is_empty() || wchan == "0" => {
                    format!("is in state {state}")
                }
                Doing::Unknown { state, wchan } => format!("is in state {state}, in {wchan}"),
            };
            let _ = write!(text, "{} {role} {pid} {what}", if first { "" } else { ";" });
            first = false;
        }
        for (semid, semaphores) in &self.sets {
            let _ = write!(text, ". In set {semid}:");
            for (i, semaphore) in semaphores.iter().enumerate() {
                let who = match role_of(semaphore.last_pid) {
                    _ if semaphore.last_pid == 0 => "nobody yet".to_owned(),
                    Some(role) if semaphore.last_alive => format!("{role} {}", semaphore.last_pid),
                    Some(role) => format!("{role} {}, which has ended", semaphore.last_pid),
                    None => format!("pid {}", semaphore.last_pid),
                };
                let _ = write!(
                    text,
                    "{} {} = {} (GETVAL), {} waiting (GETNCNT), {} waiting for zero (GETZCNT), \
                     last changed by {who} (GETPID)",
                    if i == 0 { "" } else { ";" },
                    name(semaphore.n as u16),
                    semaphore.value,
                    semaphore.waiting,
                    semaphore.waiting_for_zero,
                );
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_read_by_their_column_names() {
        let shm = concat!(
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid",
            "  cuid  cgid      atime      dtime      ctime                   rss",
            "                  swap\n",
            "1234 32769   666                  1024  4242  4243      0  1000  1000  1000  1000",
            "          0          0 1700000000                  4096                     0\n",
        );
        let rows = parse_table(Table::Segment, shm);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0],
            IpcObject {
                table: Table::Segment,
                id: 32769,
                key: "0x000004d2".into(),
                mode: 0o666,
                uid: 1000,
                cpid: Some(4242),
                last_pids: vec![4243],
                size: 1024,
                attached: Some(0),
            }
        );
        let sem = concat!(
            "       key      semid perms      nsems   uid   gid  cuid  cgid      otime",
            "      ctime\n",
            "0 7 600 3 0 0 0 0 0 1700000000\n",
        );
        let rows = parse_table(Table::SemaphoreSet, sem);
        assert_eq!((rows[0].id, rows[0].size, rows[0].cpid), (7, 3, None));
    }

    #[test]
    fn a_leftover_is_the_runs_only_if_the_run_made_it() {
        let before = Snapshot::default();
        let mut after = Snapshot::default();
        let object = |id, cpid| IpcObject {
            table: Table::Segment,
            id,
            key: "0x00000000".into(),
            mode: 0o600,
            uid: 0,
            cpid: Some(cpid),
            last_pids: Vec::new(),
            size: 64,
            attached: None,
        };
        after.objects.insert((Table::Segment, 5), object(5, 100));
        after.objects.insert((Table::Segment, 6), object(6, 999)); // someone else's
        after.objects.insert((Table::Segment, 7), object(7, 101));
        // A queue made with raw libc::msgget (no call in the trace): the run's, since a process
        // of the run sent to it last; another, used last by someone else, is not.
        let queue = |id, last| IpcObject {
            table: Table::MessageQueue,
            last_pids: vec![last],
            cpid: None,
            ..object(id, 0)
        };
        after.objects.insert((Table::MessageQueue, 8), queue(8, 101));
        after.objects.insert((Table::MessageQueue, 9), queue(9, 999));
        after.posix.insert("/mine".into());
        after.posix.insert("/theirs".into());
        let calls = vec![
            crate::trace::parse_line(concat!(
                r#"{"kind":"call","pid":100,"role":"parent","call":"shmget","#,
                r#""args":["IPC_PRIVATE","64","IPC_CREAT|IPC_EXCL|0600"],"result":"5","#,
                r#""errno":null,"#,
                r#""text":"shmget(IPC_PRIVATE, 64, IPC_CREAT|IPC_EXCL|0600) = 5"}"#,
            ))
            .unwrap(),
            crate::trace::parse_line(concat!(
                r#"{"kind":"call","pid":100,"role":"parent","call":"shm_open","#,
                r#""args":["\"/mine\"","O_RDWR|O_CREAT|O_EXCL","0600"],"result":"3","#,
                r#""errno":null,"text":"shm_open(...) = 3"}"#,
            ))
            .unwrap(),
        ];
        let pids = BTreeSet::from([100, 101]);
        let found = leftovers(&before, &after, &calls, &pids);
        let what: Vec<&str> = found.iter().map(|l| l.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "segment 5 (key 0x00000000, 64 bytes, mode 0600)",
                "segment 7 (key 0x00000000, 64 bytes, mode 0600)",
                "message queue 8 (key 0x00000000, mode 0600)",
                "POSIX object /mine"
            ]
        );
        assert!(found[2].made_by.contains("process 101 of the run used it last"), "{found:?}");
        assert!(found[0].made_by.starts_with("shmget(IPC_PRIVATE, 64"), "{found:?}");
        assert!(found[0].made_by.ends_with("by parent 100"), "{found:?}");
        assert_eq!(found[1].made_by, "process 101 of the run");
    }

    #[test]
    fn stat_lines_are_read_past_a_command_with_spaces() {
        let stat = "4242 (ex 01) S 4241 4240 4240 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 1234 0 0";
        let p = parse_stat(4242, stat).unwrap();
        assert_eq!((p.state, p.ppid, p.pgrp, p.cpu_ticks), ('S', 4241, 4240, 10));
    }

    #[test]
    fn a_watch_sees_each_state_of_the_runs_objects_and_only_theirs() {
        let before = snapshot();
        let mut watch = Watch::default();
        let set = SemaphoreSet::create(shm_workbook::Key::PRIVATE, 1, 0o600).unwrap();
        watch.look(&before);
        watch.look(&before); // the same state: no new sighting
        set.set_value(0, 2).unwrap();
        watch.look(&before);
        // A segment made around the library, then widened.
        // SAFETY: shmget takes plain integers.
        let shmid = unsafe { libc::shmget(libc::IPC_PRIVATE, 64, libc::IPC_CREAT | 0o600) };
        assert!(shmid >= 0);
        watch.look(&before);
        shm_workbook::Segment::from_id(shmid).set_mode(0o644).unwrap();
        watch.look(&before);
        // SAFETY: IPC_RMID takes no buffer.
        unsafe { libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut()) };
        let semid = set.id();
        set.remove().unwrap();
        watch.look(&before);
        let values: Vec<i32> =
            watch.of(Table::SemaphoreSet, semid).map(|s| s.values[0].0).collect();
        assert_eq!(values, [0, 2]);
        let modes: Vec<u32> = watch.of(Table::Segment, shmid).map(|s| s.object.mode).collect();
        assert_eq!(modes, [0o600, 0o644]);
        let first = watch.of(Table::SemaphoreSet, semid).next().unwrap();
        assert!(first.t0_ns <= first.until_ns);
        // Only what the run's processes made or changed is the run's.
        let me = std::process::id() as i32;
        let mut theirs = watch.clone();
        theirs.keep_the_runs(&[], &BTreeSet::from([me + 1_000_000]));
        assert_eq!(theirs.of(Table::Segment, shmid).count(), 0);
        assert_eq!(theirs.of(Table::SemaphoreSet, semid).count(), 0);
        watch.keep_the_runs(&[], &BTreeSet::from([me]));
        assert_eq!(watch.of(Table::Segment, shmid).count(), 2);
        assert_eq!(watch.of(Table::SemaphoreSet, semid).count(), 2);
    }
}
