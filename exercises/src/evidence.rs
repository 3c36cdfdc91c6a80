//! What the processes of one copy did to each other, from its trace: which store each load
//! saw, what ordered one process's step before another's (happens-before), and which two
//! accesses to the same bytes nothing ordered (a data race).
//!
//! Happens-before is built as the Rust and C++ memory model builds it, from what the trace
//! records:
//! - each process's own steps, in the order it wrote them;
//! - `fork` before the child's first step, and the child's last step before the `waitpid`
//!   that returned it;
//! - a Release store (or a store after a Release fence) before an Acquire load (or an Acquire
//!   fence after the load) that read it, following read-modify-writes in between;
//! - a semaphore given (`semop` with +n, `sem_post`, `pthread_mutex_unlock`, `msgsnd`, a
//!   `write` to a pipe) before a take of the same semaphore (`semop` with -n or 0, `sem_wait`,
//!   `pthread_mutex_lock`, `msgrcv`, a `read` from that pipe) that ended after the give began.
//!
//! The last rule may order more than the kernel did (a give that began just before a take
//! ended is counted even if another give satisfied the take), so a race reported is a race;
//! a race hidden by it is rare. A synchronization made around the library (a raw `libc::semop`,
//! a pipe made with `nix` or `libc`) is not in the trace, so it orders nothing here.

use std::collections::{BTreeMap, HashMap};

use crate::runner::Copy;
use crate::trace::{Access, Call, Op};

/// A step of a process: one of its calls or one of its accesses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `copy.calls[i]`.
    Call(usize),
    /// `copy.accesses[i]`.
    Access(usize),
}

/// Two accesses to the same bytes, from two processes, at least one a store, that nothing
/// ordered.
#[derive(Clone, Debug)]
pub struct Race {
    /// The store (`copy.accesses[i]`).
    pub store: usize,
    /// The other access.
    pub other: usize,
}

/// The analysis of one copy.
pub struct Evidence<'a> {
    copy: &'a Copy,
    /// Each process's steps in program order.
    steps: BTreeMap<i32, Vec<Step>>,
    /// Where each step sits in its process's list: (pid, index from 1).
    place: HashMap<StepKey, (i32, usize)>,
    /// Each step's vector clock: for each process, how many of its steps happen before or
    /// are this one.
    clocks: HashMap<StepKey, BTreeMap<i32, usize>>,
    /// For each access that reads, the access it read from, if any.
    read_from: Vec<Option<usize>>,
    /// For each step (by key): the latest releasing fence of its process before it, and the
    /// earliest acquiring fence after it.
    fences: HashMap<StepKey, (Option<Step>, Option<Step>)>,
}

type StepKey = (bool, usize);

fn key(step: Step) -> StepKey {
    match step {
        Step::Call(i) => (false, i),
        Step::Access(i) => (true, i),
    }
}

/// Whether a semop's argument `{n, delta, flags}` gives (delta > 0): Some(sem, gives).
fn semop_parts(call: &Call) -> Option<(String, bool)> {
    if !matches!(call.name.as_str(), "semop" | "semtimedop") || call.result.is_none() {
        return None;
    }
    let sops = call.args.get(1)?.trim_matches(|c| c == '{' || c == '}');
    let mut parts = sops.split(',').map(str::trim);
    let number = parts.next()?;
    let delta: i64 = parts.next()?.trim_start_matches('+').parse().ok()?;
    Some((format!("sem {} {number}", call.args.first()?), delta > 0))
}

