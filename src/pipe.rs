//! A pipe between related processes, each call recorded: `pipe`, `write`, `read`.
//!
//! A pipe is the kernel's own way to say "now": a `read` on an empty pipe blocks until another
//! process writes. So one byte through a pipe orders what the writer did before its `write`
//! before what the reader does after its `read`, as a semaphore's post and wait do. Each end's
//! calls name the pipe as `/proc/PID/fd` does (`pipe:[INODE]`), so that the exercise checker
//! can tell which `write` a `read` waited for.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::call::{self, Arg};
use crate::error::Result;

/// One end of a pipe.
#[derive(Debug)]
struct End {
    fd: OwnedFd,
    /// The pipe's inode, the same for both ends.
    inode: u64,
}

impl End {
    fn arg(&self) -> Arg {
        Arg::new(self.fd.as_raw_fd()).with_comment(format!("pipe:[{}]", self.inode))
    }
}

/// The end a process reads from.
#[derive(Debug)]
pub struct PipeReader(End);

/// The end a process writes to.
#[derive(Debug)]
pub struct PipeWriter(End);

/// `pipe2(fds, O_CLOEXEC)`: a new pipe, both ends closed on `exec`.
pub fn pipe() -> Result<(PipeReader, PipeWriter)> {
    let made = call::make("pipe2");
    let (read, write) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(ends) => ends,
        Err(errno) => return Err(made.arg("fds").arg("O_CLOEXEC").failed(errno).error()),
    };
    let fds = format!("[{}, {}]", read.as_raw_fd(), write.as_raw_fd());
    made.arg(fds).arg("O_CLOEXEC").returned(0);
    let inode = nix::sys::stat::fstat(&read).map(|st| st.st_ino).unwrap_or(0);
    Ok((PipeReader(End { fd: read, inode }), PipeWriter(End { fd: write, inode })))
}

impl PipeWriter {
    /// `write(fd, bytes, len)`: how many bytes went in.
    pub fn write(&self, bytes: &[u8]) -> Result<usize> {
        loop {
            let made = call::make("write").arg_with(self.0.arg()).arg("buf").arg(bytes.len());
            match nix::unistd::write(self.0.fd.as_fd(), bytes) {
                Ok(n) => {
                    made.returned(n);
                    return Ok(n);
                }
                Err(Errno::EINTR) if crate::cleanup::child_failure().is_none() => continue,
                Err(errno) => return Err(made.failed(errno).error()),
            }
        }
    }
}

impl PipeReader {
    /// `read(fd, buf, len)`: blocks until a writer writes (or every writer has closed its end:
    /// then 0).
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            let made = call::make("read").arg_with(self.0.arg()).arg("buf").arg(buf.len());
            match nix::unistd::read(self.0.fd.as_fd(), buf) {
                Ok(n) => {
                    made.returned(n);
                    return Ok(n);
                }
                Err(Errno::EINTR) if crate::cleanup::child_failure().is_none() => continue,
                Err(errno) => return Err(made.failed(errno).error()),
            }
        }
    }
}
