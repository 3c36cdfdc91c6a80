//! # Lesson 13: shared memory against pipes, sockets and message queues, measured
//!
//! What it shows: every source document calls shared memory "the fastest IPC". This lesson
//! measures that claim on your machine, between a parent and a forked child, and shows when it
//! holds and when it does not.
//! - Part 1, throughput: messages of 64 B, 4 KiB, 64 KiB and 1 MiB through a pipe, a Unix
//!   domain socket, a System V message queue, a POSIX message queue (where the size fits the
//!   queue's limits) and a single-producer single-consumer ring in shared memory; `memcpy` in
//!   one process is the physical limit.
//! - Part 2, latency: the round trip of an 8-byte message through a pipe pair, a Unix socket, a
//!   System V queue, and shared memory with four ways of waiting: spinning on an atomic,
//!   futex wait/wake, spin-then-futex, and a System V semaphore pair.
//! - Part 3: the same spinning round trip with both processes pinned to one CPU
//!   (`sched_setaffinity`): a disaster, bounded here by a deadline.
//! - Part 4: the targets the figures are checked against, and what they teach.
//!
//! Every message carries its sequence number (at both ends, and the bytes between are checked
//! regularly); a wrong, missing or reordered message stops the run with an error: a fast wrong
//! answer is not a measurement. Each figure is the median of several repetitions.
//!
//! It reproduces the claim of every seed ("shared memory is the fastest IPC") and corrects it:
//! it is fastest for bulk data and when each side spins on its own core; any handoff that
//! sleeps in the kernel costs about what a pipe costs.
//!
//! Run it (measure with a release build: a debug build's figures are several times lower):
//!
//! ```text
//! cargo run --release --bin lesson13            # the whole matrix, about 20 s
//! cargo run --release --bin lesson13 -- --fast  # a quick, rough pass
//! cargo run --release --bin lesson13 -- --json > results.json
//! cargo run --bin lesson13 -- --step           # pause while the System V queue exists
//! ```
//!
//! Things to try: run it while `yes > /dev/null` keeps a core busy and watch the spinning
//! figures collapse; compare `--reps 3` with `--reps 21`; run `ipcs -q` during Part 1 to see
//! the System V queue; raise `/proc/sys/fs/mqueue/msgsize_max` (as root) and see the POSIX
//! queue join the 64 KiB table.

use std::fs::File;
use std::io::{Read, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shm_workbook::bench::plan::Plan;
use shm_workbook::bench::report::{self, Cell, OneCpu, RoundTrip, Row, TRANSPORTS, Transport};
use shm_workbook::bench::sender::{Sender, pipe};
use shm_workbook::bench::{self, Bench, Sample, read_u64, time_round_trips, write_u64};
use shm_workbook::lesson::LessonFlag;
use shm_workbook::msg::{MessageBuffer, MessageQueue, PosixQueue};
use shm_workbook::process;
use shm_workbook::shm::Shareable;
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Attachment, Error, Key, Lesson, Narrator, Result, Segment, SemaphoreSet};
use shm_workbook::{call, posix};

const FLAGS: &[LessonFlag] = &[
    LessonFlag::switch("--json", "print the results as JSON on stdout (the story goes to stderr)"),
    LessonFlag::number(
        "--reps",
        "N",
        "timed repetitions per measurement, of which the median is kept (--fast: 3)",
        7,
        (1, 99),
    ),
];

/// The message sizes of Part 1.
const SIZES: [usize; 4] = [64, 4 << 10, 64 << 10, 1 << 20];
const LARGEST: usize = 1 << 20;
/// The ring's data area: several MiB, so that it is not just a cache-resident toy.
const RING_BYTES: usize = 4 << 20;

