//! What a run did, as the library recorded it: the JSON lines that `SHM_WORKBOOK_TRACE` makes
//! every process of the run append to one file (see `shm_workbook::call`).

use std::collections::BTreeMap;
use std::path::Path;

/// One recorded call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Call {
    /// The process that made it.
    pub pid: i32,
    /// Its role (`parent`, `writer 2`), or `process` if it named none.
    pub role: String,
    /// The call's name, as in C: `shmget`.
    pub name: String,
    /// Each argument's value, as `strace` would show it.
    pub args: Vec<String>,
    /// What it returned, or `None` if it failed.
    pub result: Option<String>,
    /// The errno's name (`ENOENT`) if it failed.
    pub errno: Option<String>,
    /// The call as C text with its result: `shmget(IPC_PRIVATE, 8, IPC_CREAT|IPC_EXCL|0600) = 5`.
    pub text: String,
    /// When it ended (CLOCK_MONOTONIC, comparable between the processes of a run).
    pub t_ns: u64,
    /// When it began (`t_ns` if the trace does not say).
    pub t0_ns: u64,
    /// Its place among the lines its process wrote (calls and accesses share one count).
    pub seq: u64,
    /// A call the library made on the way to another (not one the program asked for).
    pub helper: bool,
}

impl Call {
    /// The result as a number, if it returned one.
    pub fn returned(&self) -> Option<i64> {
        self.result.as_deref()?.parse().ok()
    }

    /// Whether it failed with `errno`.
    pub fn failed_with(&self, errno: &str) -> bool {
        self.errno.as_deref() == Some(errno)
    }
}

/// What an access did to shared memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read it.
    Load,
    /// Wrote it.
    Store,
    /// Read and wrote it in one atomic step.
    Rmw,
    /// A fence (no memory).
    Fence,
}

/// A memory ordering, as Rust names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Order {
    /// `Relaxed`.
    Relaxed,
    /// `Acquire`.
    Acquire,
    /// `Release`.
    Release,
    /// `AcqRel`.
    AcqRel,
    /// `SeqCst`.
    SeqCst,
}

impl Order {
    fn parse(name: &str) -> Order {
        match name {
            "Acquire" => Order::Acquire,
            "Release" => Order::Release,
            "AcqRel" => Order::AcqRel,
            "SeqCst" => Order::SeqCst,
            _ => Order::Relaxed,
        }
    }

    /// Whether it releases what came before (Release, AcqRel, SeqCst).
    pub fn releases(self) -> bool {
        matches!(self, Order::Release | Order::AcqRel | Order::SeqCst)
    }

    /// Whether it acquires what a release made visible (Acquire, AcqRel, SeqCst).
    pub fn acquires(self) -> bool {
        matches!(self, Order::Acquire | Order::AcqRel | Order::SeqCst)
    }
}

/// One load, store, read-modify-write or fence through the library (see
/// `shm_workbook::evidence`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The process that made it.
    pub pid: i32,
    /// Its place among the lines its process wrote.
    pub seq: u64,
    /// What it did.
    pub op: Op,
    /// The memory, as the kernel names it (`device:inode`); empty for a fence.
    pub object: String,
    /// Where in the object.
    pub offset: u64,
    /// What was loaded or stored (for a read-modify-write: what it stored).
    pub bytes: Vec<u8>,
    /// What a read-modify-write found.
    pub old: Option<Vec<u8>>,
    /// Its ordering.
    pub order: Order,
    /// When it began and when it had ended.
    pub t0_ns: u64,
    /// When it had ended.
    pub t_ns: u64,
    /// A copy of plain bytes (a `Region`'s load or store), not an atomic.
    pub data: bool,
}

impl Access {
    /// Whether it wrote memory.
    pub fn writes(&self) -> bool {
        matches!(self.op, Op::Store | Op::Rmw)
    }

    /// The bytes it covers in its object.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.offset..self.offset + self.bytes.len() as u64
    }

    /// Its value as a little-endian number (up to 8 bytes), for a word.
    pub fn value(&self) -> u64 {
        little_endian(&self.bytes)
    }
}

/// Up to 8 bytes as a little-endian number.
pub fn little_endian(bytes: &[u8]) -> u64 {
    bytes.iter().take(8).rev().fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

/// A trace file, read.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Its calls, in the order written.
    pub calls: Vec<Call>,
    /// Its loads, stores and fences, in the order written.
    pub accesses: Vec<Access>,
    /// The path of each object the accesses name (`/SYSV00000000 (deleted)`).
    pub objects: BTreeMap<String, String>,
    /// The role each process gave itself, from any of its lines (calls, and the `spawned`
    /// event of a forked child, which names it even if it never finishes a call).
    pub roles: BTreeMap<i32, String>,
}

/// A run whose trace grows past this makes calls without end (the checker stops it), and only
/// this much of a trace is read.
pub const LIMIT: u64 = 64 << 20;

