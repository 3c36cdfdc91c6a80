//! Child processes: fork a closure under a role name, wait for it, never leave a zombie.
//!
//! ```no_run
//! # use shm_workbook::{process, Result};
//! # fn main() -> Result<()> {
//! let child = process::spawn("child", |out| {
//!     out.say("hello from the child");
//!     Ok(())
//! })?;
//! child.wait()?; // an error if the child failed, panicked or was killed
//! # Ok(()) }
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use crate::call;
use crate::cleanup;
use crate::error::{Error, Result};
use crate::narrate::Narrator;

/// Exit status of a child whose closure panicked (the same as Rust's own for a panic in main).
pub const PANIC_STATUS: i32 = 101;

/// A forked child that has not been waited for yet. Dropping it without [`Child::wait`] stops
/// the child (SIGTERM) and reaps it, so an early return never leaves a zombie.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    role: String,
    reaped: bool,
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It called exit with this status.
    Code(i32),
    /// A signal killed it.
    Signal(Signal),
}

/// Forks, runs `body` in the child with a narrator for `role`, and returns the child in the
/// parent. In the child, `Ok` exits 0; `Err` prints the error in the child's colour and exits
/// 1; a panic exits 101. The child never returns into the parent's code.
pub fn spawn<F>(role: &str, body: F) -> Result<Child>
where
    F: FnOnce(&Narrator) -> Result<()>,
{
    // Rust's stdout is a line buffer; anything left in it would be printed twice.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();

    let parent = nix::unistd::getpid();
    let forked = cleanup::with_signals_held(|| {
        // SAFETY: lessons are single-threaded, so no other thread holds a lock (of malloc, of
        // stdout) that the child would inherit locked. The child runs `body` and then leaves
        // with _exit below, never returning into the parent's stack frames.
        let forked = unsafe { fork() };
        match forked {
            Ok(ForkResult::Parent { child }) => cleanup::track_child(child.as_raw()),
            Ok(ForkResult::Child) => cleanup::mark_forked_child(),
            Err(_) => {}
        }
        forked
    });
    match forked {
        Err(errno) => Err(call::make("fork")
            .failed(errno)
            .error()
            .with_hint("`ulimit -u` shows how many processes you may have")),
        Ok(ForkResult::Parent { child }) => {
            call::make("fork").returned(child);
            Ok(Child { pid: child, role: role.to_owned(), reaped: false })
        }
        Ok(ForkResult::Child) => {
            die_with(parent);
            call::set_role(role, true);
            let out = Narrator::new(role);
            let status = match catch_unwind(AssertUnwindSafe(|| body(&out))) {
                Ok(Ok(())) => 0,
                Ok(Err(err)) => {
                    out.error(&err);
                    1
                }
                Err(_) => PANIC_STATUS,
            };
            let _ = std::io::stdout().flush();
            // SAFETY: _exit ends the child at once: no destructors of the parent's objects
            // (copied by fork) run here, so the child cannot remove what the parent owns.
            unsafe { libc::_exit(status) }
        }
    }
}

/// Asks the kernel to kill this (new) child when its parent dies, so that a parent killed
/// with SIGKILL, which can clean up nothing, leaves no child running. If the parent died
/// before the request was made, the child is already an orphan: it leaves at once.
fn die_with(parent: Pid) {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no memory is passed.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if nix::unistd::getppid() != parent {
        // SAFETY: as for the child's normal exit below: nothing of the parent's is run.
        unsafe { libc::_exit(1) }
    }
}

impl Child {
    /// The child's pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The role it was spawned with.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// Waits for the child; an error unless it exited with status 0.
    pub fn wait(self) -> Result<()> {
        let role = self.role.clone();
        let pid = self.pid;
        match self.wait_exit()? {
            Exit::Code(0) => Ok(()),
            Exit::Code(PANIC_STATUS) => Err(Error::other(
                format!("waitpid({pid}) for the {role}"),
                format!(
                    "the {role} panicked (exit status {PANIC_STATUS}): a bug in the workbook, please report it"
                ),
            )),
            Exit::Code(code) => Err(Error::other(
                format!("waitpid({pid}) for the {role}"),
                format!("the {role} exited with status {code}; its own message is printed above"),
            )),
            Exit::Signal(signal) => Err(Error::other(
                format!("waitpid({pid}) for the {role}"),
                format!("the {role} was killed by {signal}"),
            )),
        }
    }

    /// Waits for the child and reports how it ended, whatever that was.
    pub fn wait_exit(mut self) -> Result<Exit> {
        let exit = reap(self.pid)?;
        self.reaped = true;
        Ok(exit)
    }

    /// `kill(pid, signal)`: sends `signal` to the child.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        let result = kill(self.pid, signal);
        let made = call::make("kill").arg(self.pid).arg(signal.as_str()).ended(result.map(|()| 0));
        result.map_err(|_| made.error())
    }
}

/// `waitpid(pid, &status, 0)` until the child has ended; each call is recorded.
fn reap(pid: Pid) -> Result<Exit> {
    loop {
        let result = waitpid(pid, None);
        let made = call::make("waitpid").arg(pid).arg("&status").arg(0);
        match result {
            Ok(WaitStatus::Exited(_, code)) => {
                made.returned(pid);
                cleanup::forget_child(pid.as_raw());
                return Ok(Exit::Code(code));
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                made.returned(pid);
                cleanup::forget_child(pid.as_raw());
                return Ok(Exit::Signal(signal));
            }
            Ok(_) => {
                made.returned(pid);
            }
            Err(Errno::EINTR) => {
                made.failed(Errno::EINTR);
            }
            Err(errno) => return Err(made.failed(errno).error()),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.signal(Signal::SIGTERM);
            let _ = reap(self.pid);
        }
    }
}

/// The CPU time this process has used so far, user plus system (`getrusage(RUSAGE_SELF)`):
/// compared with the wall-clock time, it shows whether a wait slept or spun.
pub fn cpu_time() -> Result<std::time::Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage structure that `usage` points to.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == -1 {
        return Err(Error::sys("getrusage(RUSAGE_SELF, &usage)", Errno::last()));
    }
    // SAFETY: the call succeeded and filled the (zeroed) structure.
    let usage = unsafe { usage.assume_init() };
    let to_duration =
        |tv: libc::timeval| std::time::Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    Ok(to_duration(usage.ru_utime) + to_duration(usage.ru_stime))
}