fn main() -> Result<()> {
    // With --json, the real stdout is kept for the JSON and the story goes to stderr.
    let json_stdout = if std::env::args().skip(1).any(|arg| arg == "--json") {
        Some(bench::stdout_for_json()?)
    } else {
        None
    };
    let lesson = Lesson::start_with("lesson13", FLAGS);
    let started = Instant::now();
    let plan = Plan::new(&lesson, &SIZES, RING_BYTES, ROUND_TRIPS.len())?;
    plan.introduce(&lesson);
    let mut bench = Bench::new(plan.reps, plan.rep_time, plan.steps());

    lesson.part("Part 1: throughput, one message size at a time");
    let throughput = measure_throughput(&lesson, &plan, &mut bench)?;
    report::show_throughput(&lesson, &SIZES, &throughput);

    lesson.part("Part 2: the round trip of an 8-byte message");
    let round_trips = measure_round_trips(&lesson, &mut bench)?;
    report::show_round_trips(&lesson, &round_trips);

    lesson.part("Part 3: spinning when both processes share one CPU");
    let one_cpu = on_one_cpu(&lesson, &plan, &round_trips)?;

    lesson.part("Part 4: the targets, and the honest lesson");
    let seconds = started.elapsed().as_secs_f64();
    let targets = report::check_targets(&throughput, &round_trips, plan.reps, seconds);
    report::show_targets(&lesson, &targets);
    honest_lesson(&lesson);

    if let Some(fd) = json_stdout {
        let json = report::to_json(&plan, &throughput, &round_trips, &one_cpu, &targets, seconds);
        let mut out = File::from(fd);
        out.write_all(format!("{}\n", json.render()).as_bytes())
            .map_err(|err| Error::io("writing the JSON to stdout", err))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Messages that check themselves
// ---------------------------------------------------------------------------------------------

// ANCHOR: stamp
/// The bytes every message carries between its stamps (the same for every message).
fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| (0..LARGEST).map(|i| (i as u8).wrapping_mul(31) ^ 0x5a).collect())
}

/// Writes the sequence number into the first 8 bytes and its complement into the last 8, so
/// that a lost, repeated, reordered or torn message cannot pass `check`.
fn stamp(message: &mut [u8], seq: u64) {
    let end = message.len();
    message[..8].copy_from_slice(&seq.to_le_bytes());
    message[end - 8..].copy_from_slice(&(!seq).to_le_bytes());
}

/// Checks the stamps of every message, and every 64th message's bytes in between.
fn check(message: &[u8], seq: u64, size: usize) -> Result<()> {
    let end = message.len();
    let word = |at: usize| u64::from_le_bytes(message[at..at + 8].try_into().expect("8 bytes"));
    let wrong = if end != size {
        Some(format!("{end} bytes instead of {size}"))
    } else if word(0) != seq || word(end - 8) != !seq {
        Some(format!("stamps {} and !{} instead of {seq}", word(0), !word(end - 8)))
    } else if seq.is_multiple_of(64) && message[8..end - 8] != pattern()[8..end - 8] {
        Some("the bytes between the stamps differ from what was sent".to_owned())
    } else {
        None
    };
    match wrong {
        None => Ok(()),
        Some(what) => Err(Error::other(
            format!("checking message {seq}"),
            format!("the message received is not the one sent: {what}"),
        )
        .with_hint("a fast wrong answer is a failure: this is a bug in the transport's code")),
    }
}
// ANCHOR_END: stamp

/// Forks a sender that stamps copies of `pattern()` and hands each to `send`.
fn spawn_sender(
    out: &Narrator,
    role: &str,
    send: impl FnMut(&[u8]) -> Result<()>,
) -> Result<Sender> {
    Sender::spawn(out, role, pattern(), stamp, send)
}

// ---------------------------------------------------------------------------------------------
// Part 1: throughput
// ---------------------------------------------------------------------------------------------

fn measure_throughput(lesson: &Lesson, plan: &Plan, bench: &mut Bench) -> Result<Vec<Cell>> {
    let parent = lesson.narrator("parent");
    let mut cells = Vec::new();
    for transport in TRANSPORTS {
        let measured = match transport {
            Transport::Memcpy => memcpy_throughput(&parent, bench)?,
            Transport::Ring => ring_throughput(&parent, bench)?,
            Transport::Pipe => pipe_throughput(&parent, bench)?,
            Transport::Socket => socket_throughput(&parent, bench)?,
            Transport::SysvQueue => sysv_queue_throughput(lesson, &parent, plan, bench)?,
            Transport::PosixQueue => posix_queue_throughput(&parent, plan, bench)?,
        };
        cells.extend(measured.into_iter().map(|(size, result)| Cell { transport, size, result }));
    }
    Ok(cells)
}

