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
    watch_children();
    let forked = cleanup::with_signals_held(|| {
        // SAFETY: lessons are single-threaded, so no other thread holds a lock (of malloc, of
        // stdout) that the child would inherit locked. The child runs `body` and then leaves
        // with _exit below, never returning into the parent's stack frames.
        let forked = unsafe { fork() };
        match forked {
            Ok(ForkResult::Parent { child }) => cleanup::track_child(child.as_raw()),
            Ok(ForkResult::Child) => crate::registry::mark_forked_child(),
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
            crate::registry::begin();
            call::set_role(role, true);
            // With a trace, a line that names this process even if it records no call (the
            // exercise checker names the processes of a run that hangs by their role).
            call::event("spawned", &[]);
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
            crate::registry::end();
            // SAFETY: _exit ends the child at once: no destructors of the parent's objects
            // (copied by fork) run here, so the child cannot remove what the parent owns.
            unsafe { libc::_exit(status) }
        }
    }
}

/// [`spawn`], for a worker that repeats a call thousands of times (a `semop` pair per
/// increment): the `fork` is recorded as usual, the child's own calls are not, so they fill
/// neither the trace nor the record. A failed call still ends the child with its error.
pub fn spawn_unrecorded<F>(role: &str, body: F) -> Result<Child>
where
    F: FnOnce(&Narrator) -> Result<()>,
{
    spawn(role, |out| call::unrecorded(|| body(out)))
}

static WATCHING: std::sync::Once = std::sync::Once::new();

/// Makes a child's death interrupt whatever this process is blocked in: a SIGCHLD handler
/// installed without `SA_RESTART`, so that `semop`, `msgrcv`, `mq_receive`, `futex` and
/// `waitpid` return `EINTR` when a child ends. The library's waits then ask
/// [`cleanup::child_failure`] whether a child died abnormally, and end with an error instead of
/// waiting for ever for a partner that is gone.
///
/// A child that dies just *before* the parent starts to wait interrupts nothing: its SIGCHLD
/// came too early, and the wait would last for ever. So the handler also sets an alarm one
/// second ahead (`alarm(1)`); the SIGALRM, handled the same way, interrupts whatever wait
/// began in between, and that wait then finds the dead child. A wait costs at most one
/// spurious `EINTR`, a second after a child ended, which every wait of the library retries.
fn watch_children() {
    extern "C" fn on_child(_: libc::c_int) {
        // SAFETY: alarm is async-signal-safe (POSIX lists it) and takes an integer.
        unsafe { libc::alarm(1) };
    }
    extern "C" fn on_alarm(_: libc::c_int) {}
    WATCHING.call_once(|| {
        use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
        let action =
            SigAction::new(SigHandler::Handler(on_child), SaFlags::SA_NOCLDSTOP, SigSet::empty());
        // SAFETY: the handler only calls alarm, which is async-signal-safe.
        let _ = unsafe { sigaction(Signal::SIGCHLD, &action) };
        let alarm =
            SigAction::new(SigHandler::Handler(on_alarm), SaFlags::empty(), SigSet::empty());
        // SAFETY: the handler does nothing at all.
        let _ = unsafe { sigaction(Signal::SIGALRM, &alarm) };
    });
}

/// Sleeps until some child of this process has ended, or a signal came, or a millisecond
/// passed if the one that ended is not ours to wait for here (it stays waitable, unreaped).
fn sleep_until_a_child_ends(ours: &[Child]) {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    match waitid(Id::All, flags) {
        Err(nix::errno::Errno::EINTR) => {}
        Ok(status) if status.pid().is_some_and(|pid| ours.iter().any(|c| c.pid == pid)) => {}
        // Another child is waitable, and would wake us at once for ever: a look a millisecond.
        _ => std::thread::sleep(std::time::Duration::from_millis(1)),
    }
}

