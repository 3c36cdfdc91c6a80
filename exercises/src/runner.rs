//! One run of an exercise (or several copies at once), watched from outside: its own process
//! group, jitter and a trace of its own, a fault injected on cue, a time limit, and afterwards
//! every process of it gone and every object it left removed.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::kernel::{self, Leftover, Stuck, Watch};
use crate::trace::{self, Call};

/// Set by the checker's own SIGINT, SIGTERM or SIGHUP handler: stop the run, clean up, leave.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// More processes than this in one run is a program that forks without end.
pub const PROCESS_LIMIT: usize = 64;

/// A run in which nothing happens for this long (no output, no call recorded, no process
/// started or ended, and no process waiting for a CPU it does not get) is stuck: it is reported
/// then, without waiting for the time limit.
pub const PATIENCE: Duration = Duration::from_secs(2);

/// How long a run may go on after a fault was injected (Ctrl-C, a process killed): a program
/// that handles it ends within this time.
pub const AFTER_FAULT: Duration = Duration::from_secs(3);

/// Under a controlled schedule, Ctrl-C comes before one of the first this many steps (or when
/// every process is blocked, if the run has fewer).
pub const INTERRUPT_STEPS: u32 = 120;

/// How often the kernel's tables are looked at while a run goes on (see [`kernel::Watch`]).
pub const WATCH_EVERY: Duration = Duration::from_millis(1);

/// How much of each output stream is kept.
const OUTPUT_LIMIT: usize = 256 * 1024;

/// A run that prints more than this prints without end.
pub const PRINT_LIMIT: u64 = 8 << 20;

/// The program to run.
#[derive(Clone, Debug)]
pub struct Program {
    /// Its path.
    pub path: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// Something done to a run from outside, part-way through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGINT to each copy's whole process group, as a terminal's Ctrl-C, this long after start.
    Interrupt(Duration),
    /// SIGKILL to the process in `role` as soon as it has printed a line starting with `text`.
    KillAfterLine {
        /// Its role (the `[role pid]` prefix of the line).
        role: &'static str,
        /// The start of the line.
        text: &'static str,
    },
}

/// How to run it.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How many copies start at once.
    pub copies: usize,
    /// The jitter seed (each copy gets its own, made from it).
    pub seed: u64,
    /// What to do to the run, if anything.
    pub fault: Option<Fault>,
    /// How long the run may last.
    pub timeout: Duration,
    /// A peer the checker plays, listening on a socket whose path the program finds in
    /// [`crate::peer::VARIABLE`] (exercise 15), if any.
    pub peer: Option<crate::peer::Plan>,
    /// Who goes next, when the checker decides it (else the jitter from `seed` shuffles).
    pub schedule: Option<crate::schedule::Plan>,
}

/// How a copy's main process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by this signal.
    Signaled(Signal),
    /// Still running when the time was up (then killed).
    TimedOut,
    /// Stopped because the run had more than [`PROCESS_LIMIT`] processes.
    TooManyProcesses,
    /// Stopped because the run printed more than [`PRINT_LIMIT`] bytes.
    TooMuchOutput,
}

/// One copy of the program, after the run.
#[derive(Clone, Debug)]
pub struct Copy {
    /// Its main process.
    pub pid: i32,
    /// How that process ended.
    pub ending: Ending,
    /// What it printed (and its children), in the order written.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Every call its processes recorded.
    pub calls: Vec<Call>,
    /// Every load, store and fence they made through the library.
    pub accesses: Vec<trace::Access>,
    /// The path of each object those name.
    pub objects: BTreeMap<String, String>,
    /// The role of each of its processes that named one.
    pub roles: BTreeMap<i32, String>,
}