/// The limit: one process copying each message into a buffer as large as the ring.
fn memcpy_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Row>> {
    out.explain(format!(
        "memcpy of each message in one process, into a {} buffer like the ring's: no second process, no kernel",
        bench::size_text(RING_BYTES)
    ));
    let mut message = pattern().to_vec();
    let mut destination = vec![0u8; RING_BYTES];
    let mut rows = Vec::new();
    for size in SIZES {
        message[..size].copy_from_slice(&pattern()[..size]);
        let (mut seq, mut offset) = (0u64, 0usize);
        let sample = bench.measure(&format!("memcpy {}", bench::size_text(size)), |count| {
            let start = Instant::now();
            for _ in 0..count {
                stamp(&mut message[..size], seq);
                destination[offset..offset + size].copy_from_slice(&message[..size]);
                check(&destination[offset..offset + size], seq, size)?;
                seq += 1;
                offset = (offset + size) % RING_BYTES;
            }
            Ok(start.elapsed())
        })?;
        rows.push((size, Ok(sample)));
    }
    Ok(rows)
}

// ANCHOR: ring
/// An index alone on its cache line (64 bytes): the producer writes `head` and the consumer
/// writes `tail` all the time, and two indices on one line would bounce it between the cores
/// at every message (false sharing).
#[repr(C, align(64))]
struct CacheLine(AtomicU64);

/// The start of the ring's segment; the data area follows at `RING_DATA`.
#[repr(C)]
struct RingIndices {
    /// Bytes ever written. Only the producer stores it (Release: after the bytes).
    head: CacheLine,
    /// Bytes ever read. Only the consumer stores it (Release: after it has copied them out).
    tail: CacheLine,
}

// SAFETY: #[repr(C)], made only of atomics (valid for every bit pattern, zero included) and
// padding, with no pointers.
unsafe impl Shareable for RingIndices {}

const RING_DATA: usize = 128;

/// One end of the single-producer single-consumer ring, in one process.
struct RingEnd<'a> {
    indices: &'a RingIndices,
    data: *mut u8,
    /// The process at the other end: if it dies, a wait ends with an error.
    partner: Partner,
    /// Our own index (we are the only writer of it, so we keep a copy).
    mine: u64,
    /// The last value we read of the other side's index: reading the other cache line only
    /// when this copy says we must wait saves a cache miss per message.
    theirs: u64,
}

impl<'a> RingEnd<'a> {
    fn new(memory: &'a Attachment, partner: Partner) -> Result<RingEnd<'a>> {
        if memory.len() < RING_DATA + RING_BYTES {
            return Err(Error::other("RingEnd::new", "the segment is smaller than the ring"));
        }
        // SAFETY: RING_DATA < len, so the pointer stays inside the attachment.
        let data = unsafe { memory.as_mut_ptr().add(RING_DATA) };
        Ok(RingEnd { indices: memory.view()?, data, partner, mine: 0, theirs: 0 })
    }

    /// Producer: waits for room, copies `message` in, then publishes it by moving `head`.
    fn push(&mut self, message: &[u8]) -> Result<()> {
        let (start, offset) = place(self.mine, message.len())?;
        let end = start + message.len() as u64;
        spin_until(self.partner, || {
            if end - self.theirs <= RING_BYTES as u64 {
                return true;
            }
            self.theirs = self.indices.tail.0.load(Ordering::Acquire);
            false
        })?;
        // SAFETY: [offset, offset + len) lies inside the data area (`place` checked it). The
        // consumer has finished reading these bytes: its Release store of `tail`, which our
        // Acquire load saw, came after its copy. It will not read them before our Release
        // store of `head` below. So nobody else touches them during this plain copy.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr(), self.data.add(offset), message.len())
        };
        self.mine = end;
        self.indices.head.0.store(end, Ordering::Release);
        Ok(())
    }

    /// Consumer: waits for a message, copies it out, then frees its bytes by moving `tail`.
    fn pop(&mut self, message: &mut [u8]) -> Result<()> {
        let (start, offset) = place(self.mine, message.len())?;
        let end = start + message.len() as u64;
        spin_until(self.partner, || {
            if self.theirs >= end {
                return true;
            }
            self.theirs = self.indices.head.0.load(Ordering::Acquire);
            false
        })?;
        // SAFETY: the bytes lie inside the data area (`place`). The producer wrote them before
        // its Release store of `head`, which our Acquire load saw, and will not write them
        // again until our Release store of `tail` below. Nobody writes them during this copy.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.data.add(offset),
                message.as_mut_ptr(),
                message.len(),
            )
        };
        self.mine = end;
        self.indices.tail.0.store(end, Ordering::Release);
        Ok(())
    }
}

