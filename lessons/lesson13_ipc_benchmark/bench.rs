//! The measuring harness of lesson 13: repetitions and medians, a progress line, tables and
//! terminal bar charts, targets checked against the figures, hand-written JSON, and pinning a
//! process to one CPU.
//!
//! A measurement is a closure that performs `n` operations (messages, round trips), checks
//! their data, and returns how long the operations took. [`Bench::measure`] first finds an
//! `n` that takes about the wanted time per repetition, then runs the repetitions and keeps
//! the median time per operation, which a single slow repetition (a context switch, another
//! program) cannot drag around the way it drags a mean.
//!
//! What lesson 13 decides before it measures is in [`plan`]; its self-checking messages in
//! [`message`]; how its parent orders a sender process to stream messages is in [`sender`];
//! what measuring the mechanisms that are not shared memory needs, and the round trips the
//! page leaves out, in [`kernel`];
//! what the machine was doing meanwhile (CPU waits, load, an unoptimised build) in
//! [`machine`]; the figures it collects, the tables, the story's conclusions, the targets and
//! the JSON it makes of them in [`report`]; the SVG chart drawn from a `--json` report in
//! [`chart`].

use std::io::IsTerminal;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::Pid;

use shm_workbook::call;
use shm_workbook::error::{Error, Result};
pub use shm_workbook::json::Json;
use shm_workbook::lesson::{Lesson, LessonFlag};

pub mod chart;

pub mod kernel;
pub mod machine;
pub mod message;
pub mod plan;
pub mod report;
pub mod sender;

/// The flags lesson 13 takes beyond every lesson's own.
pub const FLAGS: &[LessonFlag] = &[
    LessonFlag::switch("--json", "print the results as JSON on stdout (the story goes to stderr)"),
    LessonFlag::number("--reps", "N", "timed repetitions per figure, the median kept", 7, (1, 99)),
    LessonFlag::text("--chart", "FILE", "draw a --json report as an SVG chart on stdout"),
    LessonFlag::switch("--targets", "check the workbook's own targets (its benchmark)"),
];

/// The median of `values` (the mean of the two middle ones for an even count); NaN if empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 }
}

/// What [`Bench::measure`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Median nanoseconds per operation over the repetitions.
    pub ns_per_op: f64,
    /// Operations in each timed repetition.
    pub ops_per_rep: u64,
    /// Every operation performed and verified, calibration included.
    pub total_ops: u64,
    /// Nanoseconds per operation of each repetition, in the order they ran.
    pub reps_ns_per_op: Vec<f64>,
    /// The largest share of the timed repetitions that one of the processes involved spent
    /// waiting for a CPU (run-queue delay; NaN if the kernel does not say).
    pub cpu_wait: f64,
    /// How far apart the CPUs of the processes were, where it was probed (the ring's): the
    /// farther of a probe just before and one just after the measurement.
    pub distance: Option<machine::Distance>,
}

impl Sample {
    /// A sample of repetitions that took `reps_ns_per_op` each, `ops_per_rep` operations per
    /// repetition, `total_ops` in all, with `cpu_wait` (see the field).
    pub fn new(
        reps_ns_per_op: Vec<f64>,
        ops_per_rep: u64,
        total_ops: u64,
        cpu_wait: f64,
    ) -> Sample {
        Sample {
            ns_per_op: median(&reps_ns_per_op),
            ops_per_rep,
            total_ops,
            reps_ns_per_op,
            cpu_wait,
            distance: None,
        }
    }

    /// Operations per second at the median.
    pub fn ops_per_s(&self) -> f64 {
        1e9 / self.ns_per_op
    }
}

/// Runs measurements and shows a progress line on stderr (only when stderr is a terminal).
#[derive(Debug)]
pub struct Bench<'a> {
    reps: usize,
    rep_time: Duration,
    progress: Progress,
    /// The lesson whose `--step` pauses a round trip before it is timed.
    lesson: Option<&'a Lesson>,
}

