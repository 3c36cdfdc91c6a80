//! What a run created, written down where the next run finds it, so that a run killed with
//! SIGKILL (which no handler can catch) is cleaned up by whichever lesson runs next.
//!
//! Each process that creates an IPC object or a temporary file appends a line for it to a file
//! of its own, `run-<pid>-<start time>`, in a directory that belongs to the user:
//! `$XDG_RUNTIME_DIR/shm-workbook/`, or `$TMPDIR/shm-workbook-<uid>/` (`/tmp` when `$TMPDIR` is
//! unset or under `/dev/shm`; mode 0700, checked). The
//! file goes away when the process no longer owns anything, and the folder with the last file
//! (`rmdir`, which leaves a folder that another run still uses). At start-up, [`sweep`] reads the
//! files of processes that are gone (the pid is dead, or now belongs to a process started at
//! another time), removes what they list, and reports it in one line, the way PostgreSQL
//! recognises a segment whose creator has died. It never touches another user's object: a
//! System V object is removed only if its owner is this user and its creator is the dead pid;
//! a POSIX object or a file only if this user owns it.
//!
//! A forked child's run file names its parent (`parent <pid> <start time>`). While that parent
//! lives, the child's leftovers are the parent's business (it takes over what the child handed
//! it, and removes what a killed child left when it reaps it, with [`sweep_process`]); other
//! runs leave them alone until the parent is gone too.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};

use crate::procfs::{self, IpcTable};

const PATH_BYTES: usize = 256;

/// What an entry of the table refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A System V shared memory segment, by shmid.
    SharedMemory = 1,
    /// A System V semaphore set, by semid.
    SemaphoreSet = 2,
    /// A POSIX shared memory object, by name.
    PosixShm = 3,
    /// A temporary file, by path.
    TempFile = 4,
    /// A temporary directory, by path (removed after the files in it).
    TempDir = 5,
    /// A System V message queue, by msqid.
    MessageQueue = 6,
    /// A POSIX message queue, by name.
    PosixMessageQueue = 7,
}

static FORKED_CHILD: AtomicI32 = AtomicI32::new(0);

/// Marks this process as a forked child of a lesson (set right after `fork()`).
pub(crate) fn mark_forked_child() {
    FORKED_CHILD.store(1, Ordering::Relaxed);
}

pub(crate) fn is_forked_child() -> bool {
    FORKED_CHILD.load(Ordering::Relaxed) == 1
}

/// The run file of this process, for the signal handler (which must not allocate).
static RUN_FILE: [AtomicU8; PATH_BYTES] = [const { AtomicU8::new(0) }; PATH_BYTES];
/// The pid whose run file `RUN_FILE` names (a forked child gets a file of its own).
static RUN_FILE_PID: AtomicI32 = AtomicI32::new(0);
/// How many objects this process has written down and not yet forgotten.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The user's directory for run files, created 0700 if missing; `None` if it cannot be made
/// safe (it exists but belongs to someone else, or is open to others): then runs are not
/// written down, and only the signal handler and `Drop` clean up.
pub fn directory() -> Option<PathBuf> {
    let uid = nix::unistd::getuid().as_raw();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(runtime) if runtime.is_absolute() && owned_private_dir(&runtime, uid) => {
            runtime.join("shm-workbook")
        }
        // $TMPDIR, unless it is /dev/shm (a lesson may be run so, to put its files on tmpfs):
        // there the folder would look like a POSIX shared memory object to `ls /dev/shm`.
        _ => {
            let temp = std::env::temp_dir();
            let base = if temp.starts_with("/dev/shm") { PathBuf::from("/tmp") } else { temp };
            base.join(format!("shm-workbook-{uid}"))
        }
    };
    make_private_dir(&dir, uid).then_some(dir)
}