/// Where the next message of `len` bytes goes, after byte `index` of the stream: its start in
/// the stream (rounded up to a multiple of `len`, which both ends compute alike) and its
/// offset in the data area. Every size divides the ring's, so no message wraps around the end.
fn place(index: u64, len: usize) -> Result<(u64, usize)> {
    if len == 0 || !RING_BYTES.is_multiple_of(len) {
        return Err(Error::other("ring", format!("a {len}-byte message does not fit the ring")));
    }
    let start = index.next_multiple_of(len as u64);
    Ok((start, (start % RING_BYTES as u64) as usize))
}
// ANCHOR_END: ring

/// Reads one byte of every page, so that the page faults of a fresh mapping (one per 4 KiB
/// page, in each process) happen before the clock runs rather than during the first figures.
fn touch_every_page(memory: &Attachment) -> bool {
    let bytes = memory.bytes();
    let sum = (0..bytes.len()).step_by(4096).map(|i| u64::from(bytes[i].load(Ordering::Relaxed)));
    std::hint::black_box(sum.sum::<u64>());
    true
}

// ANCHOR: spin_until
/// Spins until `ready()` says yes. Not `wait::wait_while`: the ring waits for a 64-bit index
/// to pass a point, and never sleeps (a wake-up per message would cost what a pipe costs).
/// Spinning pays only while the other process runs on another CPU, so after a short burst (a
/// few microseconds) each round also calls `sched_yield()`: if the other process waits for
/// *our* CPU, it gets it. Every 1024 rounds it checks that `partner` lives: an error, not a
/// hang, if it died.
fn spin_until(partner: Partner, mut ready: impl FnMut() -> bool) -> Result<()> {
    for _ in 0..256 {
        if ready() {
            return Ok(());
        }
        std::hint::spin_loop();
    }
    for round in 1u32.. {
        for _ in 0..64 {
            if ready() {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        std::thread::yield_now(); // sched_yield()
        if round.is_multiple_of(1024) && partner.has_died() {
            return Err(Error::other(
                "waiting at the ring",
                format!("the other end ({partner:?}) has died: no progress will come"),
            ));
        }
    }
    unreachable!("2^32 rounds of spinning")
}
// ANCHOR_END: spin_until

fn ring_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Row>> {
    let segment = Segment::create(Key::PRIVATE, RING_DATA + RING_BYTES, 0o600)?;
    out.call_note(format!(
        "head and tail on their own cache lines, then a {} ring",
        bench::size_text(RING_BYTES)
    ));
    let memory = segment.attach()?;
    // ANCHOR: ring_loops
    // The producer's partner is this process, its parent once forked.
    let mut producer = RingEnd::new(&memory, Partner::Parent(nix::unistd::getpid()))?;
    let mut warm = false;
    let mut sender = spawn_sender(out, "ring producer", |message| {
        if !warm {
            warm = touch_every_page(&memory);
        }
        producer.push(message)
    })?;
    touch_every_page(&memory);
    let mut consumer = RingEnd::new(&memory, Partner::Child(sender.pid()))?;
    let mut buffer = vec![0u8; LARGEST];
    let mut rows = Vec::new();
    for size in SIZES {
        let label = format!("shm ring {}", bench::size_text(size));
        let sample = sender.measure(bench, &label, size, |seq| {
            consumer.pop(&mut buffer[..size])?;
            check(&buffer[..size], seq, size)
        })?;
        rows.push((size, Ok(sample)));
    }
    // ANCHOR_END: ring_loops
    sender.finish()?;
    Ok(rows)
}

// ANCHOR: pipe_loops
fn pipe_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Row>> {
    let (mut read_end, mut write_end) = pipe(Some(out))?;
    let mut sender = spawn_sender(out, "pipe writer", |message| {
        write_end.write_all(message).map_err(|err| Error::io("writing to the pipe", err))
    })?;
    let mut buffer = vec![0u8; LARGEST];
    let mut rows = Vec::new();
    for size in SIZES {
        let label = format!("pipe {}", bench::size_text(size));
        let sample = sender.measure(bench, &label, size, |seq| {
            // A pipe is a byte stream: one read may return part of a message.
            read_end
                .read_exact(&mut buffer[..size])
                .map_err(|err| Error::io("reading from the pipe", err))?;
            check(&buffer[..size], seq, size)
        })?;
        rows.push((size, Ok(sample)));
    }
    sender.finish()?;
    Ok(rows)
}
// ANCHOR_END: pipe_loops

fn socket_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Row>> {
    let (mut ours, mut theirs) = bench::socket_pair()?;
    out.call();
    let mut sender = spawn_sender(out, "socket writer", |message| {
        theirs.write_all(message).map_err(|err| Error::io("sending on the socket", err))
    })?;
    let mut buffer = vec![0u8; LARGEST];
    let mut rows = Vec::new();
    for size in SIZES {
        let label = format!("Unix socket {}", bench::size_text(size));
        let sample = sender.measure(bench, &label, size, |seq| {
            ours.read_exact(&mut buffer[..size])
                .map_err(|err| Error::io("receiving from the socket", err))?;
            check(&buffer[..size], seq, size)
        })?;
        rows.push((size, Ok(sample)));
    }
    sender.finish()?;
    Ok(rows)
}

// ANCHOR: queue_loops
fn sysv_queue_throughput(
    lesson: &Lesson,
    out: &Narrator,
    plan: &Plan,
    bench: &mut Bench,
) -> Result<Vec<Row>> {
    let largest = SIZES.iter().copied().filter(|&s| plan.sysv_fits(s).is_ok()).max().unwrap_or(8);
    let queue = MessageQueue::create(0o600)?;
    out.call_note("the msqid");
    let mut sent = MessageBuffer::new(largest);
    let mut sender = spawn_sender(out, "queue sender", |message| {
        sent.text_mut()[..message.len()].copy_from_slice(message);
        queue.send(&mut sent, 1, message.len()) // msgsnd(msqid, &msg, size, 0)
    })?;
    lesson.step(
        out,
        &format!(
            "The queue exists and its sender is waiting for orders.\n\
             In another terminal, run:  ipcs -q\n\
             You will see msqid {} with key 0x00000000 (IPC_PRIVATE), perms 600, 0 used-bytes.\n\
             During the measurement, used-bytes and messages climb to at most msgmnb ({} bytes).",
            queue.id(),
            plan.limits.sysv_max_queue_bytes
        ),
    );
    let mut received = MessageBuffer::new(largest);
    let mut rows = Vec::new();
    for size in SIZES {
        if let Err(why) = plan.sysv_fits(size) {
            rows.push((size, Err(why)));
            continue;
        }
        let label = format!("SysV queue {}", bench::size_text(size));
        let sample = sender.measure(bench, &label, size, |seq| {
            let len = queue.receive(&mut received, 1)?; // msgrcv(msqid, &msg, max, 1, 0)
            check(&received.text()[..len], seq, size)
        })?;
        rows.push((size, Ok(sample)));
    }
    sender.finish()?;
    queue.remove()?;
    out.call();
    Ok(rows)
}

fn posix_queue_throughput(out: &Narrator, plan: &Plan, bench: &mut Bench) -> Result<Vec<Row>> {
    let largest = SIZES.iter().copied().filter(|&s| plan.posix_fits(s).is_ok()).max().unwrap_or(8);
    let depth = plan.limits.posix_max_messages.clamp(1, 10);
    let name = posix::unique_name("lesson13-mq");
    let queue = PosixQueue::create(&name, 0o600, depth, largest)?;
    out.call_note("the queue's descriptor");
    let mut sender = spawn_sender(out, "mq sender", |message| queue.send(message))?;
    let mut buffer = vec![0u8; largest]; // mq_receive wants room for mq_msgsize bytes
    let mut rows = Vec::new();
    for size in SIZES {
        if let Err(why) = plan.posix_fits(size) {
            rows.push((size, Err(why)));
            continue;
        }
        let label = format!("POSIX mq {}", bench::size_text(size));
        let sample = sender.measure(bench, &label, size, |seq| {
            let len = queue.receive(&mut buffer)?;
            check(&buffer[..len], seq, size)
        })?;
        rows.push((size, Ok(sample)));
    }
    sender.finish()?;
    queue.unlink()?;
    out.call();
    Ok(rows)
}
// ANCHOR_END: queue_loops

// ---------------------------------------------------------------------------------------------
// Part 2: round trips
// ---------------------------------------------------------------------------------------------

const ROUND_TRIPS: [&str; 7] = [
    "pipe pair",
    "Unix socket",
    "SysV msg queue",
    WAYS_TO_WAIT[0].0,
    WAYS_TO_WAIT[1].0,
    WAYS_TO_WAIT[2].0,
    "SysV semaphores",
];

/// The value that tells an echo process to stop.
const QUIT: u64 = u64::MAX;
const QUIT32: u32 = u32::MAX;

// ANCHOR: board
/// Shared memory for the round trips: each word on its own cache line.
#[repr(C, align(64))]
struct Word(AtomicU32);

#[repr(C)]
struct Board {
    /// The parent's message (futex words are 32 bits).
    ping: Word,
    /// The echo's answer.
    pong: Word,
    /// The 8-byte messages of the semaphore round trip.
    ping64: CacheLine,
    pong64: CacheLine,
    /// Part 3's results: round trips done, and the nanoseconds they took.
    done: CacheLine,
    took_ns: CacheLine,
}

// SAFETY: #[repr(C)], only atomics and padding, valid for every bit pattern, no pointers.
unsafe impl Shareable for Board {}
// ANCHOR_END: board

// ANCHOR: waiting
/// The ways to wait for the other process's word that Part 2 compares, as the workbook's wait
/// module names them (`wait_while` to wait, `publish` to store and wake):
/// - spin: re-read the word until it changes, no system call; publishing is a Release store;
/// - sleep: `FUTEX_WAIT` at once; publishing stores and calls `FUTEX_WAKE`;
/// - spin, then sleep: `SPIN_BUDGET` re-reads, then `FUTEX_WAIT`; publishing stores and calls
///   `FUTEX_WAKE` (a system call per hand-off, even when nobody sleeps).
const WAYS_TO_WAIT: [(&str, Policy); 3] = [
    ("shm spin", Policy::Spin),
    ("shm futex", Policy::Sleep),
    ("shm spin, then futex", Policy::DEFAULT),
];
// ANCHOR_END: waiting

fn measure_round_trips(lesson: &Lesson, bench: &mut Bench) -> Result<Vec<RoundTrip>> {
    let parent = lesson.narrator("parent");
    let mut results = Vec::new();
    for name in ROUND_TRIPS {
        let policy = WAYS_TO_WAIT.iter().find(|(way, _)| *way == name).map(|&(_, policy)| policy);
        let sample = match (name, policy) {
            (_, Some(policy)) => shm_round_trip(&parent, bench, name, policy)?,
            ("pipe pair", _) => pipe_round_trip(&parent, bench)?,
            ("Unix socket", _) => socket_round_trip(&parent, bench)?,
            ("SysV msg queue", _) => queue_round_trip(&parent, bench)?,
            _ => semaphore_round_trip(&parent, bench)?,
        };
        results.push(RoundTrip { name, sample });
    }
    Ok(results)
}

// ANCHOR: pipe_round_trip
fn pipe_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let (mut to_child_read, mut to_child) = pipe(Some(out))?;
    let (mut from_child, mut from_child_write) = pipe(Some(out))?;
    let child = process::spawn("echo", |_| {
        loop {
            let value = read_u64(&mut to_child_read, "reading a ping")?;
            if value == QUIT {
                return Ok(());
            }
            write_u64(&mut from_child_write, value, "writing an echo")?;
        }
    })?;
    out.call_note("the echo");
    let sample = time_round_trips(
        bench,
        "pipe pair",
        |seq| write_u64(&mut to_child, seq, "writing a ping"),
        || read_u64(&mut from_child, "reading an echo"),
    )?;
    write_u64(&mut to_child, QUIT, "writing the last ping")?;
    child.wait()?;
    Ok(sample)
}
// ANCHOR_END: pipe_round_trip

fn socket_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let (mut ours, mut theirs) = bench::socket_pair()?;
    out.call();
    let child = process::spawn("echo", |_| {
        loop {
            let value = read_u64(&mut theirs, "receiving a ping")?;
            if value == QUIT {
                return Ok(());
            }
            write_u64(&mut theirs, value, "sending an echo")?;
        }
    })?;
    out.call_note("the echo");
    let mut ours_too = ours.try_clone().map_err(|err| Error::io("duplicating the socket", err))?;
    let sample = time_round_trips(
        bench,
        "Unix socket",
        |seq| write_u64(&mut ours, seq, "sending a ping"),
        || read_u64(&mut ours_too, "receiving an echo"),
    )?;
    write_u64(&mut ours, QUIT, "sending the last ping")?;
    child.wait()?;
    Ok(sample)
}

