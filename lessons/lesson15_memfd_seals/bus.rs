//! Lesson 15's reader that may fault: a load in a forked child, so that the SIGBUS of a shrunk
//! mapping ends the child, not the lesson; its handler sends the fault address back.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use shm_workbook::region::{Access, Region};
use shm_workbook::{Error, Result};

/// How a load in a child ended (see [`load_in_child`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    /// The load returned this byte.
    Loaded(u8),
    /// The load raised SIGBUS; the kernel gave this fault address (`si_addr`).
    Bus {
        /// The address of the fault.
        address: usize,
    },
}

/// The exit status of a child whose SIGBUS handler ran.
const BUS_STATUS: i32 = 7;

/// Where the SIGBUS handler writes the fault address: the write end of a pipe, or -1.
static FAULT_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_bus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler; for SIGBUS its
    // si_addr is the address that faulted.
    let address = unsafe { (*info).si_addr() } as usize;
    let bytes = address.to_ne_bytes();
    let fd = FAULT_PIPE.load(Ordering::Relaxed);
    // SAFETY: write and _exit are async-signal-safe; `bytes` lives on this stack. The process
    // ends here: the faulting load is never resumed.
    unsafe {
        libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(BUS_STATUS);
    }
}

/// Loads the byte at `offset` of `region` in a forked child (role `role`), so that a SIGBUS
/// ends the child, not this process. The child's SA_SIGINFO handler sends the fault address
/// back through a pipe and exits. A child that ends any other way is an error.
pub fn load_in_child<A: Access>(region: &Region<A>, offset: usize, role: &str) -> Result<Touch> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|errno| Error::sys("pipe2(fds, O_CLOEXEC)", errno))?;
    let child = shm_workbook::process::spawn(role, |out| {
        FAULT_PIPE.store(write_end.as_raw_fd(), Ordering::Relaxed);
        let action =
            SigAction::new(SigHandler::SigAction(on_bus), SaFlags::SA_SIGINFO, SigSet::empty());
        // SAFETY: the handler calls only write and _exit, both async-signal-safe.
        unsafe { sigaction(Signal::SIGBUS, &action) }
            .map_err(|errno| Error::sys("sigaction(SIGBUS, &action, NULL)", errno))?;
        out.line()
            .text(format!("loading the byte at offset {offset}, address "))
            .value(format!("{:#x}", region.address() + offset))
            .print();
        let byte = region.load(offset, 1).first().copied().unwrap_or(0);
        // Only reached when the load worked: the byte goes back through the pipe too.
        nix::unistd::write(&write_end, &[byte])
            .map_err(|errno| Error::sys("write(pipe)", errno))?;
        Ok(())
    })?;
    drop(write_end);
    let exit = child.wait_exit()?;
    let mut got = [0u8; 8];
    let mut len = 0;
    while len < got.len() {
        match nix::unistd::read(&read_end, &mut got[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(Error::sys("read(pipe)", errno)),
        }
    }
    match (exit, len) {
        (shm_workbook::process::Exit::Code(BUS_STATUS), 8) => {
            Ok(Touch::Bus { address: usize::from_ne_bytes(got) })
        }
        (shm_workbook::process::Exit::Code(0), 1) => Ok(Touch::Loaded(got[0])),
        (exit, _) => Err(Error::other(
            format!("the {role}"),
            format!("it ended unexpectedly ({exit:?}) while loading one byte"),
        )),
    }
}
