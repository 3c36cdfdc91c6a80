//! Faults, as a lab of students causes them (issue 14): a child killed with SIGKILL at a random
//! point, the lesson itself killed with SIGKILL, eight copies at once, and another user's object
//! planted where a lesson will look. Each check reads the run's own `--trace` and looks only at
//! what that run created, so the tests run beside other work.
//!
//! The kill points are random but repeatable: the seed is printed with every failure, and
//! `SHM_WORKBOOK_FAULT_SEED=<seed>` repeats it. A hang is detected with a generous timeout;
//! no test asserts a wall-clock time otherwise.
//!
//! `cargo test --test faults -- --ignored campaign --nocapture` runs a longer campaign
//! (`SHM_WORKBOOK_CAMPAIGN=<rounds>`, default 10 rounds per lesson) and prints the figures that
//! issue 14 opens with: faults injected, hangs, orphans, objects left, bad inputs, panics.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use common::{Run, TraceFile, created_in, still_there};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// A run that has not ended after this long is hung (the slowest lesson takes about a second
/// with `--fast`; this leaves room for a loaded machine). `SHM_WORKBOOK_HANG_SECONDS` changes it.
fn hang_after() -> Duration {
    let seconds = std::env::var("SHM_WORKBOOK_HANG_SECONDS").ok().and_then(|s| s.parse().ok());
    Duration::from_secs(seconds.unwrap_or(60))
}

/// How long the processes of a killed run may take to die (PR_SET_PDEATHSIG acts at once;
/// this leaves room for a loaded machine).
const ORPHAN_WAIT: Duration = Duration::from_secs(10);

/// The flags each lesson runs with: no teaching pauses.
const FAST: &[&str] = &["--fast"];

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// The state letter of a process (`R`, `S`, `Z`, ...), `None` if there is no such process.
fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Whether a process runs (exists and is not a zombie).
fn alive(pid: i32) -> bool {
    state(pid).is_some_and(|state| state != 'Z' && state != 'X')
}

/// When a process started, in clock ticks since boot (field 22 of its stat): with the pid, it
/// tells a process from a later one that got the same pid (pids wrap at pid_max).
fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// Now, in seconds since the epoch.
fn epoch_seconds() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Now, in clock ticks since boot.
fn now_ticks() -> u64 {
    let uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    let seconds: f64 = uptime.split_whitespace().next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    // SAFETY: sysconf takes an integer.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (seconds * per_second) as u64
}

/// A process of a run: its pid, and its start time if it was seen running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Process {
    pid: i32,
    start: Option<u64>,
}

impl Process {
    /// Whether this process (not a later one with its pid) still runs. A process seen only in
    /// the trace counts if the running one started before `ended` (the run's end).
    fn runs(self, ended: u64) -> bool {
        alive(self.pid)
            && match (self.start, start_ticks(self.pid)) {
                (Some(seen), Some(now)) => seen == now,
                (None, Some(now)) => now <= ended,
                (_, None) => false,
            }
    }
}

/// What `ps` would say about a process: state, where it sleeps in the kernel, and its name.
fn describe(pid: i32) -> String {
    let read =
        |what: &str| std::fs::read_to_string(format!("/proc/{pid}/{what}")).unwrap_or_default();
    format!("{pid} {} wchan={} {}", state(pid).unwrap_or('?'), read("wchan"), read("comm").trim())
}

/// Every descendant of `pid`, from `/proc/<pid>/task/*/children`, parents before children.
fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut next = vec![pid];
    while let Some(parent) = next.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else { continue };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()) {
                if !found.contains(&child) {
                    found.push(child);
                    next.push(child);
                }
            }
        }
    }
    found
}

/// Makes this test process the reaper of orphans among its descendants, so that the children
/// of a killed lesson come to us, and we can reap them, rather than to a pid 1 that may never
/// reap anything (zombies would pile up).
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer; no memory is passed.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
    });
}

/// Reaps `pid` if it is a zombie child of ours (an orphan handed to us).
fn reap_if_ours(pid: i32) {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    if state(pid) == Some('Z') {
        let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
    }
}

