//! Lesson 13's mechanisms that are not shared memory: `memcpy` in one process (the limit), and
//! the kernel's pipes, Unix sockets, System V and POSIX message queues, streaming messages
//! (throughput) and echoing an 8-byte number (round trips).
//!
//! Every message is stamped and checked ([`super::message`]). Every end a child uses is moved
//! into the child's closure, so the parent keeps only its own ends: if a child dies, the
//! parent's read ends at end-of-file, and its `msgrcv` or `mq_receive` is interrupted by the
//! child's death ([`shm_workbook::cleanup::child_failure`]); a child blocked on the parent dies
//! with it (`PR_SET_PDEATHSIG`). No wait on a partner lasts for ever.

use std::io::{Read, Write};
use std::time::Instant;

use shm_workbook::call;
use shm_workbook::error::{Error, Result};
use shm_workbook::lesson::Lesson;
use shm_workbook::narrate::Narrator;
use shm_workbook::posix::mq::PosixQueue;
use shm_workbook::posix::name::unique_name;
use shm_workbook::process;
use shm_workbook::sysv::msg::{MessageBuffer, MessageQueue};

use super::message::{LARGEST, SIZES, check, pattern, stamp};
use super::plan::Plan;
use super::report::{Cell, RoundTrip, Row, Transport};
use super::sender::{Sender, pipe};
use super::{
    Bench, Sample, read_error, read_u64, size_text, socket_pair, time_round_trips, write_u64,
};

/// The limit: one process copying each message into a buffer as large as the ring, stamping
/// and checking it as the other mechanisms do. No second process, no kernel.
#[derive(Debug)]
pub struct Memcpy {
    message: Vec<u8>,
    destination: Vec<u8>,
    size: usize,
    seq: u64,
    offset: usize,
}

impl Memcpy {
    /// Copies into a buffer of `buffer` bytes (as large as the ring); says so with `out`.
    pub fn new(out: &Narrator, buffer: usize) -> Memcpy {
        out.explain(format!(
            "memcpy of each message in one process, into a {} buffer like the ring's, measured \
             beside the ring (their repetitions alternate): no second process, no kernel",
            size_text(buffer)
        ));
        let (message, destination) = (pattern().to_vec(), vec![0u8; buffer]);
        Memcpy { message, destination, size: 0, seq: 0, offset: 0 }
    }

    /// Copies `count` messages of `size` bytes, and says how long it took.
    pub fn copy(&mut self, size: usize, count: u64) -> Result<std::time::Duration> {
        if size != self.size {
            self.message[..size].copy_from_slice(&pattern()[..size]); // the last size's stamps
            (self.size, self.seq, self.offset) = (size, 0, 0);
        }
        let start = Instant::now();
        for _ in 0..count {
            let (seq, offset) = (self.seq, self.offset);
            stamp(&mut self.message[..size], seq);
            self.destination[offset..offset + size].copy_from_slice(&self.message[..size]);
            check(&self.destination[offset..offset + size], seq, size)?;
            self.seq += 1;
            self.offset = (offset + size) % self.destination.len();
        }
        Ok(start.elapsed())
    }
}

/// Part 1 through the kernel: a pipe, a Unix socket, a System V and a POSIX message queue, at
/// every size that fits.
pub fn throughput(lesson: &Lesson, plan: &Plan, bench: &mut Bench) -> Result<Vec<Cell>> {
    let out = lesson.narrator("parent");
    let mut cells = Vec::new();
    for transport in
        [Transport::Pipe, Transport::Socket, Transport::SysvQueue, Transport::PosixQueue]
    {
        let rows = match transport {
            Transport::Pipe => pipe_throughput(&out, bench)?,
            Transport::Socket => socket_throughput(&out, bench)?,
            Transport::SysvQueue => sysv_queue_throughput(lesson, plan, bench)?,
            _ => posix_queue_throughput(&out, plan, bench)?,
        };
        cells.extend(rows.into_iter().map(|(size, result)| Cell { transport, size, result }));
    }
    Ok(cells)
}

/// Receives `size`-byte messages from `sender` with `receive(buffer, seq)` at every size.
fn stream(
    bench: &mut Bench,
    sender: &mut Sender,
    name: &str,
    mut receive: impl FnMut(&mut [u8], u64) -> Result<()>,
) -> Result<Vec<Row>> {
    let mut buffer = vec![0u8; LARGEST];
    let mut rows = Vec::new();
    for size in SIZES {
        let label = format!("{name} {}", size_text(size));
        let sample = sender.measure(bench, &label, size, |seq| {
            receive(&mut buffer[..size], seq)?;
            check(&buffer[..size], seq, size)
        })?;
        rows.push((size, Ok(sample)));
    }
    Ok(rows)
}

