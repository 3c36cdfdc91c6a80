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
//! A line wider than the terminal is folded (see [`crate::fold`]), and its continuation lines
//! go in the same `write(2)`.

use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

use colored::{Color, ColoredString, Colorize};

use crate::fold::{self, Break, Fold};
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
        Line { narrator: self, text: String::new(), styles: Vec::new(), folds: Vec::new() }
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
            let style = if i == 0 { Style::ErrorFirst } else { Style::Error };
            self.line().styled(piece, style).print();
        }
    }

    fn prefix(&self) -> String {
        let label = format!("[{:<6} {}]", self.role, self.pid);
        label.color(role_colour(&self.role)).bold().to_string()
    }

    /// How many columns the prefix takes, with the space after it: `[parent 4242] ` is 14.
    pub fn prefix_width(&self) -> usize {
        format!("[{:<6} {}] ", self.role, self.pid).chars().count()
    }
}

/// How a piece of a line is styled when colour is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Call,
    Value,
    Failed,
    Explain,
    ErrorFirst,
    Error,
}

impl Style {
    fn paint(self, text: &str) -> ColoredString {
        match self {
            Style::Plain => text.normal(),
            Style::Call => text.bold(),
            Style::Value => text.yellow(),
            Style::Failed => text.red(),
            Style::Explain => text.italic().dimmed(),
            Style::ErrorFirst => text.red().bold(),
            Style::Error => text.red(),
        }
    }
}

/// A line being assembled; nothing is printed until [`Line::print`]. It keeps its text plain,
/// with the style of each piece and the places where it may be folded (see [`crate::fold`]).
#[must_use = "a line is printed only by .print()"]
pub struct Line<'a> {
    narrator: &'a Narrator,
    text: String,
    styles: Vec<(usize, Style)>,
    folds: Vec<Fold>,
}