fn queue_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let queue = MessageQueue::create(0o600)?;
    out.call_note("one queue: type 1 carries pings, type 2 the echoes");
    let child = process::spawn("echo", |_| {
        let mut buffer = MessageBuffer::new(8);
        call::unrecorded(|| {
            loop {
                queue.receive(&mut buffer, 1)?;
                let value = u64::from_le_bytes(buffer.text()[..8].try_into().expect("8 bytes"));
                if value == QUIT {
                    return Ok(());
                }
                queue.send(&mut buffer, 2, 8)?;
            }
        })
    })?;
    out.call_note("the echo");
    let (mut ping, mut pong) = (MessageBuffer::new(8), MessageBuffer::new(8));
    let sample = time_round_trips(
        bench,
        "SysV msg queue",
        |seq| {
            ping.text_mut().copy_from_slice(&seq.to_le_bytes());
            queue.send(&mut ping, 1, 8)
        },
        || {
            queue.receive(&mut pong, 2)?;
            Ok(u64::from_le_bytes(pong.text()[..8].try_into().expect("8 bytes")))
        },
    )?;
    ping.text_mut().copy_from_slice(&QUIT.to_le_bytes());
    queue.send(&mut ping, 1, 8)?;
    child.wait()?;
    queue.remove()?;
    out.call();
    Ok(sample)
}

