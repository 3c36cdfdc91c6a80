//! The throughput protocol of lesson 13: the parent orders a forked sender, through a control
//! pipe, to send `count` numbered messages of `size` bytes, and times how long it takes to
//! receive and check them all.
//!
//! The sender builds each message from a template and stamps it with its sequence number, both
//! given by the lesson; how the message travels (a pipe, a socket, a queue, a ring) is the
//! `send` closure, and how it is received and checked is the `receive` closure of
//! [`Sender::measure`].

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::Instant;

use shm_workbook::call;
use shm_workbook::error::{Error, Result};
use shm_workbook::narrate::Narrator;
use shm_workbook::process::{self, Child};

use super::machine::{self, Distance};
use super::{Bench, Sample, message};

/// An order from the parent to a sender: `count` messages of `size` bytes, numbered from
/// `first`. A count of 0 means: stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// The size of every message, in bytes.
    pub size: usize,
    /// How many messages to send; 0 to stop.
    pub count: u64,
    /// The sequence number of the first message.
    pub first: u64,
}

impl Order {
    /// Writes the order to `control` as three little-endian 64-bit words.
    pub fn send(&self, control: &mut impl Write) -> Result<()> {
        let mut raw = [0u8; 24];
        raw[..8].copy_from_slice(&(self.size as u64).to_le_bytes());
        raw[8..16].copy_from_slice(&self.count.to_le_bytes());
        raw[16..].copy_from_slice(&self.first.to_le_bytes());
        control.write_all(&raw).map_err(|err| Error::io("write(control, order, 24)", err))
    }

    /// Reads an order written by [`Order::send`].
    pub fn receive(control: &mut impl Read) -> Result<Order> {
        let mut raw = [0u8; 24];
        control.read_exact(&mut raw).map_err(|err| Error::io("read(control, order, 24)", err))?;
        let word = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().expect("8 bytes"));
        Ok(Order { size: word(0) as usize, count: word(8), first: word(16) })
    }
}

/// In a sender: obeys orders until told to stop. Each order's messages start as the first
/// `size` bytes of `template`; each is stamped with its sequence number by `stamp` and handed
/// to `send`.
pub fn serve_orders(
    mut control: impl Read,
    template: &[u8],
    stamp: fn(&mut [u8], u64),
    mut send: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut message = template.to_vec();
    loop {
        let order = Order::receive(&mut control)?;
        if order.count == 0 {
            return Ok(());
        }
        if order.size > template.len() {
            return Err(Error::other(
                "serve_orders",
                format!("an order for {} bytes, more than the template's", order.size),
            ));
        }
        let message = &mut message[..order.size];
        message.copy_from_slice(&template[..order.size]);
        for seq in order.first..order.first + order.count {
            stamp(message, seq);
            send(message)?;
        }
    }
}

/// `pipe(fds)` as two files: (read end, write end). The call is recorded (as strace shows it:
/// `pipe([4, 5]) = 0`) and printed by `out` if given.
pub fn pipe(out: Option<&Narrator>) -> Result<(File, File)> {
    let (read, write) = match nix::unistd::pipe() {
        Ok(ends) => ends,
        Err(errno) => return Err(call::make("pipe").arg("fds").failed(errno).error()),
    };
    call::make("pipe").arg(format!("[{}, {}]", read.as_raw_fd(), write.as_raw_fd())).returned(0);
    if let Some(out) = out {
        out.call();
    }
    Ok((File::from(read), File::from(write)))
}

/// A sender process and the parent's end of its control pipe.
#[derive(Debug)]
pub struct Sender {
    child: Child,
    control: File,
    next_seq: u64,
}

