//! # Lesson 13: shared memory against pipes, sockets and message queues, measured
//!
//! Every source document calls shared memory "the fastest IPC". This lesson measures the claim
//! on your machine: throughput from 64 B to 1 MiB through a pipe, a Unix socket, two kinds of
//! message queue and a ring in shared memory, beside `memcpy` (Part 1); the round trip of an
//! 8-byte message, shared memory waiting three ways (Part 2); spinning on one CPU (Part 3);
//! and what your machine showed, from its own figures (Part 4), saying when a figure is about
//! a busy machine, far-apart CPUs or an unoptimised build rather than about IPC. The ring and
//! the ways to wait are on this page; the measuring harness is in `bench.rs` and `bench/`.
//!
//! ```text
//! cargo run --release --bin lesson13            # about 20 s; --fast for a rough pass
//! cargo run --release --bin lesson13 -- --json > results.json
//! cargo run --bin lesson13 -- --chart results.json > chart.svg
//! ```

mod bench;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bench::report::{self, Cell, Figures, OneCpu, RoundTrip, Transport};
use bench::sender::Sender;
use bench::{Bench, CacheLine, Sample, chart, kernel, message, plan::Plan};
use shm_workbook::lesson::LessonFlag;
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Attachment, Error, Key, Narrator, Result, Segment, Shareable, call, process};

const FLAGS: &[LessonFlag] = &[
    LessonFlag::switch("--json", "print the results as JSON on stdout (the story goes to stderr)"),
    LessonFlag::number("--reps", "N", "timed repetitions per figure, the median kept", 7, (1, 99)),
    LessonFlag::text("--chart", "FILE", "draw a --json report as an SVG chart on stdout"),
    LessonFlag::switch("--targets", "check the workbook's own targets (its benchmark)"),
];

const RING_BYTES: usize = 4 << 20; // the ring's data area: as large as L3 caches go

fn main() -> Result<()> {
    let (lesson, json) = bench::start("lesson13", FLAGS)?;
    if let (Some(report), Some(stdout)) = (lesson.text("--chart"), json.as_ref()) {
        return chart::write(report, stdout);
    }
    let started = Instant::now();
    let plan = Plan::new(&lesson, RING_BYTES, kernel::ROUND_TRIPS.len() + WAYS_TO_WAIT.len() + 1)?;
    plan.introduce(&lesson);
    let mut bench = Bench::new(plan.reps, plan.rep_time, plan.steps()).pausing(&lesson);
    let parent = lesson.narrator("parent");

    lesson.part("Part 1: throughput, one message size at a time");
    let mut cells = ring_throughput(&parent, &plan, &mut bench)?; // memcpy beside the ring
    cells.extend(kernel::throughput(&lesson, &plan, &mut bench)?); // pipe, socket, queues
    report::show_throughput(&lesson, &plan, &cells);

    lesson.part("Part 2: the round trip of an 8-byte message");
    let mut round_trips = kernel::round_trips(&parent, &mut bench)?; // pipe, socket, queue
    for (name, policy) in WAYS_TO_WAIT {
        let sample = shm_round_trip(&parent, &mut bench, name, policy)?;
        round_trips.push(RoundTrip { name, sample });
    }
    let sample = kernel::semaphore_round_trip(&parent, &mut bench)?;
    round_trips.push(RoundTrip { name: "SysV semaphores", sample });
    report::show_round_trips(&lesson, &plan, &round_trips);

    lesson.part("Part 3: spinning when both processes share one CPU");
    let (cpu, tries) = (plan.one_cpu(), plan.one_cpu_tries());
    parent.explain(tries.describe(cpu));
    let spin = pinned_round_trips(&parent, cpu, Policy::Spin, tries.spin)?;
    let futex = pinned_round_trips(&parent, cpu, Policy::Sleep, tries.futex)?;
    let one_cpu = OneCpu::new(cpu, tries, spin, futex);
    report::show_one_cpu(&lesson, &one_cpu, &round_trips);
    report::pause_after_one_cpu(&lesson, &plan);

    lesson.part("Part 4: what this machine showed");
    report::conclude(&lesson, &plan, &cells, &round_trips, &one_cpu);
    report::pause_at_the_end(&lesson);
    let seconds = started.elapsed().as_secs_f64();
    report::finish(&lesson, &plan, json, &Figures { cells, round_trips, one_cpu, seconds })
}