impl<'a> Bench<'a> {
    /// `reps` timed repetitions of about `rep_time` each per measurement; `steps` is how many
    /// measurements the run will make (for the progress line).
    pub fn new(reps: usize, rep_time: Duration, steps: usize) -> Bench<'a> {
        Bench { reps: reps.max(1), rep_time, progress: Progress::new(steps), lesson: None }
    }

    /// With `lesson`'s `--step`, the first round trip of a part ([`time_round_trips`]) pauses
    /// before it is timed, while its echo waits for the first ping.
    pub fn pausing(mut self, lesson: &'a Lesson) -> Bench<'a> {
        self.lesson = Some(lesson);
        self
    }

    /// Calibrates, then times `self.reps` repetitions of `run(n)`, which must perform and
    /// verify `n` operations and return the time they took. An error from `run` (a mismatch,
    /// a failed call) ends the measurement. `partners` are the other processes taking part:
    /// how long they and this one waited for a CPU is measured too.
    pub fn measure(
        &mut self,
        label: &str,
        partners: &[Pid],
        mut run: impl FnMut(u64) -> Result<Duration>,
    ) -> Result<Sample> {
        self.progress.start(label);
        let result = (|| {
            let (n, mut total_ops) = self.calibrate(&mut run)?;
            let mut reps_ns_per_op = Vec::with_capacity(self.reps);
            let cpu_wait = machine::CpuWait::start(partners);
            for rep in 0..self.reps {
                self.progress.show(&format!("{label}: repetition {}/{}", rep + 1, self.reps));
                let took = run(n)?;
                total_ops += n;
                reps_ns_per_op.push(took.as_nanos() as f64 / n as f64);
            }
            Ok(Sample::new(reps_ns_per_op, n, total_ops, cpu_wait.share()))
        })();
        self.progress.finish();
        result
    }

    /// Two measurements side by side, as [`measure`](Self::measure) makes one: each is
    /// calibrated alone, then their repetitions alternate (A, B, A, B, ...), so that both meet
    /// the same machine (a CPU slowed down, another program, a host that moved its CPUs) and
    /// their ratio compares like with like. The CPU wait of both is that of the whole stretch.
    /// Counts as two steps of the progress line.
    pub fn measure_beside(
        &mut self,
        label: &str,
        partners: &[Pid],
        mut a: impl FnMut(u64) -> Result<Duration>,
        mut b: impl FnMut(u64) -> Result<Duration>,
    ) -> Result<(Sample, Sample)> {
        self.progress.start(label);
        let result = (|| {
            let (n_a, mut ops_a) = self.calibrate(&mut a)?;
            let (n_b, mut ops_b) = self.calibrate(&mut b)?;
            let (mut reps_a, mut reps_b) = (Vec::new(), Vec::new());
            let cpu_wait = machine::CpuWait::start(partners);
            for rep in 0..self.reps {
                self.progress.show(&format!("{label}: repetition {}/{}", rep + 1, self.reps));
                reps_a.push(a(n_a)?.as_nanos() as f64 / n_a as f64);
                reps_b.push(b(n_b)?.as_nanos() as f64 / n_b as f64);
                (ops_a, ops_b) = (ops_a + n_a, ops_b + n_b);
            }
            let wait = cpu_wait.share();
            Ok((Sample::new(reps_a, n_a, ops_a, wait), Sample::new(reps_b, n_b, ops_b, wait)))
        })();
        self.progress.finish();
        self.progress.finish();
        result
    }

    /// Finds an `n` for which `run(n)` takes about the wanted time of a repetition: grows `n`
    /// tenfold until one run takes a quarter of it (shorter runs are dominated by the fixed
    /// cost of starting one: a wake-up), then scales. Returns `n` and the operations done.
    fn calibrate(&self, run: &mut impl FnMut(u64) -> Result<Duration>) -> Result<(u64, u64)> {
        let mut n = 1u64;
        let mut total_ops = 0u64;
        let took = loop {
            let took = run(n)?;
            total_ops += n;
            if took >= self.rep_time / 4 || n >= 1 << 40 {
                break took;
            }
            n = n.saturating_mul(10);
        };
        let scale = self.rep_time.as_secs_f64() / took.as_secs_f64().max(1e-9);
        Ok((((n as f64 * scale) as u64).max(1), total_ops))
    }
}

