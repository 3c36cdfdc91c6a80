//! Lesson 13's story within a terminal's width: the width itself (the terminal's, when stdout
//! is one, else [`MAX_COLUMNS`]), explanations folded at spaces into lines that fit, and a
//! call's note moved to the next line when the call and the note together do not fit.

use std::fmt::Display;

use crate::narrate::Narrator;

/// The widest line the story prints, whatever the terminal: wider text is harder to read.
pub const MAX_COLUMNS: usize = 100;

/// The narrowest width the story folds to; a terminal narrower than this wraps lines itself.
pub const MIN_COLUMNS: usize = 40;

/// How wide the story's lines may be: the terminal's width when stdout is a terminal (asked
/// with `ioctl(TIOCGWINSZ)`), else [`MAX_COLUMNS`]; never more than that, nor less than
/// [`MIN_COLUMNS`].
pub fn columns() -> usize {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ fills the winsize we own on our stack, and nothing else; on a
    // descriptor that is not a terminal it fails with ENOTTY and leaves it alone.
    let asked = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    let terminal = (asked == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col));
    terminal.unwrap_or(MAX_COLUMNS).clamp(MIN_COLUMNS, MAX_COLUMNS)
}

/// The width of the narrator's prefix, `[parent 4242] `, as [`Narrator`] prints it.
pub fn prefix_width(out: &Narrator) -> usize {
    let pid_digits = out.pid().unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 1;
    out.role().chars().count().max(6) + pid_digits + 4
}

/// `text` folded at spaces into lines of at most `width` characters (a word longer than
/// `width` gets a line of its own); every line after the first is indented by two spaces, so
/// a folded sentence reads as one. A command in backticks is never split, so that it can be
/// copied from one line.
pub fn fold(text: &str, width: usize) -> Vec<String> {
    if text.chars().count() <= width {
        return vec![text.to_owned()];
    }
    let (mut lines, mut line, mut has_word) = (Vec::new(), String::new(), false);
    for word in words(text) {
        let longer = line.chars().count() + usize::from(has_word) + word.chars().count();
        if has_word && longer > width {
            lines.push(std::mem::replace(&mut line, "  ".to_owned()));
            has_word = false;
        }
        if has_word {
            line.push(' ');
        }
        line.push_str(&word);
        has_word = true;
    }
    if has_word {
        lines.push(line);
    }
    lines
}

/// The words of `text`, split at spaces, except inside backticks.
fn words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut quoted = false;
    for piece in text.split(' ').filter(|piece| !piece.is_empty()) {
        match words.last_mut() {
            Some(open) if quoted => {
                open.push(' ');
                open.push_str(piece);
            }
            _ => words.push(piece.to_owned()),
        }
        quoted ^= piece.matches('`').count() % 2 == 1;
    }
    words
}

/// An explanation, folded to fit [`columns`] after `out`'s prefix: one line of the story per
/// piece.
pub fn explain(out: &Narrator, text: impl Display) {
    let width = columns().saturating_sub(prefix_width(out));
    for line in fold(&text.to_string(), width) {
        out.explain(line);
    }
}

/// [`Narrator::call_note`] when the call and its note fit [`columns`] on one line; otherwise
/// the call alone, and the note below it, in its parentheses and indented as the rest of a
/// folded line is.
pub fn call_note(out: &Narrator, note: impl Display) {
    let note = note.to_string();
    let call = crate::call::last()
        .map_or(0, |call| call.c_text().chars().count() + 3 + call.result_text().chars().count());
    let width = prefix_width(out) + call + "   ()".len() + note.chars().count();
    if width <= columns() {
        out.call_note(note);
    } else {
        out.call();
        let width = columns().saturating_sub(prefix_width(out) + 2);
        for line in fold(&format!("({note})"), width) {
            out.explain(format!("  {}", line.trim_start()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_folds_at_spaces_within_the_width() {
        let text = "the ring copies twice too, but in user space, with no system call at all";
        let lines = fold(text, 30);
        assert_eq!(
            lines,
            ["the ring copies twice too, but", "  in user space, with no", "  system call at all"]
        );
        assert!(lines.iter().all(|line| line.chars().count() <= 30), "{lines:?}");
        assert_eq!(fold("short  and spaced", 30), ["short  and spaced"], "kept as it is");
        assert_eq!(fold("", 30), [""]);
        assert_eq!(
            fold("a wordlongerthanthewidth b", 10),
            ["a", "  wordlongerthanthewidth", "  b"]
        );
        assert_eq!(fold("µs × µs", 5), ["µs ×", "  µs"], "characters, not bytes");
        let command = "Run: `cargo run --release --bin lesson13`, then compare";
        assert_eq!(
            fold(command, 20),
            ["Run:", "  `cargo run --release --bin lesson13`,", "  then compare"],
            "a command stays whole"
        );
    }

    #[test]
    fn the_prefix_is_as_wide_as_the_narrator_prints_it() {
        assert_eq!(prefix_width(&Narrator::for_process("parent", 4242)), "[parent 4242] ".len());
        assert_eq!(prefix_width(&Narrator::for_process("echo", 7)), "[echo   7] ".len());
        let producer = Narrator::for_process("ring producer", 123456);
        assert_eq!(prefix_width(&producer), "[ring producer 123456] ".len());
    }

    #[test]
    fn the_width_is_within_its_bounds() {
        assert!((MIN_COLUMNS..=MAX_COLUMNS).contains(&columns()));
    }
}