impl Copy {
    /// The lines of its story that came from `role`, without the `[role pid] ` prefix.
    pub fn said_by<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.stdout.lines().filter_map(move |line| {
            let (who, _, text) = story_line(line)?;
            (who == role).then_some(text)
        })
    }

    /// The role of `pid`, from the trace or the story.
    pub fn role_of(&self, pid: i32) -> Option<String> {
        self.roles.get(&pid).cloned().or_else(|| {
            self.stdout
                .lines()
                .filter_map(story_line)
                .find(|(_, p, _)| *p == pid)
                .map(|(r, _, _)| r.to_owned())
        })
    }

    /// The last lines of its output (standard output, then standard error), for a report.
    pub fn tail(&self, lines: usize) -> String {
        let all: Vec<&str> = self.stdout.lines().chain(self.stderr.lines()).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// A line of the story: `[writer 2 4245] text` as (role, pid, text).
pub fn story_line(line: &str) -> Option<(&str, i32, &str)> {
    let rest = line.strip_prefix('[')?;
    let (prefix, text) = rest.split_once("] ")?;
    let (role, pid) = prefix.trim_end().rsplit_once(' ')?;
    Some((role.trim_end(), pid.parse().ok()?, text))
}

/// A process of the run that was still there, or never waited for, when its copy ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stray {
    /// Its pid.
    pub pid: i32,
    /// Its role, if known.
    pub role: String,
    /// What became of it.
    pub how: StrayHow,
}

/// What the checker found of a stray process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrayHow {
    /// Still running after its copy's main process had ended (the checker killed it).
    StillRunning,
    /// It had exited, but its parent never waited for it (a zombie, reaped by the checker).
    NeverWaitedFor,
    /// It was still running when its parent ended, and the kernel killed it then.
    KilledWithParent,
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct Trial {
    /// Each copy.
    pub copies: Vec<Copy>,
    /// What was done to it, in words (`SIGINT after 23 ms`), if anything.
    pub fault_done: Option<String>,
    /// What its processes were doing when the time was up, if it was.
    pub stuck: Option<Stuck>,
    /// What it left in the IPC tables and `/dev/shm` (removed since).
    pub leftovers: Vec<Leftover>,
    /// Processes that outlived their copy, or were never waited for.
    pub strays: Vec<Stray>,
    /// How long it lasted.
    pub elapsed: Duration,
    /// What the checker's peer did, if it played one.
    pub peer: Option<crate::peer::Report>,
    /// When the fault was injected, if it was (`CLOCK_MONOTONIC`, as the trace's times).
    pub fault_ns: Option<u64>,
    /// The segments and semaphore sets the run made, as the kernel showed them while it ran
    /// (looked at every [`WATCH_EVERY`]): modes, owners, attachments, semaphore values.
    pub watched: Watch,
    /// What the controlled schedule did, when there was one.
    pub schedule: Option<crate::schedule::Record>,
    /// The run's seed, from which its data was drawn ([`Trial::data`]).
    pub seed: u64,
}

impl Trial {
    /// The data the checker gave this run (drawn from its seed).
    pub fn data(&self) -> crate::data::Data {
        crate::data::Data::draw(self.seed)
    }

    /// Every call of every copy.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.copies.iter().flat_map(|copy| copy.calls.iter())
    }

    /// The role of `pid` in any copy.
    pub fn role_of(&self, pid: i32) -> Option<String> {
        self.copies.iter().find_map(|copy| copy.role_of(pid)).or_else(|| {
            self.copies.iter().find(|copy| copy.pid == pid).map(|_| "main process".to_owned())
        })
    }
}

/// The checker was interrupted: the run was stopped and cleaned up.
#[derive(Debug)]
pub struct Interrupted {
    /// What the clean-up removed, in words.
    pub removed: Vec<String>,
}

struct Running {
    pid: i32,
    stdout: ChildStdout,
    stderr: ChildStderr,
    out: Vec<u8>,
    err: Vec<u8>,
    /// Bytes read from both pipes, kept or not.
    printed: u64,
    trace: PathBuf,
    ending: Option<Ending>,
}

/// Whether a run is still getting somewhere: what it printed and traced, and which processes
/// it has. When none of that changes for [`PATIENCE`], the run is stuck, unless a process was
/// runnable all that time and got little of a CPU: then a busy machine holds it back, and only
/// the time limit stops the run.
struct Progress {
    last: Option<(u64, u64, Vec<i32>)>,
    changed: Instant,
    /// For each process: its CPU time when the quiet began, and whether it has been runnable at
    /// every look since.
    since: BTreeMap<i32, (Duration, bool)>,
}