/// The synchronizing object a call gives or takes (`sem 5 0`: semaphore 0 of set 5), and
/// whether it gives.
pub fn sync_of(call: &Call) -> Option<(String, bool)> {
    if call.result.is_none() && call.name != "pthread_mutex_lock" {
        return None;
    }
    let first = || call.args.first().cloned().unwrap_or_default();
    match call.name.as_str() {
        "semop" | "semtimedop" => semop_parts(call),
        "sem_post" => Some((format!("posix sem {}", first()), true)),
        "sem_wait" | "sem_timedwait" | "sem_trywait" => {
            Some((format!("posix sem {}", first()), false))
        }
        "pthread_mutex_unlock" => Some((format!("mutex {}", first()), true)),
        "pthread_mutex_lock" => Some((format!("mutex {}", first()), false)),
        "write" | "read" => {
            // The library's pipe names the pipe in a comment: `write(4 /* pipe:[123] */, ...)`.
            let inode = call.text.split("pipe:[").nth(1)?.split(']').next()?;
            let moved = call.returned().is_some_and(|n| n > 0);
            moved.then(|| (format!("pipe {inode}"), call.name == "write"))
        }
        "msgsnd" => Some((format!("queue {}", first()), true)),
        "msgrcv" => Some((format!("queue {}", first()), false)),
        _ => None,
    }
}

