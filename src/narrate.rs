//! The story a lesson prints: one line per event, prefixed with the role and pid of the process
//! that speaks.
//!
//! ```text
//! [parent 4242] shmget(IPC_PRIVATE, 1024, IPC_CREAT|0600) = shmid 32769
//! [child  4243] Child read: Hello from parent!
//! ```
//!
//! Every line is assembled in memory and handed to the kernel in a single `write(2)`, so lines
//! from several processes sharing one terminal or pipe never interleave mid-line. Nothing is
//! buffered in user space, so nothing is duplicated by `fork()` (the classic stdio surprise).

use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

use colored::{Color, ColoredString, Colorize};

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
    /// A narrator for `role` in the calling process.
    pub fn new(role: &str) -> Narrator {
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

    /// `call = result`: a system call and what it returned.
    pub fn call(&self, call: impl Display, result: impl Display) {
        self.line().call(call).text(" = ").value(result).print();
    }

    /// `call = result   (note)`: a system call, what it returned, and why it matters.
    pub fn call_note(&self, call: impl Display, result: impl Display, note: impl Display) {
        self.line().call(call).text(" = ").value(result).note(note).print();
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

    /// A system call, written as in C.
    pub fn call(self, call: impl Display) -> Self {
        let styled = call.to_string().bold();
        self.styled(styled)
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
/// nothing waits in a buffer when the process forks. Errors (a closed pipe) are ignored: the
/// lesson goes on and cleans up even if nobody reads its story.
pub fn write_stdout(mut bytes: &[u8]) {
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    let fd = stdout.as_fd();
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return,
            Ok(written) => bytes = &bytes[written..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
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
        let line =
            narrator.line().call("shmat(7, NULL, 0)").text(" = ").value("0x7f00").note("why");
        assert_eq!(line.text, "shmat(7, NULL, 0) = 0x7f00   (why)");
        assert_eq!(narrator.prefix(), format!("[child  {}]", narrator.pid()));
    }
}
