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
        Err(errno) => Err(Error::sys("fork()", errno)
            .with_hint("`ulimit -u` shows how many processes you may have")),
        Ok(ForkResult::Parent { child }) => {
            Ok(Child { pid: child, role: role.to_owned(), reaped: false })
        }
        Ok(ForkResult::Child) => {
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

    /// Sends `signal` to the child.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        kill(self.pid, signal)
            .map_err(|errno| Error::sys(format!("kill({}, {signal})", self.pid), errno))
    }
}

fn reap(pid: Pid) -> Result<Exit> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => {
                cleanup::forget_child(pid.as_raw());
                return Ok(Exit::Code(code));
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                cleanup::forget_child(pid.as_raw());
                return Ok(Exit::Signal(signal));
            }
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(errno) => return Err(Error::sys(format!("waitpid({pid}, &status, 0)"), errno)),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGTERM);
            let _ = reap(self.pid);
        }
    }
}
