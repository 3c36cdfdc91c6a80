//! # Exercise 15, solved: the client trusts the size only once the seals fix it
//!
//! The client asks for the seals before it reads the size or maps anything. Without
//! `F_SEAL_SHRINK` the server could shrink the file under the mapping (SIGBUS); without
//! `F_SEAL_SEAL` the set of seals could still change. Such a buffer is refused. A sealed one is
//! mapped read-only and read: the server's `ftruncate` then fails with EPERM.

use nix::fcntl::SealFlag;
use shm_workbook::memfd::{Memfd, Seals};
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

    let seals = memfd.seals()?;
    out.call();
    let missing = seals.missing(Seals(SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_SEAL));
    if !missing.is_empty() {
        server.send_byte(b'r')?;
        out.say(format!("Client refused: {missing} missing, the size could change"));
        return Ok(());
    }

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