/// Times round trips with `bench`: for each, `ping(seq)` sends the number `seq` (counting
/// from 1 across repetitions) and `pong()` waits for the echo, which must be the same number.
/// The calls they make are not recorded (the trace would be measured too). `echo` is the
/// process that answers.
pub fn time_round_trips(
    bench: &mut Bench,
    label: &str,
    echo: Pid,
    mut ping: impl FnMut(u64) -> Result<()>,
    mut pong: impl FnMut() -> Result<u64>,
) -> Result<Sample> {
    if let Some(lesson) = bench.lesson {
        lesson.step_once(&lesson.narrator("parent"), || {
            format!(
                "The {label}'s echo (pid {echo}) waits for its first ping.\n\
                 In another terminal, run:  ps -o pid,stat,wchan:24,comm -p {echo}\n\
                 STAT says how it waits: S, asleep in the kernel until a ping comes,\n\
                 or R, running (spinning) on a CPU; WCHAN names the kernel function it sleeps in."
            )
        });
    }
    let mut seq = 0u64;
    call::unrecorded(|| {
        bench.measure(label, &[echo], |count| {
            let start = Instant::now();
            for _ in 0..count {
                seq += 1;
                ping(seq)?;
                let echo = pong()?;
                if echo != seq {
                    return Err(Error::other(
                        format!("{label}: round trip {seq}"),
                        format!("the echo is {echo}, not {seq}"),
                    ));
                }
            }
            Ok(start.elapsed())
        })
    })
}

/// A new private segment (mode 0600) the size of a `T`, its `shmget` printed, and attached.
pub fn segment_for<T: shm_workbook::Shareable>(
    out: &shm_workbook::Narrator,
) -> Result<(shm_workbook::Segment, shm_workbook::Attachment)> {
    let segment = shm_workbook::Segment::create_for::<T>(shm_workbook::Key::PRIVATE, 0o600)?;
    out.call();
    let memory = segment.attach()?;
    Ok((segment, memory))
}

/// `socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, sv)`: two connected Unix stream sockets,
/// the call recorded as made (`... [4, 5]) = 0`).
pub fn socket_pair() -> Result<(std::os::unix::net::UnixStream, std::os::unix::net::UnixStream)> {
    let mut sv = [-1; 2];
    let made = call::make("socketpair").arg("AF_UNIX").arg("SOCK_STREAM|SOCK_CLOEXEC").arg(0);
    // SAFETY: `sv` has room for the two descriptors socketpair writes.
    let status = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr())
    };
    if status == -1 {
        return Err(made.arg("sv").failed(Errno::last()).error());
    }
    made.arg(format!("[{}, {}]", sv[0], sv[1])).returned(0);
    // SAFETY: the call succeeded: both descriptors are new, open and owned by nobody else.
    Ok(unsafe { (FromRawFd::from_raw_fd(sv[0]), FromRawFd::from_raw_fd(sv[1])) })
}

/// Reads one little-endian `u64` (8 bytes) from `file`; `call` names the call in an error.
pub fn read_u64(file: &mut impl std::io::Read, call: &str) -> Result<u64> {
    let mut raw = [0u8; 8];
    file.read_exact(&mut raw).map_err(|err| read_error(call, err))?;
    Ok(u64::from_le_bytes(raw))
}

/// The error of a failed `read_exact` from a pipe or socket: end-of-file means that every
/// process holding the other end has closed it, which here means the partner ended (each end
/// lives only in the process that uses it).
pub fn read_error(call: &str, err: std::io::Error) -> Error {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        let failure = shm_workbook::cleanup::child_failure();
        let partner = failure.map(|e| format!(": {}", e.meaning())).unwrap_or_default();
        return Error::other(
            call,
            format!("end of file: the process at the other end has ended{partner}"),
        );
    }
    Error::io(call, err)
}

/// Writes `value` as a little-endian `u64` (8 bytes) to `file`; `call` names the call in an
/// error.
pub fn write_u64(file: &mut impl std::io::Write, value: u64, call: &str) -> Result<()> {
    file.write_all(&value.to_le_bytes()).map_err(|err| Error::io(call, err))
}

