//! The bookkeeping and reporting of lesson 13: the figures each part collects ([`Cell`],
//! [`RoundTrip`], [`OneCpu`]), the tables the student reads, the targets the figures are
//! checked against, and the JSON document of `--json`.

use std::fs::File;
use std::io::Write;
use std::time::Duration;

use shm_workbook::error::{Error, Result};

use shm_workbook::lesson::Lesson;
use shm_workbook::narrate::print_block;

use super::machine::{Distance, FAR_NS};
use super::plan::Plan;
use super::{
    Json, Sample, Target, bar, count_text, rate_text, ratio_text, size_text, table, time_text,
};

/// A mechanism of Part 1 (throughput).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `memcpy` in one process: the physical limit.
    Memcpy,
    /// The single-producer single-consumer ring in shared memory.
    Ring,
    /// A pipe.
    Pipe,
    /// A Unix domain stream socket.
    Socket,
    /// A System V message queue.
    SysvQueue,
    /// A POSIX message queue.
    PosixQueue,
}

impl Transport {
    /// The name shown in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Memcpy => "memcpy, one process",
            Transport::Ring => "shm ring",
            Transport::Pipe => "pipe",
            Transport::Socket => "Unix socket",
            Transport::SysvQueue => "SysV msg queue",
            Transport::PosixQueue => "POSIX mq",
        }
    }

    /// The stable name used in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Transport::Memcpy => "memcpy",
            Transport::Ring => "shm_ring",
            Transport::Pipe => "pipe",
            Transport::Socket => "unix_socket",
            Transport::SysvQueue => "sysv_msg_queue",
            Transport::PosixQueue => "posix_mq",
        }
    }

    /// Whether the data goes through the kernel.
    pub fn is_kernel(self) -> bool {
        !matches!(self, Transport::Memcpy | Transport::Ring)
    }
}

/// A transport's result at one size: measured, or why it was not (the size does not fit).
pub type Row = (usize, std::result::Result<Sample, String>);

/// One cell of Part 1: a transport at a size, measured, or why it was not.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The mechanism.
    pub transport: Transport,
    /// The message size in bytes.
    pub size: usize,
    /// The measurement, or why there is none.
    pub result: std::result::Result<Sample, String>,
}

impl Cell {
    /// Bytes per second at the median; NaN if not measured.
    pub fn bytes_per_s(&self) -> f64 {
        self.result.as_ref().map_or(f64::NAN, |s| s.ops_per_s() * self.size as f64)
    }
}

/// A round trip's result (Part 2): its name and median time.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundTrip {
    /// The mechanism, as shown in the table and the JSON.
    pub name: &'static str,
    /// The measurement; one operation is one round trip.
    pub sample: Sample,
}

/// Part 3's figures: round trips with both processes pinned to one CPU.
#[derive(Clone, Debug, PartialEq)]
pub struct OneCpu {
    /// The CPU both processes ran on.
    pub cpu: usize,
    /// Spinning round trips completed before the deadline.
    pub spin_done: u64,
    /// Spinning round trips attempted.
    pub spin_wanted: u64,
    /// Nanoseconds per spinning round trip (NaN if none completed).
    pub spin_ns: f64,
    /// Futex round trips completed.
    pub futex_done: u64,
    /// Nanoseconds per futex round trip.
    pub futex_ns: f64,
}

impl OneCpu {
    /// Part 3's figures from what [`super::plan::OneCpuTries`] asked for on `cpu` and the
    /// (round trips done, nanoseconds each) of the spinning and the futex pair.
    pub fn new(
        cpu: usize,
        tries: super::plan::OneCpuTries,
        (spin_done, spin_ns): (u64, f64),
        (futex_done, futex_ns): (u64, f64),
    ) -> OneCpu {
        let spin_wanted = u64::from(tries.spin.0);
        OneCpu { cpu, spin_done, spin_wanted, spin_ns, futex_done, futex_ns }
    }
}

/// The median round trip of the mechanism called `name`, in nanoseconds; NaN if absent.
pub fn round_trip_ns(round_trips: &[RoundTrip], name: &str) -> f64 {
    round_trips.iter().find(|r| r.name == name).map_or(f64::NAN, |r| r.sample.ns_per_op)
}

/// Bytes per second of `transport` at `size`; NaN if not measured.
pub fn rate(cells: &[Cell], transport: Transport, size: usize) -> f64 {
    cells
        .iter()
        .find(|c| c.transport == transport && c.size == size)
        .map_or(f64::NAN, Cell::bytes_per_s)
}

/// The best kernel mechanism at `size`: its name and bytes per second.
pub fn best_kernel(cells: &[Cell], size: usize) -> (&'static str, f64) {
    cells
        .iter()
        .filter(|c| c.size == size && c.transport.is_kernel() && c.result.is_ok())
        .map(|c| (c.transport.name(), c.bytes_per_s()))
        .fold(("none", 0.0), |best, this| if this.1 > best.1 { this } else { best })
}

/// A share as a percentage: `48%`, `0.3%`; `—` if unknown.
fn percent(share: f64) -> String {
    match share {
        s if s.is_nan() => "—".to_owned(),
        s if s >= 0.1 => format!("{:.0}%", s * 100.0),
        s => format!("{:.1}%", s * 100.0),
    }
}

