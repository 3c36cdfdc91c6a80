//! The evidence of who touched shared memory: with the trace on, every load, store and
//! read-modify-write through a [`Region`](crate::Region) or one of the library's
//! [`shared`](crate::shared) atomics, and every fence, is written to the trace as one line:
//!
//! ```json
//! {"kind":"access","seq":9,"t_ns":81234567990,"pid":4243,"role":"child","op":"load",
//!  "object":"0:1:32769","offset":0,"len":5,"bytes":"68656c6c6f","order":"Relaxed",
//!  "t0_ns":81234567900}
//! ```
//!
//! `object` names the memory as the kernel does (the device and inode behind the mapping, the
//! same in every process that maps it: for a System V segment the inode is its shmid);
//! `offset` counts from the start of that object, not from this process's address; `bytes` is
//! what was loaded or stored, in memory order, in hex (`old` too, for a read-modify-write:
//! what it found). `t0_ns` is when the access began and `t_ns` when it had ended, so a store
//! took effect between the two; `data` is true for a copy of plain bytes (a `Region`'s `load`
//! and `store`), which, unlike an atomic, races with an unordered store. A `map` line, written
//! once per region, names the object (`path`: `/SYSV00000000`, `/dev/shm/...`, `/memfd:...`).
//!
//! The exercise checker reads these lines to judge what the processes did to each other: which
//! store a load saw, and what ordered the two. Without the trace nothing is written and an
//! access costs one relaxed load more. A load that finds what the same process's previous load
//! of the same bytes found is not written again, so that a spinning wait writes one line.

use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use crate::call;
use crate::json::Json;

/// What an access did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read the memory.
    Load,
    /// Wrote it.
    Store,
    /// Read and wrote it in one atomic step (`fetch_add`, `swap`, a compare-exchange that
    /// succeeded).
    Rmw,
    /// A fence: no memory, an ordering.
    Fence,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Load => "load",
            Op::Store => "store",
            Op::Rmw => "rmw",
            Op::Fence => "fence",
        }
    }
}

/// The name an ordering has in Rust (`Acquire`).
pub fn order_name(order: Ordering) -> &'static str {
    match order {
        Ordering::Relaxed => "Relaxed",
        Ordering::Release => "Release",
        Ordering::Acquire => "Acquire",
        Ordering::AcqRel => "AcqRel",
        _ => "SeqCst",
    }
}

type Load = (i32, String, u64, Vec<u8>, u64);

/// A mapping of shared memory in this process, as the kernel names it.
#[derive(Clone, Debug)]
struct Mapped {
    start: usize,
    end: usize,
    object: String,
    /// Where in the object `start` is.
    offset: u64,
}

/// The shared mappings this process knows of (a forked child inherits them with its memory).
static MAPPED: Mutex<Vec<Mapped>> = Mutex::new(Vec::new());

thread_local! {
    /// The last load this process wrote: (pid, object, offset, bytes, the process's count of
    /// trace lines just after it), to skip a repeat with no other line between.
    static LAST_LOAD: RefCell<Option<Load>> = const { RefCell::new(None) };
}

/// Whether accesses are written down here.
pub fn recording() -> bool {
    call::tracing() && !call::silenced()
}

/// When an access begins, if it will be written down (0 otherwise).
pub fn begin() -> u64 {
    if recording() { call::monotonic_ns() } else { 0 }
}

/// A region of shared memory now at `start..start + len` in this process. Reads its line in
/// `/proc/self/maps` to learn the object behind it (only when the trace is on).
pub(crate) fn mapped(start: usize, len: usize) {
    if !recording() {
        return;
    }
    let Ok(Some(line)) = crate::procfs::maps_line(start) else { return };
    let object = format!("{}:{}", line.device, line.inode);
    let offset = line.offset + (start - line.start) as u64;
    let mapped = Mapped { start, end: start + len, object: object.clone(), offset };
    if let Ok(mut all) = MAPPED.lock() {
        all.retain(|m| m.end <= start || m.start >= start + len);
        all.push(mapped);
    }
    call::write_line(
        "map",
        vec![
            ("object", Json::from(object)),
            ("path", Json::from(line.path)),
            ("offset", Json::from(offset)),
            ("len", Json::from(len as u64)),
            ("start", Json::from(format!("{start:#x}"))),
        ],
    );
}

