//! # Lesson 15: a memfd, sealed and passed
//!
//! What it shows: memory with no name. `memfd_create` makes a file that lives in RAM and that
//! no directory lists. A server writes into one and hands the descriptor to a client over a
//! Unix socket (`sendmsg` with `SCM_RIGHTS`); the client maps it and reads. Then the danger of
//! trusting a peer's memory: the server shrinks the file with `ftruncate` while the client maps
//! it, and the client's next load dies of SIGBUS. Then the fix: seals (`F_ADD_SEALS`) that the
//! client checks (`F_GET_SEALS`) before it trusts the size. Last, how the memory ends.
//!
//! It goes beyond the source documents: this is how Wayland clients, PipeWire and systemd
//! share buffers today. The server and the client are not parent and child: the lesson starts
//! both, and they meet only through the socket's path. The memfd is made after both exist.
//!
//! Run it:
//!
//! ```text
//! cargo run --bin lesson15             # the whole story
//! cargo run --bin lesson15 -- --step   # pause in every part: look at /proc/PID/fd and maps
//! ```
//!
//! Things to try: with `--step`, run `ls -l /proc/PID/fd` for the server and the client;
//! `cat /proc/PID/fd/N` reads the memory through the link; `ls /dev/shm` never shows it.

mod bus;
mod links;

use bus::Touch;
use links::{fd_link, memfd_maps, open_link};
use shm_workbook::memfd::{Memfd, Seals};
use shm_workbook::unix_socket::{Listener, Stream};
use shm_workbook::{Lesson, Narrator, Result, ScratchDir, process};

use nix::fcntl::SealFlag;

/// The text the server writes, at offset 0.
const TEXT: &str = "frame 1 from the server";
/// What the server writes after sealing, through the mapping it kept.
const LATER: &str = "frame 2, written after F_SEAL_FUTURE_WRITE";
/// The one-byte messages that pace the two processes.
const HELLO: u8 = b'h';
const FD: u8 = b'f';
const NEXT: u8 = b'n';

/// The seals a reader needs before it trusts the size (and the contents: nobody but the
/// server, through the mapping it kept, can write).
fn needed() -> Seals {
    Seals(
        SealFlag::F_SEAL_SHRINK
            | SealFlag::F_SEAL_GROW
            | SealFlag::F_SEAL_FUTURE_WRITE
            | SealFlag::F_SEAL_SEAL,
    )
}

fn main() -> Result<()> {
    let lesson = Lesson::start("lesson15");
    let page = shm_workbook::procfs::page_size();
    lesson.part("Part 1: two processes meet over a Unix socket, and a descriptor crosses");
    let out = lesson.narrator("lesson");
    let mut dir = ScratchDir::new("lesson15")?;
    let path = dir.reserve("socket")?;
    let listener = Listener::bind(&path)?;
    out.call_note("a path in a private directory (mode 0700): only you can connect");
    listener.listen()?;
    out.call();
    let server = process::spawn("server", |me| server(&lesson, me, &listener, page))?;
    listener.close()?;
    out.call_note("the server holds the listening socket now; the client knows only the path");
    let client = process::spawn("client", |me| client(&lesson, me, &path, page))?;
    process::wait_all(vec![server, client])?;
    nothing_left(&out)?;
    drop(dir); // removes the socket's path and the directory
    lesson.part("Part 5: three ways to share memory");
    comparison(&lesson, &out);
    Ok(())
}

