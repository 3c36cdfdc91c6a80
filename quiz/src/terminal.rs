//! The runner's side of the terminal: output that ends the runner quietly when its reader has
//! gone (`quiz | head -1`, a closed terminal), Ctrl-C that ends it with status 130 and never in
//! the middle of a save, and the terminal's width.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction, signal};

/// Whether the answers given so far are in the progress file (what Ctrl-C says).
static ANSWERS_KEPT: AtomicBool = AtomicBool::new(false);

/// Sets how the runner meets a closed pipe and Ctrl-C. Called first, before any thread starts.
pub fn install() {
    // SAFETY: ignoring a signal before any thread is started; a write to a closed pipe then
    // fails with EPIPE, which `write_out` turns into a quiet exit.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    let action =
        SigAction::new(SigHandler::Handler(on_interrupt), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only reads an atomic and calls write(2) and _exit(2), which are
    // async-signal-safe.
    let _ = unsafe { sigaction(Signal::SIGINT, &action) };
}

/// Ctrl-C: every answer is already saved (saves hold SIGINT off until they are done), so the
/// runner ends at once, with the status a shell gives a process that SIGINT ended.
extern "C" fn on_interrupt(_: nix::libc::c_int) {
    let message: &[u8] = if ANSWERS_KEPT.load(Ordering::Relaxed) {
        b"\nquiz: stopped; every answer you gave is saved\n"
    } else {
        b"\n"
    };
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a static byte string.
    unsafe {
        nix::libc::write(2, message.as_ptr().cast(), message.len());
        nix::libc::_exit(130);
    }
}

/// Records whether the answers so far are saved, for the line Ctrl-C prints.
pub fn answers_kept(kept: bool) {
    ANSWERS_KEPT.store(kept, Ordering::Relaxed);
}

/// Runs `save` with SIGINT held off, so that Ctrl-C never leaves a half-written temporary file;
/// a Ctrl-C pressed meanwhile ends the runner as soon as the save is done.
pub fn uninterrupted<T>(save: impl FnOnce() -> T) -> T {
    let mut held = SigSet::empty();
    held.add(Signal::SIGINT);
    let _ = held.thread_block();
    let result = save();
    let _ = held.thread_unblock();
    result
}

/// Writes to stdout (and a newline if asked). If stdout is gone, the runner ends quietly:
/// status 0 for a closed pipe (`quiz | head -1`), 1 for any other failure (a closed terminal).
pub fn write_out(text: std::fmt::Arguments<'_>, newline: bool) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(text)
        .and_then(|()| if newline { stdout.write_all(b"\n") } else { stdout.flush() });
    if let Err(err) = written {
        let status = i32::from(err.kind() != std::io::ErrorKind::BrokenPipe);
        std::process::exit(status);
    }
}

/// Writes a line to stderr; a stderr that is gone is no reason to stop.
pub fn write_err(text: std::fmt::Arguments<'_>) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_fmt(text).and_then(|()| stderr.write_all(b"\n"));
}

/// Reads one line, trimmed; `None` at the end of input or when stdin cannot be read (EIO
/// from a closed terminal). When the answers come from a pipe, they are echoed, so the
/// transcript reads like a session at the keyboard.
pub fn ask(prompt: &str) -> Option<String> {
    write_out(format_args!("{prompt}"), false);
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            let line = line.trim().to_owned();
            if !stdin_is_terminal() {
                write_out(format_args!("{line}"), true);
            }
            Some(line)
        }
    }
}

/// Whether a student is typing (rather than a pipe or a file feeding answers).
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// The width of the terminal on stdout, in columns; 80 when stdout is not a terminal.
pub fn width() -> usize {
    let mut size = nix::libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct it is given, which outlives the
    // call; on a descriptor that is not a terminal it fails and writes nothing.
    let answered = unsafe { nix::libc::ioctl(1, nix::libc::TIOCGWINSZ, &mut size) };
    if answered == 0 && size.ws_col > 0 { usize::from(size.ws_col) } else { 80 }
}