/// A segment holding a [`Board`], created and attached by the caller.
fn board_segment(out: &Narrator) -> Result<(Segment, Attachment)> {
    let segment = Segment::create_for::<Board>(Key::PRIVATE, 0o600)?;
    out.call();
    let memory = segment.attach()?;
    Ok((segment, memory))
}

// ANCHOR: shm_round_trip
fn shm_round_trip(out: &Narrator, bench: &mut Bench, name: &str, policy: Policy) -> Result<Sample> {
    let (_segment, memory) = board_segment(out)?;
    let board: &Board = memory.view()?;
    let (ping, pong) = (&board.ping.0, &board.pong.0);
    let child = process::spawn("echo", |_| {
        let mut last = 0;
        call::unrecorded(|| {
            loop {
                last = wait_while(ping, last, policy, Partner::parent())?;
                if last == QUIT32 {
                    return Ok(());
                }
                publish(pong, last, policy)?;
            }
        })
    })?;
    out.call_note(format!("the echo; both wait with the policy: {}", policy.name()));
    let (echo, mut last_pong) = (Partner::Child(child.pid()), 0);
    let sample = time_round_trips(
        bench,
        name,
        |seq| publish(ping, seq as u32, policy),
        || {
            last_pong = wait_while(pong, last_pong, policy, echo)?;
            Ok(u64::from(last_pong))
        },
    )?;
    publish(ping, QUIT32, policy)?;
    child.wait()?;
    Ok(sample)
}
// ANCHOR_END: shm_round_trip

