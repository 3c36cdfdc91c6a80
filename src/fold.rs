//! Lines that fit the terminal. A line of the story wider than [`columns`] is folded: a call at
//! the boundaries of its arguments (the rest indented under the opening parenthesis, as C is
//! formatted), an explanation at its spaces (a command in backticks kept whole), and a call's
//! note moved to a line of its own when it does not fit beside the call.
//!
//! A folded line reads as one: its continuation lines carry no `[role pid]` prefix, only spaces
//! as wide as it, and are written with the first line in one `write(2)`. [`unfold`] joins them
//! back, word for word, for a program (a test) that reads the story.

/// The widest line the story prints, whatever the terminal: wider text is harder to read.
pub const MAX_COLUMNS: usize = 100;

/// The narrowest width the story folds to; a terminal narrower than this wraps lines itself.
pub const MIN_COLUMNS: usize = 40;

/// How wide the story's lines may be: the terminal's width when stdout is a terminal (asked
/// with `ioctl(TIOCGWINSZ)`), else [`MAX_COLUMNS`]; never more than that, nor less than
/// [`MIN_COLUMNS`].
pub fn columns() -> usize {
    columns_of(libc::STDOUT_FILENO)
}

/// [`columns`] for the terminal of descriptor `fd` (stderr's, for an error message).
pub fn columns_of(fd: std::os::fd::RawFd) -> usize {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ fills the winsize we own on our stack, and nothing else; on a
    // descriptor that is not a terminal it fails with ENOTTY and leaves it alone.
    let asked = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
    let terminal = (asked == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col));
    terminal.unwrap_or(MAX_COLUMNS).clamp(MIN_COLUMNS, MAX_COLUMNS)
}

/// A place where a line may be folded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Break {
    /// A space between two words; the next line starts two columns in.
    Space,
    /// The space after the comma between two arguments of a call whose opening parenthesis
    /// is followed by column `paren`; the next line starts under it (or four columns in).
    Argument {
        /// The column just after the `(`, counted from the start of the line's text.
        paren: usize,
    },
    /// The three spaces before a note in parentheses; the note goes to the next line, whole,
    /// when it does not fit on this one.
    Note,
}

/// A separator where a line may be folded: its byte offset, its length in bytes (dropped when
/// the line is folded there) and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Where the separator starts, in bytes.
    pub at: usize,
    /// How long it is, in bytes.
    pub len: usize,
    /// What kind of place it is.
    pub kind: Break,
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// The breakable spaces of `text`, offset by `base`: single spaces outside backticks, not
/// before an opening parenthesis (so that [`unfold`] can tell a note from a word), and not
/// in the text's leading spaces. Runs of several spaces are kept as they are.
pub fn spaces(text: &str, base: usize) -> Vec<Fold> {
    breakable(text, base, false)
}

/// [`spaces`], and also before an opening parenthesis when `before_parens`.
fn breakable(text: &str, base: usize, before_parens: bool) -> Vec<Fold> {
    let bytes = text.as_bytes();
    let mut folds = Vec::new();
    let mut quoted = false;
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'`' {
            quoted = !quoted;
        }
        let single = b == b' '
            && i > start
            && bytes[i - 1] != b' '
            && bytes
                .get(i + 1)
                .is_some_and(|&next| next != b' ' && (before_parens || next != b'('));
        if single && !quoted {
            folds.push(Fold { at: base + i, len: 1, kind: Break::Space });
        }
    }
    folds
}

/// The gutter of a line's text: its leading spaces and box-drawing bars (`        │   `).
fn gutter(text: &str) -> &str {
    let end = text.find(|c| c != ' ' && c != '│').unwrap_or(text.len());
    &text[..end]
}

/// How a continuation after a fold of `kind` starts, when the first piece it shows is
/// `next` columns wide.
fn indent(text: &str, kind: Break, next: usize, available: usize) -> String {
    let gutter = gutter(text);
    let bars = gutter.trim_end();
    let two_in = format!("{bars}{}", " ".repeat(width(gutter) - width(bars) + 2));
    match kind {
        Break::Space | Break::Note => two_in,
        // Under the parenthesis when the next argument fits there, else four columns in.
        Break::Argument { paren } if paren + next <= available => " ".repeat(paren),
        Break::Argument { .. } => format!("{bars}{}", " ".repeat(width(gutter) - width(bars) + 4)),
    }
}

