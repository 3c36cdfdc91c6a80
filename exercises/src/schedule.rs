//! The controlled schedule: the checker, not the machine, decides which process of a run goes
//! next, at every point where processes meet (every recorded call, every load and store through
//! the library).
//!
//! Each process of the run connects to the checker's socket (`SHM_WORKBOOK_SCHEDULE`) at its
//! first point, and at every point writes one byte and waits for one back. The checker lets one
//! process go at a time: it waits until that process has come to its next point, blocked in the
//! kernel (a semaphore, a futex, `waitpid`, a pipe) or ended, and until every other process has
//! too (one asleep on a timer, or woken by what the last one did, is waited for), and then
//! chooses among those at a point. So the run follows the plan's choices and nothing else, and
//! the same plan gives the same interleaving again: that is what a replay token holds.
//!
//! Processes are named by their place in the family, not their pid: the first copy's main
//! process is `0`, its first child `0.1`, that child's first child `0.1.1`. Two plans:
//!
//! - [`Plan::Pct`]: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi and
//!   Nagarakatte, ASPLOS 2010). Each process gets a random priority; the highest-priority process
//!   at a point goes; at `depth - 1` steps drawn among the first `steps`, the process that just
//!   ran drops below all others. A bug that needs `d` events in a given order is found by one
//!   run with probability at least 1 / (n k^(d-1)), for n processes and k steps.
//! - [`Plan::Choices`]: the process that ran last goes on while it can (else the first in
//!   family order), except at the listed choices. A failing PCT run is turned into this form
//!   (only the choices that differ from that default), and shrunk to as few as still fail.
//!
//! A process that has gone [`SLICE`] steps in a row while another waited gives way (to the
//! next in family order), so that a spin loop cannot keep the others out for ever.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many steps in a row a process may take while another waits, before it gives way.
pub const SLICE: u32 = 100;

/// How long no process may be at a point before a scheduled Ctrl-C is sent anyway (a program
/// that never comes to that many steps).
pub const IDLE_BEFORE_CTRL_C: Duration = Duration::from_millis(60);

/// How long the checker waits for a process to come to a point, block or end before it lets
/// the others go on anyway (a process that computes long without a point, or a machine so busy
/// that it got no CPU): the run is then not wholly under control, and the record says so.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(2);

/// Who goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Random priorities with `depth - 1` priority change points among the first `steps`
    /// steps, all drawn from `seed`.
    Pct {
        /// The bug depth aimed at (2: one ordering of two events; 3: two...).
        depth: u32,
        /// How many steps a run takes, about (the change points are drawn among these).
        steps: u32,
        /// What the priorities and change points are drawn from.
        seed: u64,
    },
    /// The process that ran last goes on while it can, except at these choices.
    Choices(Vec<Choice>),
}

/// One decision that differs from "the one that ran last goes on": when process `after` has
/// taken `at` steps (and is at a point, or blocked), process `run` goes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Choice {
    /// The process that ran last (`""` before the first step).
    pub after: String,
    /// How many steps it had taken.
    pub at: u32,
    /// The process that goes instead.
    pub run: String,
}

/// What a controlled run did.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// How many steps were given (one process let go from a point).
    pub steps: u32,
    /// Every decision that differed from the default: the run's schedule as [`Plan::Choices`].
    pub choices: Vec<Choice>,
    /// How many of those took the turn from a process that could have gone on (a preemption).
    pub preemptions: u32,
    /// The family name of each pid.
    pub names: BTreeMap<i32, String>,
    /// Each switch from one process to another: (when, `CLOCK_MONOTONIC` ns; from; to; whether
    /// it was a preemption).
    pub switches: Vec<(u64, String, String, bool)>,
    /// A choice of the plan that could not be followed (that process was not at a point): the
    /// run did not take the interleaving asked for.
    pub diverged: Option<Choice>,
    /// How many times the checker stopped waiting for a process that neither came to a point
    /// nor blocked (see [`SETTLE_LIMIT`]).
    pub unsettled: u32,
    /// How many processes took part.
    pub processes: usize,
    /// Each step where more than one process was at a point, and who else could have gone.
    pub alternatives: Vec<Alternative>,
}

