//! The story a lesson prints: one line per event, prefixed with the role and pid of the process
//! that speaks.
//!
//! ```text
//! [parent 4242] shmget(IPC_PRIVATE, 1024, IPC_CREAT|0600) = 32769
//! [child  4243] Child read: Hello from parent!
//! ```
//!
//! Every line is assembled in memory and handed to the kernel in a single `write(2)`, so lines
//! from several processes sharing one terminal or pipe never interleave mid-line. Nothing is
//! buffered in user space, so nothing is duplicated by `fork()` (the classic stdio surprise).

use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

use colored::{Color, ColoredString, Colorize};

use crate::sysv::key::{FreeKey, Key};

static COLOUR: AtomicBool = AtomicBool::new(false);

/// Turns colour on or off for every narrator in this process (and its future children).
pub fn set_colour(enabled: bool) {
    COLOUR.store(enabled, Ordering::Relaxed);
    colored::control::set_override(enabled);
}

/// Whether colour is on.
pub fn colour_enabled() -> bool {
    COLOUR.load(Ordering::Relaxed)
}

/// Decides whether to colour: only when stdout is a terminal, `NO_COLOR` is unset (or empty)
/// and the student did not pass `--no-color`.
pub fn colour_wanted(no_color_flag: bool) -> bool {
    use std::io::IsTerminal;
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_color_flag && !no_color_env && std::io::stdout().is_terminal()
}

/// The colour of a role: the same role always gets the same colour.
fn role_colour(role: &str) -> Color {
    match role {
        "parent" | "producer" | "writer 1" => Color::BrightBlue,
        "child" | "consumer" | "writer 2" => Color::BrightGreen,
        "writer 3" => Color::BrightMagenta,
        "reader" => Color::BrightCyan,
        _ => {
            const PALETTE: [Color; 4] =
                [Color::BrightMagenta, Color::BrightCyan, Color::BrightYellow, Color::BrightRed];
            PALETTE[role.bytes().map(usize::from).sum::<usize>() % PALETTE.len()]
        }
    }
}

/// Speaks for one process in one role. Create it after `fork()` so it carries the right pid
/// ([`process::spawn`](crate::process::spawn) does this for children).
#[derive(Clone, Debug)]
pub struct Narrator {
    role: String,
    pid: i32,
}

impl Narrator {
    /// A narrator for `role` in the calling process. The first narrator made in a process
    /// also names the process in the `--trace` file.
    pub fn new(role: &str) -> Narrator {
        crate::call::set_role(role, false);
        Narrator { role: role.to_owned(), pid: nix::unistd::getpid().as_raw() }
    }

    /// A narrator that speaks for another process, to retell what it recorded (a trace
    /// printed by the parent after its children have finished, for example).
    pub fn for_process(role: &str, pid: i32) -> Narrator {
        Narrator { role: role.to_owned(), pid }
    }

    /// The role name, such as `parent`.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The pid printed in every line.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Starts a line of several styled pieces; finish it with [`Line::print`].
    pub fn line(&self) -> Line<'_> {
        Line { narrator: self, text: String::new() }
    }

    /// Prints the call this process made last, exactly as it was made:
    /// `shmget(IPC_PRIVATE, 1024, IPC_CREAT|IPC_EXCL|0600) = 32769`. See [`crate::call`].
    pub fn call(&self) {
        self.line().last_call().print();
    }

    /// [`call`](Self::call) with a note on why it matters: `... = 32769   (note)`.
    pub fn call_note(&self, note: impl Display) {
        self.line().last_call().note(note).print();
    }

    /// A line of the program's own output, unstyled, such as `Child read: Hello from parent!`.
    pub fn say(&self, text: impl Display) {
        self.line().text(text).print();
    }

    /// An explanation: why this happened, what to notice.
    pub fn explain(&self, text: impl Display) {
        self.line().explain(text).print();
    }

    /// A value worth noticing, with a label: `label: value`.
    pub fn value(&self, label: impl Display, value: impl Display) {
        self.line().text(label).text(": ").value(value).print();
    }

    /// A failure, for example a child's error before it exits.
    pub fn error(&self, text: impl Display) {
        let text = text.to_string();
        for (i, piece) in text.lines().enumerate() {
            let styled = if i == 0 { piece.red().bold() } else { piece.red() };
            self.line().styled(styled).print();
        }
    }

    fn prefix(&self) -> String {
        let label = format!("[{:<6} {}]", self.role, self.pid);
        label.color(role_colour(&self.role)).bold().to_string()
    }
}

/// A line being assembled; nothing is printed until [`Line::print`].
#[must_use = "a line is printed only by .print()"]
pub struct Line<'a> {
    narrator: &'a Narrator,
    text: String,
}

