//! Nothing left behind: a record of what this run created, and the signal handler that
//! removes it.
//!
//! Normal exits and errors clean up through `Drop` (of a segment, a semaphore set, a child
//! process, ...: the modules above this one). A signal
//! does not run destructors, so every object is also written into a fixed table of atomics
//! that the handler can read without allocating or locking. On SIGINT, SIGTERM or SIGHUP the
//! handler removes every IPC object and temporary file that *this process* created, stops and
//! reaps its children, and exits with 128 + the signal number (130 for Ctrl-C, 143 for
//! SIGTERM).
//!
//! Each entry records the pid that created it. A forked child inherits a copy of the table,
//! but its handler skips entries whose pid is not its own, so a child never removes what its
//! parent owns.

use std::ffi::CString;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction};
use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, getpid};

use crate::error::Error;
use crate::registry::{self, Kind, is_forked_child};

const SLOTS: usize = 64;
const PATH_BYTES: usize = 512;
const FREE: i32 = 0;
const FILLING: i32 = -1;

/// One row of the table. `owner` is written last (Release) and read first (Acquire), so the
/// handler never sees a half-written row.
struct Slot {
    owner: AtomicI32,
    kind: AtomicU8,
    id: AtomicI32,
    path: [AtomicU8; PATH_BYTES],
}

#[allow(clippy::declare_interior_mutable_const)] // used only to build the static arrays below
const EMPTY_SLOT: Slot = Slot {
    owner: AtomicI32::new(FREE),
    kind: AtomicU8::new(0),
    id: AtomicI32::new(0),
    path: [const { AtomicU8::new(0) }; PATH_BYTES],
};

static OBJECTS: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];

/// Children: (owner pid, child pid) pairs.
static CHILDREN: [(AtomicI32, AtomicI32); SLOTS] =
    [const { (AtomicI32::new(FREE), AtomicI32::new(0)) }; SLOTS];

/// A handle on a row of the table; dropping it does *not* forget the row: call [`forget`].
#[derive(Debug)]
pub(crate) struct Tracked(usize);

/// Records an object this process created. Returns `None` only if the table is full, in which
/// case the object is still removed by `Drop`, just not by the signal handler.
pub(crate) fn track(kind: Kind, id: i32, path: Option<&[u8]>) -> Option<Tracked> {
    registry::note(kind, id, path);
    let me = getpid().as_raw();
    for (index, slot) in OBJECTS.iter().enumerate() {
        if slot.owner.compare_exchange(FREE, FILLING, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            continue;
        }
        slot.kind.store(kind as u8, Ordering::Relaxed);
        slot.id.store(id, Ordering::Relaxed);
        let path = path.unwrap_or_default();
        let len = path.len().min(PATH_BYTES - 1);
        for (cell, byte) in slot.path.iter().zip(path[..len].iter().chain([&0u8])) {
            cell.store(*byte, Ordering::Relaxed);
        }
        slot.owner.store(me, Ordering::Release);
        return Some(Tracked(index));
    }
    None
}

/// Forgets a row: the object was removed, or its ownership passed to someone else.
pub(crate) fn forget(tracked: Tracked) {
    OBJECTS[tracked.0].owner.store(FREE, Ordering::Release);
    registry::forgot();
}

/// Who removes an IPC object: the process that created it, on drop or from the signal handler,
/// and never a forked child that inherited a copy of the value. Each wrapper (segment,
/// semaphore set, POSIX object, message queue) holds one and asks [`is_mine`](Self::is_mine)
/// in its `Drop`; dropping the `Ownership` forgets the object's row in the table.
#[derive(Debug)]
pub(crate) struct Ownership {
    owner: Option<Pid>,
    tracked: Option<Tracked>,
}

impl Ownership {
    /// This process created the object; `tracked` is its row in the table, if there was room.
    pub(crate) fn created(tracked: Option<Tracked>) -> Ownership {
        Ownership { owner: Some(getpid()), tracked }
    }

    /// The object was only opened: this process never removes it.
    pub(crate) fn none() -> Ownership {
        Ownership { owner: None, tracked: None }
    }

    /// Whether this process removes the object (its creator, not a forked child).
    pub(crate) fn is_mine(&self) -> bool {
        self.owner == Some(getpid())
    }

    /// Gives up the removal: the object stays when the value is dropped or on a signal.
    pub(crate) fn give_up(&mut self) {
        self.owner = None;
        if let Some(tracked) = self.tracked.take() {
            forget(tracked);
        }
    }

    /// Gives up the removal but stays written down (see [`crate::registry`]): the object
    /// outlives this process, and if nobody takes it over, the run after this one removes it.
    pub(crate) fn hand_over(&mut self) {
        self.owner = None;
        if let Some(tracked) = self.tracked.take() {
            OBJECTS[tracked.0].owner.store(FREE, Ordering::Release);
        }
    }
}

impl Drop for Ownership {
    fn drop(&mut self) {
        if let Some(tracked) = self.tracked.take() {
            forget(tracked);
        }
    }
}