// ANCHOR: pipe_loops
/// A pipe: the writer child's `write`s, the parent's `read`s.
pub fn pipe_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Row>> {
    let (mut read_end, mut write_end) = pipe(Some(out))?;
    let mut sender = Sender::spawn(out, "pipe writer", move |message| {
        write_end.write_all(message).map_err(|err| Error::io("writing to the pipe", err))
    })?;
    let rows = stream(bench, &mut sender, "pipe", |buffer, _| {
        // A pipe is a byte stream: one read may return part of a message.
        read_end.read_exact(buffer).map_err(|err| read_error("reading from the pipe", err))
    })?;
    sender.finish()?;
    Ok(rows)
}
// ANCHOR_END: pipe_loops

/// A Unix stream socket pair: one end in the sender child, the other in the parent.
pub fn socket_throughput(out: &Narrator, bench: &mut Bench) -> Result<Vec<Row>> {
    let (mut ours, mut theirs) = socket_pair()?;
    out.call();
    let mut sender = Sender::spawn(out, "socket writer", move |message| {
        theirs.write_all(message).map_err(|err| Error::io("sending on the socket", err))
    })?;
    let rows = stream(bench, &mut sender, "Unix socket", |buffer, _| {
        ours.read_exact(buffer).map_err(|err| read_error("receiving from the socket", err))
    })?;
    sender.finish()?;
    Ok(rows)
}