impl Progress {
    fn new() -> Progress {
        Progress { last: None, changed: Instant::now(), since: BTreeMap::new() }
    }

    fn look(&mut self, copies: &[Running], processes: &[kernel::Process]) {
        let traced =
            copies.iter().filter_map(|c| std::fs::metadata(&c.trace).ok()).map(|m| m.len()).sum();
        let printed = copies.iter().map(|c| c.printed).sum();
        let alive: Vec<i32> = processes.iter().filter(|p| p.state != 'Z').map(|p| p.pid).collect();
        let now = Some((printed, traced, alive));
        if now != self.last {
            self.last = now;
            self.changed = Instant::now();
            self.since = processes
                .iter()
                .map(|p| (p.pid, (kernel::cpu_time(p.pid), p.state == 'R')))
                .collect();
        } else {
            for p in processes {
                if let Some((_, runnable)) = self.since.get_mut(&p.pid) {
                    *runnable &= p.state == 'R';
                }
            }
        }
    }

    /// How long nothing has happened, if the run is stuck (and not merely held back).
    fn stuck_for(&self) -> Option<Duration> {
        let quiet = self.changed.elapsed();
        let held_back = self.since.iter().any(|(&pid, &(cpu, runnable))| {
            runnable && kernel::cpu_time(pid).saturating_sub(cpu) < quiet / 4
        });
        (quiet >= PATIENCE && !held_back).then_some(quiet)
    }
}

