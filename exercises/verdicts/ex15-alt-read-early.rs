//! Verdict corpus: ex15, a valid alternative.
//! expect: pass
//! Once the seals are checked, the client reads both texts right after mapping, then says
//! `m`, waits for `g` and prints what it read.

use nix::fcntl::SealFlag;
use shm_workbook::memfd::{Memfd, Seals};
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

    let seals = memfd.seals()?;
    let missing = seals.missing(Seals(SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_SEAL));
    if !missing.is_empty() {
        server.send_byte(b'r')?;
        out.say(format!("Client refused: {missing} missing, the size could change"));
        return Ok(());
    }
    let size = memfd.size()? as usize;
    let memory = memfd.map_read_only(size)?;
    let page = shm_workbook::procfs::page_size();
    let (first, last) = (memory.load_c_string(0), memory.load_c_string(size - page));
    server.send_byte(b'm')?;
    server.recv_byte()?;
    out.say(format!("Client read: {first} / {last}"));
    Ok(())
}