/// A share of the time waiting for a CPU above which a figure is about a busy machine.
pub const CONTENDED: f64 = 0.05;

/// Part 1's tables, one per size in `sizes`: each mechanism's throughput, messages per second,
/// ratio to the ring, and a bar; then what this run showed.
pub fn show_throughput(lesson: &Lesson, plan: &Plan, cells: &[Cell]) {
    let parent = lesson.narrator("parent");
    for &size in &plan.sizes {
        let row: Vec<&Cell> = cells.iter().filter(|c| c.size == size).collect();
        let ring = rate(cells, Transport::Ring, size);
        let fastest =
            row.iter().map(|c| c.bytes_per_s()).filter(|r| !r.is_nan()).fold(0.0, f64::max);
        let lines: Vec<Vec<String>> = row
            .iter()
            .map(|cell| match &cell.result {
                Ok(sample) => vec![
                    cell.transport.name().to_owned(),
                    rate_text(cell.bytes_per_s()),
                    count_text(sample.ops_per_s()),
                    ratio_text(cell.bytes_per_s() / ring),
                ],
                Err(why) => vec![cell.transport.name().to_owned(), why.clone()],
            })
            .collect();
        let bars: Vec<Option<(f64, f64)>> = row
            .iter()
            .map(|cell| cell.result.is_ok().then(|| (cell.bytes_per_s(), fastest)))
            .collect();
        let header = ["mechanism", "throughput", "messages", "vs ring"];
        print_block(format!(
            "\n  {} messages\n{}",
            size_text(size),
            table_with_bars(&header, lines, &bars, (24, shm_workbook::fold::columns()))
        ));
    }
    parent.explain(
        "pipes, sockets and queues copy every byte twice (into the kernel and out again) and make \
         two system calls per message; the ring copies twice too, but in user space, with no \
         system call at all",
    );
    if plan.optimised() {
        let (low, high) = ratio_range(cells, Transport::Ring, |size| best_kernel(cells, size).1);
        parent.explain(format!(
            "on this machine, in this run: from 4 KiB up, the ring moved {} to {}× what the \
             fastest kernel mechanism moved at each size, and {} to {}× what memcpy in one \
             process did",
            ratio_number(low),
            ratio_number(high),
            ratio_number(
                ratio_range(cells, Transport::Ring, |s| rate(cells, Transport::Memcpy, s)).0
            ),
            ratio_number(
                ratio_range(cells, Transport::Ring, |s| rate(cells, Transport::Memcpy, s)).1
            ),
        ));
    }
    for line in ring_places(cells).into_iter().chain(busy_ring(cells)) {
        parent.explain(line);
    }
    lesson.pause_for(Duration::from_secs(2));
}

/// Where the ring's two processes ran at each size (probed just before and just after), and
/// what a far or shared CPU did to its figure.
pub fn ring_places(cells: &[Cell]) -> Vec<String> {
    let places: Vec<(usize, Distance)> = cells
        .iter()
        .filter(|c| c.transport == Transport::Ring)
        .filter_map(|c| Some((c.size, c.result.as_ref().ok()?.distance?)))
        .collect();
    if places.is_empty() {
        return Vec::new();
    }
    let each: Vec<String> =
        places.iter().map(|(size, d)| format!("{} {}", size_text(*size), d.describe())).collect();
    let mut story = vec![format!(
        "where the ring's two processes ran, probed with a cache line sent there and back before \
         and after each size: {}",
        each.join("; ")
    )];
    let far: Vec<String> = places
        .iter()
        .filter(|(_, d)| d.far() && !d.same_cpu())
        .map(|(size, _)| size_text(*size))
        .collect();
    if !far.is_empty() {
        story.push(format!(
            "at {} the two CPUs shared no cache: a cache line took more than {} to go there and \
             back. On a virtual machine the host decides where its CPUs are, and may move them at \
             any moment (lscpu cannot tell); every byte of the ring then crosses between them. \
             Such a figure is about where the CPUs were, not about shared memory: run again to see \
             the other case",
            far.join(", "),
            time_text(FAR_NS)
        ));
    }
    if places.iter().any(|(_, d)| d.same_cpu()) {
        story.push(
            "where both ran on one CPU, the ring's writer and reader took turns (each yields when \
             it must wait): each copy waited for the other"
                .to_owned(),
        );
    }
    story
}

/// A sentence for the ring's figures that were measured while its processes waited for a
/// CPU (at least [`CONTENDED`] of the time), if any were.
pub fn busy_ring(cells: &[Cell]) -> Option<String> {
    let busy: Vec<(usize, f64)> = cells
        .iter()
        .filter(|c| c.transport == Transport::Ring)
        .filter_map(|c| c.result.as_ref().ok().map(|s| (c.size, s.cpu_wait)))
        .filter(|&(_, wait)| wait >= CONTENDED)
        .collect();
    let (first, last) = (busy.first()?, busy.last()?);
    let sizes: Vec<String> = busy.iter().map(|&(size, _)| size_text(size)).collect();
    let (low, high) = busy.iter().fold((1.0f64, 0.0f64), |(l, h), &(_, w)| (l.min(w), h.max(w)));
    let share = if first == last || percent(low) == percent(high) {
        percent(high)
    } else {
        format!("{} to {}", percent(low), percent(high))
    };
    Some(format!(
        "the ring's figure{} at {} {} about a busy machine: its processes waited for a CPU {share} \
         of the time. A ring whose reader spins needs a CPU for each side",
        if busy.len() > 1 { "s" } else { "" },
        sizes.join(", "),
        if busy.len() > 1 { "are" } else { "is" },
    ))
}