/// Waits up to [`ORPHAN_WAIT`] for every process of a run to die, reaping the orphans that
/// came to us; returns those still running then, described (and kills them).
fn still_running_after_wait(processes: &[Process], ended: u64) -> Vec<String> {
    let deadline = Instant::now() + ORPHAN_WAIT;
    loop {
        processes.iter().for_each(|p| reap_if_ours(p.pid));
        let running: Vec<i32> = processes.iter().filter(|p| p.runs(ended)).map(|p| p.pid).collect();
        if running.is_empty() || Instant::now() >= deadline {
            let described = running.iter().map(|&pid| describe(pid)).collect();
            // Reported; now stopped, so that a failing test leaves no process behind either.
            for pid in running {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(50));
            processes.iter().for_each(|p| reap_if_ours(p.pid));
            return described;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// A run with a fault
// ---------------------------------------------------------------------------------------------

/// What to do to a run.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Nothing.
    None,
    /// Once the `nth` descendant has appeared, wait `delay`, then SIGKILL the first
    /// descendant from the `nth` on that still runs.
    KillChild { nth: usize, delay: Duration },
    /// Once the `nth` descendant has appeared, wait `delay`, then SIGKILL the lesson itself.
    KillParent { nth: usize, delay: Duration },
}

/// How a run with a fault went.
struct Outcome {
    run: Run,
    /// It had not ended after [`hang_after`] (it and its descendants were then killed); what
    /// each of its processes was doing then.
    hung: Option<Vec<String>>,
    /// The process that was killed, if the fault was delivered.
    killed: Option<i32>,
    /// The lesson, every descendant seen while it ran, and every pid in its trace.
    processes: Vec<Process>,
    /// When it ended, in clock ticks since boot.
    ended: u64,
    /// When it started and ended, in seconds since the epoch (as `ipcs` times are).
    wall: (i64, i64),
    /// A line that repeats the run.
    how: String,
    /// Where the run wrote down what it created (its `XDG_RUNTIME_DIR`).
    runtime: Arc<RuntimeDir>,
}

impl Outcome {
    fn status(&self) -> ExitStatus {
        self.run.status
    }

    /// Exit status 101, or Rust's or the workbook's panic message.
    fn panicked(&self) -> bool {
        self.run.code() == Some(101)
            || self.run.stderr.contains("panicked")
            || self.run.stderr.contains("internal error")
    }

    /// What the run created and still exists.
    fn left(&self) -> Vec<String> {
        let mut left = still_there(&created_in(&self.run.calls));
        left.extend(self.untraced_segments());
        left
    }

    /// Segments made during the run by one of its processes that is gone now, but not in its
    /// trace: a process killed between `shmget` and recording the call (or writing it down).
    fn untraced_segments(&self) -> Vec<String> {
        let traced = created_in(&self.run.calls).shmids;
        let (from, to) = (self.wall.0.saturating_sub(1), self.wall.1 + 1);
        shm_rows()
            .into_iter()
            .filter(|row| !traced.contains(&row.id) && (from..=to).contains(&row.ctime))
            .filter(|row| {
                self.processes.iter().any(|p| p.pid == row.cpid && !p.runs(u64::MAX))
                    && !alive(row.cpid)
            })
            .map(|row| format!("shm {} (not in the trace; made by pid {})", row.id, row.cpid))
            .collect()
    }

    /// The processes of the run still running (after waiting for them to die).
    fn running(&self) -> Vec<String> {
        still_running_after_wait(&self.processes, self.ended)
    }

    /// Everything there is to know when a check fails.
    fn report(&self) -> String {
        let hung = match &self.hung {
            Some(states) => format!("\n--- hung; its processes were:\n{}", states.join("\n")),
            None => String::new(),
        };
        format!(
            "{} ({:?}, killed {:?}){hung}\n--- stdout\n{}\n--- stderr\n{}",
            self.how,
            self.status(),
            self.killed,
            self.run.stdout,
            self.run.stderr
        )
    }
}

/// What a pipe brought so far, read by a thread of its own.
struct Output(Arc<(Mutex<Pipe>, std::sync::Condvar)>);

/// The bytes read so far, and whether the pipe is closed.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
    closed: bool,
}

impl Output {
    fn read(mut pipe: Box<dyn Read + Send>) -> Output {
        let shared = Arc::new((Mutex::new(Pipe::default()), std::sync::Condvar::new()));
        let writer = shared.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                let read = pipe.read(&mut chunk).unwrap_or(0);
                let mut state = writer.0.lock().unwrap();
                if read == 0 {
                    state.closed = true;
                    writer.1.notify_all();
                    return;
                }
                state.bytes.extend_from_slice(&chunk[..read]);
            }
        });
        Output(shared)
    }

    /// The text, once the pipe is closed, or what came within [`ORPHAN_WAIT`]: a process
    /// that outlived the run (an orphan, which the checks then report) may hold it open.
    fn text(&self) -> String {
        let (lock, closed) = &*self.0;
        let state = lock.lock().unwrap();
        let (state, _) = closed.wait_timeout_while(state, ORPHAN_WAIT, |s| !s.closed).unwrap();
        String::from_utf8_lossy(&state.bytes).into_owned()
    }
}

/// After a hung run was killed: another run in the same registry removes what it left (the
/// test reports the hang; it should not leave objects behind too).
fn sweep_after_hang(bin: &str, runtime: &RuntimeDir) {
    let mut sweeper = common::lesson(bin);
    sweeper.arg("--fast").env("XDG_RUNTIME_DIR", &runtime.0);
    if let Ok(mut sweeper) = sweeper.stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
        let deadline = Instant::now() + hang_after();
        while sweeper.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = sweeper.kill();
        let _ = sweeper.wait();
    }
}

/// Runs `bin` with `args` (and `--trace`), delivering `fault`, and waits for the end (at most
/// [`hang_after`]). While a kill is due the descendants are looked for without a pause, so that
/// even a child that lives a fraction of a millisecond can be caught.
fn run_with(bin: &str, args: &[&str], fault: Fault) -> Outcome {
    run_in(bin, args, fault, Arc::new(RuntimeDir::new(bin)))
}