impl Sender {
    /// Forks a child (its `fork` printed by `out`, with `role` as the note) that runs
    /// [`serve_orders`] with lesson 13's messages ([`message::pattern`], stamped by
    /// [`message::stamp`]) and `send` for every message the parent orders. The messages' calls
    /// are not recorded: the trace would be measured too. `send` is dropped in the parent, so
    /// what it owns (a pipe's write end, say) stays open only in the child.
    pub fn spawn(
        out: &Narrator,
        role: &str,
        send: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<Sender> {
        Sender::spawn_on(out, role, None, send)
    }

    /// Like [`spawn`](Self::spawn); with `cpu`, the sender first pins itself to that CPU
    /// ([`super::pin_to_cpu`], its call printed by the sender).
    pub fn spawn_on(
        out: &Narrator,
        role: &str,
        cpu: Option<usize>,
        send: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<Sender> {
        let (control_read, control) = pipe(None)?;
        let child = process::spawn(role, |me| {
            if let Some(cpu) = cpu {
                super::pin_to_cpu(cpu)?;
                me.call();
            }
            call::unrecorded(|| {
                serve_orders(control_read, message::pattern(), message::stamp, send)
            })
        })?;
        out.call_note(format!("the {role}"));
        Ok(Sender { child, control, next_seq: 0 })
    }

    /// The sender's pid.
    pub fn pid(&self) -> nix::unistd::Pid {
        self.child.pid()
    }

    /// Times `count` messages of `size` bytes, each received (and checked) by `receive`,
    /// which gets the message's sequence number. Its calls are not recorded.
    pub fn measure(
        &mut self,
        bench: &mut Bench,
        label: &str,
        size: usize,
        mut receive: impl FnMut(u64) -> Result<()>,
    ) -> Result<Sample> {
        call::unrecorded(|| {
            let sender = self.child.pid();
            bench.measure(label, &[sender], |count| {
                let first = self.next_seq;
                self.next_seq += count;
                let start = Instant::now();
                Order { size, count, first }.send(&mut self.control)?;
                for seq in first..first + count {
                    receive(seq)?;
                }
                Ok(start.elapsed())
            })
        })
    }

    /// Like [`measure`](Self::measure), side by side with `other` (a measurement in this
    /// process, `memcpy`'s): their repetitions alternate ([`Bench::measure_beside`]). Returns
    /// `other`'s sample, then this one's, with the [`machine::Distance`] between the two
    /// CPUs (the farther of a probe just before and one just after) and the CPUs this process
    /// and the sender last ran on.
    pub fn measure_beside(
        &mut self,
        bench: &mut Bench,
        label: &str,
        size: usize,
        other: impl FnMut(u64) -> Result<std::time::Duration>,
        mut receive: impl FnMut(u64) -> Result<()>,
    ) -> Result<(Sample, Sample)> {
        let before = machine::distance()?;
        let (other, mut this) = call::unrecorded(|| {
            let sender = self.child.pid();
            let (control, next_seq) = (&mut self.control, &mut self.next_seq);
            bench.measure_beside(label, &[sender], other, |count| {
                let first = *next_seq;
                *next_seq += count;
                let start = Instant::now();
                Order { size, count, first }.send(control)?;
                for seq in first..first + count {
                    receive(seq)?;
                }
                Ok(start.elapsed())
            })
        })?;
        let cpus = (machine::last_cpu(nix::unistd::getpid()), machine::last_cpu(self.pid()));
        let cpus = (cpus.0.unwrap_or(-1), cpus.1.unwrap_or(-1));
        this.distance = Some(Distance { cpus, ..before.farther(machine::distance()?) });
        Ok((other, this))
    }

    /// Tells the sender to stop, and waits for it.
    pub fn finish(mut self) -> Result<()> {
        Order { size: 0, count: 0, first: 0 }.send(&mut self.control)?;
        self.child.wait()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp_first_byte(message: &mut [u8], seq: u64) {
        message[0] = seq as u8;
    }

    #[test]
    fn orders_cross_a_pipe_intact() {
        let (mut read, mut write) = pipe(None).unwrap();
        let order = Order { size: 4096, count: 1 << 40, first: 7 };
        order.send(&mut write).unwrap();
        assert_eq!(Order::receive(&mut read).unwrap(), order);
    }

    #[test]
    fn a_sender_stamps_each_message_from_a_fresh_template() {
        let (read, mut write) = pipe(None).unwrap();
        Order { size: 3, count: 2, first: 5 }.send(&mut write).unwrap();
        Order { size: 4, count: 1, first: 9 }.send(&mut write).unwrap();
        Order { size: 0, count: 0, first: 0 }.send(&mut write).unwrap();
        let mut sent = Vec::new();
        serve_orders(read, &[0xaa, 0xbb, 0xcc, 0xdd], stamp_first_byte, |message| {
            sent.push(message.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(sent, [vec![5, 0xbb, 0xcc], vec![6, 0xbb, 0xcc], vec![9, 0xbb, 0xcc, 0xdd]]);
    }

    #[test]
    fn an_order_larger_than_the_template_is_an_error() {
        let (read, mut write) = pipe(None).unwrap();
        Order { size: 5, count: 1, first: 0 }.send(&mut write).unwrap();
        assert!(serve_orders(read, &[0; 4], stamp_first_byte, |_| Ok(())).is_err());
    }
}