impl Line<'_> {
    /// Plain text.
    pub fn text(self, text: impl Display) -> Self {
        self.piece(text, Style::Plain)
    }

    /// The call this process made last (see [`crate::call`]): `shmat(7, NULL, 0)`, then
    /// ` = ` and its result, `0x7f3a1c000000` or `-1 EACCES`. A call too wide for the
    /// terminal folds between its arguments.
    ///
    /// # Panics
    ///
    /// In a debug build, when no call was made since the last one printed: the lesson would
    /// print a call twice, or one that it did not make (a bug in the workbook, which the tests
    /// of every lesson catch).
    pub fn last_call(mut self) -> Self {
        let Some(call) = crate::call::take_unshown() else {
            debug_assert!(false, "no call recorded since the last one printed");
            return self;
        };
        let start = self.text.len();
        let paren = self.text.chars().count() + call.name().len() + 1;
        let args: Vec<String> = call.args().iter().map(ToString::to_string).collect();
        self.styles.push((start, Style::Call));
        let _ = write!(self.text, "{}(", call.name());
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
                // Never before a '(': a continuation that starts with one is a note.
                if !arg.starts_with('(') {
                    let at = self.text.len();
                    self.folds.push(Fold { at, len: 1, kind: Break::Argument { paren } });
                }
                self.text.push(' ');
            }
            self.text.push_str(arg);
        }
        self.text.push(')');
        let result = match call.outcome() {
            crate::call::Outcome::Returned(_) => Style::Value,
            crate::call::Outcome::Failed(_) => Style::Failed,
        };
        // ` = -1 EACCES` stays with the call's last argument: no place to fold in it.
        self.styles.push((self.text.len(), Style::Plain));
        self.text.push_str(" = ");
        self.styles.push((self.text.len(), result));
        self.text.push_str(&call.result_text());
        self
    }

    /// A value: an id, an address, a count.
    pub fn value(self, value: impl Display) -> Self {
        self.piece(value, Style::Value)
    }

    /// An explanation, in a quieter style.
    pub fn explain(self, text: impl Display) -> Self {
        self.piece(text, Style::Explain)
    }

    /// A trailing note in parentheses, three spaces after the rest; when the line is too
    /// wide, the note goes to a line of its own, below.
    pub fn note(mut self, note: impl Display) -> Self {
        let at = self.text.len();
        self.folds.push(Fold { at, len: 3, kind: Break::Note });
        self = self.text("   ");
        self.explain(format!("({note})"))
    }

    fn piece(mut self, text: impl Display, style: Style) -> Self {
        let start = self.text.len();
        let _ = write!(self.text, "{text}");
        let words = fold::spaces(&self.text[start..], start);
        // The first piece's leading spaces are its indentation, never a place to fold.
        let words = words.into_iter().filter(|word| start > 0 || word.at > 0);
        self.folds.extend(words);
        self.styles.push((start, style));
        self
    }

    fn styled(self, text: &str, style: Style) -> Self {
        self.piece(text, style)
    }

    /// The text of `range`, each piece in its style.
    fn painted(&self, range: std::ops::Range<usize>) -> String {
        let mut out = String::new();
        for (i, &(start, style)) in self.styles.iter().enumerate() {
            let end = self.styles.get(i + 1).map_or(self.text.len(), |&(next, _)| next);
            let (from, to) = (start.max(range.start), end.min(range.end));
            if from < to {
                let _ = write!(out, "{}", style.paint(&self.text[from..to]));
            }
        }
        out
    }

    /// Prints the line with its role prefix, in one `write(2)`; folded to fit the terminal
    /// (see [`crate::fold`]), its continuation lines indented as wide as the prefix.
    pub fn print(self) {
        write_stdout(self.render(fold::columns()).as_bytes());
    }

    /// The line as [`print`](Self::print) writes it on a terminal `columns` wide.
    fn render(mut self, columns: usize) -> String {
        self.folds.sort_by_key(|fold| fold.at);
        self.folds.dedup_by_key(|fold| fold.at);
        let prefix = self.narrator.prefix();
        let prefix_width = self.narrator.prefix_width();
        let available = columns.saturating_sub(prefix_width);
        let mut out = String::new();
        let lines = if self.text.contains('\n') {
            vec![(0..self.text.len(), String::new())]
        } else {
            fold::layout(&self.text, &self.folds, available)
        };
        for (i, (range, lead)) in lines.into_iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "{prefix} ");
            } else {
                out.push_str(&" ".repeat(prefix_width));
            }
            let _ = writeln!(out, "{lead}{}", self.painted(range));
        }
        out
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
    fn a_wide_line_folds_and_unfolds_to_what_one_line_would_say() {
        set_colour(false);
        let narrator = Narrator::for_process("parent", 4242);
        let call = crate::call::make("mq_open")
            .arg("\"/shm-workbook-lesson13-mq\"")
            .arg("O_RDWR|O_CREAT|O_EXCL")
            .arg("0600")
            .arg("{mq_maxmsg=10, mq_msgsize=4096}")
            .failed(nix::errno::Errno::EINVAL);
        let note = "refused: above fs.mqueue.msgsize_max (see `sysctl fs.mqueue`), so not measured";
        let line = || narrator.line().last_call().note(note);
        let folded = line().render(62);
        let under_the_parenthesis = " ".repeat("[parent 4242] mq_open(".len());
        let two_past_the_prefix = " ".repeat("[parent 4242]   ".len());
        let four_in = " ".repeat("[parent 4242]     ".len());
        let expected = [
            "[parent 4242] mq_open(\"/shm-workbook-lesson13-mq\",".to_owned(),
            format!("{under_the_parenthesis}O_RDWR|O_CREAT|O_EXCL, 0600,"),
            format!("{four_in}{{mq_maxmsg=10, mq_msgsize=4096}}) = -1 EINVAL"),
            format!("{two_past_the_prefix}(refused: above fs.mqueue.msgsize_max (see"),
            format!("{two_past_the_prefix}`sysctl fs.mqueue`), so not measured)"),
        ];
        assert_eq!(folded, format!("{}\n", expected.join("\n")));
        assert!(folded.lines().all(|l| l.chars().count() <= 62), "{folded}");
        let _ = crate::call::make("mq_open").arg(1).failed(nix::errno::Errno::EINVAL);
        let wide = narrator.line().last_call().render(200);
        assert_eq!(wide, "[parent 4242] mq_open(1) = -1 EINVAL\n", "a line that fits is one");
        assert_eq!(
            fold::unfold(&folded),
            format!("[parent 4242] {call}   ({note})\n"),
            "unfolded, the line says what it would say on one line"
        );
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