// ANCHOR: server_makes
/// Makes the object, writes it, and passes the descriptor; then shrinks it (Part 2).
fn server(lesson: &Lesson, out: &Narrator, listener: &Listener, page: usize) -> Result<()> {
    let peer = listener.accept()?;
    peer.recv_byte()?; // the client has printed its connect
    out.call_note("the client has connected");
    let memfd = Memfd::create("lesson15", false)?;
    out.call_note("a new descriptor, and no name anywhere: nothing to unlink");
    let link = open_link(memfd.raw())?;
    out.line().text(format!("/proc/{}/fd/{} -> ", out.pid(), memfd.raw())).value(&link).print();
    out.explain("the kernel's label; \"(deleted)\": no directory holds the file, /dev/shm neither");
    memfd.set_len(2 * page as u64)?;
    out.call_note("two pages");
    let memory = memfd.map(2 * page)?;
    out.call();
    memory.store_c_string(0, TEXT)?;
    out.line().text("wrote ").value(format!("{TEXT:?}")).print();
    lesson.step(
        out,
        &format!(
            "The server holds the memory by a descriptor only. In another terminal:\n  \
             ls -l /proc/{pid}/fd          (fd {fd} -> {link})\n  \
             grep memfd /proc/{pid}/maps   (the mapping)\n  \
             ls /dev/shm                   (nothing of this lesson)",
            pid = out.pid(),
            fd = memfd.raw()
        ),
    );
    peer.send_fd(FD, memfd.fd())?;
    out.call_note("the descriptor goes with one byte, in an SCM_RIGHTS control message");
    peer.send_byte(NEXT)?; // the client may print now
    peer.recv_byte()?; // the client has mapped both pages
    // ANCHOR_END: server_makes
    // ANCHOR: hostile
    lesson.part("Part 2: a peer shrinks the object under the reader: SIGBUS");
    out.explain("the server turns hostile, as a buggy or malicious peer may");
    memfd.set_len(page as u64)?;
    out.call_note("one page left: the client still maps two");
    peer.send_byte(NEXT)?;
    peer.recv_byte()?; // the client has seen its reader die, and let go
    // ANCHOR_END: hostile
    memory.detach()?;
    out.call();
    memfd.close()?;
    out.call();
    sealed_server(lesson, out, &peer, page)
}

/// Connects, receives the descriptor, maps it, reads; then loads past the new end (Part 2).
fn client(lesson: &Lesson, out: &Narrator, path: &std::path::Path, page: usize) -> Result<()> {
    let peer = Stream::connect(path)?;
    out.call_note("the only link between the two processes");
    peer.send_byte(HELLO)?;
    let memfd = receive(out, &peer)?;
    let len = memfd.size()?;
    out.call_note(format!("the size the server chose: {len} bytes"));
    let memory = memfd.map_read_only(len as usize)?;
    out.call_note("the client's own mapping of the same pages");
    out.say(format!("Client read: {}", memory.load_c_string(0)));
    peer.send_byte(NEXT)?;
    peer.recv_byte()?; // the server has shrunk it
    // ANCHOR: sigbus
    match bus::load_in_child(&memory, page, "reader")? {
        Touch::Bus { address } => {
            let now = memfd.size()?;
            out.call_note(format!("the object is {now} bytes now"));
            out.line()
                .text("the reader died of ")
                .value("SIGBUS")
                .text(format!(" at si_addr {address:#x}, offset {}", address - memory.address()))
                .print();
            out.explain(format!(
                "the mapping still spans {len} bytes, but the file ends at {now}: the page \
                 past the end has nothing behind it, and a load there is a bus error"
            ));
        }
        Touch::Loaded(byte) => out.say(format!("loaded {byte:#04x}: the shrink did not bite")),
    }
    // ANCHOR_END: sigbus
    lesson.step(
        out,
        &format!(
            "The client lives: the fault killed its child. In another terminal:\n  \
             grep memfd /proc/{}/maps   (the mapping is still two pages long)",
            out.pid()
        ),
    );
    memory.detach()?;
    out.call();
    memfd.close()?;
    out.call();
    peer.send_byte(NEXT)?;
    sealed_client(lesson, out, &peer, page)
}

/// `recvmsg`, and where the new descriptor points.
fn receive(out: &Narrator, peer: &Stream) -> Result<Memfd> {
    let (_, fd) = peer.recv_fd()?;
    let Some(fd) = fd else {
        return Err(shm_workbook::Error::other("recvmsg", "no descriptor came with the message"));
    };
    peer.recv_byte()?; // the server has printed its sendmsg
    out.call_note("a new descriptor of this process, for the server's open file");
    let memfd = Memfd::from_fd(fd);
    let link = open_link(memfd.raw())?;
    out.line().text(format!("/proc/{}/fd/{} -> ", out.pid(), memfd.raw())).value(link).print();
    Ok(memfd)
}