/// [`run_with`], with the registry in `runtime` (where an earlier run may have left something).
fn run_in(bin: &str, args: &[&str], fault: Fault, runtime: Arc<RuntimeDir>) -> Outcome {
    become_subreaper();
    let trace = TraceFile::new();
    let mut command = common::lesson(bin);
    command
        .args(args)
        .args(["--trace", trace.path()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.env("XDG_RUNTIME_DIR", &runtime.0);
    // Its own process group, as a shell job or the checker's run has: jitter lets the others
    // of the group run first, and those must be this run's processes, not the other tests'.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    // With a fault, jitter too (repeatable from the seed): random short sleeps at every call
    // keep short-lived children alive long enough to be caught at a random point.
    let jitter = match fault {
        Fault::None => None,
        Fault::KillChild { nth, delay } | Fault::KillParent { nth, delay } => {
            Some(base_seed() ^ (nth as u64) << 20 ^ delay.as_micros() as u64)
        }
    };
    if let Some(seed) = jitter {
        command.env(shm_workbook::jitter::VARIABLE, seed.to_string());
    }
    let jitter_text = jitter.map(|seed| format!("{}={seed} ", shm_workbook::jitter::VARIABLE));
    let how = format!("{}{bin} {} with {fault:?}", jitter_text.unwrap_or_default(), args.join(" "));
    let mut child = command.spawn().expect("the lesson starts");
    let pid = child.id() as i32;
    let stdout = Output::read(Box::new(child.stdout.take().unwrap()));
    let stderr = Output::read(Box::new(child.stderr.take().unwrap()));

    let started = Instant::now();
    let wall_started = epoch_seconds();
    let hang = hang_after();
    let lesson = Process { pid, start: start_ticks(pid) };
    let mut seen: Vec<Process> = Vec::new();
    let mut killed = None;
    let mut armed: Option<Instant> = None;
    let mut hung = None;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the lesson") {
            break status;
        }
        if started.elapsed() > hang {
            let all: Vec<i32> = [pid].into_iter().chain(descendants(pid)).collect();
            hung = Some(all.iter().map(|&p| describe(p)).collect());
            for victim in all {
                let _ = kill(Pid::from_raw(victim), Signal::SIGKILL);
            }
            let status = child.wait().expect("waiting for the killed lesson");
            sweep_after_hang(bin, &runtime);
            break status;
        }
        let now = descendants(pid);
        for &found in &now {
            if !seen.iter().any(|p| p.pid == found) {
                seen.push(Process { pid: found, start: start_ticks(found) });
            }
        }
        let (nth, delay) = match fault {
            Fault::KillChild { nth, delay } | Fault::KillParent { nth, delay } => (nth, delay),
            Fault::None => (usize::MAX, Duration::ZERO),
        };
        if armed.is_none() && seen.len() >= nth {
            armed = Some(Instant::now() + delay);
        }
        let due = killed.is_none() && armed.is_some_and(|at| Instant::now() >= at);
        match fault {
            Fault::KillChild { .. } if due => {
                // The first from the nth on that is a descendant right now, and not a zombie
                // (so not a recycled pid either); if they have all ended, the next to appear.
                let victim = seen[nth.saturating_sub(1)..]
                    .iter()
                    .map(|p| p.pid)
                    .find(|p| now.contains(p) && state(*p).is_some_and(|s| s != 'Z'));
                if let Some(victim) = victim {
                    let _ = kill(Pid::from_raw(victim), Signal::SIGKILL);
                    killed = Some(victim);
                }
            }
            Fault::KillParent { .. } if due => {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                killed = Some(pid);
                // Its children, forked up to the kill: they must die with it.
                for found in descendants(pid) {
                    if !seen.iter().any(|p| p.pid == found) {
                        seen.push(Process { pid: found, start: start_ticks(found) });
                    }
                }
            }
            _ => {}
        }
        let kill_due = !matches!(fault, Fault::None) && killed.is_none();
        if !kill_due {
            std::thread::sleep(Duration::from_micros(500));
        }
    };
    let ended = now_ticks() + 2;
    let wall = (wall_started, epoch_seconds());
    let calls = trace.calls();
    let mut processes = vec![lesson];
    processes.extend(seen);
    for traced in created_in(&calls).pids {
        if !processes.iter().any(|p| p.pid == traced) {
            processes.push(Process { pid: traced, start: None });
        }
    }
    Outcome {
        run: Run::new(stdout.text(), stderr.text(), status, calls),
        hung,
        killed,
        processes,
        ended,
        wall,
        how,
        runtime,
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds and kill points
// ---------------------------------------------------------------------------------------------

/// The seed of this test run: `SHM_WORKBOOK_FAULT_SEED`, or a new one (printed on failure).
fn base_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        std::env::var("SHM_WORKBOOK_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(
            || {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
                now.map(|d| d.as_nanos() as u64).unwrap_or(1) ^ u64::from(std::process::id())
            },
        )
    })
}

/// A generator for one test of one lesson, from the run's seed.
fn rng_for(bin: &str, test: &str) -> (SmallRng, String) {
    let mut seed = base_seed();
    for byte in bin.bytes().chain(test.bytes()) {
        seed = seed.rotate_left(5) ^ u64::from(byte);
    }
    let repeat = format!("SHM_WORKBOOK_FAULT_SEED={}", base_seed());
    (SmallRng::seed_from_u64(seed), repeat)
}

/// What a plain run of `bin` shows, measured once per lesson: how many processes it forks
/// (from its trace) and how long it takes: the ranges the kill points are drawn from.
#[derive(Clone, Copy, Debug)]
struct Shape {
    forks: usize,
    took: Duration,
}

fn shape(bin: &str) -> Shape {
    static SHAPES: OnceLock<Mutex<BTreeMap<String, Shape>>> = OnceLock::new();
    let table = SHAPES.get_or_init(Default::default);
    if let Some(&known) = table.lock().unwrap().get(bin) {
        return known;
    }
    let started = Instant::now();
    let plain = run_with(bin, FAST, Fault::None);
    assert!(
        plain.hung.is_none() && plain.run.code() == Some(0),
        "a plain run fails: {}",
        plain.report()
    );
    // (As an ordinary user, lesson10 forks nothing: its child only becomes nobody as root.)
    let shape = Shape { forks: plain.run.calls_named("fork").count(), took: started.elapsed() };
    table.lock().unwrap().insert(bin.to_owned(), shape);
    shape
}

