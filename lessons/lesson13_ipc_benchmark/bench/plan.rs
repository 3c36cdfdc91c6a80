//! What a run of lesson 13 will do, decided once from its flags and the machine: how many
//! repetitions of how long, which message sizes, which queues can carry which sizes, and how
//! many steps the progress line counts.

use std::time::Duration;

use shm_workbook::error::Result;
use shm_workbook::lesson::Lesson;
use shm_workbook::sysv::msg;

use super::machine;
use super::message::SIZES;
use super::{allowed_cpus, size_text};

/// What this run will do, decided once from the flags and the machine.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Timed repetitions per measurement (`--reps`, or 3 with `--fast`, else 7).
    pub reps: usize,
    /// The wanted length of one repetition.
    pub rep_time: Duration,
    /// The message sizes of the throughput part.
    pub sizes: Vec<usize>,
    /// The size of the shared-memory ring's data area.
    pub ring_bytes: usize,
    /// How many round-trip mechanisms the latency part measures.
    pub round_trips: usize,
    /// The message queue limits of this machine.
    pub limits: msg::Limits,
    /// The CPUs this process may run on.
    pub cpus: Vec<usize>,
    /// Whether `--fast` asked for a quick, rough pass.
    pub fast: bool,
    /// How many times slower a plain Rust copy loop ran than `memcpy`: about 1 in an
    /// optimised build ([`machine::unoptimised_slowdown`]).
    pub slowdown: f64,
    /// The load average when the run began.
    pub load: Option<f64>,
    /// The share of the last 10 s in which some process waited for a CPU, when the run began.
    pub pressure: Option<f64>,
}

impl Plan {
    /// The plan for `lesson`'s flags: messages of [`SIZES`], a ring of `ring_bytes`, and
    /// `round_trips` round-trip mechanisms.
    pub fn new(lesson: &Lesson, ring_bytes: usize, round_trips: usize) -> Result<Plan> {
        let fast = lesson.fast();
        let reps = match lesson.options().extra.get("--reps") {
            Some(&reps) => reps as usize,
            None if fast => 3,
            None => 7,
        };
        let rep_time = if fast { Duration::from_millis(5) } else { Duration::from_millis(40) };
        Ok(Plan {
            reps,
            rep_time,
            sizes: SIZES.to_vec(),
            ring_bytes,
            round_trips,
            limits: msg::limits()?,
            cpus: allowed_cpus()?,
            fast,
            slowdown: machine::unoptimised_slowdown(),
            load: machine::load_average(),
            pressure: machine::cpu_pressure(),
        })
    }

    /// How many measurements the progress line counts: four transports at every size, the
    /// queues at the sizes they can carry, and the round trips.
    pub fn steps(&self) -> usize {
        let queues = self
            .sizes
            .iter()
            .filter(|&&size| self.sysv_fits(size).is_ok())
            .chain(self.sizes.iter().filter(|&&size| self.posix_fits(size).is_ok()))
            .count();
        self.sizes.len() * 4 + queues + self.round_trips
    }

    /// Whether a System V queue can carry a message of `size` bytes, or why not.
    pub fn sysv_fits(&self, size: usize) -> std::result::Result<(), String> {
        let max = self.limits.sysv_max_message.min(self.limits.sysv_max_queue_bytes);
        if size <= max {
            Ok(())
        } else {
            Err(format!("does not fit: msgmax is {} (kernel.msgmax)", size_text(max)))
        }
    }

    /// Whether a POSIX queue can carry a message of `size` bytes, or why not.
    pub fn posix_fits(&self, size: usize) -> std::result::Result<(), String> {
        let max = self.limits.posix_max_message;
        if size <= max {
            Ok(())
        } else {
            Err(format!("does not fit: fs.mqueue.msgsize_max is {}", size_text(max)))
        }
    }

    /// Tells the student what the run will do: the CPUs, the queue limits, the repetitions,
    /// and a warning for a debug build or a single CPU.
    pub fn introduce(&self, lesson: &Lesson) {
        let parent = lesson.narrator("parent");
        parent.value("CPUs this process may use", format!("{:?}", self.cpus));
        let limits = &self.limits;
        let (msgmax, msgmnb) = (limits.sysv_max_message, limits.sysv_max_queue_bytes);
        parent.value("System V queue limits", format!("msgmax {msgmax} B, msgmnb {msgmnb} B"));
        let (msgsize_max, msg_max) = (limits.posix_max_message, limits.posix_max_messages);
        let posix = format!("msgsize_max {msgsize_max} B, msg_max {msg_max}");
        parent.value("POSIX queue limits", posix);
        parent.explain(format!(
            "each figure is the median of {} repetitions of about {} ms each{}",
            self.reps,
            self.rep_time.as_millis(),
            if self.fast { " (--fast: rough figures)" } else { "" }
        ));
        if !self.optimised() {
            parent.explain(format!(
                "this build is not optimised: a plain Rust copy loop ran {:.0}× slower than \
                 memcpy here, so the figures below measure unoptimised Rust, not IPC. They are \
                 shown, but no conclusion is drawn from them. Measure with: `cargo run \
                 --release --bin lesson13`",
                self.slowdown
            ));
        }
        if self.cpus.len() < 2 {
            parent.explain(
                "only one CPU is available: every spinning figure below is a one-CPU figure \
                 (Part 3)",
            );
        } else if self.busy() {
            parent.explain(format!(
                "the machine is busy: {}. A figure that needs a CPU of its own (spinning, the \
                 ring) shows it, and the lesson says where",
                self.load_text()
            ));
        }
    }

