//! POSIX message queues: `mq_open`, `mq_send`, `mq_receive`, `mq_unlink`.
//!
//! | C | here |
//! |---|---|
//! | `mq_open(name, O_CREAT\|O_EXCL\|O_RDWR, 0600, &attr)` | [`PosixQueue::create`] |
//! | `mq_send(mq, msg, len, 0)` | [`PosixQueue::send`] |
//! | `mq_receive(mq, buf, msgsize, &prio)` | [`PosixQueue::receive`] |
//! | `mq_unlink(name)` | [`PosixQueue::unlink`], or dropping a queue you created |
//!
//! Only the process that created a queue unlinks it (on drop, or from the cleanup handler on
//! Ctrl-C); a forked child that inherited the value never does.

use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, MqAttr, MqdT};
use nix::sys::stat::Mode;

use crate::call::{self, Arg, octal};
use crate::cleanup::{self, Ownership};
use crate::error::Result;
use crate::registry::Kind;

/// A POSIX message queue, open in this process.
#[derive(Debug)]
pub struct PosixQueue {
    name: String,
    mq: Option<MqdT>,
    ownership: Ownership,
}

impl PosixQueue {
    /// `mq_open(name, O_CREAT|O_EXCL|O_RDWR, mode, &{mq_maxmsg, mq_msgsize})`: a new queue
    /// holding up to `max_messages` messages of up to `message_size` bytes, owned by this
    /// process (unlinked when dropped here, never in a forked child).
    pub fn create(
        name: &str,
        mode: u32,
        max_messages: usize,
        message_size: usize,
    ) -> Result<PosixQueue> {
        super::name::check_name(name)?;
        let made = call::make("mq_open")
            .arg_with(Arg::string(name))
            .arg("O_RDWR|O_CREAT|O_EXCL")
            .arg(octal(mode))
            .arg(format!("{{mq_maxmsg={max_messages}, mq_msgsize={message_size}}}"));
        let attr = MqAttr::new(0, max_messages as _, message_size as _, 0);
        let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR;
        let opened = cleanup::with_signals_held(|| {
            let mq =
                nix::mqueue::mq_open(name, flags, Mode::from_bits_truncate(mode), Some(&attr))?;
            let tracked = cleanup::track(Kind::PosixMessageQueue, 0, Some(name.as_bytes()));
            Ok::<_, Errno>((mq, tracked))
        });
        let (mq, tracked) = match opened {
            Ok(opened) => opened,
            Err(errno) => {
                let err = made.failed(errno).error();
                return Err(match errno {
                Errno::EINVAL => err.with_meaning(
                    "mq_maxmsg or mq_msgsize is above the limit for ordinary users (`cat \
                     /proc/sys/fs/mqueue/msg_max /proc/sys/fs/mqueue/msgsize_max`)",
                ),
                Errno::EMFILE => err.with_meaning(
                    "the queue would exceed RLIMIT_MSGQUEUE, the bytes of queues this user may \
                     have (`ulimit -q`)",
                ),
                Errno::ENOSPC => err
                    .with_meaning("the system limit on POSIX queues (fs.mqueue.queues_max) is \
                                   reached")
                    .with_hint(
                        "`ls /dev/mqueue` lists the queues where it is mounted; remove a stale one \
                         of yours with `rm /dev/mqueue/<name>`",
                    ),
                Errno::EEXIST => err.with_hint(format!(
                    "a queue named {name} exists already: a stale one of yours can be removed with \
                     mq_unlink (or `rm /dev/mqueue{name}` where /dev/mqueue is mounted)"
                )),
                _ => err,
            });
            }
        };
        {
            use std::os::fd::{AsFd, AsRawFd};
            made.returned(mq.as_fd().as_raw_fd());
        }
        Ok(PosixQueue {
            name: name.to_owned(),
            mq: Some(mq),
            ownership: Ownership::created(tracked),
        })
    }

    /// The queue's name, with its leading `/`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether dropping this value unlinks the queue (only in the process that created it).
    pub fn removes_on_drop(&self) -> bool {
        self.ownership.is_mine()
    }

    fn mq(&self) -> &MqdT {
        self.mq.as_ref().expect("the descriptor is open until drop")
    }

    /// `mq_send(mq, data, len, 0)`: queues one message; blocks while the queue is full.
    pub fn send(&self, data: &[u8]) -> Result<()> {
        loop {
            let made = call::make("mq_send").arg(self.raw_fd()).arg("msg").arg(data.len()).arg(0);
            let result = nix::mqueue::mq_send(self.mq(), data, 0);
            let call = made.ended(result.map(|()| 0));
            match result {
                Ok(()) => return Ok(()),
                Err(Errno::EINTR) => cleanup::unless_a_child_failed()?,
                Err(errno) => {
                    let err = call.error();
                    return Err(match errno {
                        Errno::EMSGSIZE => {
                            err.with_meaning("the message is longer than mq_msgsize")
                        }
                        _ => err,
                    });
                }
            }
        }
    }

    /// `mq_receive(mq, buffer, len, &prio)`: waits for the oldest message of the highest
    /// priority and copies it into `buffer`, which must hold at least `mq_msgsize` bytes.
    /// Returns its length.
    pub fn receive(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut priority = 0;
        loop {
            let made = call::make("mq_receive")
                .arg(self.raw_fd())
                .arg("buf")
                .arg(buffer.len())
                .arg("&prio");
            let result = nix::mqueue::mq_receive(self.mq(), buffer, &mut priority);
            let call = made.ended(result);
            match result {
                Ok(len) => return Ok(len),
                Err(Errno::EINTR) => cleanup::unless_a_child_failed()?,
                Err(errno) => {
                    let err = call.error();
                    return Err(match errno {
                        Errno::EMSGSIZE => err.with_meaning(
                            "the buffer is smaller than mq_msgsize: mq_receive refuses it even for \
                             a short message",
                        ),
                        _ => err,
                    });
                }
            }
        }
    }

    fn raw_fd(&self) -> i32 {
        use std::os::fd::{AsFd, AsRawFd};
        self.mq().as_fd().as_raw_fd()
    }

    /// `mq_unlink(name)` now; open descriptors keep working until closed.
    pub fn unlink(mut self) -> Result<()> {
        self.ownership.give_up();
        mq_unlink(&self.name)
    }
}

impl Drop for PosixQueue {
    fn drop(&mut self) {
        if let Some(mq) = self.mq.take() {
            let _ = nix::mqueue::mq_close(mq);
        }
        if self.removes_on_drop() {
            let _ = mq_unlink(&self.name);
        }
    }
}

fn mq_unlink(name: &str) -> Result<()> {
    let made = call::make("mq_unlink").arg_with(Arg::string(name));
    let result = nix::mqueue::mq_unlink(name);
    let call = made.ended(result.map(|()| 0));
    result.map_err(|_| call.error())
}

/// Whether a POSIX queue with this name exists (`mq_open(name, O_RDONLY)` succeeds or fails
/// with something other than ENOENT).
pub fn posix_queue_exists(name: &str) -> bool {
    match nix::mqueue::mq_open(name, MQ_OFlag::O_RDONLY, Mode::empty(), None) {
        Ok(mq) => {
            let _ = nix::mqueue::mq_close(mq);
            true
        }
        Err(errno) => errno != Errno::ENOENT,
    }
}
