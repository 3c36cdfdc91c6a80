//! The bookkeeping and reporting of lesson 13: the figures each part collects ([`Cell`],
//! [`RoundTrip`], [`OneCpu`]), the tables the student reads, the targets the figures are
//! checked against, and the JSON document of `--json`.

use std::time::Duration;

use crate::lesson::Lesson;
use crate::narrate::print_block;

use super::plan::Plan;
use super::{
    Json, Sample, Target, bar, count_text, debug_build, rate_text, ratio_text, size_text, table,
    time_text,
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

/// Every transport, in the order of the tables.
pub const TRANSPORTS: [Transport; 6] = [
    Transport::Memcpy,
    Transport::Ring,
    Transport::Pipe,
    Transport::Socket,
    Transport::SysvQueue,
    Transport::PosixQueue,
];

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

/// Part 1's tables, one per size in `sizes`: each mechanism's throughput, messages per second,
/// ratio to the ring, and a bar.
pub fn show_throughput(lesson: &Lesson, sizes: &[usize], cells: &[Cell]) {
    let parent = lesson.narrator("parent");
    for &size in sizes {
        let row: Vec<&Cell> = cells.iter().filter(|c| c.size == size).collect();
        let ring = row
            .iter()
            .find(|c| c.transport == Transport::Ring)
            .map_or(f64::NAN, |c| c.bytes_per_s());
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
                    bar(cell.bytes_per_s(), fastest, 28),
                ],
                Err(why) => vec![cell.transport.name().to_owned(), why.clone()],
            })
            .collect();
        print_block(format!(
            "\n  {} messages\n{}",
            size_text(size),
            table(&["mechanism", "throughput", "messages", "vs ring", ""], &lines)
        ));
    }
    parent.explain(
        "pipes, sockets and queues copy every byte twice (into the kernel and out again) and make two system calls per message; the ring copies twice too, but in user space, with no system call at all",
    );
    lesson.pause_for(Duration::from_secs(2));
}

/// Part 2's table: each round trip's time, rate, ratio to spinning, and a bar.
pub fn show_round_trips(lesson: &Lesson, results: &[RoundTrip]) {
    let parent = lesson.narrator("parent");
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
                bar(r.sample.ns_per_op, slowest, 28),
            ]
        })
        .collect();
    print_block(format!(
        "\n{}",
        table(&["mechanism", "round trip", "per second", "vs spin", ""], &lines)
    ));
    parent.explain(
        "a round trip that sleeps in the kernel pays for two wake-ups and two context switches, whatever carries the 8 bytes: futex and semaphores cost about what a pipe costs",
    );
    parent.explain(
        "spinning skips the kernel: the answer is seen the moment its cache line arrives, as long as each process has a CPU of its own",
    );
    lesson.pause_for(Duration::from_secs(2));
}

/// Part 3's table: the pinned round trips against Part 2's spinning round trip.
pub fn show_one_cpu(lesson: &Lesson, one_cpu: &OneCpu, round_trips: &[RoundTrip]) {
    let parent = lesson.narrator("parent");
    let spin_apart = round_trip_ns(round_trips, "shm spin");
    let OneCpu { spin_done, spin_wanted, spin_ns, futex_done, futex_ns, .. } = *one_cpu;
    let lines = vec![
        vec!["shm spin, own CPUs (Part 2)".to_owned(), time_text(spin_apart), "1.00×".to_owned()],
        vec![
            format!("shm spin, one CPU ({spin_done} of {spin_wanted} done)"),
            time_text(spin_ns),
            ratio_text(spin_ns / spin_apart),
        ],
        vec![
            format!("shm futex, one CPU ({futex_done} done)"),
            time_text(futex_ns),
            ratio_text(futex_ns / spin_apart),
        ],
    ];
    print_block(format!("\n{}", table(&["round trip", "each", "vs spin apart"], &lines)));
    parent.explain(
        "on one CPU a spinner only wastes its time slice: the answer it waits for cannot be written until the scheduler stops it. Sleeping (futex) hands the CPU over at once",
    );
    lesson.pause_for(Duration::from_secs(2));
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

/// The figures checked against the lesson's five targets: the ring at least twice the best
/// kernel mechanism and at least half of `memcpy` from 4 KiB up, the spinning round trip at
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
    // 2. the ring at least 0.5x memcpy from 4 KiB up
    let worst = worst_ring_ratio(cells, |size| ("memcpy", rate(cells, Transport::Memcpy, size)));
    let ring_vs_memcpy =
        Target::at_least("ring_vs_memcpy", 0.5, worst.0, format!("{}; {medians}", worst.1));
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

/// One line per target: its goal, the value, met or not, and the figures behind it.
pub fn show_targets(lesson: &Lesson, targets: &[Target]) {
    let parent = lesson.narrator("parent");
    for target in targets {
        let verdict = if target.met { "met" } else { "NOT met" };
        let value = if target.value >= 1000.0 {
            format!("{:.3e}", target.value)
        } else {
            format!("{:.3}", target.value)
        };
        parent
            .line()
            .text(format!("target {}: goal {}, value ", target.name, target.goal))
            .value(value)
            .text(": ")
            .value(verdict)
            .note(&target.detail)
            .print();
    }
}

/// The fields every measured entry of the JSON carries.
fn sample_fields(sample: &Sample) -> Vec<(&'static str, Json)> {
    vec![
        ("verified", Json::Bool(true)),
        ("messages_verified", Json::from(sample.total_ops)),
        ("per_repetition", Json::from(sample.ops_per_rep)),
        (
            "repetitions_ns_per_op",
            Json::Array(sample.reps_ns_per_op.iter().map(|&ns| Json::Number(ns)).collect()),
        ),
    ]
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
                ("optimized_build", Json::Bool(!debug_build())),
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
        Sample { ns_per_op: ns, ops_per_rep: 10, total_ops: 40, reps_ns_per_op: vec![ns; 3] }
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
            limits: crate::msg::Limits {
                sysv_max_message: 8192,
                sysv_max_queue_bytes: 16384,
                posix_max_message: 8192,
                posix_max_messages: 10,
            },
            cpus: vec![0, 1],
            fast: true,
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
        // 5 GB/s ring: 5x the pipe, 0.5x memcpy; 64 B: 5e9 / 64 = 78 M messages per second.
        let good = check_targets(&cells(5.0), &round_trips(100.0, 10_000.0), 3, 12.0);
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
        assert!((good[0].value - 5.0).abs() < 1e-6, "{}", good[0].value);
        assert!(good[0].detail.starts_with("lowest at 4 KiB: ring 5.00 GB/s vs pipe 1.00 GB/s"));
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