/// Reads a trace file; a line cut short by a killed process is skipped.
pub fn read(path: &Path) -> Trace {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(LIMIT).read_to_end(&mut bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut trace = Trace::default();
    for line in text.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if let Some(call) = call_of(&value) {
            trace.roles.entry(call.pid).or_insert_with(|| call.role.clone());
            trace.calls.push(call);
        } else if let (Some(pid), Some(role)) =
            (value.get("pid").and_then(|v| v.as_i64()), value.get("role").and_then(|v| v.as_str()))
        {
            trace.roles.entry(pid as i32).or_insert_with(|| role.to_owned());
            match value.get("kind").and_then(|v| v.as_str()) {
                Some("access") => trace.accesses.extend(parse_access(&value)),
                Some("map") => {
                    if let (Some(object), Some(path)) = (
                        value.get("object").and_then(|v| v.as_str()),
                        value.get("path").and_then(|v| v.as_str()),
                    ) {
                        trace.objects.insert(object.to_owned(), path.to_owned());
                    }
                }
                _ => {}
            }
        }
    }
    trace
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn parse_access(value: &serde_json::Value) -> Option<Access> {
    let text = |key: &str| value.get(key).and_then(|v| v.as_str());
    let number = |key: &str| value.get(key).and_then(|v| v.as_u64());
    let op = match text("op")? {
        "load" => Op::Load,
        "store" => Op::Store,
        "rmw" => Op::Rmw,
        "fence" => Op::Fence,
        _ => return None,
    };
    let t_ns = number("t_ns")?;
    Some(Access {
        pid: value.get("pid")?.as_i64()? as i32,
        seq: number("seq")?,
        op,
        object: text("object").unwrap_or_default().to_owned(),
        offset: number("offset").unwrap_or(0),
        bytes: text("bytes").map_or(Some(Vec::new()), unhex)?,
        old: text("old").and_then(unhex),
        order: Order::parse(text("order")?),
        t0_ns: number("t0_ns").filter(|&t| t > 0).unwrap_or(t_ns),
        t_ns,
        data: value.get("data").and_then(|v| v.as_bool()).unwrap_or(false),
    })
}

/// One line of the trace, if it is a call.
pub fn parse_line(line: &str) -> Option<Call> {
    call_of(&serde_json::from_str(line).ok()?)
}

/// A parsed line, if it is a call.
fn call_of(value: &serde_json::Value) -> Option<Call> {
    if value.get("kind")?.as_str()? != "call" {
        return None;
    }
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    Some(Call {
        pid: value.get("pid")?.as_i64()? as i32,
        role: text("role").unwrap_or_default(),
        name: text("call")?,
        args: value
            .get("args")?
            .as_array()?
            .iter()
            .map(|arg| arg.as_str().unwrap_or_default().to_owned())
            .collect(),
        result: text("result"),
        errno: text("errno"),
        text: text("text").unwrap_or_default(),
        t_ns: value.get("t_ns").and_then(|v| v.as_u64()).unwrap_or(0),
        t0_ns: value
            .get("t0_ns")
            .and_then(|v| v.as_u64())
            .filter(|&t| t > 0)
            .or_else(|| value.get("t_ns").and_then(|v| v.as_u64()))
            .unwrap_or(0),
        seq: value.get("seq").and_then(|v| v.as_u64()).unwrap_or(0),
        helper: value.get("helper").and_then(|v| v.as_bool()).unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_line_is_read_and_other_lines_are_skipped() {
        let line = concat!(
            r#"{"kind":"call","seq":4,"t_ns":81234567890,"pid":4242,"role":"parent","#,
            r#""call":"shmget","args":["IPC_PRIVATE","1024","IPC_CREAT|IPC_EXCL|0600"],"#,
            r#""result":"32769","errno":null,"helper":false,"#,
            r#""text":"shmget(IPC_PRIVATE, 1024, IPC_CREAT|IPC_EXCL|0600) = 32769"}"#,
        );
        let call = parse_line(line).unwrap();
        assert_eq!((call.pid, call.role.as_str(), call.name.as_str()), (4242, "parent", "shmget"));
        assert_eq!(call.args[2], "IPC_CREAT|IPC_EXCL|0600");
        assert_eq!(call.returned(), Some(32769));
        let failed = concat!(
            r#"{"kind":"call","pid":7,"role":"child","call":"shmget","args":["0x1","0","0"],"#,
            r#""result":null,"errno":"ENOENT","text":"x"}"#,
        );
        assert!(parse_line(failed).unwrap().failed_with("ENOENT"));
        assert!(parse_line(r#"{"kind":"event","event":"load"}"#).is_none());
        assert!(parse_line(r#"{"kind":"call","pid":7,"ro"#).is_none(), "a line cut short");
    }
}

#[cfg(test)]
mod timing {
    #[test]
    #[ignore]
    fn read_a_big_trace() {
        let start = std::time::Instant::now();
        let trace = super::read(std::path::Path::new("/tmp/t6.jsonl"));
        eprintln!("{} accesses in {:?}", trace.accesses.len(), start.elapsed());
        let copy = crate::runner::Copy {
            pid: 0,
            ending: crate::runner::Ending::Exited(0),
            stdout: String::new(),
            stderr: String::new(),
            calls: trace.calls,
            accesses: trace.accesses,
            objects: trace.objects,
            roles: trace.roles,
        };
        let start = std::time::Instant::now();
        let evidence = crate::evidence::Evidence::of(&copy);
        eprintln!("evidence in {:?}", start.elapsed());
        let start = std::time::Instant::now();
        let races = evidence.races(1);
        eprintln!("races {} in {:?}", races.len(), start.elapsed());
    }
}
