//! Verdict corpus: ex15, a cheat.
//! expect: fail
//! reason: the client never asks for the seals and refuses every buffer, sealed ones too.

use shm_workbook::memfd::Memfd;
use shm_workbook::unix_socket::Stream;
use shm_workbook::{Error, Narrator, Result};

fn main() -> Result<()> {
    shm_workbook::cleanup::install_signal_handlers();
    let out = Narrator::new("client");
    let Some(path) = std::env::var_os("SHM_WORKBOOK_PEER") else {
        return Err(Error::other("ex15", "SHM_WORKBOOK_PEER is not set"));
    };
    let server = Stream::connect(std::path::Path::new(&path))?;
    let (_, fd) = server.recv_fd()?;
    let memfd = Memfd::from_fd(fd.ok_or_else(|| Error::other("recvmsg", "no descriptor came"))?);
    out.call();

    drop(memfd);
    server.send_byte(b'r')?;
    out.say("Client refused: F_SEAL_SHRINK|F_SEAL_SEAL missing, the size could change");
    Ok(())
}
