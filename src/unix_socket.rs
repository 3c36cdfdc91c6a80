//! Unix stream sockets that carry descriptors: how two unrelated processes hand each other a
//! memfd.
//!
//! | C | here |
//! |---|---|
//! | `socket(AF_UNIX, SOCK_STREAM\|SOCK_CLOEXEC, 0)`, `bind` | [`Listener::bind`] |
//! | `listen(fd, 1)` | [`Listener::listen`] |
//! | `accept(fd, NULL, NULL)` | [`Listener::accept`] |
//! | `socket(...)`, `connect(fd, &addr, len)` | [`Stream::connect`] |
//! | `sendmsg(fd, &msg, MSG_NOSIGNAL)` with `SCM_RIGHTS` | [`Stream::send_fd`] |
//! | `recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)` | [`Stream::recv_fd`] |
//!
//! A descriptor sent with `SCM_RIGHTS` arrives as a new descriptor of the receiver (usually
//! with another number) for the same open file, as if `dup` had crossed between processes.
//! The one-byte messages of [`Stream::send_byte`] and [`Stream::recv_byte`] pace two
//! processes; a peer that dies closes its end, so a wait for it ends with an error.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, Backlog, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
    SockaddrLike, UnixAddr,
};

use crate::call::{self, Arg};
use crate::error::{Error, Result};

/// A listening Unix stream socket bound to a path.
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
}

/// One end of a connected Unix stream socket.
#[derive(Debug)]
pub struct Stream {
    fd: OwnedFd,
}

fn new_socket() -> Result<OwnedFd> {
    let made = call::make("socket").arg("AF_UNIX").arg("SOCK_STREAM|SOCK_CLOEXEC").arg(0);
    match nix::sys::socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    ) {
        Ok(fd) => {
            made.returned(fd.as_raw_fd());
            Ok(fd)
        }
        Err(errno) => Err(made.failed(errno).error()),
    }
}

fn address(path: &Path) -> Result<UnixAddr> {
    UnixAddr::new(path).map_err(|errno| {
        Error::sys(format!("a socket address for {}", path.display()), errno)
            .with_meaning("a Unix socket's path holds at most 107 bytes")
            .with_hint("set TMPDIR to a shorter directory, such as /tmp")
    })
}

fn address_arg(path: &Path) -> Arg {
    Arg::new("&addr").with_comment(format!("AF_UNIX, {:?}", path.display().to_string()))
}

impl Listener {
    /// `socket`, then `bind(fd, &addr, len)` to `path`. The path must not exist;
    /// the caller removes it (it lives in a scratch directory that is removed at the end).
    pub fn bind(path: &Path) -> Result<Listener> {
        let addr = address(path)?;
        let fd = new_socket()?;
        let made = call::make("bind").arg(fd.as_raw_fd()).arg_with(address_arg(path));
        let result = nix::sys::socket::bind(fd.as_raw_fd(), &addr);
        let call = made.arg(addr.len()).ended(result.map(|()| 0));
        result.map_err(|_| call.error())?;
        Ok(Listener { fd })
    }

    /// `listen(fd, 1)`: from now on a `connect` to the path succeeds (and waits in the
    /// queue until [`accept`](Self::accept)).
    pub fn listen(&self) -> Result<()> {
        let made = call::make("listen").arg(self.fd.as_raw_fd()).arg(1);
        let backlog = Backlog::new(1).unwrap_or(Backlog::MAXCONN);
        let result = nix::sys::socket::listen(&self.fd, backlog);
        let call = made.ended(result.map(|()| 0));
        result.map_err(|_| call.error())
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// `accept(fd, NULL, NULL)`: waits for one client.
    pub fn accept(&self) -> Result<Stream> {
        loop {
            let made = call::make("accept").arg(self.fd.as_raw_fd()).arg("NULL").arg("NULL");
            match nix::sys::socket::accept(self.fd.as_raw_fd()) {
                Ok(raw) => {
                    made.returned(raw);
                    // SAFETY: accept returned a new descriptor that nothing else owns.
                    return Ok(Stream { fd: unsafe { OwnedFd::from_raw_fd(raw) } });
                }
                Err(Errno::EINTR) if crate::cleanup::child_failure().is_none() => {
                    made.failed(Errno::EINTR);
                }
                Err(errno) => return Err(made.failed(errno).error()),
            }
        }
    }

    /// `close(fd)` now, recorded.
    pub fn close(self) -> Result<()> {
        close(self.fd)
    }
}

fn close(fd: OwnedFd) -> Result<()> {
    let made = call::make("close").arg(fd.as_raw_fd());
    let result = nix::unistd::close(fd);
    let call = made.ended(result.map(|()| 0));
    result.map_err(|_| call.error())
}

impl Stream {
    /// `socket`, then `connect(fd, &addr, len)` to the listener at `path`.
    pub fn connect(path: &Path) -> Result<Stream> {
        let addr = address(path)?;
        let fd = new_socket()?;
        let made = call::make("connect").arg(fd.as_raw_fd()).arg_with(address_arg(path));
        let result = nix::sys::socket::connect(fd.as_raw_fd(), &addr);
        let call = made.arg(addr.len()).ended(result.map(|()| 0));
        result.map_err(|errno| match errno {
            Errno::ENOENT | Errno::ECONNREFUSED => call
                .error()
                .with_meaning("no server listens at this path")
                .with_hint("start the server first"),
            _ => call.error(),
        })?;
        Ok(Stream { fd })
    }

