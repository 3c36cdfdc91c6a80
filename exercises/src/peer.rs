//! The checker as a hostile peer (exercise 15): it listens on a Unix socket, hands the
//! program a memfd with `SCM_RIGHTS`, sealed in some runs and not in others, and as soon as
//! the program says it has mapped the memory, tries to shrink it to nothing with `ftruncate`.
//!
//! The protocol, one byte at a time on the stream: the peer sends `b'f'` with the descriptor;
//! the program answers `b'm'` (it has mapped the memory) or `b'r'` (it refuses the buffer);
//! after `b'm'` the peer shrinks the file, then sends `b'g'`, and the program may read on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::fcntl::SealFlag;
use shm_workbook::memfd::{Memfd, Seals};
use shm_workbook::unix_socket::{Listener, Stream};

/// The environment variable that tells the program where the peer listens.
pub const VARIABLE: &str = "SHM_WORKBOOK_PEER";

/// What the peer is to do in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Whether the memfd is sealed (`F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE|F_SEAL_SEAL`).
    pub sealed: bool,
    /// The text at offset 0, new in every run.
    pub token: String,
}

/// The text at the start of the memfd's last page.
pub const TRAILER: &str = "end of the buffer";

/// The memfd's size: two pages.
pub fn size() -> usize {
    2 * shm_workbook::procfs::page_size()
}

/// What the peer did in one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Whether the memfd it sent was sealed.
    pub sealed: bool,
    /// The text it wrote at offset 0.
    pub token: String,
    /// Whether a client connected and got the descriptor.
    pub sent: bool,
    /// The client's answer: `b'm'`, `b'r'`, or none (it closed, or never answered).
    pub answer: Option<u8>,
    /// The shrink it tried after `b'm'`: `Ok` or the errno's name.
    pub shrink: Option<Result<(), String>>,
    /// What went wrong on the peer's side, if anything.
    pub problem: Option<String>,
}

/// A peer serving one run, in a thread of the checker.
pub struct Peer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Report>,
}

impl Peer {
    /// Binds `dir/peer.sock` and starts serving `plan` (one client) until [`finish`].
    ///
    /// [`finish`]: Peer::finish
    pub fn start(dir: &Path, plan: Plan) -> std::io::Result<Peer> {
        let path = dir.join("peer.sock");
        let _ = std::fs::remove_file(&path);
        let listener = Listener::bind(&path).map_err(std::io::Error::other)?;
        listener.listen().map_err(std::io::Error::other)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || serve(&listener, &plan, &stopped));
        Ok(Peer { path, stop, thread })
    }

    /// The socket's path, for the program's environment.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the peer (once the run's processes are gone, nothing keeps it waiting).
    pub fn finish(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        let report = self.thread.join().unwrap_or_default();
        let _ = std::fs::remove_file(&self.path);
        report
    }
}

fn serve(listener: &Listener, plan: &Plan, stop: &AtomicBool) -> Report {
    let mut report = Report { sealed: plan.sealed, token: plan.token.clone(), ..Report::default() };
    if let Err(problem) = serve_one(listener, plan, stop, &mut report) {
        report.problem = Some(problem);
    }
    report
}

fn serve_one(
    listener: &Listener,
    plan: &Plan,
    stop: &AtomicBool,
    report: &mut Report,
) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    // Waits for a client, looking at `stop` every 50 ms (a program that never connects).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
            return Ok(());
        }
        let mut poll =
            libc::pollfd { fd: listener.fd().as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd on our stack, for a descriptor the listener owns.
        if unsafe { libc::poll(&mut poll, 1, 50) } > 0 {
            break;
        }
    }
    let client = listener.accept().map_err(|err| err.to_string())?;
    let memfd = make(plan).map_err(|err| err.to_string())?;
    client.send_fd(b'f', memfd.fd()).map_err(|err| err.to_string())?;
    report.sent = true;
    let Ok(answer) = client.recv_byte() else { return Ok(()) };
    report.answer = Some(answer);
    if answer == b'm' {
        report.shrink = Some(memfd.set_len(0).map_err(|err| {
            err.errno().map_or_else(|| err.to_string(), |errno| format!("{errno:?}"))
        }));
        let _ = client.send_byte(b'g');
    }
    // Until the client closes its end (recv_byte fails): the memfd stays open meanwhile.
    let _ = wait_closed(&client);
    Ok(())
}

fn wait_closed(client: &Stream) -> shm_workbook::Result<u8> {
    client.recv_byte()
}

/// The memfd of a run: the token at offset 0, [`TRAILER`] on the last page, sealed or not.
fn make(plan: &Plan) -> shm_workbook::Result<Memfd> {
    let page = shm_workbook::procfs::page_size();
    let memfd = Memfd::create("ex15-peer", plan.sealed)?;
    memfd.set_len(size() as u64)?;
    let memory = memfd.map(size())?;
    memory.store_c_string(0, &plan.token)?;
    memory.store_c_string(page, TRAILER)?;
    memory.detach()?;
    if plan.sealed {
        let all = SealFlag::F_SEAL_SHRINK
            | SealFlag::F_SEAL_GROW
            | SealFlag::F_SEAL_WRITE
            | SealFlag::F_SEAL_SEAL;
        memfd.add_seals(Seals(all))?;
    }
    Ok(memfd)
}
