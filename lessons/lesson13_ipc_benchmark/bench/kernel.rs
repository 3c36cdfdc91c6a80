//! Lesson 13's harness for the mechanisms that are not shared memory: `memcpy` in one process
//! (the limit); [`stream`], which measures a sender's messages at every size that fits (the
//! pipe's, the socket's and the queues' loops that use it are on the lesson's page); what a
//! POSIX queue above its limit is told; and the round trips of an 8-byte number through a System
//! V queue and a semaphore pair (the pipe pair's and the socket's are on the page).
//!
//! Every message is stamped and checked ([`super::message`]). Every end a child uses is moved
//! into the child's closure, so the parent keeps only its own ends: if a child dies, the
//! parent's read ends at end-of-file, and its `msgrcv` or `mq_receive` is interrupted by the
//! child's death ([`shm_workbook::cleanup::child_failure`]); a child blocked on the parent dies
//! with it (`PR_SET_PDEATHSIG`). No wait on a partner lasts for ever.

use std::time::Instant;

use shm_workbook::call;
use shm_workbook::error::Result;
use shm_workbook::narrate::Narrator;
use shm_workbook::posix::mq::PosixQueue;
use shm_workbook::posix::name::unique_name;
use shm_workbook::process;
use shm_workbook::sysv::msg::{MessageBuffer, MessageQueue};

use super::message::{SIZES, check, pattern, stamp};
use super::plan::Plan;
use super::report::{Cell, RoundTrip, Row, Transport};
use super::sender::Sender;
use super::{Bench, Sample, size_text, time_round_trips};

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

/// Receives messages from `sender` at every size of [`SIZES`] that `fits` (a size that does
/// not gets the reason, in its row), with `receive(seq, size)`, which receives message `seq`
/// of `size` bytes and checks it.
pub fn stream(
    bench: &mut Bench,
    sender: &mut Sender,
    name: &str,
    fits: impl Fn(usize) -> std::result::Result<(), String>,
    mut receive: impl FnMut(u64, usize) -> Result<()>,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for size in SIZES {
        if let Err(why) = fits(size) {
            rows.push((size, Err(why)));
            continue;
        }
        let label = format!("{name} {}", size_text(size));
        let sample = sender.measure(bench, &label, size, |seq| receive(seq, size))?;
        rows.push((size, Ok(sample)));
    }
    Ok(rows)
}

/// The rows [`stream`] measured for `transport`, as cells of Part 1's table.
pub fn cells(transport: Transport, rows: Vec<Row>) -> Vec<Cell> {
    rows.into_iter().map(|(size, result)| Cell { transport, size, result }).collect()
}

/// Every size fits a byte stream (a pipe, a socket).
pub fn any_size(_: usize) -> std::result::Result<(), String> {
    Ok(())
}

/// The largest message size `fits` allows (8 bytes if none): what a queue's buffers hold.
pub fn largest(fits: impl Fn(usize) -> std::result::Result<(), String>) -> usize {
    SIZES.iter().copied().filter(|&size| fits(size).is_ok()).max().unwrap_or(8)
}

/// The `--step` pause while the System V queue `queue` exists, its sender waiting.
pub fn queue_exists(queue: &MessageQueue, plan: &Plan) -> String {
    format!(
        "The queue exists and its sender is waiting for orders.\n\
         In another terminal, run:  ipcs -q\n\
         You will see msqid {} with key 0x00000000 (IPC_PRIVATE), perms 600, 0 used-bytes.\n\
         During the measurement, used-bytes and messages climb to at most msgmnb ({} bytes).",
        queue.id(),
        plan.limits.sysv_max_queue_bytes
    )
}

/// `fs.mqueue.msgsize_max` binds only a process without CAP_SYS_RESOURCE (mq_overview(7)):
/// rather than predict, ask the kernel for a queue of the first size above it, and say what it
/// answered.
pub fn try_above_the_limit(out: &Narrator, plan: &Plan) -> Result<()> {
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

/// One System V queue: type 1 carries the pings, type 2 the echoes (`SysV msg queue`).
pub fn queue_round_trip(out: &Narrator, bench: &mut Bench) -> Result<RoundTrip> {
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
    Ok(RoundTrip { name: "SysV msg queue", sample })
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