// ANCHOR: queue_loops
/// A System V message queue: `msgsnd` in the child, `msgrcv` in the parent, at the sizes that
/// fit (`kernel.msgmax`); `--step` pauses while it exists.
pub fn sysv_queue_throughput(lesson: &Lesson, plan: &Plan, bench: &mut Bench) -> Result<Vec<Row>> {
    let out = lesson.narrator("parent");
    let largest = SIZES.iter().copied().filter(|&s| plan.sysv_fits(s).is_ok()).max().unwrap_or(8);
    let queue = MessageQueue::create(0o600)?;
    out.call_note("the msqid");
    let mut sent = MessageBuffer::new(largest);
    let mut sender = Sender::spawn(&out, "queue sender", |message| {
        sent.text_mut()[..message.len()].copy_from_slice(message);
        queue.send(&mut sent, 1, message.len()) // msgsnd(msqid, &msg, size, 0)
    })?;
    lesson.step(
        &out,
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
        let label = format!("SysV queue {}", size_text(size));
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

/// A POSIX message queue: `mq_send` in the child, `mq_receive` in the parent, at the sizes
/// that fit (`fs.mqueue.msgsize_max`).
pub fn posix_queue_throughput(out: &Narrator, plan: &Plan, bench: &mut Bench) -> Result<Vec<Row>> {
    let largest = SIZES.iter().copied().filter(|&s| plan.posix_fits(s).is_ok()).max().unwrap_or(8);
    try_above_the_limit(out, plan)?;
    let depth = plan.limits.posix_max_messages.clamp(1, 10);
    let queue = PosixQueue::create(&unique_name("lesson13-mq"), 0o600, depth, largest)?;
    out.call_note("the queue's descriptor");
    let mut sender = Sender::spawn(out, "mq sender", |message| queue.send(message))?;
    let mut buffer = vec![0u8; largest]; // mq_receive wants room for mq_msgsize bytes
    let mut rows = Vec::new();
    for size in SIZES {
        if let Err(why) = plan.posix_fits(size) {
            rows.push((size, Err(why)));
            continue;
        }
        let label = format!("POSIX mq {}", size_text(size));
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

/// `fs.mqueue.msgsize_max` binds only a process without CAP_SYS_RESOURCE (mq_overview(7)):
/// rather than predict, ask the kernel for a queue of the first size above it, and say what it
/// answered.
fn try_above_the_limit(out: &Narrator, plan: &Plan) -> Result<()> {
    let Some(size) = SIZES.iter().copied().find(|&s| plan.posix_fits(s).is_err()) else {
        return Ok(());
    };
    let name = unique_name("lesson13-mq-limit");
    match PosixQueue::create(&name, 0o600, 1, size) {
        Ok(queue) => {
            out.call_note(format!(
                "accepted, though fs.mqueue.msgsize_max is {}: this process has \
                 CAP_SYS_RESOURCE, which the limit does not bind",
                size_text(plan.limits.posix_max_message)
            ));
            queue.unlink()?;
        }
        Err(err) if err.errno() == Some(nix::errno::Errno::EINVAL) => out.call_note(format!(
            "refused: above fs.mqueue.msgsize_max ({}), and this process lacks \
             CAP_SYS_RESOURCE, which would lift it",
            size_text(plan.limits.posix_max_message)
        )),
        Err(err) => out.call_note(format!("refused: {}", err.meaning())),
    }
    Ok(())
}

/// The value that tells an echo process to stop.
pub const QUIT: u64 = u64::MAX;

/// The round trips through the kernel that [`round_trips`] measures, in its order.
pub const ROUND_TRIPS: [&str; 3] = ["pipe pair", "Unix socket", "SysV msg queue"];

/// The round trips of [`ROUND_TRIPS`]: a pipe pair, a Unix socket, a System V queue.
pub fn round_trips(out: &Narrator, bench: &mut Bench) -> Result<Vec<RoundTrip>> {
    let samples = [
        pipe_round_trip(out, bench)?,
        socket_round_trip(out, bench)?,
        queue_round_trip(out, bench)?,
    ];
    Ok(ROUND_TRIPS
        .into_iter()
        .zip(samples)
        .map(|(name, sample)| RoundTrip { name, sample })
        .collect())
}

// ANCHOR: pipe_round_trip
/// Two pipes, one each way: the parent writes a number, the echo child reads it and writes it
/// back.
pub fn pipe_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let (mut to_child_read, mut to_child) = pipe(Some(out))?;
    let (mut from_child, mut from_child_write) = pipe(Some(out))?;
    let child = process::spawn("echo", move |_| {
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
        child.pid(),
        |seq| write_u64(&mut to_child, seq, "writing a ping"),
        || read_u64(&mut from_child, "reading an echo"),
    )?;
    write_u64(&mut to_child, QUIT, "writing the last ping")?;
    child.wait()?;
    Ok(sample)
}
// ANCHOR_END: pipe_round_trip

/// One Unix stream socket pair, used both ways.
pub fn socket_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    let (mut ours, mut theirs) = socket_pair()?;
    out.call();
    let child = process::spawn("echo", move |_| {
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
        child.pid(),
        |seq| write_u64(&mut ours, seq, "sending a ping"),
        || read_u64(&mut ours_too, "receiving an echo"),
    )?;
    write_u64(&mut ours, QUIT, "sending the last ping")?;
    child.wait()?;
    Ok(sample)
}

/// One System V queue: type 1 carries the pings, type 2 the echoes.
pub fn queue_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
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
        child.pid(),
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

/// The shared memory of the semaphore round trip: the number each way, on its own cache line.
#[repr(C)]
pub struct Mailbox {
    ping: super::CacheLine,
    pong: super::CacheLine,
}

// SAFETY: #[repr(C)], only atomics and padding, valid for every bit pattern, no pointers.
unsafe impl shm_workbook::Shareable for Mailbox {}

// ANCHOR: semaphore_round_trip
/// The number passes through shared memory; a System V semaphore pair says when it is there:
/// semaphore 0, a ping is ready; semaphore 1, the echo is ready.
pub fn semaphore_round_trip(out: &Narrator, bench: &mut Bench) -> Result<Sample> {
    use std::sync::atomic::Ordering::{Acquire, Release};
    let segment = shm_workbook::Segment::create_for::<Mailbox>(shm_workbook::Key::PRIVATE, 0o600)?;
    out.call();
    let memory = segment.attach()?;
    let mailbox: &Mailbox = memory.view()?;
    let semaphores = shm_workbook::SemaphoreSet::create(shm_workbook::Key::PRIVATE, 2, 0o600)?;
    out.call_note("semaphore 0: a ping is ready; 1: the echo is ready");
    let (ping_ready, pong_ready) = (0, 1);
    let child = process::spawn("echo", |_| {
        call::unrecorded(|| {
            loop {
                semaphores.wait(ping_ready)?; // semop(semid, {0, -1, 0}, 1)
                let value = mailbox.ping.0.load(Acquire);
                if value == QUIT {
                    return Ok(());
                }
                mailbox.pong.0.store(value, Release);
                semaphores.post(pong_ready)?; // semop(semid, {1, +1, 0}, 1)
            }
        })
    })?;
    out.call_note("the echo");
    let sample = time_round_trips(
        bench,
        "SysV semaphores",
        child.pid(),
        |seq| {
            mailbox.ping.0.store(seq, Release);
            semaphores.post(ping_ready)
        },
        || {
            semaphores.wait(pong_ready)?;
            Ok(mailbox.pong.0.load(Acquire))
        },
    )?;
    mailbox.ping.0.store(QUIT, Release);
    semaphores.post(ping_ready)?;
    child.wait()?;
    semaphores.remove()?;
    Ok(sample)
}
// ANCHOR_END: semaphore_round_trip