/// One line on stderr, rewritten in place: `[ 7/31] pipe 4 KiB: repetition 3/7`.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    steps: usize,
    done: usize,
    label: String,
}

impl Progress {
    /// A progress line for `steps` steps; silent unless stderr is a terminal.
    pub fn new(steps: usize) -> Progress {
        Progress { enabled: std::io::stderr().is_terminal(), steps, done: 0, label: String::new() }
    }

    fn start(&mut self, label: &str) {
        self.label = label.to_owned();
        self.show(label);
    }

    fn show(&self, text: &str) {
        if self.enabled {
            let width = self.steps.to_string().len();
            let line = format!("\r\x1b[K[{:>width$}/{}] {text}", self.done + 1, self.steps);
            write_stderr(line.as_bytes());
        }
    }

    fn finish(&mut self) {
        self.done += 1;
        if self.enabled {
            write_stderr(b"\r\x1b[K");
        }
    }
}

fn write_stderr(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(bytes);
}

/// A table with a header row, columns padded to their widest cell; numbers (cells that
/// start with a digit) are right-aligned. In a row with fewer cells than the header, the last
/// cell runs on across the remaining columns (a remark such as "does not fit").
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        let counted = if row.len() < columns { row.len().saturating_sub(1) } else { columns };
        for (i, cell) in row.iter().enumerate().take(counted) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let mut line = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            let spans = cells.len() < columns && i + 1 == cells.len();
            let pad = if spans { 0 } else { widths[i].saturating_sub(cell.chars().count()) };
            let numeric = cell.starts_with(|c: char| c.is_ascii_digit());
            if numeric && i > 0 {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            if i + 1 < cells.len() {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(header.to_vec());
    push_row(
        widths
            .iter()
            .map(|&w| "─".repeat(w))
            .collect::<Vec<_>>()
            .iter()
            .map(|s| s.as_str())
            .collect(),
    );
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out
}

/// A bar of `width` cells for `value` out of `max`, drawn with eighth blocks (never empty
/// for a positive value, so that a slow mechanism still shows).
pub fn bar(value: f64, max: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    if !(value > 0.0 && max > 0.0) {
        return String::new();
    }
    let eighths = ((value / max).min(1.0) * width as f64 * 8.0).round().max(1.0) as usize;
    let mut out = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        out.push(EIGHTHS[eighths % 8 - 1]);
    }
    out
}

/// `64 B`, `4 KiB`, `1 MiB`.
pub fn size_text(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// Bytes per second as `12.3 GB/s` (decimal units, as link speeds are quoted).
pub fn rate_text(bytes_per_s: f64) -> String {
    match bytes_per_s {
        r if r >= 1e9 => format!("{:.2} GB/s", r / 1e9),
        r if r >= 1e6 => format!("{:.1} MB/s", r / 1e6),
        r => format!("{:.0} kB/s", r / 1e3),
    }
}

/// Messages per second as `10.4 M/s`.
pub fn count_text(per_s: f64) -> String {
    match per_s {
        r if r >= 1e6 => format!("{:.2} M/s", r / 1e6),
        r if r >= 1e3 => format!("{:.1} k/s", r / 1e3),
        r => format!("{r:.0} /s"),
    }
}

/// A duration in nanoseconds as `85 ns`, `4.21 µs`, `3.10 ms`.
pub fn time_text(ns: f64) -> String {
    match ns {
        t if t >= 1e6 => format!("{:.2} ms", t / 1e6),
        t if t >= 1e3 => format!("{:.2} µs", t / 1e3),
        t => format!("{t:.0} ns"),
    }
}

/// A ratio as `2.41×` (or `0.031×`).
pub fn ratio_text(ratio: f64) -> String {
    if ratio.is_nan() {
        "—".to_owned()
    } else if ratio >= 10.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 0.1 {
        format!("{ratio:.2}×")
    } else if ratio >= 0.001 {
        format!("{ratio:.3}×")
    } else {
        "<0.001×".to_owned()
    }
}

/// A goal the run checks itself against.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// A short stable name, for JSON.
    pub name: String,
    /// The goal as text, `>= 2` or `<= 0.05`.
    pub goal: String,
    /// The figure that was measured.
    pub value: f64,
    /// Whether the goal was met.
    pub met: bool,
    /// The figures behind the value, for a person.
    pub detail: String,
}