/// Records a child of this process, so the handler can stop and reap it.
pub(crate) fn track_child(pid: i32) {
    let me = getpid().as_raw();
    for (owner, child) in CHILDREN.iter() {
        if owner.compare_exchange(FREE, FILLING, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            child.store(pid, Ordering::Relaxed);
            owner.store(me, Ordering::Release);
            return;
        }
    }
}

/// The children of this process that have not been reaped yet.
pub(crate) fn children() -> Vec<i32> {
    let me = getpid().as_raw();
    CHILDREN
        .iter()
        .filter(|(owner, _)| owner.load(Ordering::Acquire) == me)
        .map(|(_, child)| child.load(Ordering::Relaxed))
        .collect()
}

/// Forgets a child once it has been reaped.
pub(crate) fn forget_child(pid: i32) {
    let me = getpid().as_raw();
    for (owner, child) in CHILDREN.iter() {
        if owner.load(Ordering::Acquire) == me && child.load(Ordering::Relaxed) == pid {
            owner.store(FREE, Ordering::Release);
        }
    }
}

/// A child of this process (not yet reaped) that died of a signal or exited with an error,
/// as an error that names it; `None` while every child is alive or ended well. Called by the
/// library's blocking waits when a signal interrupts them.
pub fn child_failure() -> Option<Error> {
    failure_among(|_| true)
}

/// [`child_failure`] among the children for which `which` holds.
pub(crate) fn failure_among(which: impl Fn(i32) -> bool) -> Option<Error> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    children().into_iter().filter(|&pid| which(pid)).find_map(|pid| {
        let how = match waitid(Id::Pid(Pid::from_raw(pid)), flags) {
            Ok(WaitStatus::Signaled(_, signal, _)) => format!("was killed by {signal}"),
            Ok(WaitStatus::Exited(_, code)) if code != 0 => format!("exited with status {code}"),
            _ => return None,
        };
        Some(Error::other(
            "waiting for a partner process",
            format!(
                "child process {pid} {how} while this process waited for it: what it was to send \
                 or release will never come"
            ),
        ))
    })
}

/// A blocking call was interrupted (`EINTR`): go on waiting, unless a child died meanwhile
/// (then what this process waits for may never come), in which case that is the error.
pub(crate) fn unless_a_child_failed() -> crate::error::Result<()> {
    match child_failure() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Runs `f` with SIGINT, SIGTERM and SIGHUP held back, so that creating an object and
/// recording it in the table happen together: a Ctrl-C cannot fall between the two. A signal
/// that arrives meanwhile is delivered (and cleans up) as soon as `f` returns. Children forked
/// inside `f` start with the signals held too, and get them when they unblock or exit.
pub fn with_signals_held<T>(f: impl FnOnce() -> T) -> T {
    let mut held = SigSet::empty();
    for signal in HANDLED {
        held.add(signal);
    }
    let mut previous = SigSet::empty();
    // Failing to block only widens a tiny window; it is not worth an error.
    let blocked =
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&held), Some(&mut previous))
            .is_ok();
    let result = f();
    if blocked {
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    }
    result
}

const HANDLED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

static INSTALLED: AtomicUsize = AtomicUsize::new(0);

/// Installs the cleanup handler for SIGINT, SIGTERM and SIGHUP (once per process).
pub fn install_signal_handlers() {
    if INSTALLED.swap(1, Ordering::AcqRel) == 1 {
        return;
    }
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for signal in HANDLED {
        // SAFETY: `on_signal` only touches atomics and calls async-signal-safe functions
        // (shmctl, semctl, msgctl, shm_unlink, mq_unlink, unlink, rmdir, kill, waitpid,
        // nanosleep, write, _exit); it allocates nothing and takes no lock.
        if unsafe { sigaction(signal, &action) }.is_err() {
            // Without the handler, Ctrl-C still ends the run; only the cleanup is lost.
            let note = b"warning: could not install the cleanup handler; Ctrl-C may leave IPC \
                         objects behind\n";
            write_stderr(note);
        }
    }
}

