//! System V message queues: `msgget`, `msgsnd`, `msgrcv`, `msgctl`.
//!
//! | C | here |
//! |---|---|
//! | `msgget(IPC_PRIVATE, IPC_CREAT\|0600)` | [`MessageQueue::create`] |
//! | `msgsnd(id, &msg, len, 0)` | [`MessageQueue::send`] |
//! | `msgrcv(id, &msg, max, type, 0)` | [`MessageQueue::receive`] |
//! | `msgctl(id, IPC_RMID, NULL)` | [`MessageQueue::remove`], or dropping a queue you created |
//!
//! As with segments, only the process that created a queue removes it (on drop, or from the
//! cleanup handler on Ctrl-C); a forked child that inherited the value never does. The POSIX
//! queue is in [`crate::posix::mq`].

use nix::errno::Errno;

use crate::call::{self};
use crate::cleanup::{self, Ownership};
use crate::error::{Error, Result};
use crate::procfs;
use crate::registry::Kind;
use crate::sysv::ipc_flags;

/// The kernel's limits on message queues, from `/proc/sys/kernel/msg*` and
/// `/proc/sys/fs/mqueue/*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `kernel.msgmax`: the largest System V message, in bytes.
    pub sysv_max_message: usize,
    /// `kernel.msgmnb`: how many bytes one System V queue holds at most.
    pub sysv_max_queue_bytes: usize,
    /// `fs.mqueue.msgsize_max`: the largest `mq_msgsize` an ordinary user may ask for.
    pub posix_max_message: usize,
    /// `fs.mqueue.msg_max`: the largest `mq_maxmsg` an ordinary user may ask for.
    pub posix_max_messages: usize,
}

/// Reads [`Limits`].
pub fn limits() -> Result<Limits> {
    Ok(Limits {
        sysv_max_message: procfs::read_number("/proc/sys/kernel/msgmax")?,
        sysv_max_queue_bytes: procfs::read_number("/proc/sys/kernel/msgmnb")?,
        posix_max_message: procfs::read_number("/proc/sys/fs/mqueue/msgsize_max")?,
        posix_max_messages: procfs::read_number("/proc/sys/fs/mqueue/msg_max")?,
    })
}

/// A System V message as `msgsnd` and `msgrcv` want it: a `long mtype` followed by the text.
/// Allocate one and reuse it: the queue copies the text in and out.
#[derive(Clone, Debug)]
pub struct MessageBuffer {
    /// `words[0]` is `mtype`; the text follows. `c_long` keeps the alignment C expects.
    words: Vec<libc::c_long>,
    capacity: usize,
}

const TYPE_BYTES: usize = std::mem::size_of::<libc::c_long>();

impl MessageBuffer {
    /// A buffer for messages of up to `capacity` bytes of text.
    pub fn new(capacity: usize) -> MessageBuffer {
        let words = 1 + capacity.div_ceil(TYPE_BYTES);
        MessageBuffer { words: vec![0; words], capacity }
    }

    /// How many bytes of text fit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The `mtype` of the last message received (or set for sending).
    #[allow(clippy::useless_conversion)] // c_long is i32 on 32-bit targets
    pub fn mtype(&self) -> i64 {
        i64::from(self.words[0])
    }

    /// The text, all `capacity` bytes of it.
    pub fn text(&self) -> &[u8] {
        // SAFETY: the Vec holds `1 + ceil(capacity / 8)` initialised words, so `capacity`
        // bytes start right after the first word; u8 has no alignment or validity rules, and
        // the slice borrows `self`, so the Vec cannot move or change meanwhile.
        unsafe {
            std::slice::from_raw_parts(self.words.as_ptr().add(1).cast::<u8>(), self.capacity)
        }
    }

    /// The text, to fill before sending.
    pub fn text_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `text`, and `&mut self` makes the borrow exclusive.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.words.as_mut_ptr().add(1).cast::<u8>(),
                self.capacity,
            )
        }
    }
}

/// A System V message queue.
#[derive(Debug)]
pub struct MessageQueue {
    id: i32,
    ownership: Ownership,
}