/// A step where another process could have gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alternative {
    /// The process that ran last (`""` before the first step).
    pub after: String,
    /// How many steps it had taken.
    pub at: u32,
    /// The processes at a point that did not go.
    pub others: Vec<String>,
    /// Whether the last step of `after` was a load (it changed no memory).
    pub loaded: bool,
}

impl Record {
    /// Every schedule one choice away from this run's: for the default run (no choices), the
    /// schedules that make exactly one choice of their own.
    ///
    /// A process that only loaded since the last such step changed nothing another process can
    /// see, so letting another go now or one load earlier reaches the same memory: of a run of
    /// such steps (a spin loop) only the first is tried.
    pub fn one_choice_away(&self) -> Vec<Vec<Choice>> {
        let mut schedules = Vec::new();
        let mut previous: Option<&Alternative> = None;
        for alternative in &self.alternatives {
            let same = previous
                .is_some_and(|p| p.after == alternative.after && p.others == alternative.others);
            if same && alternative.loaded {
                continue;
            }
            previous = Some(alternative);
            for run in &alternative.others {
                let after = alternative.after.clone();
                let choice = Choice { after, at: alternative.at, run: run.clone() };
                schedules.push(vec![choice]);
            }
        }
        schedules
    }
}

/// A scheduler running beside a run, on its own thread.
pub struct Scheduler {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    roots: Arc<Mutex<Vec<(i32, String)>>>,
    interrupted: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<JoinHandle<Record>>,
}