/// A ratio as a short number: `0.83`, `12`.
fn ratio_number(ratio: f64) -> String {
    ratio_text(ratio).trim_end_matches('×').to_owned()
}

/// The lowest and highest ratio of `transport`'s rate to `other(size)` over 4 KiB and up.
fn ratio_range(cells: &[Cell], transport: Transport, other: impl Fn(usize) -> f64) -> (f64, f64) {
    [4 << 10, 64 << 10, 1 << 20]
        .iter()
        .map(|&size| rate(cells, transport, size) / other(size))
        .filter(|r| r.is_finite())
        .fold((f64::NAN, f64::NAN), |(low, high), r| (low.min(r), high.max(r)))
}

/// Part 2's table: each round trip's time, rate, ratio to spinning, the share of the time a
/// process waited for a CPU, and a bar; then what this run showed.
pub fn show_round_trips(lesson: &Lesson, plan: &Plan, results: &[RoundTrip]) {
    let spin = round_trip_ns(results, "shm spin");
    let slowest = results.iter().map(|r| r.sample.ns_per_op).fold(0.0, f64::max);
    let lines: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.name.to_owned(),
                time_text(r.sample.ns_per_op),
                count_text(r.sample.ops_per_s()),
                ratio_text(r.sample.ns_per_op / spin),
                percent(r.sample.cpu_wait),
            ]
        })
        .collect();
    let bars: Vec<Option<(f64, f64)>> =
        results.iter().map(|r| Some((r.sample.ns_per_op, slowest))).collect();
    let header = ["mechanism", "round trip", "per second", "vs spin", "CPU wait"];
    print_block(format!(
        "\n{}",
        table_with_bars(&header, lines, &bars, (20, shm_workbook::fold::columns()))
    ));
    for line in round_trip_story(plan, results) {
        lesson.narrator("parent").explain(line);
    }
    lesson.pause_for(Duration::from_secs(2));
}

/// [`table`] with a bar column last: row `i` gets a bar for `bars[i]` (its value, and the
/// value of a full bar) if it has one. The bars take `most` cells, or fewer where the table
/// would otherwise be wider than `columns` (4 at least).
pub fn table_with_bars(
    header: &[&str],
    mut rows: Vec<Vec<String>>,
    bars: &[Option<(f64, f64)>],
    (most, columns): (usize, usize),
) -> String {
    // As wide as the rows that get a bar are (a remark that spans the columns has no bar).
    let barred: Vec<Vec<String>> =
        rows.iter().zip(bars).filter(|(_, b)| b.is_some()).map(|(row, _)| row.clone()).collect();
    let width = table(header, &barred).lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let cells = columns.saturating_sub(width + 2).clamp(4, most);
    for (row, bar_of) in rows.iter_mut().zip(bars) {
        if let Some((value, full)) = bar_of {
            row.push(bar(*value, *full, cells));
        }
    }
    let mut header = header.to_vec();
    header.push("");
    table(&header, &rows)
}

/// What Part 2 showed on this machine, in sentences: the sleeping round trips against the
/// pipe, and spinning, with what a busy machine did to it.
pub fn round_trip_story(plan: &Plan, results: &[RoundTrip]) -> Vec<String> {
    let mut story = vec![
        "CPU wait: the largest share of the measured time that one of the two processes spent \
         runnable but waiting for a CPU (the kernel's run-queue delay, \
         /proc/<pid>/schedstat)"
            .to_owned(),
    ];
    if !plan.optimised() {
        return story;
    }
    let pipe = round_trip_ns(results, "pipe pair");
    let sleepers: Vec<f64> =
        ["pipe pair", "Unix socket", "SysV msg queue", "shm futex", "SysV semaphores"]
            .iter()
            .map(|name| round_trip_ns(results, name))
            .filter(|ns| ns.is_finite())
            .collect();
    let (low, high) =
        sleepers.iter().fold((f64::INFINITY, 0.0f64), |(l, h), &ns| (l.min(ns), h.max(ns)));
    story.push(format!(
        "on this machine, the round trips that sleep in the kernel (pipe, socket, queue, futex, \
         semaphores) took {} to {}: whatever carries the 8 bytes, each pays for two wake-ups and \
         two context switches",
        time_text(low),
        time_text(high)
    ));
    let Some(spin) = results.iter().find(|r| r.name == "shm spin") else { return story };
    let (ns, wait) = (spin.sample.ns_per_op, spin.sample.cpu_wait);
    if ns >= pipe / 4.0 {
        story.push(format!(
            "here spinning took {} a round trip, {} the pipe's {}: its processes waited for a CPU \
             {} of the time ({}). Spinning needs a CPU of its own for each side: while another \
             program holds one, a spinner burns its time slice waiting for a partner that cannot \
             run. That is Part 3's case, and this machine produced it by itself",
            time_text(ns),
            ratio_text(ns / pipe),
            time_text(pipe),
            percent(wait),
            plan.load_text()
        ));
    } else if wait >= CONTENDED {
        story.push(format!(
            "here spinning took {} a round trip, {} faster than the pipe, though its processes \
             waited for a CPU {} of the time ({}): a spinner that loses its CPU stalls until it \
             gets it back, and Part 3 shows how far that goes",
            time_text(ns),
            ratio_text(pipe / ns),
            percent(wait),
            plan.load_text()
        ));
    } else {
        story.push(format!(
            "here spinning took {} a round trip, {} faster than the pipe: each side had a CPU of \
             its own (they waited for one {} of the time), and the answer was seen the moment its \
             cache line arrived",
            time_text(ns),
            ratio_text(pipe / ns),
            percent(wait)
        ));
    }
    story
}