impl<'a> Evidence<'a> {
    /// Builds the analysis of `copy`.
    pub fn of(copy: &'a Copy) -> Evidence<'a> {
        let mut steps: BTreeMap<i32, Vec<(u64, Step)>> = BTreeMap::new();
        for (i, call) in copy.calls.iter().enumerate() {
            steps.entry(call.pid).or_default().push((call.seq, Step::Call(i)));
        }
        for (i, access) in copy.accesses.iter().enumerate() {
            steps.entry(access.pid).or_default().push((access.seq, Step::Access(i)));
        }
        let steps: BTreeMap<i32, Vec<Step>> = steps
            .into_iter()
            .map(|(pid, mut list)| {
                list.sort_by_key(|(seq, _)| *seq);
                (pid, list.into_iter().map(|(_, step)| step).collect())
            })
            .collect();
        let mut place = HashMap::new();
        for (pid, list) in &steps {
            for (index, step) in list.iter().enumerate() {
                place.insert(key(*step), (*pid, index + 1));
            }
        }
        let mut evidence = Evidence {
            copy,
            steps,
            place,
            clocks: HashMap::new(),
            read_from: vec![None; copy.accesses.len()],
            fences: HashMap::new(),
        };
        evidence.find_fences();
        evidence.find_reads_from();
        let edges = evidence.edges();
        evidence.compute_clocks(&edges);
        evidence
    }

    /// For each load (and read-modify-write), the store it read: same bytes, same place,
    /// begun before the load ended; the latest such.
    fn find_reads_from(&mut self) {
        let accesses = &self.copy.accesses;
        // Each place and value's stores, in the order they began.
        let mut writes: HashMap<(&str, u64, &[u8]), Vec<usize>> = HashMap::new();
        for (i, access) in accesses.iter().enumerate() {
            if access.writes() {
                writes
                    .entry((access.object.as_str(), access.offset, access.bytes.as_slice()))
                    .or_default()
                    .push(i);
            }
        }
        for list in writes.values_mut() {
            list.sort_by_key(|&w| accesses[w].t0_ns);
        }
        for (i, access) in accesses.iter().enumerate() {
            let seen = match access.op {
                Op::Load => &access.bytes,
                Op::Rmw => match &access.old {
                    Some(old) => old,
                    None => continue,
                },
                _ => continue,
            };
            let Some(list) = writes.get(&(access.object.as_str(), access.offset, seen.as_slice()))
            else {
                continue;
            };
            let before = list.partition_point(|&w| accesses[w].t0_ns < access.t_ns);
            self.read_from[i] = list[..before].iter().rev().copied().find(|&w| w != i);
        }
    }

    /// The step of `pid` just before or after access `i` that is a fence releasing (before) or
    /// acquiring (after).
    fn fence_around(&self, i: usize, before: bool) -> Option<Step> {
        let (release, acquire) = self.fences.get(&key(Step::Access(i)))?;
        if before { *release } else { *acquire }
    }

    fn find_fences(&mut self) {
        let accesses = &self.copy.accesses;
        let fence = |step: &Step, releasing: bool| match step {
            Step::Access(j) => {
                let a = &accesses[*j];
                a.op == Op::Fence && if releasing { a.order.releases() } else { a.order.acquires() }
            }
            Step::Call(_) => false,
        };
        for list in self.steps.values() {
            let mut release = None;
            let mut before = Vec::with_capacity(list.len());
            for step in list {
                before.push(release);
                if fence(step, true) {
                    release = Some(*step);
                }
            }
            let mut acquire = None;
            for (index, step) in list.iter().enumerate().rev() {
                self.fences.insert(key(*step), (before[index], acquire));
                if fence(step, false) {
                    acquire = Some(*step);
                }
            }
        }
    }

    /// Where the write `w` released from, following read-modify-writes back (a release
    /// sequence), if it released at all.
    fn release_point(&self, mut w: usize) -> Option<Step> {
        for _ in 0..64 {
            let access = &self.copy.accesses[w];
            if access.order.releases() {
                return Some(Step::Access(w));
            }
            if let Some(fence) = self.fence_around(w, true) {
                return Some(fence);
            }
            match (access.op, self.read_from[w]) {
                (Op::Rmw, Some(earlier)) => w = earlier,
                _ => return None,
            }
        }
        None
    }

    /// The synchronizing edges: (from, to).
    fn edges(&self) -> Vec<(Step, Step)> {
        let calls = &self.copy.calls;
        let mut edges = Vec::new();
        let first_of = |pid: i32| self.steps.get(&pid).and_then(|list| list.first()).copied();
        let last_of = |pid: i32| self.steps.get(&pid).and_then(|list| list.last()).copied();
        for (i, call) in calls.iter().enumerate() {
            match call.name.as_str() {
                "fork" => {
                    if let Some(child) = call.returned().and_then(|pid| first_of(pid as i32)) {
                        edges.push((Step::Call(i), child));
                    }
                }
                "waitpid" => {
                    if let Some(last) = call.returned().and_then(|pid| last_of(pid as i32)) {
                        edges.push((last, Step::Call(i)));
                    }
                }
                _ => {}
            }
        }
        // A process started around the library (`std::process::Command`: no fork recorded)
        // comes after whatever had ended before its first step began.
        let forked: Vec<i32> = calls
            .iter()
            .filter(|c| c.name == "fork")
            .filter_map(|c| c.returned())
            .map(|pid| pid as i32)
            .collect();
        let started = |step: Step| match step {
            Step::Call(i) => calls[i].t0_ns,
            Step::Access(i) => self.copy.accesses[i].t0_ns,
        };
        let ended = |step: Step| match step {
            Step::Call(i) => calls[i].t_ns,
            Step::Access(i) => self.copy.accesses[i].t_ns,
        };
        for (pid, list) in &self.steps {
            let Some(&first) = list.first() else { continue };
            if forked.contains(pid) || *pid == self.copy.pid {
                continue;
            }
            for (other, others) in &self.steps {
                if other == pid {
                    continue;
                }
                let before = others.partition_point(|&s| ended(s) < started(first));
                if before > 0 {
                    edges.push((others[before - 1], first));
                }
            }
        }
        // Gives and takes of one semaphore: each take after the latest give of each other
        // process that began before the take ended.
        let mut gives: HashMap<String, Vec<usize>> = HashMap::new();
        let mut takes: Vec<(String, usize)> = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            match sync_of(call) {
                Some((object, true)) => gives.entry(object).or_default().push(i),
                Some((object, false)) => takes.push((object, i)),
                None => {}
            }
        }
        for (object, take) in takes {
            let Some(given) = gives.get(&object) else { continue };
            let mut latest: BTreeMap<i32, usize> = BTreeMap::new();
            for &give in given {
                let (g, t) = (&calls[give], &calls[take]);
                if g.pid != t.pid && g.t0_ns < t.t_ns {
                    let best = latest.entry(g.pid).or_insert(give);
                    if calls[*best].seq < g.seq {
                        *best = give;
                    }
                }
            }
            edges.extend(latest.values().map(|&give| (Step::Call(give), Step::Call(take))));
        }
        // Release → acquire through the store a load read.
        for (i, access) in self.copy.accesses.iter().enumerate() {
            let Some(w) = self.read_from[i] else { continue };
            if self.copy.accesses[w].pid == access.pid {
                continue;
            }
            let acquire = if access.order.acquires() {
                Some(Step::Access(i))
            } else {
                self.fence_around(i, false)
            };
            if let (Some(from), Some(to)) = (self.release_point(w), acquire) {
                edges.push((from, to));
            }
        }
        edges
    }