// Part 1: the ring ----------------------------------------------------------------------------

// ANCHOR: ring
/// The start of the ring's segment; the data area follows at `RING_DATA`. Each index is alone
/// on its cache line (64 bytes): the producer writes `head` and the consumer writes `tail` all
/// the time, and two indices on one line would bounce it between the cores at every message
/// (false sharing).
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

// ANCHOR: spin_until
/// Spins until `ready()` says yes. Not `wait::wait_while`: the ring waits for a 64-bit index
/// to pass a point, and never sleeps (a wake-up per message would cost what a pipe costs).
/// Spinning pays only while the other process runs on another CPU, so after a short burst (a
/// few microseconds) each round also calls `sched_yield()`: if the other process waits for
/// *our* CPU, it gets it. Every 1024 rounds it checks that `partner` lives: an error, not a
/// hang, if it died.
fn spin_until(partner: Partner, mut ready: impl FnMut() -> bool) -> Result<()> {
    for round in 0u32.. {
        for _ in 0..if round == 0 { 256 } else { 64 } {
            if ready() {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        std::thread::yield_now(); // sched_yield()
        if round % 1024 == 1023 && partner.has_died() {
            return Err(Error::other(
                "waiting at the ring",
                format!("the other end ({partner:?}) has died: no progress will come"),
            ));
        }
    }
    unreachable!("2^32 rounds of spinning")
}
// ANCHOR_END: spin_until

fn ring_throughput(out: &Narrator, plan: &Plan, bench: &mut Bench) -> Result<Vec<Cell>> {
    let mut memcpy = kernel::Memcpy::new(out, RING_BYTES);
    let segment = Segment::create(Key::PRIVATE, RING_DATA + RING_BYTES, 0o600)?;
    let ring = bench::size_text(RING_BYTES);
    let note = format!("head and tail on their own cache lines, then a {ring} ring");
    out.call_note(note);
    let memory = segment.attach()?;
    // ANCHOR: ring_loops
    // Each end on a CPU of its own: left alone, the scheduler may put both on one (a pipe's
    // wake-up draws the woken process to the waker's CPU), and they would take turns.
    let cpus = plan.ring_cpus();
    if let Some((consumer_cpu, _)) = cpus {
        bench::pin_to_cpu(consumer_cpu)?;
        out.call_note("the consumer's CPU, while the ring is measured");
    }
    // The producer's partner is this process, its parent once forked.
    let mut producer = RingEnd::new(&memory, Partner::Parent(nix::unistd::getpid()))?;
    let mut warm = false;
    let mut sender = Sender::spawn_on(out, "ring producer", cpus.map(|c| c.1), |message| {
        if !warm {
            warm = bench::touch_every_page(&memory);
        }
        producer.push(message)
    })?;
    bench::touch_every_page(&memory);
    let mut consumer = RingEnd::new(&memory, Partner::Child(sender.pid()))?;
    let mut buffer = vec![0u8; message::LARGEST];
    let mut cells = Vec::new();
    for size in message::SIZES {
        let label = format!("memcpy and shm ring {}", bench::size_text(size));
        let (copied, ringed) = sender.measure_beside(
            bench,
            &label,
            size,
            |count| memcpy.copy(size, count),
            |seq| {
                consumer.pop(&mut buffer[..size])?;
                message::check(&buffer[..size], seq, size)
            },
        )?;
        cells.push(Cell { transport: Transport::Memcpy, size, result: Ok(copied) });
        cells.push(Cell { transport: Transport::Ring, size, result: Ok(ringed) });
    }
    // ANCHOR_END: ring_loops
    sender.finish()?;
    bench::unpin(&plan.cpus)?; // this process may run anywhere again
    Ok(cells)
}

// Part 2: the ways to wait --------------------------------------------------------------------

const QUIT: u32 = u32::MAX; // tells an echo process to stop

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

// ANCHOR: board
/// Shared memory for the round trips: each word on its own cache line (futex words are 32
/// bits), and Part 3's results.
#[repr(C)]
struct Board {
    /// The pinger's number.
    ping: Word,
    /// The echo's answer.
    pong: Word,
    /// Part 3: round trips done, and the nanoseconds they took.
    done: CacheLine,
    took_ns: CacheLine,
}

#[repr(C, align(64))]
struct Word(AtomicU32);

// SAFETY: #[repr(C)], only atomics and padding, valid for every bit pattern, no pointers.
unsafe impl Shareable for Board {}
// ANCHOR_END: board

// ANCHOR: echo
/// The echo: waits for each new number with `policy` and publishes it back, until `QUIT`.
fn echo(board: &Board, policy: Policy, partner: Partner) -> Result<()> {
    let mut last = 0;
    call::unrecorded(|| {
        loop {
            last = wait_while(&board.ping.0, last, policy, partner)?;
            if last == QUIT {
                return Ok(());
            }
            publish(&board.pong.0, last, policy)?;
        }
    })
}
// ANCHOR_END: echo

// ANCHOR: shm_round_trip
fn shm_round_trip(out: &Narrator, bench: &mut Bench, name: &str, policy: Policy) -> Result<Sample> {
    let (_segment, memory) = bench::segment_for::<Board>(out)?;
    let board: &Board = memory.view()?;
    let child = process::spawn("echo", |_| echo(board, policy, Partner::parent()))?;
    out.call_note(format!("the echo; both wait with the policy: {}", policy.name()));
    let (partner, mut last_pong) = (Partner::Child(child.pid()), 0);
    let sample = bench::time_round_trips(
        bench,
        name,
        child.pid(),
        |seq| publish(&board.ping.0, seq as u32, policy),
        || {
            last_pong = wait_while(&board.pong.0, last_pong, policy, partner)?;
            Ok(u64::from(last_pong))
        },
    )?;
    publish(&board.ping.0, QUIT, policy)?;
    child.wait()?;
    Ok(sample)
}
// ANCHOR_END: shm_round_trip

// Part 3: one CPU -----------------------------------------------------------------------------

// ANCHOR: one_cpu
/// The round trip again, with both processes pinned to the same CPU. While the pinger spins,
/// the echo cannot run at all: each answer waits for the scheduler to take the CPU away from
/// the spinner (a time slice, milliseconds). A deadline, checked between round trips, bounds
/// the damage. Returns the round trips done and the nanoseconds each took.
fn pinned_round_trips(
    out: &Narrator,
    cpu: usize,
    policy: Policy,
    (wanted, limit): (u32, Duration),
) -> Result<(u64, f64)> {
    let (_segment, memory) = bench::segment_for::<Board>(out)?;
    let board: &Board = memory.view()?;
    // Affinity is inherited by fork(): each child pins itself, and the parent stays free.
    let the_echo = process::spawn("echo", |me| {
        bench::pin_to_cpu(cpu)?;
        me.call();
        echo(board, policy, Partner::parent())
    })?;
    out.call_note(format!("the echo; both wait with the policy: {}", policy.name()));
    let partner = Partner::Other(the_echo.pid()); // the pinger's sibling
    let pinger = process::spawn("pinger", |me| {
        bench::pin_to_cpu(cpu)?;
        me.call();
        let (start, deadline) = (Instant::now(), bench::Deadline::after(limit));
        let mut done = 0;
        call::unrecorded(|| {
            for seq in 1..=wanted {
                publish(&board.ping.0, seq, policy)?;
                let answer = wait_while(&board.pong.0, seq - 1, policy, partner)?;
                if answer != seq {
                    return Err(Error::other("pinger", format!("echo {answer}, not {seq}")));
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
        publish(&board.ping.0, QUIT, policy)
    })?;
    out.call_note(format!("the pinger, on CPU {cpu} too"));
    pinger.wait()?;
    the_echo.wait()?;
    let done = board.done.0.load(Ordering::Acquire);
    let took = board.took_ns.0.load(Ordering::Relaxed) as f64;
    Ok((done, if done == 0 { f64::NAN } else { took / done as f64 }))
}
// ANCHOR_END: one_cpu