/// Creates `dir` (mode 0700) if it is missing, and says whether it is then a private
/// directory of `uid`'s. Another run may remove the folder (when its last run file goes)
/// between the two steps: the creation is tried again.
fn make_private_dir(dir: &Path, uid: u32) -> bool {
    for _ in 0..5 {
        if std::fs::symlink_metadata(dir).is_err() {
            let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
        }
        match std::fs::symlink_metadata(dir) {
            Ok(_) => return owned_private_dir(dir, uid),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => return false,
        }
    }
    false
}

/// Removes a run file, and the folder with it when that was the last file in it. `rmdir`
/// only removes an empty directory, so whichever run leaves last removes the folder, and a
/// folder that another run still uses stays (ENOTEMPTY, ignored); a run that starts just
/// after recreates it ([`append`] and [`directory`] try again when it is missing).
fn remove_run_file(file: &Path) {
    let _ = std::fs::remove_file(file);
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

fn owned_private_dir(dir: &Path, uid: u32) -> bool {
    std::fs::symlink_metadata(dir)
        .is_ok_and(|meta| meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0)
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`, in clock ticks since
/// boot), which tells a pid's current process from an earlier one with the same number.
fn start_time(pid: i32) -> Option<u64> {
    procfs::process_stat(pid)?.start_time()
}

fn code(kind: Kind) -> &'static str {
    match kind {
        Kind::SharedMemory => "shm",
        Kind::SemaphoreSet => "sem",
        Kind::PosixShm => "posix-shm",
        Kind::TempFile => "file",
        Kind::TempDir => "dir",
        Kind::MessageQueue => "msg",
        Kind::PosixMessageQueue => "posix-mq",
    }
}

/// Makes sure this process has its run file, and returns it (`None` if runs cannot be
/// written down here). A forked child's file names its parent first.
fn ensure_file() -> Option<PathBuf> {
    let pid = nix::unistd::getpid().as_raw();
    if RUN_FILE_PID.load(Ordering::Relaxed) != pid {
        // A new process (the first object, or a forked child): a run file of its own.
        LIVE.store(0, Ordering::Relaxed);
        let Some(dir) = directory() else {
            RUN_FILE_PID.store(-1, Ordering::Relaxed);
            return None;
        };
        let start = start_time(pid)?;
        let file = dir.join(format!("run-{pid}-{start}"));
        let bytes = file.as_os_str().as_encoded_bytes();
        if bytes.len() >= PATH_BYTES {
            return None;
        }
        for (cell, byte) in RUN_FILE.iter().zip(bytes.iter().chain([&0u8])) {
            cell.store(*byte, Ordering::Relaxed);
        }
        RUN_FILE_PID.store(pid, Ordering::Release);
        let mut first = String::new();
        if is_forked_child() {
            let parent = nix::unistd::getppid().as_raw();
            if let Some(parent_start) = start_time(parent) {
                first = format!("parent {parent} {parent_start}\n");
            }
        }
        append(&file, &first);
    }
    run_file()
}

fn append(file: &Path, text: &str) -> bool {
    for _ in 0..5 {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(file)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        match written {
            Ok(()) => return true,
            // The folder went with another run's last file: make it again.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let uid = nix::unistd::getuid().as_raw();
                if !file.parent().is_some_and(|dir| make_private_dir(dir, uid)) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// The pid of the process that keeps its run file until [`end`] (see [`begin`]).
static KEPT_BY: AtomicI32 = AtomicI32::new(0);

/// Writes down this process as a run before it creates anything, and keeps its file until
/// [`end`] (at exit): a process killed between creating a segment and writing it down still
/// leaves a file, and the sweep then finds the segment by its creator's pid. Called by
/// `Lesson::start` and in every forked child.
pub fn begin() {
    if ensure_file().is_none() {
        return;
    }
    let me = nix::unistd::getpid().as_raw();
    KEPT_BY.store(me, Ordering::Release);
    if !is_forked_child() {
        extern "C" fn at_exit() {
            end();
        }
        // SAFETY: `at_exit` is a plain function that may run at any normal exit.
        unsafe { libc::atexit(at_exit) };
    }
}

/// The process is ending: its run file goes, unless it lists objects it still owns (a leak
/// or a segment handed over, which the next run then removes).
pub fn end() {
    let me = nix::unistd::getpid().as_raw();
    if RUN_FILE_PID.load(Ordering::Acquire) == me {
        sweep_children_of(me);
    }
    if RUN_FILE_PID.load(Ordering::Acquire) == me
        && LIVE.load(Ordering::Acquire) == 0
        && let Some(file) = run_file()
    {
        remove_run_file(&file);
    }
}

/// Writes down an object this process just created (called by `cleanup::track`).
pub(crate) fn note(kind: Kind, id: i32, path: Option<&[u8]>) {
    let Some(file) = ensure_file() else { return };
    let name = path.map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
    if append(&file, &format!("{} {id} {name}\n", code(kind))) {
        LIVE.fetch_add(1, Ordering::Relaxed);
    }
}

/// This process no longer owns one of the objects it wrote down (removed, or given away):
/// when it owns none, its run file goes (unless it keeps it until [`end`]).
pub(crate) fn forgot() {
    let me = nix::unistd::getpid().as_raw();
    if RUN_FILE_PID.load(Ordering::Acquire) != me {
        return;
    }
    let Ok(before) =
        LIVE.fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| live.checked_sub(1))
    else {
        return;
    };
    if before == 1
        && KEPT_BY.load(Ordering::Acquire) != me
        && let Some(file) = run_file()
    {
        remove_run_file(&file);
    }
}

fn run_file() -> Option<PathBuf> {
    if RUN_FILE_PID.load(Ordering::Acquire) != nix::unistd::getpid().as_raw() {
        return None;
    }
    let bytes: Vec<u8> = RUN_FILE
        .iter()
        .map(|cell| cell.load(Ordering::Relaxed))
        .take_while(|&byte| byte != 0)
        .collect();
    Some(PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&bytes)))
}

/// For the signal handler, after it removed everything: unlinks this process's run file.
/// Only async-signal-safe work: atomics and `unlink(2)`.
pub(crate) fn unlink_run_file_in_handler() {
    // SAFETY: getpid is async-signal-safe.
    let me = unsafe { libc::getpid() };
    if RUN_FILE_PID.load(Ordering::Acquire) != me {
        return;
    }
    let mut path = [0u8; PATH_BYTES];
    for (byte, cell) in path.iter_mut().zip(RUN_FILE.iter()) {
        *byte = cell.load(Ordering::Relaxed);
    }
    path[PATH_BYTES - 1] = 0;
    // SAFETY: unlink is async-signal-safe; `path` is NUL-terminated on our stack.
    unsafe { libc::unlink(path.as_ptr().cast()) };
    // The folder too, if that was its last file: cut the path at its last '/' (in place).
    let end = path.iter().position(|&byte| byte == 0).unwrap_or(PATH_BYTES - 1);
    if let Some(slash) = path[..end].iter().rposition(|&byte| byte == b'/')
        && slash > 0
    {
        path[slash] = 0;
        // SAFETY: rmdir is async-signal-safe; `path` is NUL-terminated at the cut. It fails
        // (ENOTEMPTY, ignored) while another run's file is in the folder.
        unsafe { libc::rmdir(path.as_ptr().cast()) };
    }
}

/// What [`sweep`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// The dead runs' pids.
    pub runs: Vec<i32>,
    /// What was removed, as `segment 1234` or `POSIX object /name`.
    pub removed: Vec<String>,
}

impl Swept {
    /// The one line a lesson prints, or `None` if there was nothing to clean.
    pub fn sentence(&self) -> Option<String> {
        if self.removed.is_empty() {
            return None;
        }
        let runs: Vec<String> = self.runs.iter().map(i32::to_string).collect();
        Some(format!(
            "cleaned up after an earlier run that was killed (pid {}): removed {}",
            runs.join(", "),
            self.removed.join(", ")
        ))
    }
}

/// Removes what this user's dead runs left behind and forgets those runs.
pub fn sweep() -> Swept {
    sweep_runs(|_, _| true, true)
}

/// Removes what one process of this run, now dead, left behind: a child killed by SIGKILL
/// (which runs no cleanup), just reaped by its parent. Its parent calls it, so the run ends
/// with nothing left even though the child could not clean up.
pub fn sweep_process(pid: i32) -> Swept {
    sweep_runs(|run, _| run == pid, false)
}

/// At the end of a process: the files its dead children left go, with whatever they list
/// that still exists and no live run lists. A child that became another user cannot remove
/// its own file from this user's folder, and one that handed a segment over leaves its
/// file for whoever takes the segment over (this process, which has removed it since, or
/// has left it behind by mistake); either way, nothing of theirs outlives the run.
fn sweep_children_of(me: i32) {
    let Some(start) = start_time(me) else { return };
    let parent_line = format!("parent {me} {start}");
    sweep_runs(|_, text| text.lines().any(|line| line == parent_line), false);
}

/// Whether a run file names a parent that is still alive (see the module's text).
fn parent_alive(text: &str) -> bool {
    text.lines().filter_map(|line| line.strip_prefix("parent ")).any(|parent| {
        let mut fields = parent.split_whitespace().map(str::parse::<u64>);
        match (fields.next(), fields.next()) {
            (Some(Ok(pid)), Some(Ok(start))) => start_time(pid as i32) == Some(start),
            _ => false,
        }
    })
}

fn sweep_runs(wanted: impl Fn(i32, &str) -> bool, leave_live_parents_theirs: bool) -> Swept {
    let mut swept = Swept::default();
    let Some(dir) = directory() else { return swept };
    let Ok(entries) = std::fs::read_dir(&dir) else { return swept };
    let uid = nix::unistd::getuid().as_raw();
    let runs: Vec<(std::fs::DirEntry, i32, bool)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let (pid, start) = name.strip_prefix("run-")?.split_once('-')?;
            let (pid, start) = (pid.parse::<i32>().ok()?, start.parse::<u64>().ok()?);
            let alive = start_time(pid) == Some(start);
            Some((entry, pid, alive))
        })
        .collect();
    // What live runs list is theirs now, even if a dead run created it and gave it away (a
    // segment made by a child and adopted by its parent): it is never swept.
    let live: Vec<String> = runs
        .iter()
        .filter(|(_, _, alive)| *alive)
        .flat_map(|(entry, _, _)| {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            text.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    for (entry, pid, alive) in runs {
        if alive {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if !wanted(pid, &text) || leave_live_parents_theirs && parent_alive(&text) {
            continue;
        }
        let mut removed_any = false;
        // Newest first: files before the directory that holds them.
        for line in text.lines().rev().filter(|line| !live.iter().any(|l| l == line)) {
            if let Some(what) = remove_left_over(line, pid, uid) {
                swept.removed.push(what);
                removed_any = true;
            }
        }
        for what in remove_unlisted_segments(pid, &entry.file_name().to_string_lossy(), uid) {
            swept.removed.push(what);
            removed_any = true;
        }
        if removed_any {
            swept.runs.push(pid);
        }
        remove_run_file(&entry.path());
    }
    swept
}

/// Removes this user's segments that the dead run `pid` created and never wrote down (it was
/// killed between `shmget` and the line): found by their creator's pid and a creation time
/// after the run started. Skipped while another process has that pid now, to be safe.
fn remove_unlisted_segments(pid: i32, file_name: &str, uid: u32) -> Vec<String> {
    let Some(start) = file_name.rsplit('-').next().and_then(|s| s.parse::<u64>().ok()) else {
        return Vec::new();
    };
    if start_time(pid).is_some() {
        return Vec::new();
    }
    let Some(started) =
        procfs::boot_time().map(|boot| boot + start / procfs::clock_ticks_per_second())
    else {
        return Vec::new();
    };
    let Ok(rows) = IpcTable::Shm.rows() else { return Vec::new() };
    let mut removed = Vec::new();
    for row in rows {
        let number = |column: &str| row.number::<i64>(column);
        let (Some(id), Some(cpid), Some(owner), Some(ctime)) =
            (number("shmid"), number("cpid"), number("uid"), number("ctime"))
        else {
            continue;
        };
        if cpid == i64::from(pid) && owner == i64::from(uid) && ctime >= started as i64 {
            // SAFETY: IPC_RMID takes no buffer.
            if unsafe { libc::shmctl(id as i32, libc::IPC_RMID, std::ptr::null_mut()) } == 0 {
                removed.push(format!("segment {id}"));
            }
        }
    }
    removed
}

/// Removes the object a run-file line names, if it still exists, is this user's, and (for
/// System V) was created by `pid`. Returns what was removed.
fn remove_left_over(line: &str, pid: i32, uid: u32) -> Option<String> {
    let mut fields = line.splitn(3, ' ');
    let (kind, id, name) = (fields.next()?, fields.next()?.parse::<i32>().ok()?, fields.next()?);
    match kind {
        "shm" => {
            let row = IpcTable::Shm.row(id).ok()??;
            (row.number("uid") == Some(uid) && row.number("cpid") == Some(pid)).then_some(())?;
            // SAFETY: IPC_RMID takes no buffer.
            let status = unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
            (status == 0).then(|| format!("segment {id}"))
        }
        "sem" => {
            (IpcTable::Sem.row(id).ok()??.number("uid") == Some(uid)).then_some(())?;
            // SAFETY: IPC_RMID takes no fourth argument.
            (unsafe { libc::semctl(id, 0, libc::IPC_RMID) } == 0)
                .then(|| format!("semaphore set {id}"))
        }
        "msg" => {
            (IpcTable::Msg.row(id).ok()??.number("uid") == Some(uid)).then_some(())?;
            // SAFETY: IPC_RMID takes no buffer.
            (unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) } == 0)
                .then(|| format!("message queue {id}"))
        }
        "posix-shm" => {
            let path = format!("/dev/shm{name}");
            let meta = std::fs::symlink_metadata(&path).ok()?;
            (meta.uid() == uid).then_some(())?;
            nix::sys::mman::shm_unlink(name).ok().map(|()| format!("POSIX object {name}"))
        }
        "posix-mq" => {
            nix::mqueue::mq_unlink(name).ok().map(|()| format!("POSIX message queue {name}"))
        }
        "file" | "dir" => {
            let meta = std::fs::symlink_metadata(name).ok()?;
            (meta.uid() == uid).then_some(())?;
            let removed =
                if kind == "dir" { std::fs::remove_dir(name) } else { std::fs::remove_file(name) };
            removed
                .ok()
                .map(|()| format!("{} {name}", if kind == "dir" { "directory" } else { "file" }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The folder may go at any moment (another run's last file going removes it): these
    /// tests write their files as the library does, making it again if it is missing.
    fn write_run_file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let file = dir.join(name);
        let _ = std::fs::remove_file(&file);
        assert!(append(&file, text), "{} can be written", file.display());
        file
    }

    #[test]
    fn the_directory_is_private_and_ours() {
        let dir = directory().expect("a private directory can be made");
        // Another run may remove it as soon as it is empty: look while a file holds it.
        let file = write_run_file(&dir, &format!("unit-{}", std::process::id()), "");
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!(meta.uid(), nix::unistd::getuid().as_raw());
        assert_eq!(meta.permissions().mode() & 0o077, 0);
        remove_run_file(&file); // and the folder, if nobody else uses it
    }

    #[test]
    fn the_last_file_takes_the_folder_with_it_and_a_new_one_brings_it_back() {
        // A folder of the test's own, in the shape of the real one.
        let base = std::env::temp_dir().join(format!("shm-workbook-unit-{}", std::process::id()));
        let uid = nix::unistd::getuid().as_raw();
        assert!(make_private_dir(&base, uid));
        let (first, second) = (base.join("run-1-1"), base.join("run-2-2"));
        assert!(append(&first, "shm 1 \n") && append(&second, "shm 2 \n"));
        remove_run_file(&first);
        assert!(base.is_dir(), "another run's file is still in it: it stays (ENOTEMPTY)");
        remove_run_file(&second);
        assert!(!base.exists(), "the last file takes the folder with it");
        assert!(append(&first, "shm 3 \n"), "a run that starts after makes it again");
        assert!(owned_private_dir(&base, uid), "private again");
        remove_run_file(&first);
        assert!(!base.exists());
    }

    #[test]
    fn start_times_tell_processes_apart() {
        let me = nix::unistd::getpid().as_raw();
        assert!(start_time(me).is_some());
        assert_eq!(start_time(me), start_time(me));
        assert_eq!(start_time(i32::MAX), None, "no such process");
    }

    /// A segment made without the library, so that no run file of ours lists it (as one made
    /// by a process that has died since).
    fn unrecorded_segment() -> i32 {
        // SAFETY: shmget takes plain integers.
        let id = unsafe { libc::shmget(libc::IPC_PRIVATE, 64, libc::IPC_CREAT | 0o600) };
        assert!(id >= 0);
        id
    }

    /// The tests below share this process's run files: one at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn a_dead_run_is_swept_and_a_foreign_or_live_object_is_not() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = directory().unwrap();
        // A segment of ours, listed by a "run" whose pid is ours but whose start time is not:
        // an earlier process with the same pid, now dead.
        let id = unrecorded_segment();
        let me = nix::unistd::getpid().as_raw();
        let file =
            write_run_file(&dir, &format!("run-{me}-1"), &format!("shm {id} \nshm 2147483000 \n"));
        let swept = sweep();
        assert!(swept.removed.contains(&format!("segment {id}")), "{swept:?}");
        assert!(!file.exists());
        assert!(crate::sysv::shm::stat(id).is_err(), "the segment is gone");
        assert!(swept.sentence().unwrap().contains(&format!("pid {me}")));
        // A live run (our real start time) is left alone.
        let live = crate::Segment::create(crate::Key::PRIVATE, 64, 0o600).unwrap();
        let start = start_time(me).unwrap();
        let file = dir.join(format!("run-{me}-{start}"));
        let swept = sweep();
        assert!(!swept.removed.contains(&format!("segment {}", live.id())), "{swept:?}");
        assert!(live.stat().is_ok());
        drop(live);
        let _ = file;
    }

    #[test]
    fn an_object_a_live_run_lists_is_not_swept_with_its_dead_creator() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = directory().unwrap();
        let adopted = crate::Segment::create(crate::Key::PRIVATE, 64, 0o600).unwrap();
        let id = adopted.id();
        // Our own run file (we are alive) lists it, as an adopter's would; a "dead" run too.
        let me = nix::unistd::getpid().as_raw();
        let dead = write_run_file(&dir, &format!("run-{me}-2"), &format!("shm {id} \n"));
        let swept = sweep_process(me);
        assert!(swept.removed.is_empty(), "{swept:?}");
        assert!(adopted.stat().is_ok(), "a live run holds it");
        assert!(!dead.exists(), "the dead run is forgotten");
        // Given away by a dead run and adopted by nobody: it goes.
        let orphan_id = unrecorded_segment();
        write_run_file(&dir, &format!("run-{me}-2"), &format!("shm {orphan_id} \n"));
        let swept = sweep_process(me);
        assert_eq!(swept.removed, [format!("segment {orphan_id}")]);
    }
}