/// Waits for every child in `children`, in whatever order they end. If one of them fails
/// (an error, a panic, a signal), the others may be blocked for ever on something it held or
/// was to send: they are stopped (SIGTERM, then SIGKILL) and reaped, and the error names the
/// one that failed. No child is left running or unreaped.
pub fn wait_all(children: Vec<Child>) -> Result<()> {
    let mut left = children;
    while !left.is_empty() {
        // Which one ended? Look without reaping (Child::wait reaps it and records the call),
        // and only at our own children. Between looks, sleep until some child has ended
        // (waitid with WNOWAIT reaps nothing): a process asleep until its children end, rather
        // than on a timer, wakes at a moment the checker's controlled schedule can foresee.
        let Some(mut at) = left.iter().position(Child::has_ended) else {
            sleep_until_a_child_ends(&left);
            continue;
        };
        // A child killed by a signal is the cause, and a partner that then failed on the
        // closed socket or pipe the consequence: name the cause. Its death may take a moment
        // longer to be seen than the partner's exit, which it brought about.
        if left[at].exited_with_failure() {
            std::thread::sleep(std::time::Duration::from_millis(20));
            at = left.iter().position(Child::was_killed).unwrap_or(at);
        }
        let child = left.swap_remove(at);
        if let Err(err) = child.wait() {
            let others = left.len();
            for other in &left {
                let _ = other.signal(Signal::SIGTERM);
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            for other in left.drain(..) {
                let mut other = other;
                while std::time::Instant::now() < deadline && !other.has_ended() {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                if !other.has_ended() {
                    let _ = other.signal(Signal::SIGKILL);
                }
                let _ = reap(other.pid, None);
                other.reaped = true;
            }
            return Err(err.with_hint(format!(
                "its own message, printed above, says what went wrong; the {others} other \
                 process(es) of this step were stopped, since they could wait for ever on what it \
                 held or was to send"
            )));
        }
    }
    Ok(())
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

    /// Waits for the child; an error unless it exited with status 0. The error names the
    /// child, not `waitpid`: the wait itself succeeded, and what failed is the child.
    pub fn wait(self) -> Result<()> {
        let who = format!("the {} (pid {})", self.role, self.pid);
        let pid = self.pid;
        let failed = |meaning: String| Err(Error::other(who.clone(), meaning));
        match self.wait_exit()? {
            Exit::Code(0) => Ok(()),
            Exit::Code(PANIC_STATUS) => failed(format!(
                "waitpid reports that it panicked (exit status {PANIC_STATUS}): a bug in the \
                 workbook, please report it"
            )),
            Exit::Code(code) => failed(format!(
                "waitpid reports that it exited with status {code}; its own message is printed \
                 above"
            )),
            Exit::Signal(signal) => failed(format!(
                "waitpid reports that it was killed by {signal}{}",
                left_over_sentence(pid)
            )),
        }
    }

    /// How the child stands, looked at without reaping it (`waitid` with `WNOWAIT`).
    fn peek(&self) -> nix::Result<WaitStatus> {
        use nix::sys::wait::{Id, WaitPidFlag, waitid};
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        waitid(Id::Pid(self.pid), flags)
    }

    /// Whether the child has ended (without reaping it).
    fn has_ended(&self) -> bool {
        !matches!(self.peek(), Ok(WaitStatus::StillAlive))
    }

    /// Whether the child has ended by a signal (without reaping it).
    fn was_killed(&self) -> bool {
        matches!(self.peek(), Ok(WaitStatus::Signaled(..)))
    }

    /// Whether the child has exited with a status other than 0 (without reaping it).
    fn exited_with_failure(&self) -> bool {
        matches!(self.peek(), Ok(WaitStatus::Exited(_, code)) if code != 0)
    }

    /// Waits for the child and reports how it ended, whatever that was.
    pub fn wait_exit(mut self) -> Result<Exit> {
        let exit = reap(self.pid, Some(&self.role))?;
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

/// How long a child awaited by the lesson may take to notice, by itself, that another child
/// has failed (and end, with its own message), before the wait gives up on it.
const GRACE: std::time::Duration = std::time::Duration::from_millis(900);

/// `waitpid(pid, &status, 0)` until the child has ended; each call is recorded. With a
/// `role` (a wait the lesson asked for), the wait ends with an error if *another* child has
/// failed and the awaited one has not ended [`GRACE`] later: it may be blocked for ever on
/// what the dead one held or was to send (a producer on a consumer), and dropping it then
/// stops it.
fn reap(pid: Pid, role: Option<&str>) -> Result<Exit> {
    let mut noticed: Option<std::time::Instant> = None;
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
                // A signal ran no cleanup in the child (SIGKILL cannot be caught): remove what
                // it had created and written down, now that it is surely gone.
                let swept = crate::registry::sweep_process(pid.as_raw());
                if !swept.removed.is_empty() {
                    LEFT_OVER.with(|left| left.borrow_mut().push((pid.as_raw(), swept.removed)));
                }
                return Ok(Exit::Signal(signal));
            }
            Ok(_) => {
                made.returned(pid);
            }
            Err(Errno::EINTR) => {
                made.failed(Errno::EINTR);
                if let Some(role) = role
                    && let Some(err) = cleanup::failure_among(|other| other != pid.as_raw())
                {
                    if noticed.is_some_and(|at| at.elapsed() >= GRACE) {
                        return Err(err.with_hint(format!(
                            "the message of the process that ended, printed above, says what went \
                             wrong; the {role} (pid {pid}), which this process was waiting for, is \
                             stopped too: it could wait for ever on what the dead one held or was \
                             to send"
                        )));
                    }
                    noticed.get_or_insert_with(std::time::Instant::now);
                    // SAFETY: alarm takes an integer: a SIGALRM interrupts this wait again.
                    unsafe { libc::alarm(1) };
                }
            }
            Err(errno) => return Err(made.failed(errno).error()),
        }
    }
}

thread_local! {
    /// What the sweep after a killed child removed, by pid, for its error message.
    static LEFT_OVER: std::cell::RefCell<Vec<(i32, Vec<String>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `"; what it had created is removed: segment 42"`, once, for a killed child whose leftovers
/// the parent removed; empty otherwise.
fn left_over_sentence(pid: Pid) -> String {
    LEFT_OVER.with(|left| {
        let mut left = left.borrow_mut();
        match left.iter().position(|(child, _)| *child == pid.as_raw()) {
            Some(at) => {
                format!("; what it had created is removed: {}", left.swap_remove(at).1.join(", "))
            }
            None => String::new(),
        }
    })
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.signal(Signal::SIGTERM);
            let _ = reap(self.pid, None);
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

/// Wall-clock and CPU time from a start, to show whether a process waited asleep (its CPU
/// time stays near zero) or spinning (CPU time keeps up with the clock).
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    wall: std::time::Instant,
    cpu: std::time::Duration,
}

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Result<Stopwatch> {
        Ok(Stopwatch { wall: std::time::Instant::now(), cpu: cpu_time()? })
    }

    /// Prints `waited 1.50s of wall time, using 1.49s of CPU time   (99% of a core)`, with
    /// `why` after the share when given.
    pub fn report(&self, out: &Narrator, why: Option<&str>) -> Result<()> {
        let (wall, cpu) = (self.wall.elapsed(), cpu_time()? - self.cpu);
        let share = 100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9);
        let note = match why {
            Some(why) => format!("{share:.0}% of a core: {why}"),
            None => format!("{share:.0}% of a core"),
        };
        out.line()
            .text("waited ")
            .value(format!("{wall:.2?}"))
            .text(" of wall time, using ")
            .value(format!("{cpu:.2?}"))
            .text(" of CPU time")
            .note(note)
            .print();
        Ok(())
    }
}
