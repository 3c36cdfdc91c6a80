//! # Lesson 13: shared memory against pipes, sockets and message queues, measured
//!
//! Every source document calls shared memory "the fastest IPC". This lesson measures the claim
//! on your machine: throughput from 64 B to 1 MiB through a pipe, a Unix socket, two kinds of
//! message queue and a ring in shared memory, beside `memcpy` (Part 1); the round trip of an
//! 8-byte message, shared memory waiting three ways (Part 2); spinning on one CPU (Part 3);
//! and what your machine showed, from its own figures (Part 4), saying when a figure is about
//! a busy machine, far-apart CPUs or an unoptimised build rather than about IPC. On this page:
//! the loops that move the messages (the ring, a pipe, a socket, both queues), the round trips
//! of a pipe pair, a socket and shared memory, and the ways to wait. The ring is `ring.rs`; the
//! measuring, the report and the other round trips are the harness, `bench.rs` and `bench/`.
//!
//! ```text
//! cargo run --release --bin lesson13            # about 20 s; --fast for a rough pass
//! cargo run --release --bin lesson13 -- --json > results.json
//! cargo run --bin lesson13 -- --chart results.json > chart.svg
//! ```

mod bench;
mod ring;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bench::report::{self, Cell, Figures, OneCpu, RoundTrip, Transport};
use bench::sender::{self, Sender};
use bench::{Bench, CacheLine, Sample, chart, kernel, message, plan::Plan};
use ring::{RING_BYTES, RING_DATA, RingEnd};
use shm_workbook::posix::{mq::PosixQueue, name::unique_name};
use shm_workbook::sysv::msg::{MessageBuffer, MessageQueue};
use shm_workbook::wait::{Partner, Policy, publish, wait_while};
use shm_workbook::{Error, Key, Lesson, Narrator, Result, Segment, Shareable, call, process};

fn main() -> Result<()> {
    let (lesson, json) = bench::start("lesson13", bench::FLAGS)?;
    if let (Some(report), Some(stdout)) = (lesson.text("--chart"), json.as_ref()) {
        return chart::write(report, stdout);
    }
    let started = Instant::now();
    let pairs = 3 + WAYS_TO_WAIT.len() + 1; // pipe, socket, queue, shm's ways, semaphores
    let plan = Plan::new(&lesson, RING_BYTES, pairs)?;
    plan.introduce(&lesson);
    let mut bench = Bench::new(plan.reps, plan.rep_time, plan.steps()).pausing(&lesson);
    let parent = lesson.narrator("parent");

    lesson.part("Part 1: throughput, one message size at a time");
    let mut cells = ring_throughput(&parent, &plan, &mut bench)?; // memcpy beside the ring
    cells.extend(pipe_throughput(&parent, &mut bench)?);
    cells.extend(socket_throughput(&parent, &mut bench)?);
    cells.extend(sysv_queue_throughput(&lesson, &plan, &mut bench)?);
    cells.extend(posix_queue_throughput(&parent, &plan, &mut bench)?);
    report::show_throughput(&lesson, &plan, &cells);

    lesson.part("Part 2: the round trip of an 8-byte message");
    let pipe = RoundTrip { name: "pipe pair", sample: pipe_round_trip(&parent, &mut bench)? };
    let socket = RoundTrip { name: "Unix socket", sample: socket_round_trip(&parent, &mut bench)? };
    let mut round_trips = vec![pipe, socket, kernel::queue_round_trip(&parent, &mut bench)?];
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
    report::show_one_cpu(&lesson, &plan, &one_cpu, &round_trips); // and pauses with --step

    lesson.part("Part 4: what this machine showed");
    report::conclude(&lesson, &plan, &cells, &round_trips, &one_cpu);
    report::pause_at_the_end(&lesson);
    let seconds = started.elapsed().as_secs_f64();
    report::finish(&lesson, &plan, json, &Figures { cells, round_trips, one_cpu, seconds })
}

// Part 1: throughput -------------------------------------------------------------------------