impl Scheduler {
    /// Listens on `path` and schedules by `plan` the processes that connect. With
    /// `interrupt_at`, sends SIGINT to each copy's process group (a terminal's Ctrl-C) before
    /// that step, or when every process is blocked if the run never gets that far: at a step, not
    /// at a time, so that a replay is interrupted at the same place.
    pub fn start(path: &Path, plan: Plan, interrupt_at: Option<u32>) -> std::io::Result<Scheduler> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let roots = Arc::new(Mutex::new(Vec::new()));
        let interrupted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut state = State::new(listener, plan, Arc::clone(&stop), Arc::clone(&roots));
        state.interrupt = interrupt_at.map(|step| (step, Arc::clone(&interrupted)));
        let thread =
            std::thread::Builder::new().name("scheduler".into()).spawn(move || state.run())?;
        Ok(Scheduler { path: path.to_owned(), stop, roots, interrupted, thread: Some(thread) })
    }

    /// When the scheduled Ctrl-C was sent (`CLOCK_MONOTONIC` ns), once it was.
    pub fn interrupted_ns(&self) -> Option<u64> {
        Some(self.interrupted.load(Ordering::Acquire)).filter(|&ns| ns != 0)
    }

    /// The socket's path, for `SHM_WORKBOOK_SCHEDULE`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy's main process, just started: named `copy` (`0`, `1`...).
    pub fn add_root(&self, pid: i32, copy: usize) {
        self.roots.lock().unwrap_or_else(|e| e.into_inner()).push((pid, copy.to_string()));
    }

    /// Lets every waiting process go on freely, and returns what the run did.
    pub fn finish(mut self) -> Record {
        self.stop.store(true, Ordering::Relaxed);
        let record = self.thread.take().and_then(|t| t.join().ok()).unwrap_or_default();
        let _ = std::fs::remove_file(&self.path);
        record
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One process of the run, as the scheduler knows it.
struct Member {
    name: String,
    stream: Option<UnixStream>,
    /// At a point, waiting for its turn.
    waiting: bool,
    /// Gone: its connection closed or its `/proc` entry is a zombie or missing.
    gone: bool,
    /// How many steps it has been given.
    steps: u32,
    /// How many of its children have been named.
    children: u32,
    /// Its PCT priority (higher goes first).
    priority: i64,
    /// Whether the point it waits at is before a load (its next step changes no memory).
    at_load: bool,
    /// Whether the step it was given last was a load.
    loaded_last: bool,
}

struct State {
    listener: UnixListener,
    plan: Plan,
    stop: Arc<AtomicBool>,
    roots: Arc<Mutex<Vec<(i32, String)>>>,
    members: BTreeMap<i32, Member>,
    /// Connections whose first four bytes (the pid) have not all come yet.
    pending: Vec<(UnixStream, Vec<u8>)>,
    /// The process let go last, until it settles.
    running: Option<(i32, Instant)>,
    /// Since when the scheduler has waited for some other process to settle.
    busy_since: Option<Instant>,
    /// The process that ran last, and how many steps in a row it has taken.
    last: Option<(i32, u32)>,
    change_points: Vec<u32>,
    lowered: i64,
    record: Record,
    /// The step before which Ctrl-C is sent, and where to say when it was.
    interrupt: Option<(u32, Arc<std::sync::atomic::AtomicU64>)>,
    /// The copies' main processes, whose groups Ctrl-C reaches.
    groups: Vec<i32>,
    /// Since when no process has been at a point.
    idle_since: Option<Instant>,
}

impl State {
    fn new(
        listener: UnixListener,
        plan: Plan,
        stop: Arc<AtomicBool>,
        roots: Arc<Mutex<Vec<(i32, String)>>>,
    ) -> State {
        let change_points = match &plan {
            Plan::Pct { depth, steps, seed } => {
                let mut draw = Draw(*seed);
                (1..*depth).map(|_| 1 + (draw.next() % u64::from((*steps).max(1))) as u32).collect()
            }
            Plan::Choices(_) => Vec::new(),
        };
        State {
            listener,
            plan,
            stop,
            roots,
            members: BTreeMap::new(),
            pending: Vec::new(),
            running: None,
            busy_since: None,
            last: None,
            change_points,
            lowered: 0,
            record: Record::default(),
            interrupt: None,
            groups: Vec::new(),
            idle_since: None,
        }
    }

    fn run(mut self) -> Record {
        while !self.stop.load(Ordering::Relaxed) {
            self.wait_for_news();
            self.take_roots();
            self.accept();
            self.read_points();
            if !self.settled() {
                continue;
            }
            self.decide();
        }
        // Whoever waits at a point now runs on freely: its connection closes.
        self.record.processes = self.members.len();
        self.record.names = self.members.iter().map(|(&pid, m)| (pid, m.name.clone())).collect();
        self.record
    }

    /// Sleeps until a process writes, connects or hangs up, or a short while has passed (a
    /// process that blocks says nothing: `/proc` tells).
    fn wait_for_news(&self) {
        let mut fds =
            vec![libc::pollfd { fd: self.listener.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        for (stream, _) in &self.pending {
            fds.push(libc::pollfd { fd: stream.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        for member in self.members.values() {
            if let Some(stream) = member.stream.as_ref().filter(|_| !member.waiting) {
                fds.push(libc::pollfd { fd: stream.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            }
        }
        // SAFETY: `fds` is a valid array of pollfd of the length given, alive for the call.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1) };
    }

    fn take_roots(&mut self) {
        let roots: Vec<(i32, String)> =
            std::mem::take(&mut *self.roots.lock().unwrap_or_else(|e| e.into_inner()));
        for (pid, name) in roots {
            self.groups.push(pid);
            self.add_member(pid, name);
        }
    }

    fn add_member(&mut self, pid: i32, name: String) {
        let priority = match &self.plan {
            Plan::Pct { seed, .. } => (1 << 40) + (Draw(*seed ^ hash(&name)).next() >> 24) as i64,
            Plan::Choices(_) => 0,
        };
        self.members.entry(pid).or_insert(Member {
            name,
            stream: None,
            waiting: false,
            gone: false,
            steps: 0,
            children: 0,
            priority,
            at_load: false,
            loaded_last: false,
        });
    }

    fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                self.pending.push((stream, Vec::new()));
            }
        }
        let mut still = Vec::new();
        for (mut stream, mut bytes) in std::mem::take(&mut self.pending) {
            let mut buffer = [0u8; 4];
            match stream.read(&mut buffer[..4 - bytes.len()]) {
                Ok(0) => continue,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                Err(_) => {}
            }
            if bytes.len() < 4 {
                still.push((stream, bytes));
                continue;
            }
            let pid = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            // A copy's main process may connect before the runner has named it: wait for its
            // name (its children are named after it).
            let waited = Instant::now();
            while !self.members.contains_key(&pid)
                && is_ours(pid)
                && waited.elapsed() < Duration::from_millis(500)
            {
                std::thread::sleep(Duration::from_micros(50));
                self.take_roots();
            }
            if !self.members.contains_key(&pid) {
                let name = self.name_for_stranger(pid);
                self.add_member(pid, name);
            }
            if let Some(member) = self.members.get_mut(&pid) {
                member.stream = Some(stream);
                member.gone = false;
            }
        }
        self.pending = still;
    }

    /// Names the children of `pid` not known yet, in the order the kernel gave their pids.
    fn name_children(&mut self, pid: i32) {
        let Some(children) = children_of(pid) else { return };
        for child in children {
            if !self.members.contains_key(&child) {
                let parent = self.members.get_mut(&pid).expect("a member");
                parent.children += 1;
                let name = format!("{}.{}", parent.name, parent.children);
                self.add_member(child, name);
            }
        }
    }

    /// A name for a process that connected before it was found as a child: its parent's
    /// child if the parent is known (named with its brothers, in pid order, not in the order
    /// they happened to connect), else a name of its own.
    fn name_for_stranger(&mut self, pid: i32) -> String {
        let parent = shm_workbook::procfs::process_stat(pid).and_then(|s| s.ppid());
        if let Some(parent) = parent.filter(|p| self.members.contains_key(p)) {
            self.name_children(parent);
            if let Some(member) = self.members.get(&pid) {
                return member.name.clone();
            }
            let parent = self.members.get_mut(&parent).expect("a member");
            parent.children += 1;
            return format!("{}.{}", parent.name, parent.children);
        }
        format!("x{}", self.members.len())
    }

    fn read_points(&mut self) {
        for member in self.members.values_mut() {
            let Some(stream) = member.stream.as_mut() else { continue };
            if member.waiting {
                continue;
            }
            let mut byte = [0u8; 1];
            // A closed connection is not yet an end: a process closes its descriptors before
            // it becomes a zombie and wakes its parent (and one that execs connects again).
            // `/proc` says when it has ended.
            match stream.read(&mut byte) {
                Ok(0) => member.stream = None,
                Ok(_) => {
                    member.waiting = true;
                    member.at_load = byte[0] == b'l';
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => member.stream = None,
            }
        }
    }

    /// Whether every process is at a point, blocked or gone (children found meanwhile are
    /// named, in the order the kernel gave their pids).
    fn settled(&mut self) -> bool {
        // Only a process that has run since the last look can have forked: the one let go
        // last, and any not waiting at a point (a process held at a point forks nothing).
        let ran = self.last.map(|(pid, _)| pid);
        let pids: Vec<i32> = self
            .members
            .iter()
            .filter(|(pid, m)| !m.gone && (!m.waiting || Some(**pid) == ran))
            .map(|(&pid, _)| pid)
            .collect();
        for pid in pids {
            self.name_children(pid);
        }
        let mut all = true;
        let mut blocked = false;
        for (&pid, member) in self.members.iter_mut() {
            if member.waiting || member.gone {
                continue;
            }
            match activity(pid) {
                Activity::Gone => {
                    // Its parent is woken as it ends: look at everyone again, a moment later.
                    member.gone = true;
                    all = false;
                }
                Activity::Blocked => blocked = true,
                Activity::Busy => all = false,
            }
        }
        if blocked {
            // A process connects and writes its byte before it waits for the answer: one seen
            // asleep may be asleep at a point, its connection and its byte there to take now.
            // (Deciding without it made a replay differ from its run on a busy machine.)
            self.accept();
            self.read_points();
        }
        if let Some((pid, since)) = self.running {
            let member = &self.members[&pid];
            let back = member.waiting || member.gone || activity(pid) != Activity::Busy;
            if !back && since.elapsed() < SETTLE_LIMIT {
                return false;
            }
            if !back {
                self.record.unsettled += 1;
            }
        }
        if !all {
            let since = *self.busy_since.get_or_insert_with(Instant::now);
            if since.elapsed() < SETTLE_LIMIT {
                return false;
            }
            self.record.unsettled += 1;
        }
        self.busy_since = None;
        self.running = None;
        true
    }

    fn decide(&mut self) {
        let enabled: Vec<i32> =
            self.members.iter().filter(|(_, m)| m.waiting).map(|(&pid, _)| pid).collect();
        let step = self.record.steps + 1;
        // Nobody at a point: a service asleep between its rounds of work. The Ctrl-C waits for
        // the next step, unless nothing has been at a point for a good while.
        if enabled.is_empty() {
            self.idle_since.get_or_insert_with(Instant::now);
        } else {
            self.idle_since = None;
        }
        let idle = self.idle_since.is_some_and(|since| since.elapsed() >= IDLE_BEFORE_CTRL_C);
        if let Some((at, sent)) = &self.interrupt
            && (step >= *at || idle)
            && sent.load(Ordering::Relaxed) == 0
            && !self.members.is_empty()
        {
            for &group in &self.groups {
                // SAFETY: kill takes a process group (negative) and a signal number.
                unsafe { libc::kill(-group, libc::SIGINT) };
            }
            sent.store(crate::kernel::monotonic_ns(), Ordering::Release);
            return; // the handlers run: look again before the next step
        }
        if enabled.is_empty() {
            return; // all blocked (a deadlock, or a wait on a timer), or all gone
        }
        let last = self.last.filter(|(pid, _)| self.members.contains_key(pid));
        let last_enabled = last.is_some_and(|(pid, _)| enabled.contains(&pid));
        let default = self.default_choice(&enabled, last);
        let chosen = match &self.plan {
            Plan::Pct { .. } => {
                if self.change_points.contains(&step)
                    && let Some((pid, _)) = last
                {
                    self.lowered += 1;
                    let member = self.members.get_mut(&pid).expect("known");
                    member.priority = 1_000_000 - self.lowered;
                }
                if let Some((pid, run)) = last
                    && run >= SLICE
                    && last_enabled
                    && enabled.len() > 1
                {
                    // A spin: it gives way, below every other.
                    let lowest = self.members.values().map(|m| m.priority).min().unwrap_or(0);
                    self.members.get_mut(&pid).expect("known").priority = lowest - 1;
                }
                *enabled
                    .iter()
                    .max_by_key(|pid| (self.members[pid].priority, std::cmp::Reverse(**pid)))
                    .expect("not empty")
            }
            Plan::Choices(choices) => {
                let (after, at) = match last {
                    Some((pid, _)) => (self.members[&pid].name.clone(), self.members[&pid].steps),
                    None => (String::new(), 0),
                };
                match choices.iter().find(|c| c.after == after && c.at == at) {
                    Some(choice) => {
                        match enabled.iter().find(|p| self.members[p].name == choice.run) {
                            Some(&pid) => pid,
                            None => {
                                self.record.diverged.get_or_insert_with(|| choice.clone());
                                default
                            }
                        }
                    }
                    None => default,
                }
            }
        };
        let (after, at) = match last {
            Some((pid, _)) => (self.members[&pid].name.clone(), self.members[&pid].steps),
            None => (String::new(), 0),
        };
        if chosen != default {
            let run = self.members[&chosen].name.clone();
            self.record.choices.push(Choice { after: after.clone(), at, run });
        }
        // The others that could have gone here: each is another schedule, one choice away.
        let others: Vec<String> = enabled
            .iter()
            .filter(|&&pid| pid != chosen)
            .map(|pid| self.members[pid].name.clone())
            .collect();
        if !others.is_empty() {
            let loaded = last.is_some_and(|(pid, _)| self.members[&pid].loaded_last);
            self.record.alternatives.push(Alternative { after, at, others, loaded });
        }
        if let Some((pid, _)) = last
            && pid != chosen
        {
            let preempted = last_enabled;
            self.record.preemptions += u32::from(preempted && chosen != default);
            let from = self.members[&pid].name.clone();
            let to = self.members[&chosen].name.clone();
            self.record.switches.push((crate::kernel::monotonic_ns(), from, to, preempted));
        }
        let member = self.members.get_mut(&chosen).expect("enabled");
        member.waiting = false;
        member.steps += 1;
        member.loaded_last = member.at_load;
        let sent = member.stream.as_mut().is_some_and(|s| s.write_all(b"g").is_ok());
        if !sent {
            member.stream = None;
            member.gone = false; // `/proc` will say when it has ended
        }
        self.record.steps = step;
        self.last = Some(match last {
            Some((pid, run)) if pid == chosen => (pid, run + 1),
            _ => (chosen, 1),
        });
        self.running = Some((chosen, Instant::now()));
    }

    /// The one that ran last, while it can and has not had [`SLICE`] steps in a row with
    /// others waiting; else the next in family order after it.
    fn default_choice(&self, enabled: &[i32], last: Option<(i32, u32)>) -> i32 {
        let mut order: Vec<i32> = enabled.to_vec();
        order.sort_by(|a, b| family_order(&self.members[a].name, &self.members[b].name));
        let Some((pid, run)) = last else { return order[0] };
        if enabled.contains(&pid) && (run < SLICE || enabled.len() == 1) {
            return pid;
        }
        let name = &self.members[&pid].name;
        order
            .iter()
            .copied()
            .find(|p| family_order(&self.members[p].name, name).is_gt())
            .unwrap_or(order[0])
    }
}

/// The jitter seed of run `run` (from 0) of a check with seed `seed`.
pub fn run_seed(seed: u64, run: usize) -> u64 {
    // splitmix64 of the pair: neighbouring runs get unrelated seeds.
    let mut z = seed ^ (run as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `0.2` before `0.10`: names compared number by number.
pub fn family_order(a: &str, b: &str) -> std::cmp::Ordering {
    let numbers = |name: &str| -> Vec<u64> {
        name.split('.').map(|part| part.trim_start_matches('x').parse().unwrap_or(0)).collect()
    };
    numbers(a).cmp(&numbers(b)).then_with(|| a.cmp(b))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activity {
    /// Running, runnable, or in a disk wait.
    Busy,
    /// Asleep: until another process or a signal wakes it, or on a timer. A process asleep on
    /// a timer is not waited for (a parent that polls for its children every millisecond would
    /// hold every step up): when it wakes it takes its place at its next point, so a program
    /// that sleeps takes the interleaving its timers give, and a replay may differ there.
    Blocked,
    /// Ended.
    Gone,
}

fn activity(pid: i32) -> Activity {
    let Some(stat) = shm_workbook::procfs::process_stat(pid) else { return Activity::Gone };
    match stat.state() {
        'Z' | 'X' | 'x' => Activity::Gone,
        'S' | 'T' | 't' | 'I' => Activity::Blocked,
        _ => Activity::Busy,
    }
}

/// Whether `pid` is a child of the checker itself (a copy's main process).
fn is_ours(pid: i32) -> bool {
    shm_workbook::procfs::process_stat(pid).and_then(|s| s.ppid())
        == Some(std::process::id() as i32)
}

/// The children of `pid` (of its main thread), if it still exists.
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    let mut children: Vec<i32> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    children.sort_unstable();
    Some(children)
}

/// splitmix64: the plan's draws.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// FNV-1a, 64 bits.
pub fn hash(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The chance that `runs` PCT runs of `processes` processes and `steps` steps all miss a bug of
/// depth `depth`, at most (each finds it with probability at least 1 / (n k^(d-1))).
pub fn miss_bound(runs: usize, processes: usize, steps: u32, depth: u32) -> f64 {
    let n = processes.max(1) as f64;
    let k = f64::from(steps.max(1));
    let p = 1.0 / (n * k.powi(depth.saturating_sub(1) as i32));
    (1.0 - p).powf(runs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_sort_by_number() {
        let mut names = vec!["0.10", "0.2", "1", "0", "0.2.1"];
        names.sort_by(|a, b| family_order(a, b));
        assert_eq!(names, ["0", "0.2", "0.2.1", "0.10", "1"]);
    }

    #[test]
    fn the_bound_grows_with_runs() {
        assert!(miss_bound(100, 2, 10, 2) < miss_bound(10, 2, 10, 2));
        assert!((miss_bound(1, 1, 1, 1) - 0.0).abs() < 1e-12);
    }
}