// ANCHOR: seal
/// Part 3: the same object, sealed before it is passed.
fn sealed_server(lesson: &Lesson, out: &Narrator, peer: &Stream, page: usize) -> Result<()> {
    lesson.part("Part 3: seals: the size cannot change, and the client checks");
    let memfd = Memfd::create("lesson15-sealed", true)?;
    out.call_note("sealing allowed; a new memfd has no seals yet");
    memfd.set_len(2 * page as u64)?;
    out.call();
    let memory = memfd.map(2 * page)?;
    out.call();
    memory.store_c_string(0, TEXT)?;
    memory.store_c_string(page, "page 2")?;
    match memfd.add_seals(Seals(SealFlag::F_SEAL_WRITE)) {
        Err(err) if err.errno() == Some(nix::errno::Errno::EBUSY) => {
            out.call_note("refused: the server's own writable shared mapping exists")
        }
        other => other?,
    }
    memfd.add_seals(needed())?;
    out.call_note("for good: seals are never removed, and F_SEAL_SEAL fixes the set");
    memory.store_c_string(0, LATER)?;
    out.line().text("wrote ").value(format!("{LATER:?}")).text(" through its old mapping").print();
    peer.send_fd(FD, memfd.fd())?;
    out.call();
    peer.send_byte(NEXT)?;
    peer.recv_byte()?; // the client has checked and mapped
    match memfd.set_len(page as u64) {
        Err(err) if err.errno() == Some(nix::errno::Errno::EPERM) => {
            out.call_note("refused: F_SEAL_SHRINK; the client's pages stay")
        }
        other => other?,
    }
    lesson.step(
        out,
        &format!("The shrink was refused. In another terminal:\n  ls -l /proc/{}/fd", out.pid()),
    );
    peer.send_byte(NEXT)?;
    peer.recv_byte()?; // the client's reader has loaded
    the_end_server(lesson, out, peer, memfd, memory)
}

/// Part 3: the client trusts the size only if the seals say that it cannot change.
fn sealed_client(lesson: &Lesson, out: &Narrator, peer: &Stream, page: usize) -> Result<()> {
    let memfd = receive(out, peer)?;
    let seals = memfd.seals()?;
    out.call_note(seals);
    let missing = seals.missing(needed());
    if !missing.is_empty() {
        return Err(shm_workbook::Error::other(
            "checking the seals",
            format!("{missing} missing: the server could shrink or rewrite the memory"),
        ));
    }
    out.explain("every seal it needs is there: the size it reads now is the size for good");
    let len = memfd.size()?;
    out.call_note(format!("{len} bytes, and it cannot change"));
    match memfd.map(len as usize) {
        Err(_) => out.call_note("refused: F_SEAL_FUTURE_WRITE allows no new writable mapping"),
        Ok(_) => return Err(shm_workbook::Error::other("mmap", "writable, though sealed")),
    }
    let memory = memfd.map_read_only(len as usize)?;
    out.call();
    out.say(format!("Client read: {}", memory.load_c_string(0)));
    peer.send_byte(NEXT)?;
    peer.recv_byte()?; // the server has tried to shrink it
    match bus::load_in_child(&memory, page, "reader")? {
        Touch::Loaded(byte) => out
            .line()
            .text("the reader loaded ")
            .value(format!("{byte:#04x} {:?}", char::from(byte)))
            .text(format!(" at offset {page}: no SIGBUS"))
            .print(),
        Touch::Bus { address } => {
            return Err(shm_workbook::Error::other(
                "the reader",
                format!("SIGBUS at {address:#x}, although the object is sealed"),
            ));
        }
    }
    peer.send_byte(NEXT)?;
    the_end_client(lesson, out, peer, memfd, memory)
}
// ANCHOR_END: seal