/// `text` folded to lines of at most `available` columns: each line as the byte range of
/// `text` it shows and the indentation printed before it (none for the first). A piece with
/// no place to fold it is left longer than `available`.
pub fn layout(
    text: &str,
    folds: &[Fold],
    available: usize,
) -> Vec<(std::ops::Range<usize>, String)> {
    let mut lines = Vec::new();
    let (mut start, mut lead) = (0, String::new());
    loop {
        let room = available.saturating_sub(width(&lead));
        if width(&text[start..]) <= room {
            lines.push((start..text.len(), lead));
            return lines;
        }
        let mut chosen = None;
        for (i, fold) in folds.iter().enumerate().filter(|(_, fold)| fold.at > start) {
            if chosen.is_some() && width(&text[start..fold.at]) > room {
                break;
            }
            chosen = Some(*fold);
            if fold.kind == Break::Note {
                // The note, up to the next note or the end, moves whole unless it fits here.
                let next = folds[i + 1..].iter().find(|later| later.kind == Break::Note);
                let end = next.map_or(text.len(), |later| later.at);
                if width(&text[start..end]) > room {
                    break;
                }
            }
        }
        let Some(fold) = chosen else {
            lines.push((start..text.len(), lead));
            return lines;
        };
        lines.push((start..fold.at, lead));
        start = fold.at + fold.len;
        let next = folds.iter().find(|later| later.at > start).map_or(text.len(), |later| later.at);
        lead = indent(text, fold.kind, width(&text[start..next]), available);
    }
}

/// `text` folded at its spaces for a place with no narrator (and no note: before a `(` too):
/// the first line at most `first` columns wide, each other one `lead` and at most `rest`
/// columns after it (four spaces instead of `lead` before a word too wide for that, a long
/// command).
pub fn wrap(text: &str, first: usize, rest: usize, lead: &str) -> Vec<String> {
    let folds = breakable(text, 0, true);
    let mut lines = Vec::new();
    let (mut start, mut room, mut shown) = (0, first, "");
    loop {
        let after = folds.iter().filter(|fold| fold.at > start);
        let fits: Vec<&Fold> =
            after.clone().take_while(|fold| width(&text[start..fold.at]) <= room).collect();
        // A parenthesis that would be split moves whole to the next line, when it can.
        let split = |open: &&Fold| {
            let inside = &text[open.at + 1..];
            let close = inside.find(')').map_or(text.len(), |at| open.at + 1 + at);
            inside.starts_with('(') && fits.last().is_some_and(|last| last.at < close)
        };
        let whole = fits.iter().copied().find(|open| split(open));
        let fold = whole.or(fits.last().copied()).or_else(|| after.clone().next());
        let (end, next) = match fold {
            Some(fold) if width(&text[start..]) > room => (fold.at, Some(fold.at + fold.len)),
            _ => (text.len(), None),
        };
        let piece = &text[start..end];
        let over = start > 0 && width(piece) > room;
        lines.push(format!("{}{piece}", if over { "    " } else { shown }));
        let Some(next) = next else { return lines };
        (start, room, shown) = (next, rest, lead);
    }
}

/// The story with its folded lines joined again, as it would print on an endless line: a
/// continuation (a line that starts with as many spaces as the `[role pid] ` prefix of the
/// line it continues) joins it three spaces apart when it is a note in parentheses, else one.
pub fn unfold(story: &str) -> String {
    let mut joined = String::new();
    for entry in entries(story) {
        let mut lines = entry.split_inclusive('\n');
        let first = lines.next().unwrap_or_default();
        // An error is folded at single spaces only; a story's line also before its note.
        let (width, notes) = match narrator_prefix(first) {
            Some(width) => (width, true),
            None if error_line(first) => (0, false),
            None => {
                joined.push_str(entry);
                continue;
            }
        };
        joined.push_str(first.trim_end_matches('\n'));
        for line in lines {
            let text = line[width..].trim_start_matches([' ', '│']).trim_end_matches('\n');
            joined.push_str(if notes && text.starts_with('(') { "   " } else { " " });
            joined.push_str(text);
        }
        if entry.ends_with('\n') {
            joined.push('\n');
        }
    }
    joined
}

/// The story cut into what each print made: a line, with the continuation lines of a folded
/// one (a program can keep a folded line whole, or drop it whole). An error's lines (`Error: `,
/// `  what it means: `, `  what to do: `) continue on lines that start with four spaces.
pub fn entries(story: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let (mut start, mut at, mut prefix) = (0, 0, None);
    for line in story.split_inclusive('\n') {
        let continues = prefix.is_some_and(|width: usize| {
            line.trim_end().len() > width && line.as_bytes()[..width].iter().all(|&b| b == b' ')
        });
        if !continues {
            if at > start {
                entries.push(&story[start..at]);
            }
            start = at;
            prefix = narrator_prefix(line).or_else(|| error_line(line).then_some(4));
        }
        at += line.len();
    }
    if at > start {
        entries.push(&story[start..at]);
    }
    entries
}

/// Whether `line` is one of an error's, as `main` prints it (see [`crate::Error`]'s `Debug`).
fn error_line(line: &str) -> bool {
    ["Error: ", "  what it means: ", "  what to do: "].iter().any(|start| line.starts_with(start))
}

/// The width of the `[role pid] ` prefix that starts `line`, if a narrator printed it.
fn narrator_prefix(line: &str) -> Option<usize> {
    let rest = line.strip_prefix('[')?;
    let (label, _) = rest.split_once("] ")?;
    let pid = label.rsplit(' ').next()?;
    pid.parse::<i64>().ok()?;
    Some(width(label) + 3)
}