/// A kill point: the `nth` descendant (1..=forks), and a delay of up to 2 ms after it appears;
/// for a lesson that forks nothing, a moment of its run (`nth` 0: from its start).
fn kill_point(rng: &mut SmallRng, shape: Shape) -> (usize, Duration) {
    if shape.forks == 0 {
        let micros = shape.took.as_micros().max(1) as u64;
        return (0, Duration::from_micros(rng.random_range(0..micros)));
    }
    let nth = rng.random_range(1..=shape.forks);
    let delay = if rng.random_bool(0.4) { 0 } else { rng.random_range(0..2000) };
    (nth, Duration::from_micros(delay))
}

/// Foreign objects planted for one test must not surprise the others: the test that plants
/// takes this for writing, every other test for reading.
static PLANTING: RwLock<()> = RwLock::new(());

fn others_may_run() -> std::sync::RwLockReadGuard<'static, ()> {
    PLANTING.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// Nothing of a run is left: no object it created (read from its trace), no process of it
/// running (a later process with a recycled pid is told apart by its start time).
fn assert_clean(outcome: &Outcome, why: &str) {
    assert!(!outcome.run.calls.is_empty(), "the run recorded no call: {why}");
    let left = outcome.left();
    assert!(left.is_empty(), "LEFT: {left:?}: {why}");
    let running = outcome.running();
    assert!(
        running.is_empty(),
        "ORPHAN: still running {ORPHAN_WAIT:?} after the end: {running:?}: {why}"
    );
    // What the library wrote down and nobody removed: also what the trace could not say (a
    // process killed between creating an object and recording the call).
    let runs = outcome.runtime.runs();
    assert!(runs.is_empty(), "LEFT, written down in {runs:?}: {why}");
}

/// A child killed at a random point: the lesson ends (an error that says what happened, or a
/// clean finish), panics not, and leaves nothing: no object, no process.
fn a_killed_child_ends_the_lesson_and_leaves_nothing(bin: &str) {
    let _others = others_may_run();
    let shape = shape(bin);
    let (mut rng, repeat) = rng_for(bin, "child");
    if shape.forks == 0 {
        eprintln!("{bin}: skipped: it forks no child when run as this user");
        return;
    }
    // A child may be gone before its turn comes; then try another point (the last tries kill
    // the first child on sight).
    for attempt in 0..8 {
        let (nth, delay) =
            if attempt >= 5 { (1, Duration::ZERO) } else { kill_point(&mut rng, shape) };
        let outcome = run_with(bin, FAST, Fault::KillChild { nth, delay });
        let why = format!("{repeat}: {}", outcome.report());
        assert!(
            outcome.hung.is_none(),
            "HANG: the lesson did not end after its child was killed: {why}"
        );
        assert!(!outcome.panicked(), "PANIC: {why}");
        if outcome.killed.is_none() {
            assert_clean(&outcome, &why);
            continue;
        }
        match outcome.run.code() {
            Some(0) => {}
            Some(1) => assert!(
                outcome.run.stderr.contains("what it means"),
                "the error says what happened: {why}"
            ),
            _ => panic!("neither an error nor a clean finish: {why}"),
        }
        assert_clean(&outcome, &why);
        return;
    }
    // Its children live too short a time to be caught: nothing was shown either way.
    eprintln!("{bin}: skipped: no child could be caught alive in 8 tries ({repeat})");
}