// ANCHOR: the_end
/// Part 4: the server lets go first; the memory lives while the client holds it.
fn the_end_server(
    lesson: &Lesson,
    out: &Narrator,
    peer: &Stream,
    memfd: Memfd,
    memory: shm_workbook::Mapping,
) -> Result<()> {
    lesson.part("Part 4: the end of the object");
    let fd = memfd.raw();
    memory.detach()?;
    out.call();
    memfd.close()?;
    out.call();
    let gone = fd_link(fd)?.is_none();
    out.line().text(format!("/proc/{}/fd/{fd} exists: ", out.pid())).value(!gone).print();
    peer.send_byte(NEXT)?;
    peer.recv_byte()
        .map(|_| ())
        .or_else(|err| if err.meaning().contains("closed") { Ok(()) } else { Err(err) })
}

fn the_end_client(
    lesson: &Lesson,
    out: &Narrator,
    peer: &Stream,
    memfd: Memfd,
    memory: shm_workbook::Region<shm_workbook::ReadOnly>,
) -> Result<()> {
    peer.recv_byte()?; // the server has let go
    out.explain("the client holds the last descriptor and the last mapping");
    let fd = memfd.raw();
    lesson.step(
        out,
        &format!(
            "Only the client holds the memory now. In another terminal:\n  \
             ls -l /proc/{pid}/fd/{fd}\n  grep memfd /proc/{pid}/maps",
            pid = out.pid()
        ),
    );
    memory.detach()?;
    out.call();
    memfd.close()?;
    out.call_note("the last reference: the kernel frees the pages now");
    let link = fd_link(fd)?;
    out.line().text(format!("/proc/{}/fd/{fd} exists: ", out.pid())).value(link.is_some()).print();
    let maps = memfd_maps()?;
    out.line().text("memfd lines in /proc/self/maps: ").value(maps.len()).print();
    peer.send_byte(NEXT)
}
// ANCHOR_END: the_end

/// After both processes: nothing in /dev/shm, and why a kill leaks nothing.
fn nothing_left(out: &Narrator) -> Result<()> {
    let entries = std::fs::read_dir("/dev/shm")
        .map_err(|err| shm_workbook::Error::io("reading /dev/shm", err))?
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().contains("lesson15"))
        .count();
    out.line().text("entries of this lesson in /dev/shm: ").value(entries).print();
    out.explain("a memfd is held only by descriptors and mappings, and the kernel drops both");
    out.explain("when a process dies, even of SIGKILL: killing either side leaks nothing");
    Ok(())
}

// ANCHOR: comparison
fn comparison(lesson: &Lesson, out: &Narrator) {
    let rows = [
        ("", "System V", "POSIX shm", "memfd"),
        ("named by", "a key: a number", "\"/name\" in /dev/shm", "nothing: a descriptor"),
        ("who can open", "any user the mode lets", "any user the mode lets", "who is given the fd"),
        ("permissions", "shm_perm.mode", "file mode, fchmod", "having the descriptor"),
        ("lives until", "IPC_RMID + last shmdt", "shm_unlink + last close", "last close + munmap"),
        ("after a crash", "left until ipcrm", "left until rm", "nothing is left"),
        ("size", "fixed at shmget", "ftruncate, any time", "ftruncate, or sealed"),
        ("seen with", "ipcs -m", "ls -l /dev/shm", "ls -l /proc/PID/fd"),
    ];
    let mut table = String::new();
    for (what, sysv, posix, memfd) in rows {
        table.push_str(&format!("    {what:<14} {sysv:<24} {posix:<24} {memfd}\n"));
    }
    shm_workbook::narrate::print_block(table);
    out.explain("a memfd is also reachable through /proc/PID/fd/N by whoever may ptrace PID");
    lesson.step(
        out,
        "In another terminal:  ipcs -m; ls -l /dev/shm\n\
         Both may hold leftovers of crashed programs; a memfd never can.",
    );
}
// ANCHOR_END: comparison