/// Runs the program once (`settings.copies` copies at once) and returns what happened; the run
/// leaves nothing behind, whatever it did.
pub fn run(program: &Program, settings: &Settings, workdir: &Path) -> Result<Trial, Interrupted> {
    let before = kernel::snapshot();
    let watcher = kernel::Watcher::start(before.clone(), WATCH_EVERY);
    let start = Instant::now();
    let me = std::process::id() as i32;
    let mut copies: Vec<Running> = Vec::new();
    let peer = match settings.peer.clone().map(|plan| crate::peer::Peer::start(workdir, plan)) {
        Some(Err(err)) => {
            drop(watcher.finish());
            return Ok(failed_to_start(err, program, start));
        }
        Some(Ok(peer)) => Some(peer),
        None => None,
    };
    let peer_path = peer.as_ref().map(|peer| peer.path().to_owned());
    // Under a controlled schedule, Ctrl-C comes at a step the seed chose, not at a time.
    let interrupt_at = match settings.fault {
        Some(Fault::Interrupt(at)) if settings.schedule.is_some() => {
            Some(1 + (at.as_micros() % u128::from(INTERRUPT_STEPS)) as u32)
        }
        _ => None,
    };
    let socket = workdir.join("schedule.sock");
    let scheduler = match settings
        .schedule
        .clone()
        .map(|plan| crate::schedule::Scheduler::start(&socket, plan, interrupt_at))
    {
        Some(Err(err)) => {
            drop(peer.map(crate::peer::Peer::finish));
            drop(watcher.finish());
            return Ok(failed_to_start(err, program, start));
        }
        Some(Ok(scheduler)) => Some(scheduler),
        None => None,
    };
    let schedule_path = scheduler.as_ref().map(|s| s.path().to_owned());
    let data = crate::data::Data::draw(settings.seed).to_variable();
    for k in 0..settings.copies {
        let seed = settings.seed.wrapping_add((k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let trace = workdir.join(format!("trace-{k}.jsonl"));
        match spawn(program, seed, &data, &trace, peer_path.as_deref(), schedule_path.as_deref()) {
            Ok(running) => {
                if let Some(scheduler) = &scheduler {
                    scheduler.add_root(running.pid, k);
                }
                copies.push(running)
            }
            Err(err) => {
                stop_all(&copies, me);
                drop(peer.map(crate::peer::Peer::finish));
                drop(watcher.finish());
                return Ok(failed_to_start(err, program, start));
            }
        }
    }
    let groups: Vec<i32> = copies.iter().map(|c| c.pid).collect();
    let mut pids: BTreeSet<i32> = groups.iter().copied().collect();
    let mut others: BTreeMap<i32, Ending> = BTreeMap::new(); // non-main processes we reaped
    let mut fault_done = None;
    let mut fault_at: Option<Instant> = None;
    let mut fault_ns = None;
    let mut stuck = None;
    let mut scanned = start;
    let mut too_many = None;
    let mut watch = Progress::new();
    loop {
        for copy in &mut copies {
            drain(copy);
        }
        reap(&mut copies, &mut others);
        if copies.iter().all(|c| c.ending.is_some()) {
            break;
        }
        if INTERRUPTED.load(Ordering::Relaxed) {
            stop_all(&copies, me);
            reap(&mut copies, &mut others);
            drop(watcher.finish());
            let calls: Vec<Call> =
                copies.iter().flat_map(|c| trace::read(&c.trace).calls).collect();
            let mut left = kernel::leftovers(&before, &kernel::snapshot(), &calls, &pids);
            kernel::remove(&mut left);
            let _ = shm_workbook::registry::sweep();
            drop(peer.map(crate::peer::Peer::finish));
            return Err(Interrupted { removed: left.into_iter().map(|l| l.what).collect() });
        }
        if let (Some(step), Some(ns), None) =
            (interrupt_at, scheduler.as_ref().and_then(|s| s.interrupted_ns()), &fault_done)
        {
            fault_done = Some(format!(
                "Ctrl-C (SIGINT to the process group) at step {step} of the schedule"
            ));
            fault_at = Some(Instant::now());
            fault_ns = Some(ns);
        }
        if fault_done.is_none() && interrupt_at.is_none() {
            fault_done = inject(settings.fault, &copies, start.elapsed());
            if fault_done.is_some() {
                fault_at = Some(Instant::now());
                fault_ns = Some(kernel::monotonic_ns());
            }
        }
        if scanned.elapsed() >= Duration::from_millis(20) {
            scanned = Instant::now();
            let now = kernel::processes(&groups, me);
            pids.extend(now.iter().map(|p| p.pid));
            if now.len() > PROCESS_LIMIT {
                too_many = Some(Ending::TooManyProcesses);
                break;
            }
            let traced: u64 = copies
                .iter()
                .filter_map(|c| std::fs::metadata(&c.trace).ok())
                .map(|m| m.len())
                .sum();
            if copies.iter().map(|c| c.printed).sum::<u64>() > PRINT_LIMIT || traced > trace::LIMIT
            {
                too_many = Some(Ending::TooMuchOutput);
                break;
            }
            watch.look(&copies, &now);
        }
        let quiet = watch.stuck_for();
        let too_long = start.elapsed() >= settings.timeout
            || fault_at.is_some_and(|at| at.elapsed() >= AFTER_FAULT);
        if too_long || quiet.is_some() {
            let mut roles = BTreeMap::new();
            for copy in &copies {
                roles.extend(trace::read(&copy.trace).roles);
            }
            let mut alive: Vec<(i32, String)> = kernel::processes(&groups, me)
                .into_iter()
                .filter(|p| p.state != 'Z')
                .map(|p| (p.pid, role_in(&roles, &copies, p.pid)))
                .collect();
            alive.sort();
            let mut report = Stuck::inspect(start.elapsed(), &alive);
            report.quiet_for = quiet;
            stuck = Some(report);
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = start.elapsed();

    // What is left of the run once its main processes have ended: a moment for children that
    // die with their parent, then everything still there is a stray, and is killed.
    let finished = copies.iter().all(|c| c.ending.is_some());
    let mut strays = Vec::new();
    if finished {
        let grace = Instant::now();
        while grace.elapsed() < Duration::from_millis(200)
            && kernel::processes(&groups, me).iter().any(|p| p.state != 'Z')
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        for p in kernel::processes(&groups, me) {
            pids.insert(p.pid);
            if p.state != 'Z' {
                strays.push(Stray { pid: p.pid, role: String::new(), how: StrayHow::StillRunning });
            }
        }
    }
    // A scheduled Ctrl-C that ended the run before the loop above saw it.
    if let (Some(step), Some(ns), None) =
        (interrupt_at, scheduler.as_ref().and_then(|s| s.interrupted_ns()), &fault_done)
    {
        fault_done =
            Some(format!("Ctrl-C (SIGINT to the process group) at step {step} of the schedule"));
        fault_ns = Some(ns);
    }
    let schedule = scheduler.map(crate::schedule::Scheduler::finish);
    stop_all(&copies, me);
    reap(&mut copies, &mut others);
    let mut watched = watcher.finish();
    let peer = peer.map(crate::peer::Peer::finish);
    let ending = too_many.unwrap_or(Ending::TimedOut);
    for copy in &mut copies {
        copy.ending.get_or_insert(ending);
        drain_to_end(copy);
    }
    if finished && settings.fault.is_none() {
        for (&pid, &ended) in &others {
            if strays.iter().any(|s| s.pid == pid) {
                continue;
            }
            let how = match ended {
                Ending::Signaled(Signal::SIGKILL) => StrayHow::KilledWithParent,
                _ => StrayHow::NeverWaitedFor,
            };
            strays.push(Stray { pid, role: String::new(), how });
        }
    }
    pids.extend(others.keys());

    let copies: Vec<Copy> = copies
        .into_iter()
        .map(|running| {
            let trace = trace::read(&running.trace);
            let _ = std::fs::remove_file(&running.trace);
            Copy {
                pid: running.pid,
                ending: running.ending.unwrap_or(Ending::TimedOut),
                stdout: String::from_utf8_lossy(&running.out).into_owned(),
                stderr: String::from_utf8_lossy(&running.err).into_owned(),
                calls: trace.calls,
                accesses: trace.accesses,
                objects: trace.objects,
                roles: trace.roles,
            }
        })
        .collect();
    let calls: Vec<Call> = copies.iter().flat_map(|c| c.calls.iter().cloned()).collect();
    pids.extend(calls.iter().map(|c| c.pid));
    pids.extend(copies.iter().flat_map(|c| c.accesses.iter().map(|a| a.pid)));
    pids.extend(copies.iter().flat_map(|c| c.roles.keys().copied()));
    watched.keep_the_runs(&calls, &pids);
    let mut leftovers = kernel::leftovers(&before, &kernel::snapshot(), &calls, &pids);
    kernel::remove(&mut leftovers);
    let _ = shm_workbook::registry::sweep(); // the run files of processes that were killed
    let seed = settings.seed;
    let mut trial = Trial {
        copies,
        fault_done,
        stuck,
        leftovers,
        strays,
        elapsed,
        peer,
        fault_ns,
        watched,
        schedule,
        seed,
    };
    let roles: Vec<String> = trial
        .strays
        .iter()
        .map(|stray| trial.role_of(stray.pid).unwrap_or_else(|| "a process".to_owned()))
        .collect();
    for (stray, role) in trial.strays.iter_mut().zip(roles) {
        stray.role = role;
    }
    Ok(trial)
}

fn role_in(roles: &BTreeMap<i32, String>, copies: &[Running], pid: i32) -> String {
    if let Some(role) = roles.get(&pid) {
        return role.clone();
    }
    let out: Vec<u8> = copies.iter().flat_map(|c| c.out.iter().copied()).collect();
    let text = String::from_utf8_lossy(&out);
    text.lines()
        .filter_map(story_line)
        .find(|(_, p, _)| *p == pid)
        .map(|(role, _, _)| role.to_owned())
        .unwrap_or_else(|| {
            if copies.iter().any(|c| c.pid == pid) { "main process" } else { "process" }.to_owned()
        })
}

/// The one-copy trial of a program that could not even be started.
fn failed_to_start(err: std::io::Error, program: &Program, start: Instant) -> Trial {
    Trial {
        copies: vec![Copy {
            pid: 0,
            ending: Ending::Exited(127),
            stdout: String::new(),
            stderr: format!("cannot start {}: {err}", program.path.display()),
            calls: Vec::new(),
            accesses: Vec::new(),
            objects: BTreeMap::new(),
            roles: BTreeMap::new(),
        }],
        fault_done: None,
        stuck: None,
        leftovers: Vec::new(),
        strays: Vec::new(),
        elapsed: start.elapsed(),
        peer: None,
        fault_ns: None,
        watched: Watch::default(),
        schedule: None,
        seed: 0,
    }
}

fn spawn(
    program: &Program,
    seed: u64,
    data: &str,
    trace: &Path,
    peer: Option<&Path>,
    schedule: Option<&Path>,
) -> std::io::Result<Running> {
    let _ = std::fs::remove_file(trace);
    let limit = process_limit();
    let mut command = Command::new(&program.path);
    if let Some(path) = peer {
        command.env(crate::peer::VARIABLE, path);
    }
    match schedule {
        // The checker decides the order: no jitter on top of it.
        Some(path) => command.env(shm_workbook::jitter::SCHEDULE_VARIABLE, path),
        None => command.env(shm_workbook::jitter::VARIABLE, seed.to_string()),
    };
    command
        .args(&program.args)
        .env(shm_workbook::call::TRACE_VARIABLE, trace)
        .env(crate::data::VARIABLE, data)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec the closure makes only async-signal-safe system calls
    // (setpgid, prctl, setrlimit) and touches no lock or allocation.
    unsafe {
        command.pre_exec(move || {
            // A process group of its own: the checker signals the whole run at once, the
            // terminal's Ctrl-C reaches the checker only, and the jitter finds the run's
            // processes by their group.
            libc::setpgid(0, 0);
            // The run dies with the checker, even if the checker is killed with SIGKILL.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if let Some(limit) = limit {
                let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                libc::setrlimit(libc::RLIMIT_NPROC, &rlimit);
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let pid = child.id() as i32;
    // Also from this side, so that the group exists before the first signal is sent to it.
    // SAFETY: setpgid takes two pids; failing (the child has already exec'd) changes nothing.
    unsafe { libc::setpgid(pid, pid) };
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    for fd in [stdout.as_raw_fd(), stderr.as_raw_fd()] {
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK)
        };
    }
    // The child is reaped with waitpid below, not through `child`, which is dropped unwaited.
    drop(child);
    Ok(Running {
        pid,
        stdout,
        stderr,
        out: Vec::new(),
        err: Vec::new(),
        printed: 0,
        trace: trace.to_owned(),
        ending: None,
    })
}

/// RLIMIT_NPROC for a run: the user's processes now, plus room for [`PROCESS_LIMIT`]. Root is
/// not bound by it (the checker's count stops a run that forks without end).
fn process_limit() -> Option<u64> {
    if nix::unistd::geteuid().is_root() {
        return None;
    }
    let uid = nix::unistd::getuid().as_raw();
    let mine = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    use std::os::unix::fs::MetadataExt;
                    e.file_name().to_str().is_some_and(|n| n.parse::<u32>().is_ok())
                        && e.metadata().is_ok_and(|m| m.uid() == uid)
                })
                .count()
        })
        .unwrap_or(0);
    Some((mine + PROCESS_LIMIT * 2) as u64)
}

/// Reads what is waiting in a copy's pipes.
fn drain(copy: &mut Running) {
    read_some(&mut copy.stdout, &mut copy.out, &mut copy.printed);
    read_some(&mut copy.stderr, &mut copy.err, &mut copy.printed);
}

/// Reads until the pipe is empty (or a good deal was read); returns whether it reached the end
/// (all writers gone).
fn read_some(pipe: &mut impl Read, into: &mut Vec<u8>, printed: &mut u64) -> bool {
    let mut buffer = [0u8; 8192];
    for _ in 0..64 {
        match pipe.read(&mut buffer) {
            Ok(0) => return true,
            Ok(n) => {
                *printed += n as u64;
                if into.len() < OUTPUT_LIMIT {
                    into.extend_from_slice(&buffer[..n.min(OUTPUT_LIMIT - into.len())]);
                    if into.len() >= OUTPUT_LIMIT {
                        into.extend_from_slice(b"\n[... more output, not kept ...]\n");
                    }
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false, // EAGAIN: nothing more for now
        }
    }
    false
}

/// After the run: what is still in the pipes (every writer is dead by now).
fn drain_to_end(copy: &mut Running) {
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        let out_done = read_some(&mut copy.stdout, &mut copy.out, &mut copy.printed);
        let err_done = read_some(&mut copy.stderr, &mut copy.err, &mut copy.printed);
        if (out_done && err_done) || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Reaps every child that has ended: the copies' main processes, and orphans of the run that
/// the checker adopted as a subreaper.
fn reap(copies: &mut [Running], others: &mut BTreeMap<i32, Ending>) {
    loop {
        let status = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(status) => status,
        };
        let (pid, ending) = match status {
            WaitStatus::Exited(pid, code) => (pid.as_raw(), Ending::Exited(code)),
            WaitStatus::Signaled(pid, signal, _) => (pid.as_raw(), Ending::Signaled(signal)),
            _ => continue,
        };
        match copies.iter_mut().find(|c| c.pid == pid) {
            Some(copy) => copy.ending = Some(ending),
            None => {
                others.insert(pid, ending);
            }
        }
    }
}

/// Kills every process of the run (each copy's group, and any orphan the checker adopted) and
/// reaps them, until none is left.
fn stop_all(copies: &[Running], me: i32) {
    let groups: Vec<i32> = copies.iter().map(|c| c.pid).collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for &group in &groups {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
        let left = kernel::processes(&groups, me);
        for p in &left {
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
        }
        while let Ok(status) = waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
        if left.is_empty() || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Injects the fault when its moment has come; returns what was done.
fn inject(fault: Option<Fault>, copies: &[Running], elapsed: Duration) -> Option<String> {
    match fault? {
        Fault::Interrupt(at) if elapsed >= at => {
            for copy in copies {
                let _ = killpg(Pid::from_raw(copy.pid), Signal::SIGINT);
            }
            Some(format!("Ctrl-C (SIGINT to the process group) after {} ms", at.as_millis()))
        }
        Fault::Interrupt(_) => None,
        Fault::KillAfterLine { role, text } => copies.iter().find_map(|copy| {
            let out = String::from_utf8_lossy(&copy.out);
            let (_, pid, line) = out
                .lines()
                .filter_map(story_line)
                .find(|(who, _, line)| *who == role && line.starts_with(text))?;
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            Some(format!("SIGKILL to the {role} ({pid}) after it printed `{line}`"))
        }),
    }
}

/// The checker becomes a subreaper, so that a process of a run whose parent has ended becomes
/// its child: it can then be found, reaped and reported instead of vanishing under init.
pub fn become_subreaper() {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
}

/// A private directory for the checker's trace files, removed on drop. Directories of earlier
/// checkers that were killed are removed when the next one starts.
pub struct Workdir(PathBuf);

impl Workdir {
    /// Makes `checker-<pid>` in the user's private run directory (or the temporary directory).
    pub fn new() -> std::io::Result<Workdir> {
        use std::os::unix::fs::DirBuilderExt;
        // The library removes the run-file folder when its last run file goes, so another run
        // can remove it between `directory()` and the creation here: then the folder is asked
        // for (made and checked private) again, once.
        let mut tries = 2;
        let dir = loop {
            tries -= 1;
            let base = shm_workbook::registry::directory().unwrap_or_else(std::env::temp_dir);
            remove_dead_workdirs(&base);
            let dir = base.join(format!("checker-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => break dir,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && tries > 0 => continue,
                Err(err) => return Err(err),
            }
        };
        Ok(Workdir(dir))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// Removes the `checker-<pid>` folders in `base` of checkers no longer running.
fn remove_dead_workdirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("checker-").and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if kernel::process(pid).is_none() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn story_lines_give_role_pid_and_text() {
        assert_eq!(
            story_line("[writer 2 4245] wrote my line"),
            Some(("writer 2", 4245, "wrote my line"))
        );
        assert_eq!(
            story_line("[child  4243] Child read: x"),
            Some(("child", 4243, "Child read: x"))
        );
        assert_eq!(story_line("Error: something"), None);
    }
}
