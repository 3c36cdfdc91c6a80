//! Lesson 16's measuring: the system calls a child makes, counted from the kernel's own
//! evidence, `ptrace(2)`.
//!
//! The child asks to be traced ([`trace_me`]), then brackets the work to count between two
//! stops of its own ([`Stopper::bracket`]). The parent ([`count_between_stops`]) restarts it with
//! `PTRACE_SYSCALL`, so the kernel stops it at the entry and the exit of every system call, and
//! tallies the entries until the second stop; then it detaches, and the child goes on untraced.
//!
//! Tracing your own child needs no privilege, unless Yama's `ptrace_scope` is 2 or 3
//! (`/proc/sys/kernel/yama/ptrace_scope`), or the child is already traced (by `strace -f` or a
//! debugger): then `PTRACE_TRACEME` fails with `EPERM`, and [`trace_me`] says why.

use std::collections::BTreeMap;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use shm_workbook::call;
use shm_workbook::{Error, Result};

/// `ptrace(PTRACE_TRACEME, 0, NULL, NULL)`, in a child: its parent may now trace it. `Ok(None)`
/// when tracing is allowed; `Ok(Some(why))` when the kernel refused (`EPERM`), with the reason.
pub fn trace_me() -> Result<Option<String>> {
    let made = call::make("ptrace").arg("PTRACE_TRACEME").arg(0).arg("NULL").arg("NULL");
    match ptrace::traceme() {
        Ok(()) => {
            made.returned(0);
            Ok(None)
        }
        Err(Errno::EPERM) => {
            made.failed(Errno::EPERM);
            Ok(Some(refusal()))
        }
        Err(errno) => Err(made.failed(errno).error()),
    }
}

/// Why `PTRACE_TRACEME` was refused, from `/proc`.
fn refusal() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let tracer = status
        .lines()
        .find_map(|line| line.strip_prefix("TracerPid:"))
        .map(str::trim)
        .unwrap_or("0");
    if tracer != "0" {
        let comm = std::fs::read_to_string(format!("/proc/{tracer}/comm")).unwrap_or_default();
        return format!(
            "this process is already traced by process {tracer} ({}), and a process has one \
             tracer at a time",
            comm.trim()
        );
    }
    match std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") {
        Ok(scope) => format!(
            "Yama's ptrace_scope is {} here (2: only a privileged process may trace; 3: \
             nobody may)",
            scope.trim()
        ),
        Err(_) => "a security module refuses it here".to_owned(),
    }
}

/// A child's way to bracket the work to count with exactly one system call at each end:
/// `kill(pid, SIGSTOP)` when its parent traces it, `kill(pid, 0)` (which sends nothing) when
/// it may not, so that another tracer (`strace -f`) sees the same stretch between two `kill`s.
/// Its pid is found once, before the counting starts.
#[derive(Clone, Copy, Debug)]
pub struct Stopper {
    pid: libc::pid_t,
    signal: libc::c_int,
}

impl Stopper {
    /// Finds this process's pid (with `getpid`, before anything is counted); `traced` says
    /// whether [`trace_me`] succeeded.
    pub fn new(traced: bool) -> Stopper {
        let signal = if traced { libc::SIGSTOP } else { 0 };
        Stopper { pid: nix::unistd::getpid().as_raw(), signal }
    }

    /// `kill(pid, SIGSTOP)` or `kill(pid, 0)`, not recorded: one end of a counted stretch.
    pub fn bracket(self) {
        // SAFETY: kill takes plain integers.
        unsafe { libc::kill(self.pid, self.signal) };
    }
}

/// The system calls a child made between two stops, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many calls of each system call (a name, or `#N` for a number this module does not
    /// name), not counting the `kill` that ended the stretch.
    pub by_name: BTreeMap<String, u64>,
}

impl Tally {
    /// `semtimedop 2000, futex 1`, or `none`.
    pub fn text(&self) -> String {
        if self.by_name.is_empty() {
            return "none".to_owned();
        }
        let parts: Vec<String> = self.by_name.iter().map(|(n, c)| format!("{n} {c}")).collect();
        parts.join(", ")
    }
}

fn name_of(number: i64) -> String {
    let known = [
        (libc::SYS_futex, "futex"),
        (libc::SYS_semop, "semop"),
        (libc::SYS_semtimedop, "semtimedop"),
        (libc::SYS_kill, "kill"),
        (libc::SYS_write, "write"),
        (libc::SYS_getpid, "getpid"),
        (libc::SYS_brk, "brk"),
        (libc::SYS_mmap, "mmap"),
    ];
    known
        .iter()
        .find(|(n, _)| *n == number)
        .map_or_else(|| format!("#{number}"), |(_, name)| (*name).to_owned())
}

