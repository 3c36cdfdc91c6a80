//! What a run of lesson 13 will do, decided once from its flags and the machine: how many
//! repetitions of how long, which message sizes, which queues can carry which sizes, and how
//! many steps the progress line counts.

use std::time::Duration;

use crate::error::Result;
use crate::lesson::Lesson;
use crate::msg;

use super::{allowed_cpus, debug_build, size_text};

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
}

impl Plan {
    /// The plan for `lesson`'s flags: messages of `sizes` bytes, a ring of `ring_bytes`, and
    /// `round_trips` round-trip mechanisms.
    pub fn new(
        lesson: &Lesson,
        sizes: &[usize],
        ring_bytes: usize,
        round_trips: usize,
    ) -> Result<Plan> {
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
            sizes: sizes.to_vec(),
            ring_bytes,
            round_trips,
            limits: msg::limits()?,
            cpus: allowed_cpus()?,
            fast,
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
            Err(format!(
                "does not fit: mq_msgsize is at most {} (fs.mqueue.msgsize_max)",
                size_text(max)
            ))
        }
    }

    /// Tells the student what the run will do: the CPUs, the queue limits, the repetitions,
    /// and a warning for a debug build or a single CPU.
    pub fn introduce(&self, lesson: &Lesson) {
        let parent = lesson.narrator("parent");
        parent.value("CPUs this process may use", format!("{:?}", self.cpus));
        parent.value(
            "message queue limits",
            format!(
                "System V msgmax {} B, msgmnb {} B; POSIX msgsize_max {} B, msg_max {}",
                self.limits.sysv_max_message,
                self.limits.sysv_max_queue_bytes,
                self.limits.posix_max_message,
                self.limits.posix_max_messages
            ),
        );
        parent.explain(format!(
            "each figure is the median of {} repetitions of about {} ms each{}",
            self.reps,
            self.rep_time.as_millis(),
            if self.fast { " (--fast: rough figures)" } else { "" }
        ));
        if debug_build() {
            parent.explain(
                "this is a debug build: its figures are several times lower than a release build's; measure with `cargo run --release --bin lesson13`",
            );
        }
        if self.cpus.len() < 2 {
            parent.explain(
                "only one CPU is available: every spinning figure below is a one-CPU figure (Part 3)",
            );
        }
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
    fn steps_count_every_measurement() {
        // 4 sizes x 4 transports, 2 sizes in each queue, 7 round trips.
        assert_eq!(plan(8192, 8192).steps(), 16 + 2 + 2 + 7);
    }
}