impl Target {
    /// A target met when `value >= goal`.
    pub fn at_least(name: &str, goal: f64, value: f64, detail: String) -> Target {
        Target { name: name.into(), goal: format!(">= {goal}"), value, met: value >= goal, detail }
    }

    /// A target met when `value <= goal`.
    pub fn at_most(name: &str, goal: f64, value: f64, detail: String) -> Target {
        Target { name: name.into(), goal: format!("<= {goal}"), value, met: value <= goal, detail }
    }

    /// The target as a JSON object.
    pub fn json(&self) -> Json {
        Json::object([
            ("name", Json::from(self.name.as_str())),
            ("goal", Json::from(self.goal.as_str())),
            ("value", Json::Number(self.value)),
            ("met", Json::Bool(self.met)),
            ("detail", Json::from(self.detail.as_str())),
        ])
    }
}

/// For `--json`: keeps the real stdout for the JSON document and points file descriptor 1 at
/// stderr, so that everything else the program prints (its story) goes to stderr. Returns
/// the saved stdout; call it before anything is printed.
pub fn stdout_for_json() -> Result<OwnedFd> {
    // SAFETY: dup and dup2 take plain descriptors; on success `saved` is a new descriptor
    // that nothing else owns, so wrapping it in OwnedFd is sound.
    unsafe {
        let saved = libc::dup(1);
        if saved == -1 {
            return Err(Error::sys("dup(1)", Errno::last()));
        }
        if libc::dup2(2, 1) == -1 {
            let errno = Errno::last();
            libc::close(saved);
            return Err(Error::sys("dup2(2, 1)", errno));
        }
        Ok(OwnedFd::from_raw_fd(saved))
    }
}

/// The CPUs this process may run on (`sched_getaffinity`).
pub fn allowed_cpus() -> Result<Vec<usize>> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel fills it.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } == -1
    {
        return Err(Error::sys("sched_getaffinity(0, sizeof set, &set)", Errno::last()));
    }
    // SAFETY: CPU_ISSET reads a bit of the initialised set; the index is below CPU_SETSIZE.
    Ok((0..libc::CPU_SETSIZE as usize)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// `sched_setaffinity(0, sizeof(cpu_set_t), {cpu})`: from now on this process runs only on
/// `cpu`. A forked child inherits the setting, so pin inside the child, not before forking.
/// The call is recorded as strace shows it: `sched_setaffinity(0, 128, [1]) = 0`.
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(Error::other(
            "pin_to_cpu",
            format!("CPU {cpu} is beyond CPU_SETSIZE (not called)"),
        ));
    }
    let made = call::make("sched_setaffinity")
        .arg(0)
        .arg_with(call::size_of::<libc::cpu_set_t>())
        .arg(format!("[{cpu}]"));
    // SAFETY: as in `allowed_cpus`: a zeroed cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit of `set`; `cpu` was checked against CPU_SETSIZE above.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel only reads it.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } == -1 {
        return Err(made.failed(Errno::last()).error());
    }
    made.returned(0);
    Ok(())
}

/// An atomic 64-bit word alone on its cache line (64 bytes), so that two words written by
/// different processes do not bounce one line between their CPUs (false sharing).
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct CacheLine(pub std::sync::atomic::AtomicU64);

/// Pins this process, the ring's consumer, to the first CPU of `cpus` ([`plan::Plan::ring_cpus`]),
/// and says so: `sched_setaffinity`, as [`pin_to_cpu`] makes it.
pub fn pin_consumer(out: &shm_workbook::Narrator, cpus: Option<(usize, usize)>) -> Result<()> {
    if let Some((consumer_cpu, _)) = cpus {
        pin_to_cpu(consumer_cpu)?;
        out.call_note("the consumer's CPU, while the ring is measured");
    }
    Ok(())
}