    /// Vector clocks, step by step, each after its predecessor in its process and after
    /// the sources of its edges (the edges cannot form a circle: each runs from a step that
    /// began to one that ended later).
    fn compute_clocks(&mut self, edges: &[(Step, Step)]) {
        let mut incoming: HashMap<StepKey, Vec<Step>> = HashMap::new();
        for (from, to) in edges {
            incoming.entry(key(*to)).or_default().push(*from);
        }
        let mut done: HashMap<i32, usize> = self.steps.keys().map(|&pid| (pid, 0)).collect();
        loop {
            let mut progressed = false;
            let mut all_done = true;
            for (pid, list) in &self.steps {
                loop {
                    let index = done[pid];
                    if index == list.len() {
                        break;
                    }
                    all_done = false;
                    let step = list[index];
                    let sources = incoming.get(&key(step)).map(Vec::as_slice).unwrap_or(&[]);
                    if !sources.iter().all(|s| self.clocks.contains_key(&key(*s))) {
                        break;
                    }
                    let mut clock = if index == 0 {
                        BTreeMap::new()
                    } else {
                        self.clocks[&key(list[index - 1])].clone()
                    };
                    for source in sources {
                        for (p, n) in &self.clocks[&key(*source)] {
                            let entry = clock.entry(*p).or_insert(0);
                            *entry = (*entry).max(*n);
                        }
                    }
                    clock.insert(*pid, index + 1);
                    self.clocks.insert(key(step), clock);
                    done.insert(*pid, index + 1);
                    progressed = true;
                }
            }
            if all_done || !progressed {
                break;
            }
        }
        // A step left (a circle the timestamps should have prevented): its process order only.
        for (pid, list) in &self.steps {
            for (index, step) in list.iter().enumerate() {
                self.clocks
                    .entry(key(*step))
                    .or_insert_with(|| BTreeMap::from([(*pid, index + 1)]));
            }
        }
    }

    /// Whether step `a` happens before step `b`.
    pub fn happens_before(&self, a: Step, b: Step) -> bool {
        let (Some(&(pid, index)), Some(clock)) =
            (self.place.get(&key(a)), self.clocks.get(&key(b)))
        else {
            return false;
        };
        a != b && clock.get(&pid).copied().unwrap_or(0) >= index
    }

    /// The store access `i` read from (a load, or what a read-modify-write found).
    pub fn read_from(&self, i: usize) -> Option<usize> {
        self.read_from[i]
    }