    /// The CPUs for the ring's two ends: the one this process runs on now for the consumer,
    /// another for the producer; `None` with a single CPU.
    pub fn ring_cpus(&self) -> Option<(usize, usize)> {
        // SAFETY: sched_getcpu takes nothing and returns a CPU number (or -1).
        let now = usize::try_from(unsafe { libc::sched_getcpu() }).ok();
        let consumer = now.filter(|cpu| self.cpus.contains(cpu)).or(self.cpus.first().copied())?;
        let producer = self.cpus.iter().copied().find(|&cpu| cpu != consumer)?;
        Some((consumer, producer))
    }

    /// The CPU Part 3 pins both of its processes to: the last one allowed.
    pub fn one_cpu(&self) -> usize {
        *self.cpus.last().unwrap_or(&0)
    }

    /// How many round trips Part 3 tries on one CPU, and for how long at most.
    pub fn one_cpu_tries(&self) -> OneCpuTries {
        let (spin, futex, ms) = if self.fast { (5, 200, 300) } else { (20, 2000, 2000) };
        OneCpuTries {
            spin: (spin, Duration::from_millis(ms)),
            futex: (futex, Duration::from_secs(10)),
        }
    }

    /// Whether the measured code was optimised.
    pub fn optimised(&self) -> bool {
        machine::optimised(self.slowdown)
    }

    /// Whether other programs kept the CPUs busy when the run began: a load average of at
    /// least one per CPU allowed, less half a CPU, or a process waiting for a CPU a fifth of
    /// the time.
    pub fn busy(&self) -> bool {
        let cpus = self.cpus.len() as f64;
        self.load.is_some_and(|load| load >= cpus - 0.5) || self.pressure.is_some_and(|p| p >= 0.2)
    }

    /// `load average 2.31 with 2 CPUs allowed; some process waited for a CPU 35% of the last 10 s`.
    pub fn load_text(&self) -> String {
        let mut text = match self.load {
            Some(load) => format!("load average {load:.2} with {} CPUs allowed", self.cpus.len()),
            None => format!("{} CPUs allowed", self.cpus.len()),
        };
        if let Some(pressure) = self.pressure {
            text.push_str(&format!(
                "; some process waited for a CPU {:.0}% of the last 10 s",
                pressure * 100.0
            ));
        }
        text
    }
}

/// How many round trips Part 3 tries with both processes on one CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneCpuTries {
    /// Spinning round trips (slow on purpose: milliseconds each), and no new one after how
    /// long.
    pub spin: (u32, Duration),
    /// Futex round trips, and no new one after how long.
    pub futex: (u32, Duration),
}

impl OneCpuTries {
    /// What Part 3 is about to do, for the story.
    pub fn describe(&self, cpu: usize) -> String {
        format!(
            "both processes pinned to CPU {cpu}; the spinning pair tries {} round trips and gives \
             up after {:?}",
            self.spin.0, self.spin.1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sysv_max: usize, posix_max: usize) -> Plan {
        Plan {
            reps: 3,
            rep_time: Duration::from_millis(5),
            sizes: vec![64, 4 << 10, 64 << 10, 1 << 20],
            ring_bytes: 4 << 20,
            round_trips: 7,
            limits: msg::Limits {
                sysv_max_message: sysv_max,
                sysv_max_queue_bytes: 16384,
                posix_max_message: posix_max,
                posix_max_messages: 10,
            },
            cpus: vec![0, 1],
            fast: true,
            slowdown: 1.0,
            load: Some(0.1),
            pressure: Some(0.0),
        }
    }

    #[test]
    fn queues_carry_only_what_fits() {
        let plan = plan(8192, 8192);
        assert!(plan.sysv_fits(4096).is_ok());
        let why = plan.sysv_fits(64 << 10).unwrap_err();
        assert_eq!(why, "does not fit: msgmax is 8 KiB (kernel.msgmax)");
        assert!(plan.posix_fits(1 << 20).unwrap_err().contains("fs.mqueue.msgsize_max"));
        // msgmnb (16 KiB) bounds a System V message too.
        assert!(self::plan(1 << 20, 8192).sysv_fits(64 << 10).is_err());
    }

    #[test]
    fn a_busy_machine_is_noticed() {
        let mut plan = plan(8192, 8192);
        assert!(!plan.busy());
        plan.load = Some(1.6);
        assert!(plan.busy(), "1.6 on 2 CPUs");
        plan.load = None;
        plan.pressure = Some(0.35);
        assert!(plan.busy());
        assert_eq!(
            plan.load_text(),
            "2 CPUs allowed; some process waited for a CPU 35% of the last 10 s"
        );
        plan.slowdown = 25.0;
        assert!(!plan.optimised());
    }

    #[test]
    fn steps_count_every_measurement() {
        // 4 sizes x 4 transports, 2 sizes in each queue, 7 round trips.
        assert_eq!(plan(8192, 8192).steps(), 16 + 2 + 2 + 7);
    }
}
