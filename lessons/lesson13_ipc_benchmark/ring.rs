//! The ring in shared memory that lesson 13 measures against the kernel's mechanisms: one
//! producer, one consumer, two indices on cache lines of their own and a data area the
//! messages are copied into and out of. No system call: each end spins (and yields) while it
//! must wait. The page (`main.rs`) makes the segment and runs the ring's loops beside the
//! pipe's, the socket's and the queues'; this file is the data structure and its proof of
//! soundness (the `SAFETY` comments).

use std::sync::atomic::Ordering;

use shm_workbook::wait::Partner;
use shm_workbook::{Attachment, Error, Result, Shareable};

use crate::bench::CacheLine;

/// The ring's data area: as large as L3 caches go.
pub const RING_BYTES: usize = 4 << 20;

// ANCHOR: ring
/// The start of the ring's segment; the data area follows at `RING_DATA`. Each index is alone
/// on its cache line (64 bytes): the producer writes `head` and the consumer writes `tail` all
/// the time, and two indices on one line would bounce it between the cores at every message
/// (false sharing).
#[repr(C)]
pub struct RingIndices {
    /// Bytes ever written. Only the producer stores it (Release: after the bytes).
    head: CacheLine,
    /// Bytes ever read. Only the consumer stores it (Release: after it has copied them out).
    tail: CacheLine,
}

// SAFETY: #[repr(C)], made only of atomics (valid for every bit pattern, zero included) and
// padding, with no pointers.
unsafe impl Shareable for RingIndices {}

/// Where the data area starts in the segment: after the two cache lines of the indices.
pub const RING_DATA: usize = 128;

/// One end of the single-producer single-consumer ring, in one process.
pub struct RingEnd<'a> {
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
    /// One end of the ring in `memory`, whose other end is `partner`.
    pub fn new(memory: &'a Attachment, partner: Partner) -> Result<RingEnd<'a>> {
        if memory.len() < RING_DATA + RING_BYTES {
            return Err(Error::other("RingEnd::new", "the segment is smaller than the ring"));
        }
        // SAFETY: RING_DATA < len, so the pointer stays inside the attachment.
        let data = unsafe { memory.as_mut_ptr().add(RING_DATA) };
        Ok(RingEnd { indices: memory.view()?, data, partner, mine: 0, theirs: 0 })
    }

    /// Producer: waits for room, copies `message` in, then publishes it by moving `head`.
    pub fn push(&mut self, message: &[u8]) -> Result<()> {
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
    pub fn pop(&mut self, message: &mut [u8]) -> Result<()> {
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