// ANCHOR: semaphore_round_trip
fn semaphore_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let (_segment, memory) = board_segment(out)?;
    let board: &Board = memory.view()?;
    let semaphores = SemaphoreSet::create(Key::PRIVATE, 2, 0o600)?;
    out.call_note("semaphore 0: a ping is ready; 1: the echo is ready");
    let (ping_ready, pong_ready) = (0, 1);
    let child = process::spawn("echo", |_| {
        call::unrecorded(|| {
            loop {
                semaphores.wait(ping_ready)?; // semop(semid, {0, -1, 0}, 1)
                let value = board.ping64.0.load(Ordering::Acquire);
                if value == QUIT {
                    return Ok(());
                }
                board.pong64.0.store(value, Ordering::Release);
                semaphores.post(pong_ready)?; // semop(semid, {1, +1, 0}, 1)
            }
        })
    })?;
    out.call_note("the echo");
    let sample = time_round_trips(
        bench,
        "SysV semaphores",
        |seq| {
            board.ping64.0.store(seq, Ordering::Release);
            semaphores.post(ping_ready)
        },
        || {
            semaphores.wait(pong_ready)?;
            Ok(board.pong64.0.load(Ordering::Acquire))
        },
    )?;
    board.ping64.0.store(QUIT, Ordering::Release);
    semaphores.post(ping_ready)?;
    child.wait()?;
    semaphores.remove()?;
    Ok(sample)
}
// ANCHOR_END: semaphore_round_trip

// ---------------------------------------------------------------------------------------------
// Part 3: one CPU
// ---------------------------------------------------------------------------------------------