    /// The steps of `pid`, in program order.
    pub fn steps_of(&self, pid: i32) -> &[Step] {
        self.steps.get(&pid).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The accesses of the copy.
    pub fn accesses(&self) -> &[Access] {
        &self.copy.accesses
    }

    /// Every data race: two accesses to overlapping bytes of one object, from two processes,
    /// at least one a store, at least one a copy of plain data (a `Region`'s load or store:
    /// what C does with `memcpy` or a plain variable; two atomics never race), and neither
    /// happening before the other. At most `limit`, earliest first.
    pub fn races(&self, limit: usize) -> Vec<Race> {
        let accesses = &self.copy.accesses;
        let plain = |a: &Access| a.data;
        // Each byte's accesses, per process, in program order.
        let mut bytes: HashMap<(&str, u64), BTreeMap<i32, Vec<usize>>> = HashMap::new();
        for (i, access) in accesses.iter().enumerate() {
            if access.op == Op::Fence {
                continue;
            }
            for byte in access.range() {
                bytes
                    .entry((access.object.as_str(), byte))
                    .or_default()
                    .entry(access.pid)
                    .or_default()
                    .push(i);
            }
        }
        let mut found: Vec<(usize, usize)> = Vec::new();
        for per_process in bytes.values() {
            // Two atomics never race: a byte no plain access touches has nothing to report.
            if !per_process.values().flatten().any(|&i| plain(&accesses[i])) {
                continue;
            }
            let plain_only: BTreeMap<i32, Vec<usize>> = per_process
                .iter()
                .map(|(pid, list)| {
                    (*pid, list.iter().copied().filter(|&i| plain(&accesses[i])).collect())
                })
                .collect();
            for (pid, list) in per_process {
                for &w in list.iter().filter(|&&w| accesses[w].writes()) {
                    let Some(&(_, w_index)) = self.place.get(&key(Step::Access(w))) else {
                        continue;
                    };
                    let w_clock = &self.clocks[&key(Step::Access(w))];
                    // A plain store races with any access; an atomic one only with plain ones.
                    let candidates = if plain(&accesses[w]) { per_process } else { &plain_only };
                    for (other_pid, others) in candidates {
                        if other_pid == pid {
                            continue;
                        }
                        let known = w_clock.get(other_pid).copied().unwrap_or(0);
                        // The other's accesses not before w: those placed after `known`; the
                        // first of them is concurrent with w unless w happens before it (and
                        // so before every later one).
                        let start = others
                            .partition_point(|&x| self.place[&key(Step::Access(x))].1 <= known);
                        let Some(&x) = others.get(start) else { continue };
                        let x_clock = &self.clocks[&key(Step::Access(x))];
                        if x_clock.get(pid).copied().unwrap_or(0) >= w_index {
                            continue;
                        }
                        let pair = if accesses[x].writes() && accesses[x].t_ns < accesses[w].t_ns {
                            (x, w)
                        } else {
                            (w, x)
                        };
                        if !found.contains(&pair) {
                            found.push(pair);
                        }
                        if found.len() >= limit.max(1) * 8 {
                            break;
                        }
                    }
                }
            }
        }
        found.sort_by_key(|&(a, b)| accesses[a].t_ns.min(accesses[b].t_ns));
        found.truncate(limit);
        found.into_iter().map(|(store, other)| Race { store, other }).collect()
    }

    /// An access in words: `the child (4243) loaded 18 bytes at offset 0 of segment 5
    /// (Relaxed)`.
    pub fn describe(&self, i: usize) -> String {
        let access = &self.copy.accesses[i];
        let who = match self.copy.role_of(access.pid) {
            Some(role) => format!("{role} {}", access.pid),
            None => format!("process {}", access.pid),
        };
        let what = match access.op {
            Op::Load => "loaded",
            Op::Store => "stored",
            Op::Rmw => "changed (read-modify-write)",
            Op::Fence => return format!("{who} made a {:?} fence", access.order),
        };
        let value = if access.bytes.len() <= 8 {
            format!("{}", access.value())
        } else {
            format!("{:?}", String::from_utf8_lossy(&access.bytes))
        };
        format!(
            "{who} {what} {value} ({} bytes at offset {} of {}, {:?})",
            access.bytes.len(),
            access.offset,
            self.object_name(&access.object),
            access.order
        )
    }

    /// An object in words: `segment 32769`, `/dev/shm/name`.
    pub fn object_name(&self, object: &str) -> String {
        match self.copy.objects.get(object) {
            Some(path) if path.starts_with("/SYSV") => {
                format!("segment {}", object.rsplit(':').next().unwrap_or(object))
            }
            Some(path) if !path.is_empty() => path.trim_end_matches(" (deleted)").to_owned(),
            _ => format!("the shared memory {object}"),
        }
    }
}

/// Bytes loaded one after another at adjacent offsets, and for each byte (access, index in it).
type Run = (Vec<u8>, Vec<(usize, usize)>);

/// Where a text a process printed came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// No load of that process (through the library) found those bytes.
    NotLoaded,
    /// Loaded, by these accesses, each of which read from a store of another process that
    /// happens before it.
    FromPartner { loads: Vec<usize> },
    /// Loaded, but some load read no store of another process (zeroes, or its own store).
    NotStoredByPartner { load: usize },
    /// Loaded from another process's store, but nothing ordered that store before the load.
    Unordered { store: usize, load: usize },
}