impl Line<'_> {
    /// Plain text.
    pub fn text(mut self, text: impl Display) -> Self {
        let _ = write!(self.text, "{text}");
        self
    }

    /// The call this process made last (see [`crate::call`]): `shmat(7, NULL, 0)`, then
    /// ` = ` and its result, `0x7f3a1c000000` or `-1 EACCES`.
    ///
    /// # Panics
    ///
    /// In a debug build, when no call was made since the last one printed: the lesson would
    /// print a call twice, or one that it did not make (a bug in the workbook, which the tests
    /// of every lesson catch).
    pub fn last_call(self) -> Self {
        match crate::call::take_unshown() {
            Some(call) => {
                let result = call.result_text();
                let result = match call.outcome() {
                    crate::call::Outcome::Returned(_) => result.yellow(),
                    crate::call::Outcome::Failed(_) => result.red(),
                };
                self.styled(call.c_text().bold()).text(" = ").styled(result)
            }
            None => {
                debug_assert!(false, "no call recorded since the last one printed");
                self
            }
        }
    }

    /// A value: an id, an address, a count.
    pub fn value(self, value: impl Display) -> Self {
        let styled = value.to_string().yellow();
        self.styled(styled)
    }

    /// An explanation, in a quieter style.
    pub fn explain(self, text: impl Display) -> Self {
        let styled = text.to_string().italic().dimmed();
        self.styled(styled)
    }

    /// A trailing note in parentheses.
    pub fn note(self, note: impl Display) -> Self {
        self.text("   ").explain(format!("({note})"))
    }

    fn styled(mut self, styled: ColoredString) -> Self {
        let _ = write!(self.text, "{styled}");
        self
    }

    /// Prints the line with its role prefix, in one `write(2)`.
    pub fn print(self) {
        let line = format!("{} {}\n", self.narrator.prefix(), self.text);
        write_stdout(line.as_bytes());
    }
}

/// A section heading, printed without a role: `== Part 1: ... ==`.
pub fn heading(title: impl Display) {
    let text = format!("\n{}\n", format!("== {title} ==").bold().underline());
    write_stdout(text.as_bytes());
}

/// Text printed as it is (already formatted, possibly several lines), in one `write(2)`.
pub fn print_block(text: impl Display) {
    write_stdout(text.to_string().as_bytes());
}

/// Writes all of `bytes` to stdout with `write(2)`, bypassing Rust's buffered `Stdout` so that
/// nothing waits in a buffer when the process forks. Errors (a closed pipe, a closed terminal)
/// are ignored: the lesson goes on and cleans up even if nobody reads its story, and never
/// panics the way `print!` does on a closed pipe.
pub fn write_stdout(bytes: &[u8]) {
    use std::os::fd::AsFd;
    write_all_to(std::io::stdout().as_fd(), bytes);
}

/// [`write_stdout`] for stderr: an error message that cannot be written is lost, never a
/// panic (as `eprintln!` would on a closed pipe).
pub fn write_stderr(bytes: &[u8]) {
    use std::os::fd::AsFd;
    write_all_to(std::io::stderr().as_fd(), bytes);
}

fn write_all_to(fd: std::os::fd::BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return,
            Ok(written) => bytes = &bytes[written..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

/// A time from IPC_STAT (seconds since the epoch) as local `HH:MM:SS`, or `never` for 0.
pub fn time_of_day(seconds: i64) -> String {
    if seconds == 0 {
        return "never".to_owned();
    }
    let t = seconds as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: localtime_r reads `t` and fills the `tm` we own; it is the thread-safe variant.
    if unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) }.is_null() {
        return seconds.to_string();
    }
    // SAFETY: localtime_r succeeded, so it initialised `tm` (which was zeroed anyway).
    let tm = unsafe { tm.assume_init() };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

// The story of a choice the subject layer made: written here, beside the narrator, so that a
// key knows nothing of how a lesson prints (the layers only reach down).
impl FreeKey {
    /// Prints [`sentence`](Self::sentence), if there is one, as an explanation; returns the key.
    pub fn explain_to(&self, out: &Narrator) -> Key {
        if let Some(sentence) = self.sentence() {
            out.explain(sentence);
        }
        self.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_keep_their_colours() {
        assert_eq!(role_colour("parent"), Color::BrightBlue);
        assert_eq!(role_colour("child"), Color::BrightGreen);
        assert_eq!(role_colour("anything"), role_colour("anything"));
    }

    #[test]
    fn a_line_has_the_role_pid_and_text_without_colour() {
        set_colour(false);
        let narrator = Narrator::new("child");
        let _ = crate::call::make("shmat").arg(7).arg("NULL").arg(0).returned("0x7f00");
        let line = narrator.line().last_call().note("why");
        assert_eq!(line.text, "shmat(7, NULL, 0) = 0x7f00   (why)");
        assert_eq!(narrator.prefix(), format!("[child  {}]", narrator.pid()));
    }
}
