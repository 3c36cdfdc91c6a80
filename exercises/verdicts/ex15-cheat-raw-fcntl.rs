//! Verdict corpus: ex15, a cheat.
//! expect: fail
//! reason: the seals are read with a raw libc::fcntl(F_GET_SEALS) around the library.

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

    // SAFETY: F_GET_SEALS takes no third argument and touches no memory of ours.
    let raw = unsafe { libc::fcntl(memfd.raw(), libc::F_GET_SEALS) };
    let wanted = libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
    if raw == -1 || raw & wanted != wanted {
        server.send_byte(b'r')?;
        out.say("Client refused: F_SEAL_SHRINK|F_SEAL_SEAL missing, the size could change");
        return Ok(());
    }
    let size = memfd.size()? as usize;
    let memory = memfd.map_read_only(size)?;
    server.send_byte(b'm')?;
    server.recv_byte()?;
    let page = shm_workbook::procfs::page_size();
    let first = memory.load_c_string(0);
    let last = memory.load_c_string(size - page);
    out.say(format!("Client read: {first} / {last}"));
    Ok(())
}