fn ring_throughput(out: &Narrator, plan: &Plan, bench: &mut Bench) -> Result<Vec<Cell>> {
    let mut memcpy = kernel::Memcpy::new(out, RING_BYTES);
    let segment = Segment::create(Key::PRIVATE, RING_DATA + RING_BYTES, 0o600)?;
    let ring = bench::size_text(RING_BYTES);
    out.call_note(format!("head and tail on their own cache lines, then a {ring} ring"));
    let memory = segment.attach()?;
    // ANCHOR: ring_loops
    // Each end on a CPU of its own: left alone, the scheduler may put both on one (a pipe's
    // wake-up draws the woken process to the waker's CPU), and they would take turns.
    let cpus = plan.ring_cpus();
    bench::pin_consumer(out, cpus)?; // this process, to the first CPU of the two
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

// ANCHOR: pipe_loops
/// A pipe: the writer child's `write`s, the parent's `read`s.
fn pipe_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Cell>> {
    let (mut read_end, mut write_end) = sender::pipe(Some(out))?;
    let mut sender = Sender::spawn(out, "pipe writer", move |message| {
        write_end.write_all(message).map_err(|err| Error::io("writing to the pipe", err))
    })?;
    let mut buffer = vec![0u8; message::LARGEST];
    let rows = kernel::stream(bench, &mut sender, "pipe", kernel::any_size, |seq, size| {
        // A pipe is a byte stream: one read may return part of a message.
        read_end
            .read_exact(&mut buffer[..size])
            .map_err(|err| bench::read_error("reading from the pipe", err))?;
        message::check(&buffer[..size], seq, size)
    })?;
    sender.finish()?;
    Ok(kernel::cells(Transport::Pipe, rows))
}
// ANCHOR_END: pipe_loops

/// A Unix stream socket pair: one end in the sender child, the other in the parent.
fn socket_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Cell>> {
    let (mut ours, mut theirs) = bench::socket_pair()?;
    out.call();
    let mut sender = Sender::spawn(out, "socket writer", move |message| {
        theirs.write_all(message).map_err(|err| Error::io("sending on the socket", err))
    })?;
    let mut buffer = vec![0u8; message::LARGEST];
    let rows = kernel::stream(bench, &mut sender, "Unix socket", kernel::any_size, |seq, size| {
        ours.read_exact(&mut buffer[..size])
            .map_err(|err| bench::read_error("receiving from the socket", err))?;
        message::check(&buffer[..size], seq, size)
    })?;
    sender.finish()?;
    Ok(kernel::cells(Transport::Socket, rows))
}

// ANCHOR: queue_loops
/// A System V message queue: `msgsnd` in the child, `msgrcv` in the parent, at the sizes that
/// fit (`kernel.msgmax`); `--step` pauses while it exists.
fn sysv_queue_throughput(lesson: &Lesson, plan: &Plan, bench: &mut Bench) -> Result<Vec<Cell>> {
    let out = lesson.narrator("parent");
    let fits = |size| plan.sysv_fits(size);
    let queue = MessageQueue::create(0o600)?;
    out.call_note("the msqid");
    let mut sent = MessageBuffer::new(kernel::largest(fits));
    let mut sender = Sender::spawn(&out, "queue sender", |message| {
        sent.text_mut()[..message.len()].copy_from_slice(message);
        queue.send(&mut sent, 1, message.len()) // msgsnd(msqid, &msg, size, 0)
    })?;
    lesson.step(&out, &kernel::queue_exists(&queue, plan)); // ipcs -q shows it
    let mut received = MessageBuffer::new(kernel::largest(fits));
    let rows = kernel::stream(bench, &mut sender, "SysV queue", fits, |seq, size| {
        let len = queue.receive(&mut received, 1)?; // msgrcv(msqid, &msg, max, 1, 0)
        message::check(&received.text()[..len], seq, size)
    })?;
    sender.finish()?;
    queue.remove()?;
    out.call();
    Ok(kernel::cells(Transport::SysvQueue, rows))
}

/// A POSIX message queue: `mq_send` in the child, `mq_receive` in the parent, at the sizes
/// that fit (`fs.mqueue.msgsize_max`).
fn posix_queue_throughput(out: &Narrator, plan: &Plan, bench: &mut Bench) -> Result<Vec<Cell>> {
    let fits = |size| plan.posix_fits(size);
    kernel::try_above_the_limit(out, plan)?; // mq_open of the first size above the limit
    let (depth, largest) = (plan.limits.posix_max_messages.clamp(1, 10), kernel::largest(fits));
    let queue = PosixQueue::create(&unique_name("lesson13-mq"), 0o600, depth, largest)?;
    out.call_note("the queue's descriptor");
    let mut sender = Sender::spawn(out, "mq sender", |message| queue.send(message))?;
    let mut buffer = vec![0u8; largest]; // mq_receive wants room for mq_msgsize bytes
    let rows = kernel::stream(bench, &mut sender, "POSIX mq", fits, |seq, size| {
        let len = queue.receive(&mut buffer)?;
        message::check(&buffer[..len], seq, size)
    })?;
    sender.finish()?;
    queue.unlink()?;
    out.call();
    Ok(kernel::cells(Transport::PosixQueue, rows))
}
// ANCHOR_END: queue_loops

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

// ANCHOR: pipe_round_trip
/// Two pipes, one each way: the parent writes a number, the echo child reads it and writes it
/// back.
fn pipe_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let (mut to_child_read, mut to_child) = sender::pipe(Some(out))?;
    let (mut from_child, mut from_child_write) = sender::pipe(Some(out))?;
    let child = process::spawn("echo", move |_| {
        loop {
            let value = bench::read_u64(&mut to_child_read, "reading a ping")?;
            if value == kernel::QUIT {
                return Ok(());
            }
            bench::write_u64(&mut from_child_write, value, "writing an echo")?;
        }
    })?;
    out.call_note("the echo");
    let sample = bench::time_round_trips(
        bench,
        "pipe pair",
        child.pid(),
        |seq| bench::write_u64(&mut to_child, seq, "writing a ping"),
        || bench::read_u64(&mut from_child, "reading an echo"),
    )?;
    bench::write_u64(&mut to_child, kernel::QUIT, "writing the last ping")?;
    child.wait()?;
    Ok(sample)
}

/// One Unix stream socket pair, used both ways.
fn socket_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let (mut ours, mut theirs) = bench::socket_pair()?;
    out.call();
    let child = process::spawn("echo", move |_| {
        loop {
            let value = bench::read_u64(&mut theirs, "receiving a ping")?;
            if value == kernel::QUIT {
                return Ok(());
            }
            bench::write_u64(&mut theirs, value, "sending an echo")?;
        }
    })?;
    out.call_note("the echo");
    let mut ours_too = ours.try_clone().map_err(|err| Error::io("duplicating the socket", err))?;
    let sample = bench::time_round_trips(
        bench,
        "Unix socket",
        child.pid(),
        |seq| bench::write_u64(&mut ours, seq, "sending a ping"),
        || bench::read_u64(&mut ours_too, "receiving an echo"),
    )?;
    bench::write_u64(&mut ours, kernel::QUIT, "sending the last ping")?;
    child.wait()?;
    Ok(sample)
}
// ANCHOR_END: pipe_round_trip

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