/// Reads one byte of every page of `memory`, so that the page faults of a fresh mapping (one
/// per 4 KiB page, in each process) happen before the clock runs rather than during the first
/// figures. Returns true.
pub fn touch_every_page(memory: &shm_workbook::Attachment) -> bool {
    use std::sync::atomic::Ordering;
    let bytes = memory.bytes();
    let sum = (0..bytes.len()).step_by(4096).map(|i| u64::from(bytes[i].load(Ordering::Relaxed)));
    std::hint::black_box(sum.sum::<u64>());
    true
}

/// Starts lesson 13 with the common flag parser. With `--json` (or `--chart`), the real stdout
/// is kept for the document (returned) and everything else the lesson prints, its title
/// included, goes to stderr: the flags are parsed once before the lesson starts to know where
/// stdout goes, and once by [`Lesson::start_with`], which reports any mistake in them.
pub fn start(bin: &str, flags: &'static [LessonFlag]) -> Result<(Lesson, Option<std::fs::File>)> {
    let json = shm_workbook::lesson::parse_args(std::env::args_os().skip(1), flags)
        .ok()
        .is_some_and(|options| {
            let document =
                options.extra.contains_key("--json") || options.texts.contains_key("--chart");
            document && !options.help
        });
    let stdout = if json { Some(std::fs::File::from(stdout_for_json()?)) } else { None };
    Ok((Lesson::start_with(bin, flags), stdout))
}

/// `sched_setaffinity(0, sizeof(cpu_set_t), cpus)`, not recorded: gives this process back
/// the CPUs it was allowed before [`pin_to_cpu`] (Part 1 of lesson 13 pins its parent for the
/// ring, then lets it go).
pub fn unpin(cpus: &[usize]) -> Result<()> {
    // SAFETY: as in `allowed_cpus`: a zeroed cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus.iter().filter(|&&cpu| cpu < libc::CPU_SETSIZE as usize) {
        // SAFETY: CPU_SET writes one bit of `set`; `cpu` is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; the kernel only reads it.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } == -1 {
        return Err(Error::sys("sched_setaffinity(0, sizeof set, &allowed)", Errno::last()));
    }
    Ok(())
}

/// A deadline that a spinning loop checks now and then, so that a stuck partner becomes an
/// error instead of a hang.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Instant);

impl Deadline {
    /// `after` from now.
    pub fn after(after: Duration) -> Deadline {
        Deadline(Instant::now() + after)
    }

