//! What the machine was doing while lesson 13 measured: how long its processes waited for a
//! CPU, how loaded the machine was, and whether the code being measured was optimised. The
//! lesson reports its figures as what *this* machine showed, and says when a figure is about
//! a busy machine or an unoptimised build rather than about IPC.

use std::time::{Duration, Instant};

use nix::unistd::Pid;

/// Nanoseconds process `pid` has spent runnable but waiting for a CPU: the second field of
/// `/proc/<pid>/schedstat` (the kernel's run-queue delay). `None` where the kernel keeps no
/// such figures.
pub fn run_delay_ns(pid: Pid) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Run-queue delay of some processes over a stretch of time.
#[derive(Debug)]
pub struct CpuWait {
    start: Instant,
    before: Vec<(Pid, Option<u64>)>,
}

impl CpuWait {
    /// Starts watching this process and `others`.
    pub fn start(others: &[Pid]) -> CpuWait {
        let me = nix::unistd::getpid();
        let before = std::iter::once(me)
            .chain(others.iter().copied())
            .map(|pid| (pid, run_delay_ns(pid)))
            .collect();
        CpuWait { start: Instant::now(), before }
    }

    /// The largest share of the time since [`start`](Self::start) that one of the watched
    /// processes spent waiting for a CPU (0.25: a quarter of the time); NaN if unknown.
    pub fn share(&self) -> f64 {
        let wall = self.start.elapsed().as_nanos() as f64;
        self.before
            .iter()
            .filter_map(|&(pid, before)| Some(run_delay_ns(pid)?.saturating_sub(before?)))
            // A wait that began before `start` is counted whole when it ends: at most all of it.
            .map(|waited| (waited as f64 / wall).min(1.0))
            .fold(f64::NAN, f64::max)
    }
}

/// The load average over the last minute (`/proc/loadavg`): how many processes were running
/// or waiting to run, on average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// The share of the last 10 seconds in which some runnable process waited for a CPU
/// (`/proc/pressure/cpu`, "some avg10", as a fraction); `None` without pressure stall
/// information.
pub fn cpu_pressure() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    let some = text.lines().find(|line| line.starts_with("some "))?;
    let avg10 = some.split_whitespace().find_map(|field| field.strip_prefix("avg10="))?;
    avg10.parse::<f64>().ok().map(|percent| percent / 100.0)
}

/// How far apart two processes' CPUs are, measured: the time a cache line takes to go from
/// one process to another and back (each spins on a word the other writes). On one chip
/// sharing a cache this takes about 100 ns; between chips, several hundred; and a virtual
/// machine's host may move its CPUs from one kind of place to the other at any time, which
/// the guest's `lscpu` does not show.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distance {
    /// A cache line's round trip between two CPUs, in nanoseconds: the fastest group of the
    /// probe (NaN if none completed).
    pub round_trip_ns: f64,
    /// The CPUs the two processes measured last ran on (this one first).
    pub cpus: (i64, i64),
}

/// The CPU process `pid` last ran on (field 39 of `/proc/<pid>/stat`).
pub fn last_cpu(pid: Pid) -> Option<i64> {
    shm_workbook::procfs::process_stat(pid.as_raw())?.last_cpu()
}

/// A round trip above this many nanoseconds means CPUs that share no cache.
pub const FAR_NS: f64 = 250.0;

impl Distance {
    /// Whether the two ran on one CPU (so spinning waited for time slices).
    pub fn same_cpu(&self) -> bool {
        self.cpus.0 == self.cpus.1
    }

    /// The farther of two probes; a probe that completed nothing (its process found no CPU)
    /// gives way to one that did.
    pub fn farther(self, other: Distance) -> Distance {
        if other.round_trip_ns > self.round_trip_ns || self.round_trip_ns.is_nan() {
            other
        } else {
            self
        }
    }