/// A private registry directory (what `XDG_RUNTIME_DIR` points to), so that the sweep under
/// test is the next run's, not that of a lesson another test starts meanwhile.
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn new(bin: &str) -> RuntimeDir {
        use std::os::unix::fs::DirBuilderExt;
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join(format!("shm-workbook-faults-{}-{bin}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        RuntimeDir(dir)
    }

    /// What its run files list that still exists: objects written down and never removed,
    /// the registry's own record of a leak (it also sees what a process killed between
    /// creating an object and recording the call could not put in the trace).
    fn runs(&self) -> Vec<String> {
        let registry = self.0.join("shm-workbook");
        let Ok(entries) = std::fs::read_dir(registry) else { return Vec::new() };
        let table = |name: &str| std::fs::read_to_string(format!("/proc/sysvipc/{name}")).unwrap();
        let (shm, sem, msg) = (table("shm"), table("sem"), table("msg"));
        let listed = |table: &str, id: &str| {
            table.lines().skip(1).any(|line| line.split_whitespace().nth(1) == Some(id))
        };
        let mut left = Vec::new();
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                let mut fields = line.splitn(3, ' ');
                let (kind, id, name) = (
                    fields.next().unwrap_or(""),
                    fields.next().unwrap_or(""),
                    fields.next().unwrap_or(""),
                );
                let exists = match kind {
                    "shm" => listed(&shm, id),
                    "sem" => listed(&sem, id),
                    "msg" => listed(&msg, id),
                    "posix-shm" => PathBuf::from(format!("/dev/shm{name}")).exists(),
                    "posix-mq" => shm_workbook::posix::mq::posix_queue_exists(name),
                    "file" | "dir" => PathBuf::from(name).exists(),
                    _ => false,
                };
                if exists {
                    left.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
                }
            }
        }
        left
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lesson killed with SIGKILL at a random point: none of its processes runs on, and the
/// next run removes what it left, saying so in one line.
fn a_killed_lesson_leaves_no_process_and_the_next_run_cleans_up(bin: &str) {
    let _others = others_may_run();
    let shape = shape(bin);
    let (mut rng, repeat) = rng_for(bin, "parent");
    let mut swept_once = false;
    // Until one kill falls while the lesson holds something (to see the sweep at work).
    for attempt in 0..3 {
        let (nth, delay) = if attempt == 2 && shape.forks > 0 {
            (1, Duration::ZERO)
        } else {
            kill_point(&mut rng, shape)
        };
        let runtime = Arc::new(RuntimeDir::new(bin));
        let killed = run_in(bin, FAST, Fault::KillParent { nth, delay }, runtime.clone());
        let why = format!("{repeat}: {}", killed.report());
        assert!(killed.hung.is_none(), "HANG: {why}");
        if killed.killed.is_none() || killed.status().code().is_some() {
            killed.run.assert_success();
            continue; // it ended before the kill point
        }
        let running = killed.running();
        assert!(
            running.is_empty(),
            "ORPHAN: processes of the killed run still run {ORPHAN_WAIT:?} later: {running:?}: {why}"
        );
        let left = killed.left();
        let next = run_in(bin, FAST, Fault::None, runtime.clone());
        let next_why = format!("{repeat}: the run after the kill: {}", next.report());
        assert!(next.hung.is_none() && !next.panicked(), "{next_why}");
        next.run.assert_success();
        if !left.is_empty() {
            let line = next
                .run
                .stdout
                .lines()
                .find(|l| l.contains("cleaned up after an earlier run that was killed (pid"))
                .unwrap_or_else(|| panic!("the sweep's line, for {left:?}: {next_why}"));
            let pids_named = killed.processes.iter().any(|p| line.contains(&p.pid.to_string()));
            assert!(pids_named, "the line names the killed run: {line}\n{why}");
            swept_once = true;
        }
        let still = killed.left();
        assert!(still.is_empty(), "LEFT after the next run: {still:?}: {why}\n{next_why}");
        assert_clean(&next, &next_why);
        if swept_once {
            return;
        }
    }
    eprintln!(
        "{bin}: the killed runs held nothing at the kill points drawn ({repeat}); the sweep was not needed"
    );
}

/// Eight copies at once, as a lab does on a shared server: each succeeds and leaves nothing.
fn eight_copies_at_once_succeed_and_leave_nothing(bin: &str) {
    let _others = others_may_run();
    let (_, repeat) = rng_for(bin, "eight");
    let runs: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                scope.spawn(move || {
                    let seed = (base_seed() ^ n).to_string();
                    run_with(bin, &["--fast", "--seed", &seed], Fault::None)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for outcome in &runs {
        let why = format!("{repeat}: {}", outcome.report());
        assert!(outcome.hung.is_none() && !outcome.panicked(), "{why}");
        assert_eq!(outcome.run.code(), Some(0), "one of eight copies failed: {why}");
        assert_clean(outcome, &why);
    }
}

/// One module of tests per lesson; `lessonNN = "why"` marks its killed-child test ignored,
/// for a lesson with a known hang (run them with `--ignored`).
macro_rules! fault_tests {
    ($($bin:ident $(= $why:literal)?),* $(,)?) => {$(
        mod $bin {
            #[test]
            $(#[ignore = $why])?
            fn a_child_killed_at_a_random_point_ends_the_lesson_and_leaves_nothing() {
                super::a_killed_child_ends_the_lesson_and_leaves_nothing(stringify!($bin));
            }

            #[test]
            fn killed_itself_it_leaves_no_process_and_the_next_run_cleans_up() {
                super::a_killed_lesson_leaves_no_process_and_the_next_run_cleans_up(stringify!(
                    $bin
                ));
            }

            #[test]
            fn eight_copies_at_once_succeed_and_leave_nothing() {
                super::eight_copies_at_once_succeed_and_leave_nothing(stringify!($bin));
            }
        }
    )*};
}

fault_tests!(
    lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08, lesson09,
    lesson10, lesson11, lesson12, lesson13, lesson14, lesson15, lesson16,
);

// ---------------------------------------------------------------------------------------------
// Another user's objects
// ---------------------------------------------------------------------------------------------

const NOBODY: u32 = 65534;

/// Segments this test planted (owned by nobody), removed when dropped.
struct Planted(Vec<i32>);

impl Planted {
    /// A segment owned by nobody with `key`, unless the key is taken already.
    fn segment(&mut self, key: i32) {
        // SAFETY: shmget takes plain integers.
        let id = unsafe { libc::shmget(key, 64, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
        if id == -1 {
            return;
        }
        self.0.push(id);
        let mut ds = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
        // SAFETY: IPC_STAT fills the structure; IPC_SET reads it back with another owner.
        unsafe {
            assert_eq!(libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()), 0);
            let mut ds = ds.assume_init();
            ds.shm_perm.uid = NOBODY;
            assert_eq!(libc::shmctl(id, libc::IPC_SET, &mut ds), 0);
        }
    }

    /// The planted segments' keys.
    fn keys(&self) -> Vec<String> {
        self.rows().into_iter().map(|row| row.key).collect()
    }

    /// Their rows in /proc/sysvipc/shm.
    fn rows(&self) -> Vec<ShmRow> {
        shm_rows().into_iter().filter(|row| self.0.contains(&row.id)).collect()
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        for &id in &self.0 {
            // SAFETY: IPC_RMID takes no buffer.
            unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        }
    }
}

/// A row of /proc/sysvipc/shm.
#[derive(Debug)]
struct ShmRow {
    key: String,
    id: i32,
    uid: u32,
    nattch: u64,
    lpid: i32,
    cpid: i32,
    ctime: i64,
}

fn shm_rows() -> Vec<ShmRow> {
    let text = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (key, id, uid, nattch, lpid) =
        (at("key"), at("shmid"), at("uid"), at("nattch"), at("lpid"));
    let (cpid, ctime) = (at("cpid"), at("ctime"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            ShmRow {
                key: format!("0x{:08x}", f[key].parse::<i32>().unwrap() as u32),
                id: f[id].parse().unwrap(),
                uid: f[uid].parse().unwrap(),
                nattch: f[nattch].parse().unwrap(),
                lpid: f[lpid].parse().unwrap(),
                cpid: f[cpid].parse().unwrap(),
                ctime: f[ctime].parse().unwrap(),
            }
        })
        .collect()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The keys a run's ftok calls returned.
fn ftok_keys(run: &Run) -> Vec<String> {
    run.calls_named("ftok").filter_map(|call| call.result.clone()).collect()
}

/// For a key `0xPPDDIIII`, the keys of the next inode numbers too: ext4 gives a file the
/// inode number its predecessor freed, or one close to it.
fn keys_near(key: &str) -> Vec<i32> {
    let key = u32::from_str_radix(key.trim_start_matches("0x"), 16).unwrap();
    (0..8u32).map(|d| ((key & 0xffff_0000) | (key.wrapping_add(d) & 0xffff)) as i32).collect()
}

/// Another user's segment holds the key a lesson will make with ftok (planted by root with
/// the keys of the previous run's key files, which ext4 usually hands out again): the lesson
/// says whose it is, takes another key, touches nothing of theirs, and succeeds.
fn a_key_held_by_another_user_is_passed_over(bin: &str) {
    if !is_root() {
        eprintln!("{bin}: skipped: only root can plant a segment owned by another user");
        return;
    }
    let _alone = PLANTING.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut previous = run_with(bin, FAST, Fault::None);
    previous.run.assert_success();
    for _ in 0..6 {
        let mut planted = Planted(Vec::new());
        for key in ftok_keys(&previous.run) {
            keys_near(&key).into_iter().for_each(|near| planted.segment(near));
        }
        let planted_keys = planted.keys();
        let outcome = run_with(bin, FAST, Fault::None);
        let why = outcome.report();
        let met = ftok_keys(&outcome.run).iter().any(|key| planted_keys.contains(key));
        if !met {
            previous = outcome; // a new inode: plant near its keys instead
            continue;
        }
        assert!(outcome.hung.is_none() && !outcome.panicked(), "{why}");
        assert_eq!(outcome.run.code(), Some(0), "the lesson takes another key: {why}");
        assert!(
            outcome.run.stdout.contains("a segment of user nobody (uid 65534)")
                && outcome.run.stdout.contains("the workbook leaves it alone"),
            "a sentence names the owner: {why}"
        );
        for row in planted.rows() {
            assert_eq!((row.uid, row.nattch, row.lpid), (NOBODY, 0, 0), "untouched: {row:?}");
        }
        assert_eq!(planted.rows().len(), planted.0.len(), "every planted segment is still there");
        assert_clean(&outcome, &why);
        return;
    }
    eprintln!("{bin}: skipped: the key files never met a planted key in 6 runs (new inodes)");
}

#[test]
fn lesson02_passes_over_a_key_another_user_holds() {
    a_key_held_by_another_user_is_passed_over("lesson02");
}

#[test]
fn lesson03_passes_over_a_key_another_user_holds() {
    a_key_held_by_another_user_is_passed_over("lesson03");
}

#[test]
fn lesson06_passes_over_a_key_another_user_holds() {
    a_key_held_by_another_user_is_passed_over("lesson06");
}

#[test]
fn lesson09_passes_over_a_key_another_user_holds() {
    a_key_held_by_another_user_is_passed_over("lesson09");
}

#[test]
fn lesson10_passes_over_a_key_another_user_holds() {
    a_key_held_by_another_user_is_passed_over("lesson10");
}

#[test]
fn lesson11_passes_over_a_key_another_user_holds() {
    a_key_held_by_another_user_is_passed_over("lesson11");
}

/// Another user creates lesson08's default name first, open to all (to read what the student
/// writes, or to plant text): `write` does not write into it and `read` does not show it;
/// either the lesson refuses, naming the owner, or it uses another name of the user's own.
#[test]
fn lesson08_never_uses_a_planted_object() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !is_root() {
        eprintln!("lesson08: skipped: only root can plant an object owned by another user");
        return;
    }
    let _alone = PLANTING.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let user = shm_workbook::lesson::user_name();
    let path = PathBuf::from(format!("/dev/shm/shm-workbook-{user}-lesson08"));
    if path.exists() {
        eprintln!("lesson08: skipped: {} exists already (yours?)", path.display());
        return;
    }
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let planted_text = b"planted by another user\0";
    std::fs::write(&path, planted_text).unwrap();
    let _remove = Remove(path.clone());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();

    let write = run_with("lesson08", &["write", "my exam answers"], Fault::None);
    let why = write.report();
    assert!(!write.panicked(), "{why}");
    assert_eq!(std::fs::read(&path).unwrap(), planted_text, "their object is untouched: {why}");
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), NOBODY);
    let said = format!("{}{}", write.run.stdout, write.run.stderr);
    assert!(said.contains("user nobody (uid 65534)"), "the owner is named: {why}");
    let read = run_with("lesson08", &["read"], Fault::None);
    assert!(!read.run.stdout.contains("planted by another user"), "{}", read.report());
    if write.run.code() == Some(0) {
        // It used another name of the user's own: remove that one.
        let unlink = run_with("lesson08", &["unlink"], Fault::None);
        assert_eq!(unlink.run.code(), Some(0), "{}", unlink.report());
    } else {
        assert!(write.run.stderr.contains("what it means"), "a clear refusal: {why}");
    }
    assert!(path.exists(), "their object is not removed either");
}

// ---------------------------------------------------------------------------------------------
// The campaign
// ---------------------------------------------------------------------------------------------

const LESSONS: [&str; 16] = [
    "lesson01", "lesson02", "lesson03", "lesson04", "lesson05", "lesson06", "lesson07", "lesson08",
    "lesson09", "lesson10", "lesson11", "lesson12", "lesson13", "lesson14", "lesson15", "lesson16",
];

/// The figures the issue counts, for one lesson.
#[derive(Default, Debug)]
struct Figures {
    runs: u32,
    faults: u32,
    errors: u32,
    clean: u32,
    hangs: u32,
    orphans: u32,
    left: u32,
    panics: u32,
    concurrent: u32,
    concurrent_failed: u32,
    bad_inputs: u32,
    bad_input_wrong: u32,
    examples: Vec<String>,
}

impl Figures {
    fn note(&mut self, what: &str, outcome: &Outcome) {
        if self.examples.len() < 3 {
            let mut report = outcome.report();
            report.truncate(1500);
            self.examples.push(format!("{what}: {report}"));
        }
    }
}

/// Bad command lines: each must be refused with exit 2 and a short message, never a panic.
fn bad_inputs(bin: &str) -> Vec<Vec<std::ffi::OsString>> {
    use std::os::unix::ffi::OsStringExt;
    let text = |words: &[&str]| words.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
    let mut lines = vec![
        vec![std::ffi::OsString::from_vec(vec![0xff, 0xfe, b'x'])],
        text(&["--fast", "--seed"]),
        text(&["--seed", "many"]),
        text(&["--seed=-1"]),
        text(&["--seed", "99999999999999999999999"]),
        text(&["--fast=no"]),
        text(&["--no-color=0"]),
        text(&["--help=please"]),
        text(&["--step=1"]),
        text(&["--fats"]),
        text(&["-x"]),
        text(&["--trace"]),
        text(&["--trace", "--fast"]),
        text(&["--trace", "/nonexistent/dir/trace.jsonl"]),
        vec!["x".repeat(100_000).into()],
        text(&["--", "--fast"]),
        text(&["unexpected", "words"]),
        text(&["--seed", ""]),
        text(&["\u{1b}[31mred"]),
    ];
    let own: &[&[&str]] = match bin {
        "lesson05" | "lesson12" => &[&["--workers", "0"], &["--workers", "-1"], &["--inside"]],
        "lesson16" => &[&["--workers", "1"], &["--pairs", "0"], &["--name", "/x"]],
        "lesson08" => &[
            &["write"],
            &["--name"],
            &["--name", "no-slash", "read"],
            &["--name", "/a/b", "write", "x"],
            &["--name", "/", "unlink"],
            &["--", "write", "hello", "world"],
            &["read", "extra"],
            &["explode"],
        ],
        _ => &[&["--workers", "3"], &["--name", "/x"]],
    };
    lines.extend(own.iter().map(|words| text(words)));
    lines
}

/// Runs a bad command line; `None` if it was handled as the issue asks.
fn check_bad_input(bin: &str, words: &[std::ffi::OsString]) -> Option<String> {
    let output = common::lesson(bin).args(words).output().expect("the lesson starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    let shown: Vec<String> =
        words.iter().map(|w| shm_workbook::lesson::shown(&w.to_string_lossy())).collect();
    let said = format!(
        "{bin} {} -> {code:?}: {}",
        shown.join(" "),
        stderr.chars().take(300).collect::<String>()
    );
    if code == Some(101) || stderr.contains("panicked") || stderr.contains("internal error") {
        return Some(format!("PANIC {said}"));
    }
    if stderr.len() + output.stdout.len() > 20_000 {
        return Some(format!("ECHOED {} bytes: {said}", stderr.len() + output.stdout.len()));
    }
    // Refused as a usage error (2); a trace file that cannot be written is 1. lesson08's
    // `read` of a missing object or `unlink` is an ordinary error (1) with a message.
    match code {
        Some(2) if stderr.contains("Usage:") => None,
        Some(1) if stderr.contains("trace") || stderr.contains("what it means") => None,
        _ => Some(format!("WRONG {said}")),
    }
}

/// The campaign: `SHM_WORKBOOK_CAMPAIGN` rounds per lesson (default 10), each a child killed
/// and (every other round) the lesson killed, two batches of eight copies at once, and every
/// bad command line. Prints the figures; fails if any of them is not zero.
#[test]
#[ignore = "a long measurement: cargo test --test faults -- --ignored campaign --nocapture"]
fn campaign() {
    let rounds: u32 =
        std::env::var("SHM_WORKBOOK_CAMPAIGN").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let only: Option<String> = std::env::var("SHM_WORKBOOK_CAMPAIGN_LESSONS").ok();
    println!(
        "campaign as uid {}, {rounds} rounds per lesson, SHM_WORKBOOK_FAULT_SEED={}",
        nix::unistd::geteuid(),
        base_seed()
    );
    let mut all: BTreeMap<&str, Figures> = BTreeMap::new();
    for bin in LESSONS {
        if only.as_ref().is_some_and(|only| !only.split(',').any(|b| b == bin)) {
            continue;
        }
        let figures = all.entry(bin).or_default();
        let shape = shape(bin);
        let (mut rng, _) = rng_for(bin, "campaign");
        for round in 0..rounds {
            if shape.forks > 0 {
                let (nth, delay) = kill_point(&mut rng, shape);
                let outcome = run_with(bin, FAST, Fault::KillChild { nth, delay });
                figures.runs += 1;
                tally_child(figures, &outcome);
            }
            if round % 2 == 0 || shape.forks == 0 {
                let (nth, delay) = kill_point(&mut rng, shape);
                figures.runs += 1;
                tally_parent(figures, bin, nth, delay);
            }
        }
        for _batch in 0..2 {
            let runs: Vec<Outcome> = std::thread::scope(|scope| {
                let handles: Vec<_> =
                    (0..8).map(|_| scope.spawn(move || run_with(bin, FAST, Fault::None))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for outcome in runs {
                figures.concurrent += 1;
                let mut left = outcome.left();
                left.extend(outcome.runtime.runs());
                let running = outcome.running();
                if outcome.hung.is_some() {
                    figures.hangs += 1;
                }
                if outcome.panicked() {
                    figures.panics += 1;
                }
                if outcome.run.code() != Some(0) || !left.is_empty() || !running.is_empty() {
                    figures.concurrent_failed += 1;
                    figures.left += u32::from(!left.is_empty());
                    figures.orphans += running.len() as u32;
                    figures.note("CONCURRENT", &outcome);
                }
            }
        }
        for words in bad_inputs(bin) {
            figures.bad_inputs += 1;
            if let Some(wrong) = check_bad_input(bin, &words) {
                figures.bad_input_wrong += 1;
                if wrong.starts_with("PANIC") {
                    figures.panics += 1;
                }
                if figures.examples.len() < 6 {
                    figures.examples.push(wrong);
                }
            }
        }
        println!("{bin}: {figures:?}");
    }
    print_figures(&all);
    let bad: u32 = all
        .values()
        .map(|f| f.hangs + f.orphans + f.left + f.panics + f.concurrent_failed + f.bad_input_wrong)
        .sum();
    assert_eq!(bad, 0, "see the figures above");
}

fn tally_child(figures: &mut Figures, outcome: &Outcome) {
    if outcome.killed.is_some() {
        figures.faults += 1;
    }
    if outcome.hung.is_some() {
        figures.hangs += 1;
        figures.note("HANG", outcome);
    }
    if outcome.panicked() {
        figures.panics += 1;
        figures.note("PANIC", outcome);
    }
    match outcome.run.code() {
        Some(0) => figures.clean += 1,
        Some(1) => figures.errors += 1,
        _ => {}
    }
    let running = outcome.running();
    if !running.is_empty() {
        figures.orphans += running.len() as u32;
        figures.note("ORPHAN", outcome);
    }
    if !outcome.left().is_empty() || !outcome.runtime.runs().is_empty() {
        figures.left += 1;
        figures.note("LEFT", outcome);
    }
}

fn tally_parent(figures: &mut Figures, bin: &str, nth: usize, delay: Duration) {
    let runtime = Arc::new(RuntimeDir::new(bin));
    let killed = run_in(bin, FAST, Fault::KillParent { nth, delay }, runtime.clone());
    if killed.killed.is_some() {
        figures.faults += 1;
    }
    if killed.hung.is_some() {
        figures.hangs += 1;
        figures.note("HANG", &killed);
    }
    let running = killed.running();
    if !running.is_empty() {
        figures.orphans += running.len() as u32;
        figures.note("ORPHAN (parent killed)", &killed);
    }
    let next = run_in(bin, FAST, Fault::None, runtime);
    if next.panicked() || next.run.code() != Some(0) {
        figures.note("NEXT RUN FAILED", &next);
        figures.errors += 1;
    }
    if !killed.left().is_empty() || !next.left().is_empty() || !next.runtime.runs().is_empty() {
        figures.left += 1;
        figures.note("LEFT (parent killed, after the next run)", &killed);
    }
}

fn print_figures(all: &BTreeMap<&str, Figures>) {
    println!(
        "\n{:<9} {:>5} {:>6} {:>6} {:>5} {:>5} {:>7} {:>4} {:>6} {:>10} {:>6} {:>7}",
        "lesson",
        "runs",
        "faults",
        "errors",
        "clean",
        "hangs",
        "orphans",
        "left",
        "panics",
        "concurrent",
        "failed",
        "badargs"
    );
    let mut total = Figures::default();
    for (bin, f) in all {
        println!(
            "{bin:<9} {:>5} {:>6} {:>6} {:>5} {:>5} {:>7} {:>4} {:>6} {:>10} {:>6} {:>4}/{:<3}",
            f.runs,
            f.faults,
            f.errors,
            f.clean,
            f.hangs,
            f.orphans,
            f.left,
            f.panics,
            f.concurrent,
            f.concurrent_failed,
            f.bad_input_wrong,
            f.bad_inputs
        );
        total.runs += f.runs;
        total.faults += f.faults;
        total.errors += f.errors;
        total.clean += f.clean;
        total.hangs += f.hangs;
        total.orphans += f.orphans;
        total.left += f.left;
        total.panics += f.panics;
        total.concurrent += f.concurrent;
        total.concurrent_failed += f.concurrent_failed;
        total.bad_inputs += f.bad_inputs;
        total.bad_input_wrong += f.bad_input_wrong;
    }
    println!("{:<9} {total:?}", "total");
    for (bin, f) in all {
        for example in &f.examples {
            println!("--- {bin}: {example}");
        }
    }
}