impl MessageQueue {
    /// `msgget(IPC_PRIVATE, IPC_CREAT | mode)`: a new private queue, owned by this process,
    /// removed when this value is dropped here (never in a forked child).
    pub fn create(mode: u32) -> Result<MessageQueue> {
        let flags = libc::IPC_CREAT | (mode & 0o777) as i32;
        let made = call::make("msgget").arg("IPC_PRIVATE").arg(ipc_flags(flags));
        let created = cleanup::with_signals_held(|| {
            // SAFETY: msgget takes plain integers and touches no memory of ours.
            let id = unsafe { libc::msgget(libc::IPC_PRIVATE, flags) };
            if id == -1 {
                return Err(Errno::last());
            }
            Ok((id, cleanup::track(Kind::MessageQueue, id, None)))
        });
        let (id, tracked) = match created {
            Ok(created) => created,
            Err(errno) => {
                let err = made.failed(errno).error();
                return Err(match errno {
                    Errno::ENOSPC => err.with_hint(
                        "the system limit on queues (kernel.msgmni) is reached: `ipcs -q` lists \
                         them, `ipcrm -q <msqid>` removes a stale one of yours",
                    ),
                    _ => err,
                });
            }
        };
        made.returned(id);
        Ok(MessageQueue { id, ownership: Ownership::created(tracked) })
    }

    /// The msqid, as `ipcs -q` shows it.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Whether dropping this value removes the queue (only in the process that created it).
    pub fn removes_on_drop(&self) -> bool {
        self.ownership.is_mine()
    }

    /// `msgsnd(id, &msg, len, 0)`: queues the first `len` bytes of `buffer`'s text with type
    /// `mtype` (which must be positive). Blocks while the queue is full (`msgmnb` bytes).
    pub fn send(&self, buffer: &mut MessageBuffer, mtype: i64, len: usize) -> Result<()> {
        if mtype <= 0 || len > buffer.capacity {
            return Err(Error::sys(format!("msgsnd({}, &msg, {len}, 0)", self.id), Errno::EINVAL)
                .with_meaning("mtype must be positive and the text must fit in the buffer"));
        }
        buffer.words[0] = mtype as libc::c_long;
        loop {
            let made = call::make("msgsnd").arg(self.id).arg("&msg").arg(len).arg(0);
            // SAFETY: `buffer.words` starts with the long mtype and holds at least `len` bytes
            // of text after it; msgsnd only reads them.
            let status = unsafe { libc::msgsnd(self.id, buffer.words.as_ptr().cast(), len, 0) };
            if status == 0 {
                made.returned(0);
                return Ok(());
            }
            let errno = Errno::last();
            let call = made.failed(errno);
            match errno {
                Errno::EINTR => cleanup::unless_a_child_failed()?,
                errno => {
                    let err = call.error();
                    return Err(match errno {
                        Errno::EINVAL => err.with_meaning(
                            "the message is larger than msgmax (`cat /proc/sys/kernel/msgmax`), or \
                             the queue is gone",
                        ),
                        Errno::EIDRM => err.with_meaning("the queue was removed"),
                        _ => err,
                    });
                }
            }
        }
    }

    /// `msgrcv(id, &msg, capacity, mtype, 0)`: waits for the first message of type `mtype`
    /// (0: of any type) and copies it into `buffer`; returns its length.
    pub fn receive(&self, buffer: &mut MessageBuffer, mtype: i64) -> Result<usize> {
        let capacity = buffer.capacity;
        loop {
            let made =
                call::make("msgrcv").arg(self.id).arg("&msg").arg(capacity).arg(mtype).arg(0);
            // SAFETY: `buffer.words` has room for the long mtype and `capacity` bytes of text,
            // which is the most msgrcv writes (longer messages fail with E2BIG).
            let got = unsafe {
                libc::msgrcv(
                    self.id,
                    buffer.words.as_mut_ptr().cast(),
                    capacity,
                    mtype as libc::c_long,
                    0,
                )
            };
            if got >= 0 {
                made.returned(got);
                return Ok(got as usize);
            }
            let errno = Errno::last();
            let call = made.failed(errno);
            if errno != Errno::EINTR {
                return Err(call.error());
            }
            cleanup::unless_a_child_failed()?;
        }
    }

    /// `msgctl(id, IPC_RMID, NULL)`: removes the queue now; processes blocked on it get EIDRM.
    pub fn remove(mut self) -> Result<()> {
        let result = remove_queue(self.id);
        self.ownership.give_up();
        result
    }
}

fn remove_queue(id: i32) -> Result<()> {
    let made = call::make("msgctl").arg(id).arg("IPC_RMID").arg("NULL");
    // SAFETY: IPC_RMID takes no buffer; a null pointer is what the man page asks for.
    if unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) } == -1 {
        return Err(made.failed(Errno::last()).error());
    }
    made.returned(0);
    Ok(())
}

impl Drop for MessageQueue {
    fn drop(&mut self) {
        if self.removes_on_drop() {
            let _ = remove_queue(self.id);
        }
    }
}