// ANCHOR: one_cpu
/// The round trip again, with both processes pinned to the same CPU. While the pinger spins,
/// the echo cannot run at all: each answer waits for the scheduler to take the CPU away from
/// the spinner (a time slice, milliseconds). A deadline, checked between round trips, bounds
/// the damage.
fn pinned_round_trips(
    out: &Narrator,
    cpu: usize,
    policy: Policy,
    wanted: u64,
    limit: Duration,
) -> Result<(u64, f64)> {
    let (_segment, memory) = board_segment(out)?;
    let board: &Board = memory.view()?;
    let (ping, pong) = (&board.ping.0, &board.pong.0);
    // Affinity is inherited by fork(): each child pins itself, and the parent stays free.
    let echo = process::spawn("echo", |me| {
        bench::pin_to_cpu(cpu)?;
        me.call();
        let mut last = 0;
        call::unrecorded(|| {
            loop {
                last = wait_while(ping, last, policy, Partner::parent())?;
                if last == QUIT32 {
                    return Ok(());
                }
                publish(pong, last, policy)?;
            }
        })
    })?;
    out.call_note(format!("the echo; both wait with the policy: {}", policy.name()));
    let the_echo = Partner::Other(echo.pid()); // the pinger's sibling
    let pinger = process::spawn("pinger", |me| {
        bench::pin_to_cpu(cpu)?;
        me.call();
        let (start, deadline) = (Instant::now(), bench::Deadline::after(limit));
        let mut done = 0;
        call::unrecorded(|| {
            for seq in 1..=wanted as u32 {
                publish(ping, seq, policy)?;
                let echo = wait_while(pong, seq - 1, policy, the_echo)?;
                if echo != seq {
                    return Err(Error::other("pinger", format!("echo {echo}, not {seq}")));
                }
                done = u64::from(seq);
                if deadline.passed() {
                    break;
                }
            }
            Ok(())
        })?;
        board.took_ns.0.store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        board.done.0.store(done, Ordering::Release);
        publish(ping, QUIT32, policy)
    })?;
    out.call_note(format!("the pinger, on CPU {cpu} too"));
    pinger.wait()?;
    echo.wait()?;
    let done = board.done.0.load(Ordering::Acquire);
    let took = board.took_ns.0.load(Ordering::Relaxed) as f64;
    Ok((done, if done == 0 { f64::NAN } else { took / done as f64 }))
}
// ANCHOR_END: one_cpu

fn on_one_cpu(lesson: &Lesson, plan: &Plan, round_trips: &[RoundTrip]) -> Result<OneCpu> {
    let parent = lesson.narrator("parent");
    let cpu = *plan.cpus.last().unwrap_or(&0);
    let (spin_wanted, limit) =
        if plan.fast { (5, Duration::from_millis(300)) } else { (20, Duration::from_secs(2)) };
    parent.explain(format!(
        "both processes pinned to CPU {cpu}; the spinning pair tries {spin_wanted} round trips and gives up after {limit:?}"
    ));
    let (spin_done, spin_ns) = pinned_round_trips(&parent, cpu, Policy::Spin, spin_wanted, limit)?;
    let futex_wanted = if plan.fast { 200 } else { 2000 };
    let (futex_done, futex_ns) =
        pinned_round_trips(&parent, cpu, Policy::Sleep, futex_wanted, Duration::from_secs(10))?;
    let one_cpu = OneCpu { cpu, spin_done, spin_wanted, spin_ns, futex_done, futex_ns };
    report::show_one_cpu(lesson, &one_cpu, round_trips);
    Ok(one_cpu)
}

// ---------------------------------------------------------------------------------------------
// Part 4: the lesson
// ---------------------------------------------------------------------------------------------

fn honest_lesson(lesson: &Lesson) {
    let parent = lesson.narrator("parent");
    parent.explain("shared memory wins where the kernel's copies and system calls dominate: large messages, and many small ones streamed through a ring that nobody sleeps on");
    parent.explain("it wins on latency only while each side spins on a CPU of its own; any handoff that sleeps in the kernel (futex, semaphore) costs about what a pipe costs");
    parent.explain("spinning when both processes share one CPU is a disaster; a real program spins briefly, then sleeps (spin-then-futex)");
    parent.explain("and pipes, sockets and queues give you framing, blocking, back-pressure and cleanup for free: \"fastest\" is not the same as \"best\"");
}
