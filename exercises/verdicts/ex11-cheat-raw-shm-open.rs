//! Verdict corpus: ex11, a cheat.
//! expect: fail
//! reason: the reader opens the object with a raw libc::shm_open around the library and reads
//! it with read(2); the trace shows no shm_open and no mapping.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

use std::process::Command;

use shm_workbook::{Error, Narrator, Result, SharedObject, cleanup, exercise_data, posix};

const SIZE: usize = 4096;

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => writer(),
        [command, name] if command == "read" => reader(name),
        _ => Err(Error::other("ex11", "usage: ex11 [read NAME]")),
    }
}

fn writer() -> Result<()> {
    let message = exercise_data::text("message", "Hello through /dev/shm!");
    let out = Narrator::new("writer");
    let name = posix::name::unique_name("ex11");
    let object = SharedObject::create(&name, 0o600)?;
    out.call();
    object.set_len(SIZE as u64)?;
    let memory = object.map(SIZE)?;
    memory.store_c_string(0, &message)?;
    out.say(format!("wrote {message:?} into {name}"));

    let program = std::env::current_exe().map_err(|err| Error::io("current_exe()", err))?;
    let status = Command::new(program)
        .args(["read", &name])
        .status()
        .map_err(|err| Error::io("starting the reader", err))?;
    if !status.success() {
        return Err(Error::other("the reader", format!("it ended with {status}")));
    }
    Ok(())
}

fn reader(name: &str) -> Result<()> {
    let out = Narrator::new("reader");
    let path = CString::new(name).map_err(|err| Error::other("the name", err.to_string()))?;
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::shm_open(path.as_ptr(), libc::O_RDONLY, 0) };
    if fd == -1 {
        return Err(Error::io("shm_open", std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut bytes = vec![0u8; SIZE];
    file.read_exact(&mut bytes).map_err(|err| Error::io("read", err))?;
    let text = bytes.split(|&byte| byte == 0).next().unwrap_or_default();
    out.say(format!("Reader read: {}", String::from_utf8_lossy(text)));
    Ok(())
}