/// The number of the system call a tracee is stopped at the entry of.
#[cfg(target_arch = "x86_64")]
fn syscall_number(pid: Pid) -> Result<i64> {
    let regs = ptrace::getregs(pid).map_err(|e| failed(pid, "PTRACE_GETREGS", e))?;
    Ok(regs.orig_rax as i64)
}

/// The number of the system call a tracee is stopped at the entry of.
#[cfg(target_arch = "aarch64")]
fn syscall_number(pid: Pid) -> Result<i64> {
    let regs = ptrace::getregs(pid).map_err(|e| failed(pid, "PTRACE_GETREGSET", e))?;
    Ok(regs.regs[8] as i64)
}

/// The error of a ptrace request: `ESRCH` when the tracee has just died (it is killed between
/// its stop and our request), said as its death.
fn failed(pid: Pid, request: &'static str, errno: Errno) -> Error {
    if errno == Errno::ESRCH
        && let Err(death) = wait_stop(pid)
    {
        return death;
    }
    // The loop's own ptrace calls are not recorded (thousands of them); a failed one is, so
    // that its error text comes from the call record like any other.
    call::make("ptrace").arg(request).arg(pid).failed(errno).error()
}

/// The next stop of the traced child. Its end is looked at without reaping it (`WNOWAIT`), so
/// that the lesson's own wait for the child still finds it and says how it ended.
fn wait_stop(pid: Pid) -> Result<WaitStatus> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let ended = |how: String| {
        Err(Error::other("counting a child's system calls", format!("the child {pid} {how}")))
    };
    loop {
        let peek = WaitPidFlag::WEXITED | WaitPidFlag::WSTOPPED | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(pid), peek) {
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(Error::sys("waitid (a traced child)", errno)),
            Ok(WaitStatus::Exited(_, code)) => return ended(format!("exited (status {code})")),
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return ended(format!("was killed by {signal}"));
            }
            Ok(_) => {}
        }
        match waitpid(pid, None) {
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(Error::sys("waitpid (a traced child)", errno)),
            Ok(status) => return Ok(status),
        }
    }
}

/// In the parent of a child that called [`trace_me`]: waits for its first stop, counts every
/// system call it enters until its second stop, then detaches (the child runs on, untraced).
/// `PTRACE_O_EXITKILL`: if this process dies meanwhile, the child is killed, not left stopped.
/// `at_first_stop` runs while the child is stopped and traced, before anything is counted (a
/// lesson's `--step` pause: `grep TracerPid /proc/PID/status` then names this process).
pub fn count_between_stops(pid: Pid, at_first_stop: impl FnOnce()) -> Result<Tally> {
    let counted = count(pid, at_first_stop);
    if counted.is_err() {
        // A tracee left stopped would never end: SIGKILL ends even a stopped one.
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    }
    counted
}

fn count(pid: Pid, at_first_stop: impl FnOnce()) -> Result<Tally> {
    let ptrace_error = |what: &'static str, errno| failed(pid, what, errno);
    match wait_stop(pid)? {
        WaitStatus::Stopped(_, Signal::SIGSTOP) => {}
        other => {
            return Err(Error::other("counting a child's system calls", format!("{other:?}")));
        }
    }
    let options = ptrace::Options::PTRACE_O_TRACESYSGOOD | ptrace::Options::PTRACE_O_EXITKILL;
    ptrace::setoptions(pid, options).map_err(|e| ptrace_error("PTRACE_SETOPTIONS", e))?;
    at_first_stop();
    let mut tally = Tally::default();
    let mut inside = false;
    ptrace::syscall(pid, None).map_err(|e| ptrace_error("PTRACE_SYSCALL", e))?;
    loop {
        match wait_stop(pid)? {
            WaitStatus::PtraceSyscall(_) => {
                if !inside {
                    *tally.by_name.entry(name_of(syscall_number(pid)?)).or_default() += 1;
                }
                inside = !inside;
                ptrace::syscall(pid, None).map_err(|e| ptrace_error("PTRACE_SYSCALL", e))?;
            }
            WaitStatus::Stopped(_, Signal::SIGSTOP) => break,
            // Another signal: deliver it, as it would have been without the tracer.
            WaitStatus::Stopped(_, signal) => {
                ptrace::syscall(pid, signal).map_err(|e| ptrace_error("PTRACE_SYSCALL", e))?;
            }
            _ => ptrace::syscall(pid, None).map_err(|e| ptrace_error("PTRACE_SYSCALL", e))?,
        }
    }
    // The kill that stopped it is the bracket, not the work.
    if let Some(kills) = tally.by_name.get_mut("kill") {
        *kills -= 1;
        if *kills == 0 {
            tally.by_name.remove("kill");
        }
    }
    ptrace::detach(pid, None).map_err(|e| ptrace_error("PTRACE_DETACH", e))?;
    Ok(tally)
}