    /// Whether it has passed.
    pub fn passed(self) -> bool {
        Instant::now() >= self.0
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn medians_ignore_one_wild_value() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1000.0]), 1.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn json_is_escaped_and_non_finite_numbers_are_null() {
        let value = Json::object([
            ("text", Json::from("a \"quoted\" \\ line\nand\ttab \u{1}")),
            ("n", Json::Number(3.0)),
            ("x", Json::Number(0.25)),
            ("bad", Json::Number(f64::NAN)),
            ("list", Json::Array(vec![Json::Bool(true), Json::Null])),
            ("empty", Json::Array(vec![])),
        ]);
        let text = value.render();
        assert!(text.contains(r#""text": "a \"quoted\" \\ line\nand\ttab \u0001""#), "{text}");
        assert!(text.contains("\"n\": 3,") && text.contains("\"x\": 0.25,"), "{text}");
        assert!(text.contains("\"bad\": null"), "{text}");
        assert!(text.contains("\"empty\": []"), "{text}");
    }

    #[test]
    fn measure_calibrates_and_takes_the_median() {
        let mut bench = Bench::new(3, Duration::from_millis(2), 1);
        let mut calls = Vec::new();
        let sample = bench
            .measure("test", &[], |n| {
                calls.push(n);
                Ok(Duration::from_micros(n)) // one microsecond per operation
            })
            .unwrap();
        assert_eq!(sample.ns_per_op, 1000.0);
        assert_eq!(sample.reps_ns_per_op.len(), 3);
        assert_eq!(sample.ops_per_rep, 2000, "2 ms at 1 µs each");
        assert_eq!(sample.total_ops, calls.iter().sum::<u64>());
        let failing = bench.measure("fails", &[], |_| Err(Error::other("check", "mismatch")));
        assert!(failing.is_err(), "an error is not a number");
    }

    #[test]
    fn side_by_side_measurements_alternate() {
        let mut bench = Bench::new(3, Duration::from_millis(2), 2);
        let order = std::cell::RefCell::new(String::new());
        let (a, b) = bench
            .measure_beside(
                "pair",
                &[],
                |n| {
                    order.borrow_mut().push('a');
                    Ok(Duration::from_micros(n))
                },
                |n| {
                    order.borrow_mut().push('b');
                    Ok(Duration::from_micros(2 * n))
                },
            )
            .unwrap();
        assert_eq!((a.ns_per_op, b.ns_per_op), (1000.0, 2000.0));
        assert!(order.borrow().ends_with("ababab"), "{}", order.borrow());
    }

    #[test]
    fn texts_and_bars() {
        assert_eq!(size_text(64), "64 B");
        assert_eq!(size_text(4096), "4 KiB");
        assert_eq!(size_text(1 << 20), "1 MiB");
        assert_eq!(rate_text(12.34e9), "12.34 GB/s");
        assert_eq!(count_text(10.5e6), "10.50 M/s");
        assert_eq!(time_text(4210.0), "4.21 µs");
        assert_eq!(ratio_text(2.414), "2.41×");
        assert_eq!(bar(1.0, 1.0, 4), "████");
        assert_eq!(bar(1.0, 2.0, 4), "██");
        assert_eq!(bar(0.0001, 1.0, 4), "▏", "a tiny value still shows");
        assert_eq!(bar(0.0, 1.0, 4), "");
    }

    #[test]
    fn targets_compare_the_right_way() {
        assert!(Target::at_least("a", 2.0, 2.5, String::new()).met);
        assert!(!Target::at_least("a", 2.0, 1.5, String::new()).met);
        assert!(Target::at_most("b", 0.05, 0.01, String::new()).met);
        assert!(!Target::at_most("b", 0.05, f64::NAN, String::new()).met, "NaN meets nothing");
    }

    #[test]
    fn tables_align_columns() {
        let text = table(&["what", "rate"], &[vec!["pipe".into(), "1.00 GB/s".into()]]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  what  rate");
        assert_eq!(lines[2], "  pipe  1.00 GB/s");
        let text = table(
            &["what", "rate"],
            &[vec!["pipe".into(), "1 GB/s".into()], vec!["queue".into(), "does not fit".into()]],
        );
        assert!(text.lines().nth(2).unwrap().ends_with("  1 GB/s"), "{text}");
        assert!(
            text.contains("  queue  does not fit\n"),
            "a remark does not widen the column: {text}"
        );
    }

    #[test]
    fn round_trips_check_the_echo() {
        let mut bench = Bench::new(1, Duration::from_micros(100), 2);
        let last = std::cell::Cell::new(0);
        let ping = |seq| {
            last.set(seq);
            Ok(())
        };
        let me = nix::unistd::getpid();
        assert!(time_round_trips(&mut bench, "echo", me, ping, || Ok(last.get())).is_ok());
        let wrong = time_round_trips(&mut bench, "off by one", me, ping, || Ok(last.get() + 1));
        assert!(wrong.is_err(), "a wrong echo is an error");
    }

    #[test]
    fn u64s_round_trip_through_bytes() {
        let mut bytes = Vec::new();
        write_u64(&mut bytes, 0x0102_0304_0506_0708, "write").unwrap();
        assert_eq!(bytes, [8, 7, 6, 5, 4, 3, 2, 1], "little-endian");
        assert_eq!(read_u64(&mut bytes.as_slice(), "read").unwrap(), 0x0102_0304_0506_0708);
        assert!(read_u64(&mut [1u8, 2].as_slice(), "read").is_err(), "short input");
    }

    #[test]
    fn this_process_may_run_somewhere() {
        assert!(!allowed_cpus().unwrap().is_empty());
    }
}