/// Part 3's table: the pinned round trips against Part 2's spinning round trip; then, with
/// `--step`, a pause to see where the kernel keeps the CPUs a process may run on.
pub fn show_one_cpu(lesson: &Lesson, plan: &Plan, one_cpu: &OneCpu, round_trips: &[RoundTrip]) {
    let parent = lesson.narrator("parent");
    let spin_apart = round_trip_ns(round_trips, "shm spin");
    let OneCpu { spin_done, spin_wanted, spin_ns, futex_done, futex_ns, .. } = *one_cpu;
    let lines = vec![
        vec!["shm spin, Part 2".to_owned(), time_text(spin_apart), "1.00×".to_owned()],
        vec![
            format!("shm spin, one CPU ({spin_done} of {spin_wanted})"),
            time_text(spin_ns),
            ratio_text(spin_ns / spin_apart),
        ],
        vec![
            format!("shm futex, one CPU ({futex_done})"),
            time_text(futex_ns),
            ratio_text(futex_ns / spin_apart),
        ],
    ];
    print_block(format!("\n{}", table(&["round trip", "each", "vs Part 2"], &lines)));
    parent.explain(format!(
        "on one CPU a spinner only wastes its time slice: the answer it waits for cannot be \
         written until the scheduler stops it. Here that made a round trip {}, against {} for \
         a pair that sleeps on a futex and hands the CPU over at once",
        time_text(spin_ns),
        time_text(futex_ns)
    ));
    lesson.pause_for(Duration::from_secs(2));
    pause_after_one_cpu(lesson, plan);
}

/// Part 3's `--step` pause: where the kernel keeps the CPUs a process may run on.
fn pause_after_one_cpu(lesson: &Lesson, plan: &Plan) {
    let pid = nix::unistd::getpid();
    let cpus: Vec<String> = plan.cpus.iter().map(usize::to_string).collect();
    lesson.step(
        &lesson.narrator("parent"),
        &format!(
            "The pinger and the echo could run on CPU {} only (sched_setaffinity).\n\
             In another terminal, run:  grep Cpus_allowed_list /proc/{pid}/status\n\
             This process is free again: it may run on CPUs {}.",
            plan.one_cpu(),
            cpus.join(", ")
        ),
    );
}

/// Part 4's `--step` pause: the run has removed what it made.
pub fn pause_at_the_end(lesson: &Lesson) {
    let pid = nix::unistd::getpid();
    lesson.step(
        &lesson.narrator("parent"),
        &format!(
            "Every segment, semaphore set and queue of this run is removed already.\n\
             In another terminal, run:  ipcs -m -p\n\
             No segment there names this process ({pid}) or a child of it as its creator (cpid)."
        ),
    );
}

/// Part 4: what this run showed, in sentences made from its figures (none from an unoptimised
/// build: those figures are about Rust's debug code).
pub fn conclude(
    lesson: &Lesson,
    plan: &Plan,
    cells: &[Cell],
    round_trips: &[RoundTrip],
    one_cpu: &OneCpu,
) {
    let parent = lesson.narrator("parent");
    if !plan.optimised() {
        parent.explain(format!(
            "no conclusion from this run: it was not optimised (a plain Rust copy loop ran \
             {:.0}× slower than memcpy), so its figures measure unoptimised Rust, not IPC. \
             Run: `cargo run --release --bin lesson13`",
            plan.slowdown
        ));
        return;
    }
    let (name, best) = best_kernel(cells, 64 << 10);
    let ring = cells.iter().find(|c| c.transport == Transport::Ring && c.size == 64 << 10);
    let sample = ring.and_then(|c| c.result.as_ref().ok());
    let why = match sample {
        Some(s) if s.distance.is_some_and(|d| d.far()) => "; its CPUs were far apart then (Part 1)",
        Some(s) if s.cpu_wait >= CONTENDED => "; its processes waited for a CPU then (Part 1)",
        _ => "",
    };
    parent.explain(format!(
        "bulk data: at 64 KiB the ring moved {}, {} the fastest kernel mechanism here \
         ({name}, {}){why}",
        rate_text(rate(cells, Transport::Ring, 64 << 10)),
        ratio_text(rate(cells, Transport::Ring, 64 << 10) / best),
        rate_text(best)
    ));
    let (name, best) = best_kernel(cells, 64);
    parent.explain(format!(
        "small messages: {} 64-byte messages a second through the ring, {} through the fastest \
         kernel mechanism ({name})",
        count_text(rate(cells, Transport::Ring, 64) / 64.0),
        count_text(best / 64.0)
    ));
    let (spin, futex, pipe) = (
        round_trip_ns(round_trips, "shm spin"),
        round_trip_ns(round_trips, "shm futex"),
        round_trip_ns(round_trips, "pipe pair"),
    );
    parent.explain(format!(
        "a request and its answer: {} spinning, {} sleeping on a futex, {} through a pipe; on \
         one CPU, {} spinning. Shared memory wins the round trip only by spinning, on CPUs of \
         their own",
        time_text(spin),
        time_text(futex),
        time_text(pipe),
        time_text(one_cpu.spin_ns)
    ));
    parent.explain(
        "and pipes, sockets and queues give you framing, blocking, back-pressure and cleanup for \
         free: \"fastest\" is not the same as \"best\"",
    );
}