impl Evidence<'_> {
    /// The store that byte `k` of load `i` read: the latest store of that byte with that value
    /// that began before the load ended.
    pub fn byte_source(&self, i: usize, k: usize) -> Option<usize> {
        let accesses = &self.copy.accesses;
        let load = &accesses[i];
        let byte = load.offset + k as u64;
        let value = *load.bytes.get(k)?;
        accesses
            .iter()
            .enumerate()
            .filter(|(w, a)| {
                *w != i
                    && a.writes()
                    && a.object == load.object
                    && a.range().contains(&byte)
                    && a.bytes[(byte - a.offset) as usize] == value
                    && a.t0_ns < load.t_ns
            })
            .max_by_key(|(_, a)| a.t0_ns)
            .map(|(w, _)| w)
    }

    /// Where `text`, printed by `pid`, came from: the loads of `pid` whose bytes, taken in the
    /// order loaded and at adjacent offsets of one object, spell it, and the stores they read.
    pub fn provenance(&self, pid: i32, text: &str) -> Provenance {
        self.provenance_of_bytes(pid, text.as_bytes())
    }

    /// [`provenance`](Self::provenance) of any bytes (a number: its bytes in memory order).
    pub fn provenance_of_bytes(&self, pid: i32, needle: &[u8]) -> Provenance {
        let accesses = &self.copy.accesses;
        let Some(list) = self.steps.get(&pid) else { return Provenance::NotLoaded };
        // Runs of loads at adjacent offsets of one object, in the order made.
        let mut runs: Vec<Run> = Vec::new();
        let mut last: Option<(String, u64)> = None;
        for step in list {
            let Step::Access(i) = *step else { continue };
            let access = &accesses[i];
            if access.op != Op::Load {
                continue;
            }
            let adjacent = last.as_ref() == Some(&(access.object.clone(), access.offset));
            if !adjacent || runs.is_empty() {
                runs.push((Vec::new(), Vec::new()));
            }
            let run = runs.last_mut().expect("pushed");
            for k in 0..access.bytes.len() {
                run.1.push((i, k));
            }
            run.0.extend_from_slice(&access.bytes);
            last = Some((access.object.clone(), access.offset + access.bytes.len() as u64));
        }
        if needle.is_empty() {
            return Provenance::NotLoaded;
        }
        for (bytes, owners) in &runs {
            let Some(at) = bytes.windows(needle.len()).position(|window| window == needle) else {
                continue;
            };
            let mut loads: Vec<usize> = Vec::new();
            for &(load, k) in &owners[at..at + needle.len()] {
                match self.byte_source(load, k) {
                    Some(store) if accesses[store].pid != pid => {
                        if !self.happens_before(Step::Access(store), Step::Access(load)) {
                            return Provenance::Unordered { store, load };
                        }
                    }
                    _ => return Provenance::NotStoredByPartner { load },
                }
                if loads.last() != Some(&load) {
                    loads.push(load);
                }
            }
            return Provenance::FromPartner { loads };
        }
        Provenance::NotLoaded
    }
}