    /// The descriptor's number.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `sendmsg(fd, &msg, MSG_NOSIGNAL)`: one byte, and `fd_to_pass` in an `SCM_RIGHTS` message.
    pub fn send_fd(&self, byte: u8, fd_to_pass: BorrowedFd<'_>) -> Result<()> {
        self.send(byte, Some(fd_to_pass.as_raw_fd()), false)
    }

    /// `sendmsg(fd, &msg, MSG_NOSIGNAL)` of one byte, without descriptors, to pace the peer
    /// (recorded, not printed).
    pub fn send_byte(&self, byte: u8) -> Result<()> {
        self.send(byte, None, true)
    }

    fn send(&self, byte: u8, passed: Option<RawFd>, helper: bool) -> Result<()> {
        let what = match passed {
            Some(fd) => format!("1 byte, SCM_RIGHTS {{{fd}}}"),
            None => "1 byte".to_owned(),
        };
        let mut made =
            call::make("sendmsg").arg(self.raw()).arg_with(Arg::new("&msg").with_comment(what));
        if helper {
            made = made.helper();
        }
        let fds: Vec<RawFd> = passed.into_iter().collect();
        let cmsgs: Vec<ControlMessage> =
            if fds.is_empty() { Vec::new() } else { vec![ControlMessage::ScmRights(&fds)] };
        let data = [byte];
        let iov = [IoSlice::new(&data)];
        let made = made.arg("MSG_NOSIGNAL");
        let result = loop {
            match nix::sys::socket::sendmsg::<()>(
                self.raw(),
                &iov,
                &cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        let call = made.ended(result);
        result.map(|_| ()).map_err(|errno| match errno {
            Errno::EPIPE | Errno::ECONNRESET => {
                call.error().with_meaning("the peer has closed its end: it ended, or was killed")
            }
            _ => call.error(),
        })
    }

    /// `recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)`: one byte and the descriptor that came with it,
    /// if any.
    pub fn recv_fd(&self) -> Result<(u8, Option<OwnedFd>)> {
        self.recv(false)
    }

    /// `recvmsg` of one byte that paces this process (recorded, not printed). A descriptor
    /// that came with it is an error.
    pub fn recv_byte(&self) -> Result<u8> {
        match self.recv(true)? {
            (byte, None) => Ok(byte),
            (_, Some(_)) => Err(Error::other("recvmsg", "a descriptor came where none was sent")),
        }
    }

    fn recv(&self, helper: bool) -> Result<(u8, Option<OwnedFd>)> {
        let mut data = [0u8; 1];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let (result, fds) = loop {
            let mut iov = [IoSliceMut::new(&mut data)];
            match nix::sys::socket::recvmsg::<()>(
                self.raw(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => {
                    let mut fds = Vec::new();
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for cmsg in cmsgs {
                            if let ControlMessageOwned::ScmRights(got) = cmsg {
                                fds.extend(got);
                            }
                        }
                    }
                    // Descriptors that did not fit were closed by the kernel: say so.
                    let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
                    break (Ok((msg.bytes, truncated)), fds);
                }
                Err(Errno::EINTR) if crate::cleanup::child_failure().is_none() => continue,
                Err(errno) => break (Err(errno), Vec::new()),
            }
        };
        // SAFETY: each descriptor received with SCM_RIGHTS is new in this process, owned by
        // nothing else.
        let mut owned: Vec<OwnedFd> =
            fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect();
        let what = match owned.first() {
            Some(fd) => format!("1 byte, SCM_RIGHTS {{{}}}", fd.as_raw_fd()),
            None => "1 byte".to_owned(),
        };
        let mut made =
            call::make("recvmsg").arg(self.raw()).arg_with(Arg::new("&msg").with_comment(what));
        if helper {
            made = made.helper();
        }
        let call = made.arg("MSG_CMSG_CLOEXEC").ended(result.map(|(bytes, _)| bytes));
        match result {
            Ok((_, true)) => Err(Error::other(
                format!("recvmsg({}, ...)", self.raw()),
                "MSG_CTRUNC: more descriptors came than there was room for, and the kernel closed \
                 the rest",
            )),
            Ok((0, _)) => Err(Error::other(
                format!("recvmsg({}, ...)", self.raw()),
                "the peer closed the connection before it sent anything: it ended, or was killed",
            )),
            Ok(_) if owned.len() > 1 => {
                Err(Error::other("recvmsg", "more descriptors came than were expected"))
            }
            Ok(_) => Ok((data[0], owned.pop())),
            Err(_) => Err(call.error()),
        }
    }

    /// `close(fd)` now, recorded.
    pub fn close(self) -> Result<()> {
        close(self.fd)
    }
}