    /// Whether the CPUs share no cache: a round trip above [`FAR_NS`] (not when unknown).
    pub fn far(&self) -> bool {
        self.round_trip_ns > FAR_NS
    }

    /// `near (90 ns there and back, CPUs 0 and 1)`.
    pub fn describe(&self) -> String {
        if self.round_trip_ns.is_nan() {
            return format!(
                "unknown (the probe found no free CPU in 20 ms; CPUs {} and {})",
                self.cpus.0, self.cpus.1
            );
        }
        let where_ = if self.same_cpu() {
            "one CPU"
        } else if self.far() {
            "far apart"
        } else {
            "near"
        };
        format!(
            "{where_} ({} there and back, CPUs {} and {})",
            super::time_text(self.round_trip_ns),
            self.cpus.0,
            self.cpus.1
        )
    }
}

/// The words of [`distance`]'s probe, each on its own cache line.
#[repr(C)]
struct Probe {
    ping: super::CacheLine,
    pong: super::CacheLine,
    cpu: super::CacheLine,
}

/// Measures the [`Distance`] between the CPU this process runs on and another one, with a
/// child forked for the purpose and pinned to that other CPU: up to 1000 round trips of a
/// cache line (at most 20 ms of them), the fastest of groups of ten. The calls are not
/// recorded: this is a measurement, not part of the story.
pub fn distance() -> shm_workbook::Result<Distance> {
    use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
    let length = std::num::NonZeroUsize::new(std::mem::size_of::<Probe>()).expect("not empty");
    let flags = nix::sys::mman::MapFlags::MAP_SHARED;
    let protection = nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE;
    // SAFETY: a new anonymous mapping, shared with the child forked below; it is only used
    // through atomics, and unmapped after the child has been reaped.
    let memory = unsafe { nix::sys::mman::mmap_anonymous(None, length, protection, flags) }
        .map_err(|errno| {
            shm_workbook::Error::sys("mmap(NULL, 192, ..., MAP_SHARED|MAP_ANONYMOUS)", errno)
        })?;
    // SAFETY: the mapping is page-aligned, zeroed, and at least as large as a Probe, which is
    // only atomics (valid when zeroed).
    let probe: &Probe = unsafe { memory.cast::<Probe>().as_ref() };
    // SAFETY: sched_getcpu takes nothing and returns a CPU number (or -1).
    let here = || i64::from(unsafe { libc::sched_getcpu() });
    let result = shm_workbook::call::unrecorded(|| {
        let parent = shm_workbook::wait::Partner::parent;
        // Another online CPU, even outside this process's affinity (it may be pinned).
        // SAFETY: sysconf takes a constant and returns a number.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
        let mine = here();
        let other = (0..online).find(|&cpu| cpu as i64 != mine);
        let child = shm_workbook::process::spawn("probe", |_| {
            if let Some(cpu) = other {
                super::pin_to_cpu(cpu)?;
            }
            let partner = parent();
            probe.cpu.0.store(here() as u64, Relaxed);
            let mut seen = 0;
            for round in 0u64.. {
                let now = probe.ping.0.load(Acquire);
                if now == u64::MAX {
                    return Ok(());
                }
                if now != seen {
                    seen = now;
                    probe.pong.0.store(now, Release);
                } else if round % (1 << 16) == 0 && partner.has_died() {
                    return Ok(());
                } else if round % 4096 == 0 {
                    std::thread::yield_now(); // one CPU for both: let the parent run
                }
                std::hint::spin_loop();
            }
            Ok(())
        })?;
        // The fastest of 100 groups of 10 round trips: a probe that loses its CPU to another
        // program for a while (a busy machine) still finds groups that ran undisturbed, and
        // those measure the distance.
        let deadline = Instant::now() + Duration::from_millis(20);
        let mut fastest = f64::NAN;
        'groups: for group in 0..100u64 {
            let start = Instant::now();
            for i in 1..=10 {
                let seq = group * 10 + i;
                probe.ping.0.store(seq, Release);
                let mut spins = 0u32;
                while probe.pong.0.load(Acquire) != seq {
                    spins += 1;
                    if spins.is_multiple_of(4096) {
                        if Instant::now() > deadline {
                            break 'groups;
                        }
                        std::thread::yield_now();
                    }
                    std::hint::spin_loop();
                }
            }
            fastest = fastest.min(start.elapsed().as_nanos() as f64 / 10.0);
        }
        probe.ping.0.store(u64::MAX, Release);
        child.wait()?;
        Ok(Distance { round_trip_ns: fastest, cpus: (here(), probe.cpu.0.load(Relaxed) as i64) })
    });
    // SAFETY: the child has ended; nothing uses the mapping any more.
    let _ = unsafe { nix::sys::mman::munmap(memory, length.get()) };
    result
}

