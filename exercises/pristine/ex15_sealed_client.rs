//! # Exercise 15: A client that checks the seals
//!
//! Goal: this program is the client of a server it does not trust. The server (played by the
//! checker) listens on the Unix socket named by `SHM_WORKBOOK_PEER` and hands the client a memfd
//! of two pages with `SCM_RIGHTS`. The client maps it, says so (`b'm'`), waits for `b'g'`, and
//! prints the text at offset 0 and the text on the last page. The server is hostile: as soon as
//! the client has mapped the memory, it shrinks the file to 0 bytes, and the client's load from
//! the last page dies of SIGBUS. Make the client check the seals first: a buffer without
//! `F_SEAL_SHRINK` and `F_SEAL_SEAL` is refused (`b'r'`, and a line `Client refused: ...`);
//! a sealed one is read.
//!
//! Follows lesson 15 (`cargo run --bin lesson15`).
//!
//! What the checker does: runs the program 50 times, serving an unsealed memfd in every other
//! run and a sealed one (`F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE|F_SEAL_SEAL`) in the others,
//! and reads the trace: `fcntl(fd, F_GET_SEALS)` must come before any `fstat` or `mmap` of the
//! descriptor; an unsealed memfd must never be mapped; a sealed one must be read, and the line
//! `Client read: <offset 0> / <last page>` must hold what the server wrote.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex15` (by hand, it needs the checker's server).

use shm_workbook::memfd::Memfd;
use shm_workbook::unix_socket::Stream;
use shm_workbook::{Error, Narrator, Result};

fn main() -> Result<()> {
    shm_workbook::cleanup::install_signal_handlers();
    let out = Narrator::new("client");
    let Some(path) = std::env::var_os("SHM_WORKBOOK_PEER") else {
        return Err(Error::other("ex15", "SHM_WORKBOOK_PEER is not set")
            .with_hint("run it with `cargo run --bin workbook -- check ex15`"));
    };
    let server = Stream::connect(std::path::Path::new(&path))?;
    let (_, fd) = server.recv_fd()?;
    let memfd = Memfd::from_fd(fd.ok_or_else(|| Error::other("recvmsg", "no descriptor came"))?);
    out.call();

    // TODO: before anything else, ask for the seals (`memfd.seals()?`, F_GET_SEALS). Unless
    // they contain F_SEAL_SHRINK and F_SEAL_SEAL (`shm_workbook::memfd::Seals`, with
    // `nix::fcntl::SealFlag`), send b'r', print "Client refused: <which seals are missing>",
    // and return Ok(()): the size could change under the mapping.

    let size = memfd.size()? as usize;
    let memory = memfd.map_read_only(size)?;
    out.call();
    server.send_byte(b'm')?; // mapped
    server.recv_byte()?; // b'g': the server has done what it meant to do
    let page = shm_workbook::procfs::page_size();
    let first = memory.load_c_string(0);
    let last = memory.load_c_string(size - page);
    out.say(format!("Client read: {first} / {last}"));
    Ok(())
}