/// The lowest ratio `ring / other` over the large sizes (4 KiB, 64 KiB, 1 MiB), with a line
/// saying where it was; `other` names and measures the mechanism compared at a size.
fn worst_ring_ratio(cells: &[Cell], other: impl Fn(usize) -> (&'static str, f64)) -> (f64, String) {
    let mut worst = (f64::INFINITY, String::new());
    for size in [4 << 10, 64 << 10, 1 << 20] {
        let (name, rate_of_other) = other(size);
        let ring = rate(cells, Transport::Ring, size);
        let ratio = ring / rate_of_other;
        if ratio < worst.0 || ratio.is_nan() {
            worst = (
                ratio,
                format!(
                    "lowest at {}: ring {} vs {name} {}",
                    size_text(size),
                    rate_text(ring),
                    rate_text(rate_of_other)
                ),
            );
        }
    }
    worst
}

/// The workbook's own targets, the figures it promises on an idle machine with two CPUs (for
/// the project's benchmark and the `--json` report; the student's story does not judge its
/// machine by them): the ring at least twice the best kernel mechanism and at least 0.6 of
/// `memcpy` from 4 KiB up, the spinning round trip at
/// most 1/20 of the pipe's, ten million 64-byte messages per second through the ring, and the
/// whole run (`seconds`) within about 30 s.
pub fn check_targets(
    cells: &[Cell],
    round_trips: &[RoundTrip],
    reps: usize,
    seconds: f64,
) -> Vec<Target> {
    let medians = format!("medians of {reps} repetitions");
    // 1. the ring at least 2x the best kernel mechanism at 4 KiB, 64 KiB and 1 MiB
    let worst = worst_ring_ratio(cells, |size| best_kernel(cells, size));
    let ring_vs_kernel =
        Target::at_least("ring_vs_best_kernel", 2.0, worst.0, format!("{}; {medians}", worst.1));
    // 2. the ring at least 0.6x memcpy from 4 KiB up
    let worst = worst_ring_ratio(cells, |size| ("memcpy", rate(cells, Transport::Memcpy, size)));
    let ring_vs_memcpy =
        Target::at_least("ring_vs_memcpy", 0.6, worst.0, format!("{}; {medians}", worst.1));
    // 3. the spin round trip at most 1/20 of the pipe round trip
    let (spin, pipe) =
        (round_trip_ns(round_trips, "shm spin"), round_trip_ns(round_trips, "pipe pair"));
    let spin_vs_pipe = Target::at_most(
        "spin_vs_pipe_round_trip",
        0.05,
        spin / pipe,
        format!("spin {} vs pipe {}; {medians}", time_text(spin), time_text(pipe)),
    );
    // 4. at least 10 million 64-byte messages per second through the ring
    let per_s = rate(cells, Transport::Ring, 64) / 64.0;
    let ring_64 = Target::at_least(
        "ring_64_byte_messages_per_s",
        10e6,
        per_s,
        format!("{} 64-byte messages per second; {medians}", count_text(per_s)),
    );
    // 5. the whole run within about 30 s
    let run_time =
        Target::at_most("run_seconds", 30.0, seconds, format!("the run took {seconds:.1} s"));
    vec![ring_vs_kernel, ring_vs_memcpy, spin_vs_pipe, ring_64, run_time]
}

/// `--targets`: one line per target on stderr (its goal, the value, met or not, the figures
/// behind it); whether all were met.
pub fn print_targets(targets: &[Target]) -> bool {
    for target in targets {
        let verdict = if target.met { "met" } else { "NOT met" };
        eprintln!(
            "target {}: goal {}, value {:.4}: {verdict}   ({})",
            target.name, target.goal, target.value, target.detail
        );
    }
    targets.iter().all(|target| target.met)
}

/// The figures of a whole run.
#[derive(Clone, Debug)]
pub struct Figures {
    /// Part 1.
    pub cells: Vec<Cell>,
    /// Part 2.
    pub round_trips: Vec<RoundTrip>,
    /// Part 3.
    pub one_cpu: OneCpu,
    /// How long the run took, in seconds.
    pub seconds: f64,
}

/// The end of a run: the `--json` document, on the stdout kept for it, and with `--targets`
/// the workbook's own targets on stderr (then an error if one was missed).
pub fn finish(lesson: &Lesson, plan: &Plan, json: Option<File>, figures: &Figures) -> Result<()> {
    let Figures { cells, round_trips, one_cpu, seconds } = figures;
    let targets = check_targets(cells, round_trips, plan.reps, *seconds);
    if let Some(mut out) = json {
        let json = to_json(plan, cells, round_trips, one_cpu, &targets, *seconds);
        out.write_all(format!("{}\n", json.render()).as_bytes())
            .map_err(|err| Error::io("writing the JSON to stdout", err))?;
    }
    if lesson.switch("--targets") && !print_targets(&targets) {
        return Err(Error::other(
            "checking the workbook's targets",
            "at least one target was missed (see the lines above)",
        )
        .with_hint(
            "the targets hold on an idle machine with two CPUs: run again when nothing else runs",
        ));
    }
    Ok(())
}

/// The fields every measured entry of the JSON carries.
fn sample_fields(sample: &Sample) -> Vec<(&'static str, Json)> {
    let mut fields = vec![
        ("verified", Json::Bool(true)),
        ("messages_verified", Json::from(sample.total_ops)),
        ("per_repetition", Json::from(sample.ops_per_rep)),
        (
            "repetitions_ns_per_op",
            Json::Array(sample.reps_ns_per_op.iter().map(|&ns| Json::Number(ns)).collect()),
        ),
        ("cpu_wait", Json::Number(sample.cpu_wait)),
    ];
    if let Some(distance) = sample.distance {
        fields.push(("cache_line_round_trip_ns", Json::Number(distance.round_trip_ns)));
        fields.push((
            "cpus",
            Json::Array(vec![
                Json::Number(distance.cpus.0 as f64),
                Json::Number(distance.cpus.1 as f64),
            ]),
        ));
    }
    fields
}

/// The whole run as the JSON document of `--json`.
pub fn to_json(
    plan: &Plan,
    cells: &[Cell],
    round_trips: &[RoundTrip],
    one_cpu: &OneCpu,
    targets: &[Target],
    seconds: f64,
) -> Json {
    let throughput = cells
        .iter()
        .map(|cell| {
            let ring = rate(cells, Transport::Ring, cell.size);
            let mut fields = vec![
                ("mechanism", Json::from(cell.transport.key())),
                ("size", Json::from(cell.size as u64)),
            ];
            match &cell.result {
                Ok(sample) => {
                    fields.push(("fits", Json::Bool(true)));
                    fields.push(("bytes_per_s", Json::Number(cell.bytes_per_s())));
                    fields.push(("messages_per_s", Json::Number(sample.ops_per_s())));
                    fields.push(("ratio_to_ring", Json::Number(cell.bytes_per_s() / ring)));
                    fields.extend(sample_fields(sample));
                }
                Err(why) => {
                    fields.push(("fits", Json::Bool(false)));
                    fields.push(("note", Json::from(why.as_str())));
                }
            }
            Json::object(fields)
        })
        .collect();
    let spin = round_trip_ns(round_trips, "shm spin");
    let round_trip = round_trips
        .iter()
        .map(|r| {
            let mut fields = vec![
                ("mechanism", Json::from(r.name)),
                ("ns", Json::Number(r.sample.ns_per_op)),
                ("ratio_to_spin", Json::Number(r.sample.ns_per_op / spin)),
            ];
            fields.extend(sample_fields(&r.sample));
            Json::object(fields)
        })
        .collect();
    Json::object([
        ("lesson", Json::from("lesson13")),
        (
            "machine",
            Json::object([
                ("cpus_allowed", Json::from(plan.cpus.len() as u64)),
                ("optimized_build", Json::Bool(plan.optimised())),
                ("unoptimised_slowdown", Json::Number(plan.slowdown)),
                ("load_average", plan.load.map_or(Json::Null, Json::Number)),
                ("cpu_pressure", plan.pressure.map_or(Json::Null, Json::Number)),
            ]),
        ),
        ("fast", Json::Bool(plan.fast)),
        ("repetitions", Json::from(plan.reps as u64)),
        ("sizes", Json::Array(plan.sizes.iter().map(|&s| Json::from(s as u64)).collect())),
        ("ring_bytes", Json::from(plan.ring_bytes as u64)),
        ("throughput", Json::Array(throughput)),
        ("round_trip", Json::Array(round_trip)),
        (
            "one_cpu",
            Json::object([
                ("cpu", Json::from(one_cpu.cpu as u64)),
                ("spin_round_trips_wanted", Json::from(one_cpu.spin_wanted)),
                ("spin_round_trips_done", Json::from(one_cpu.spin_done)),
                ("spin_ns", Json::Number(one_cpu.spin_ns)),
                ("futex_round_trips_done", Json::from(one_cpu.futex_done)),
                ("futex_ns", Json::Number(one_cpu.futex_ns)),
            ]),
        ),
        ("seconds", Json::Number(seconds)),
        ("targets", Json::Array(targets.iter().map(Target::json).collect())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample of `ns` nanoseconds per operation.
    fn sample(ns: f64) -> Sample {
        Sample {
            ns_per_op: ns,
            ops_per_rep: 10,
            total_ops: 40,
            reps_ns_per_op: vec![ns; 3],
            cpu_wait: 0.01,
            distance: None,
        }
    }

    /// A cell moving `bytes_per_s` at `size` (or not fitting, for NaN).
    fn cell(transport: Transport, size: usize, bytes_per_s: f64) -> Cell {
        let result = if bytes_per_s.is_nan() {
            Err("does not fit".to_owned())
        } else {
            Ok(sample(1e9 * size as f64 / bytes_per_s))
        };
        Cell { transport, size, result }
    }

    /// Every transport at every size: memcpy 10 GB/s, the ring `ring` GB/s, the pipe
    /// 1 GB/s, the socket 0.5 GB/s, the System V queue 4 GB/s but only at 64 B, no POSIX queue.
    fn cells(ring: f64) -> Vec<Cell> {
        let mut cells = Vec::new();
        for size in [64, 4 << 10, 64 << 10, 1 << 20] {
            cells.push(cell(Transport::Memcpy, size, 10e9));
            cells.push(cell(Transport::Ring, size, ring * 1e9));
            cells.push(cell(Transport::Pipe, size, 1e9));
            cells.push(cell(Transport::Socket, size, 0.5e9));
            cells.push(cell(Transport::SysvQueue, size, if size == 64 { 4e9 } else { f64::NAN }));
            cells.push(cell(Transport::PosixQueue, size, f64::NAN));
        }
        cells
    }

    fn round_trips(spin: f64, pipe: f64) -> Vec<RoundTrip> {
        vec![
            RoundTrip { name: "pipe pair", sample: sample(pipe) },
            RoundTrip { name: "shm spin", sample: sample(spin) },
        ]
    }

    fn plan() -> Plan {
        Plan {
            reps: 3,
            rep_time: Duration::from_millis(5),
            sizes: vec![64, 4 << 10, 64 << 10, 1 << 20],
            ring_bytes: 4 << 20,
            round_trips: 2,
            limits: shm_workbook::sysv::msg::Limits {
                sysv_max_message: 8192,
                sysv_max_queue_bytes: 16384,
                posix_max_message: 8192,
                posix_max_messages: 10,
            },
            cpus: vec![0, 1],
            fast: true,
            slowdown: 1.0,
            load: Some(0.2),
            pressure: None,
        }
    }

    #[test]
    fn the_best_kernel_mechanism_ignores_what_did_not_fit() {
        let cells = cells(5.0);
        let (name, best) = best_kernel(&cells, 4096);
        assert_eq!(name, "pipe");
        assert!((best - 1e9).abs() < 1.0, "{best}");
        assert_eq!(best_kernel(&cells, 64).0, "SysV msg queue");
        assert_eq!(best_kernel(&[], 64), ("none", 0.0));
        assert!(rate(&cells, Transport::PosixQueue, 64).is_nan(), "not measured: NaN");
    }

    #[test]
    fn targets_are_met_by_good_figures_and_missed_by_bad_ones() {
        // 7 GB/s ring: 7x the pipe, 0.7x memcpy; 64 B: 7e9 / 64 = 109 M messages per second.
        let good = check_targets(&cells(7.0), &round_trips(100.0, 10_000.0), 3, 12.0);
        let names: Vec<&str> = good.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ring_vs_best_kernel",
                "ring_vs_memcpy",
                "spin_vs_pipe_round_trip",
                "ring_64_byte_messages_per_s",
                "run_seconds"
            ]
        );
        assert!(good.iter().all(|t| t.met), "{good:#?}");
        assert!((good[0].value - 7.0).abs() < 1e-6, "{}", good[0].value);
        assert!(good[0].detail.starts_with("lowest at 4 KiB: ring 7.00 GB/s vs pipe 1.00 GB/s"));
        let half = check_targets(&cells(5.0), &round_trips(100.0, 10_000.0), 3, 12.0);
        assert!(!half[1].met, "half of memcpy is below the 0.6 promised: {:?}", half[1]);
        assert!(good[0].detail.ends_with("; medians of 3 repetitions"), "{}", good[0].detail);
        assert_eq!(good[4].detail, "the run took 12.0 s");

        // A 0.5 MB/s ring, a slow spin and a long run miss every target.
        let bad = check_targets(&cells(0.5e-3), &round_trips(1000.0, 10_000.0), 3, 31.0);
        assert!(bad.iter().all(|t| !t.met), "{bad:#?}");

        // Missing figures are NaN, which meets no target.
        let missing = check_targets(&[], &[], 3, 1.0);
        assert!(missing[..4].iter().all(|t| !t.met && t.value.is_nan()), "{missing:#?}");
        assert!(missing[4].met);
    }

    #[test]
    fn the_story_says_what_a_busy_machine_did_to_spinning() {
        let mut busy = round_trips(21_000.0, 8_500.0);
        busy[1].sample.cpu_wait = 0.48;
        let story = round_trip_story(&plan(), &busy).join("\n");
        assert!(
            story.contains("here spinning took 21.00 µs a round trip, 2.47× the pipe's 8.50 µs"),
            "{story}"
        );
        assert!(
            story.contains(
                "waited for a CPU 48% of the time (load average 0.20 with 2 CPUs allowed)"
            ),
            "{story}"
        );
        assert!(story.contains("Part 3's case"), "{story}");
        let idle = round_trip_story(&plan(), &round_trips(350.0, 40_000.0)).join("\n");
        assert!(
            idle.contains("here spinning took 350 ns a round trip, 114× faster than the pipe"),
            "{idle}"
        );
        let mut debug = plan();
        debug.slowdown = 30.0;
        assert_eq!(round_trip_story(&debug, &busy).len(), 1, "no conclusion from a debug build");
    }

    #[test]
    fn the_rings_places_are_told() {
        let mut cells = cells(5.0);
        assert!(ring_places(&cells).is_empty(), "nothing probed, nothing said");
        for cell in cells.iter_mut().filter(|c| c.transport == Transport::Ring) {
            if let Ok(sample) = &mut cell.result {
                let round_trip_ns = if cell.size == 65536 { 390.0 } else { 95.0 };
                sample.distance = Some(Distance { round_trip_ns, cpus: (0, 1) });
            }
        }
        let story = ring_places(&cells).join("\n");
        assert!(
            story.contains("64 B near (95 ns there and back, CPUs 0 and 1); 4 KiB near"),
            "{story}"
        );
        assert!(
            story.contains("64 KiB far apart (390 ns there and back, CPUs 0 and 1)"),
            "{story}"
        );
        assert!(story.contains("at 64 KiB the two CPUs shared no cache"), "{story}");
    }

    #[test]
    fn a_busy_ring_is_named_once() {
        let mut cells = cells(5.0);
        assert_eq!(busy_ring(&cells), None);
        for cell in cells.iter_mut().filter(|c| c.transport == Transport::Ring && c.size >= 4096) {
            if let Ok(sample) = &mut cell.result {
                sample.cpu_wait = if cell.size == 4096 { 0.3 } else { 0.45 };
            }
        }
        assert_eq!(
            busy_ring(&cells).unwrap(),
            "the ring's figures at 4 KiB, 64 KiB, 1 MiB are about a busy machine: its processes \
             waited for a CPU 30% to 45% of the time. A ring whose reader spins needs a CPU for \
             each side"
        );
    }

    #[test]
    fn bars_shrink_to_fit_the_width_and_remarks_do_not_shrink_them() {
        let rows = vec![
            vec!["pipe".to_owned(), "1.00 GB/s".to_owned()],
            vec!["slow".to_owned(), "0.50 GB/s".to_owned()],
            vec!["queue".to_owned(), "does not fit: a long remark across the columns".to_owned()],
        ];
        let bars = [Some((1.0, 1.0)), Some((0.5, 1.0)), None];
        let wide = table_with_bars(&["mechanism", "rate"], rows.clone(), &bars, (24, 100));
        assert!(wide.contains("  1.00 GB/s  ████████████████████████\n"), "{wide}");
        let narrow = table_with_bars(&["mechanism", "rate"], rows.clone(), &bars, (24, 40));
        let barred = narrow.lines().filter(|l| l.contains("GB/s"));
        assert!(barred.clone().count() == 2 && barred.into_iter().all(|l| l.chars().count() <= 40));
        let full_bar = narrow.lines().find(|l| l.starts_with("  pipe")).unwrap();
        assert_eq!(full_bar.chars().count(), 40, "the barred rows fill the width: {narrow}");
        let tiny = table_with_bars(&["mechanism", "rate"], rows, &bars, (24, 10));
        assert!(tiny.contains("GB/s  ████\n"), "4 cells at least: {tiny}");
    }

    #[test]
    fn the_json_has_every_key() {
        let cells = cells(5.0);
        let round_trips = round_trips(100.0, 10_000.0);
        let one_cpu = OneCpu {
            cpu: 1,
            spin_done: 0,
            spin_wanted: 5,
            spin_ns: f64::NAN,
            futex_done: 200,
            futex_ns: 5000.0,
        };
        let targets = check_targets(&cells, &round_trips, 3, 12.0);
        let json = to_json(&plan(), &cells, &round_trips, &one_cpu, &targets, 12.0);
        let Json::Object(top) = &json else { panic!("not an object: {json:?}") };
        let keys: Vec<&str> = top.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "lesson",
                "machine",
                "fast",
                "repetitions",
                "sizes",
                "ring_bytes",
                "throughput",
                "round_trip",
                "one_cpu",
                "seconds",
                "targets"
            ]
        );
        let text = json.render();
        assert!(text.contains("\"mechanism\": \"shm_ring\""), "{text}");
        assert!(text.contains("\"ratio_to_ring\": 1,"), "{text}");
        assert!(text.contains("\"fits\": false,\n      \"note\": \"does not fit\""), "{text}");
        assert!(text.contains("\"ratio_to_spin\": 100,"), "{text}");
        assert!(text.contains("\"spin_ns\": null,"), "NaN is null: {text}");
        assert!(text.contains("\"ring_bytes\": 4194304,"), "{text}");
        assert!(text.contains("\"name\": \"run_seconds\""), "{text}");
        for key in ["messages_verified", "per_repetition", "repetitions_ns_per_op", "verified"] {
            assert!(text.contains(&format!("\"{key}\": ")), "{key} missing: {text}");
        }
    }
}