/// How many times slower a plain Rust loop copies 64 KiB than `copy_from_slice` (the C
/// library's `memcpy`) does, the best of several tries. An optimised build turns the loop into
/// a copy as fast as `memcpy` (about 1); an unoptimised one checks bounds and steps one byte
/// at a time (10 to 50 times slower). A ratio, so the machine's speed cancels out.
pub fn unoptimised_slowdown() -> f64 {
    let source: Vec<u8> = (0..64 << 10).map(|i| i as u8).collect();
    let mut target = vec![0u8; source.len()];
    let mut best = |copy: &mut dyn FnMut(&mut [u8])| {
        (0..7)
            .map(|_| {
                let start = Instant::now();
                copy(std::hint::black_box(&mut target));
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::ZERO)
    };
    // The loop is the point: an optimiser turns it into a copy, and nothing else does.
    #[allow(clippy::manual_memcpy)]
    let looped = best(&mut |target: &mut [u8]| {
        for i in 0..target.len() {
            target[i] = source[i];
        }
    });
    let copied = best(&mut |target: &mut [u8]| target.copy_from_slice(&source));
    looped.as_secs_f64() / copied.as_secs_f64().max(1e-9)
}

/// Whether the code being measured was compiled with optimisations (see
/// [`unoptimised_slowdown`]; above 4, it was not).
pub fn optimised(slowdown: f64) -> bool {
    slowdown < 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_figures() {
        let me = nix::unistd::getpid();
        if let Some(delay) = run_delay_ns(me) {
            let wait = CpuWait::start(&[me]);
            assert!(wait.share() >= 0.0 && run_delay_ns(me).unwrap() >= delay);
        }
        assert!(load_average().is_none_or(|load| load >= 0.0));
        assert!(cpu_pressure().is_none_or(|share| (0.0..=1.0).contains(&share)));
        assert!(unoptimised_slowdown() > 0.0);
    }

    #[test]
    fn a_cache_line_goes_there_and_back() {
        let distance = distance().unwrap();
        assert!(distance.round_trip_ns > 0.0 || distance.round_trip_ns.is_nan(), "{distance:?}");
        assert!(distance.cpus.0 >= 0 && distance.cpus.1 >= 0, "{distance:?}");
        let far = Distance { round_trip_ns: 400.0, cpus: (0, 1) };
        assert_eq!(far.describe(), "far apart (400 ns there and back, CPUs 0 and 1)");
        let near = Distance { round_trip_ns: 90.0, cpus: (1, 0) };
        assert!(near.describe().starts_with("near (90 ns"));
        assert!(Distance { round_trip_ns: 3e6, cpus: (1, 1) }.same_cpu());
        let unknown = Distance { round_trip_ns: f64::NAN, cpus: (0, 1) };
        assert!(!unknown.far() && unknown.describe().starts_with("unknown (the probe found no"));
        assert_eq!(unknown.farther(far), far);
        assert_eq!(far.farther(unknown), far);
        assert!(last_cpu(nix::unistd::getpid()).is_some_and(|cpu| cpu >= 0));
    }
}