/// Removes everything this process recorded, stops and reaps its children, and exits.
extern "C" fn on_signal(signal: libc::c_int) {
    let me = getpid().as_raw();
    let mut removed = 0usize;
    // Newest first, like destructors: files before the directory that holds them.
    for slot in OBJECTS.iter().rev() {
        if slot.owner.load(Ordering::Acquire) != me {
            continue;
        }
        let id = slot.id.load(Ordering::Relaxed);
        let mut path = [0u8; PATH_BYTES];
        for (byte, cell) in path.iter_mut().zip(slot.path.iter()) {
            *byte = cell.load(Ordering::Relaxed);
        }
        path[PATH_BYTES - 1] = 0;
        let path = path.as_ptr().cast::<libc::c_char>();
        // SAFETY: each call takes plain integers or a pointer to the NUL-terminated copy on
        // our stack; all are system calls, safe to make in a signal handler.
        let status = unsafe {
            match slot.kind.load(Ordering::Relaxed) {
                k if k == Kind::SharedMemory as u8 => {
                    libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut())
                }
                k if k == Kind::SemaphoreSet as u8 => libc::semctl(id, 0, libc::IPC_RMID),
                k if k == Kind::PosixShm as u8 => libc::shm_unlink(path),
                k if k == Kind::TempFile as u8 => libc::unlink(path),
                k if k == Kind::TempDir as u8 => libc::rmdir(path),
                k if k == Kind::MessageQueue as u8 => {
                    libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut())
                }
                k if k == Kind::PosixMessageQueue as u8 => libc::mq_unlink(path),
                _ => -1,
            }
        };
        if status == 0 {
            removed += 1;
        }
        slot.owner.store(FREE, Ordering::Release);
    }

    registry::unlink_run_file_in_handler();

    // Ask each child to stop, give them a moment, then insist.
    let mut children = 0usize;
    for (owner, child) in CHILDREN.iter() {
        if owner.load(Ordering::Acquire) == me {
            // SAFETY: kill is async-signal-safe; the pid is one we forked and have not reaped.
            unsafe { libc::kill(child.load(Ordering::Relaxed), libc::SIGTERM) };
            children += 1;
        }
    }
    let mut reaped = 0usize;
    for _ in 0..300 {
        // SAFETY: waitpid with a null status pointer is async-signal-safe.
        match unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } {
            0 => {
                let ten_ms = libc::timespec { tv_sec: 0, tv_nsec: 10_000_000 };
                // SAFETY: nanosleep is async-signal-safe; the timespec lives on our stack.
                unsafe { libc::nanosleep(&ten_ms, std::ptr::null_mut()) };
            }
            pid if pid > 0 => reaped += 1,
            _ => break, // ECHILD: no children left.
        }
    }
    if reaped < children {
        for (owner, child) in CHILDREN.iter() {
            if owner.load(Ordering::Acquire) == me {
                // SAFETY: as above; SIGKILL cannot be caught, so the waits below end.
                unsafe { libc::kill(child.load(Ordering::Relaxed), libc::SIGKILL) };
            }
        }
        // SAFETY: as above.
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } > 0 {}
    }

    let mut message = MessageBuf::new();
    message.push(b"\n[");
    message.push(signal_name(signal));
    message.push(b"] stopping: removed ");
    message.push_number(removed);
    message.push(b" object(s) this run created, reaped ");
    message.push_number(children);
    message.push(b" child process(es)\n");
    // Children stay quiet: the parent speaks for the run.
    if children > 0 || removed > 0 || !is_forked_child() {
        write_stderr(message.as_bytes());
    }
    // SAFETY: _exit is async-signal-safe and ends the process without running destructors,
    // which is what we want here: everything that matters was cleaned up above.
    unsafe { libc::_exit(128 + signal) };
}

fn signal_name(signal: libc::c_int) -> &'static [u8] {
    match signal {
        libc::SIGINT => b"SIGINT",
        libc::SIGTERM => b"SIGTERM",
        libc::SIGHUP => b"SIGHUP",
        _ => b"signal",
    }
}

fn write_stderr(bytes: &[u8]) {
    // SAFETY: write(2) on fd 2 with a valid buffer; a short or failed write only loses the note.
    unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
}

/// A message built on the stack, because a signal handler must not allocate.
struct MessageBuf {
    bytes: [u8; 160],
    len: usize,
}

impl MessageBuf {
    fn new() -> Self {
        MessageBuf { bytes: [0; 160], len: 0 }
    }

    fn push(&mut self, text: &[u8]) {
        for &byte in text {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = byte;
                self.len += 1;
            }
        }
    }

    fn push_number(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        digits[..count].reverse();
        self.push(&digits[..count]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A path as the C string that `track` and the system calls want.
pub(crate) fn c_path(path: &std::path::Path) -> Option<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_buffer_formats_numbers_without_allocating() {
        let mut message = MessageBuf::new();
        message.push(b"removed ");
        message.push_number(0);
        message.push(b", ");
        message.push_number(1234567);
        assert_eq!(message.as_bytes(), b"removed 0, 1234567");
    }

    #[test]
    fn a_tracked_row_is_owned_by_this_process_until_forgotten() {
        // Other tests in this binary track rows in the same table at the same time, so the row is
        // told apart by an id nobody else uses, and a freed slot may be taken again at once.
        const ID: i32 = 0x5eed_0c1e;
        let held = |slot: &Slot| {
            slot.owner.load(Ordering::Acquire) == getpid().as_raw()
                && slot.id.load(Ordering::Relaxed) == ID
        };
        let row = track(Kind::TempFile, ID, Some(b"/tmp/example")).expect("the table has room");
        let slot = &OBJECTS[row.0];
        assert!(held(slot));
        assert_eq!(slot.path[0].load(Ordering::Relaxed), b'/');
        forget(row);
        assert!(!OBJECTS.iter().any(held), "a forgotten row is still owned");
    }
}