/// The region at `start` is gone from this process.
pub(crate) fn unmapped(start: usize) {
    if let Ok(mut all) = MAPPED.try_lock() {
        all.retain(|m| m.start != start);
    }
}

/// The object and the offset in it of `address`, if it is in a shared mapping of ours. A
/// mapping the library did not make (an atomic in memory mapped some other way) is looked up
/// in `/proc/self/maps` once; private memory is no one else's and is not written down.
fn locate(address: usize) -> Option<(String, u64)> {
    let found = |all: &[Mapped]| {
        all.iter()
            .find(|m| m.start <= address && address < m.end)
            .map(|m| (m.object.clone(), m.offset + (address - m.start) as u64))
    };
    if let Some(hit) = found(&MAPPED.lock().ok()?) {
        return Some(hit);
    }
    let line = crate::procfs::maps_line(address).ok()??;
    if !line.perms.contains('s') {
        return None;
    }
    let len = line.end - line.start;
    mapped(line.start, len);
    found(&MAPPED.lock().ok()?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes down an access of `bytes` at `address` that began at `began` (from [`begin`]):
/// `old` is what a read-modify-write found.
pub fn record(
    op: Op,
    address: usize,
    bytes: &[u8],
    old: Option<&[u8]>,
    order: Ordering,
    began: u64,
) {
    write(op, address, bytes, old, order, began, false);
}

/// Writes down a copy of plain data (a [`Region`](crate::Region)'s `load` or `store`: what
/// C does with `memcpy` or a plain variable), which the checker expects something else (a
/// semaphore, a flag with Release and Acquire) to order.
pub fn record_data(op: Op, address: usize, bytes: &[u8], began: u64) {
    write(op, address, bytes, None, Ordering::Relaxed, began, true);
}

fn write(
    op: Op,
    address: usize,
    bytes: &[u8],
    old: Option<&[u8]>,
    order: Ordering,
    began: u64,
    data: bool,
) {
    if began == 0 || !recording() {
        return;
    }
    let Some((object, offset)) = locate(address) else { return };
    let pid = nix::unistd::getpid().as_raw();
    if op == Op::Load {
        let this = (pid, object.clone(), offset, bytes.to_vec(), call::lines_written());
        if LAST_LOAD.with(|last| last.borrow().as_ref() == Some(&this)) {
            return;
        }
    }
    let mut fields = vec![
        ("op", Json::from(op.name())),
        ("object", Json::from(object.as_str())),
        ("offset", Json::from(offset)),
        ("len", Json::from(bytes.len() as u64)),
        ("bytes", Json::from(hex(bytes))),
        ("order", Json::from(order_name(order))),
        ("t0_ns", Json::from(began)),
    ];
    if let Some(old) = old {
        fields.push(("old", Json::from(hex(old))));
    }
    if data {
        fields.push(("data", Json::Bool(true)));
    }
    call::write_line("access", fields);
    if op == Op::Load {
        let this = (pid, object, offset, bytes.to_vec(), call::lines_written());
        LAST_LOAD.with(|last| *last.borrow_mut() = Some(this));
    }
}

/// Writes down a fence of `order`.
pub fn fence(order: Ordering) {
    if !recording() {
        return;
    }
    let began = call::monotonic_ns();
    call::write_line(
        "access",
        vec![
            ("op", Json::from(Op::Fence.name())),
            ("order", Json::from(order_name(order))),
            ("t0_ns", Json::from(began)),
        ],
    );
}
