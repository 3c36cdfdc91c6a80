//! The quizzes' Markdown, for a terminal: the subset the quiz files use. Paragraphs are
//! filled to the width and broken only between words; `code spans` are coloured (plain text
//! without colour); `**strong**` is bold and `*emphasis*` italic; fenced blocks are indented
//! and kept as they are, never wrapped; `- ` list items hang. No markup reaches the screen.

use shm_workbook::narrate;

/// Where and how a piece of Markdown is laid out.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The terminal's width in columns.
    pub width: usize,
    /// What stands before the first line (`  a) `, a coloured `Right: `), maybe styled.
    pub lead: String,
    /// How many columns `lead` takes on screen.
    pub lead_width: usize,
    /// What stands before every other line.
    pub indent: String,
    /// Plain words dimmed (explanations).
    pub dim: bool,
    /// Colour and bold on (else plain text, the markup only taken away).
    pub colour: bool,
}

impl Layout {
    /// Lines indented by `indent`, the first one too.
    pub fn indented(width: usize, indent: &str) -> Layout {
        Layout {
            width,
            lead: indent.to_owned(),
            lead_width: indent.chars().count(),
            indent: indent.to_owned(),
            dim: false,
            colour: narrate::colour_enabled(),
        }
    }

    /// The first line starts with `lead` (which may be styled and takes `lead_width`
    /// columns); the others are indented as far.
    pub fn hanging(width: usize, lead: String, lead_width: usize) -> Layout {
        let indent = " ".repeat(lead_width);
        Layout { width, lead, lead_width, indent, dim: false, colour: narrate::colour_enabled() }
    }

    pub fn dimmed(mut self) -> Layout {
        self.dim = true;
        self
    }
}

/// Code spans up to this long are never broken at their spaces (`ipcrm -m` stays whole, and a
/// command to copy stays on one line).
const UNBROKEN_CODE: usize = 48;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Marks {
    code: bool,
    strong: bool,
    emph: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    text: String,
    marks: Marks,
}

#[derive(Debug, PartialEq, Eq)]
enum Block {
    /// A paragraph (or a list item, whose marker is `bullet`), its lines joined.
    Text { bullet: String, text: String },
    /// The lines of a fenced block, as written.
    Fenced(Vec<String>),
}

/// `markdown` as lines for the terminal (styled when colour is on), blocks separated by an
/// empty line.
pub fn render(markdown: &str, layout: &Layout) -> Vec<String> {
    let mut lines = Vec::new();
    for (index, block) in blocks(markdown).iter().enumerate() {
        let first = index == 0;
        if !first {
            lines.push(String::new());
        }
        let (lead, lead_width) = if first {
            (layout.lead.clone(), layout.lead_width)
        } else {
            (layout.indent.clone(), layout.indent.chars().count())
        };
        match block {
            Block::Fenced(code) => {
                // A fence cannot share the line of a lead such as `a) `.
                if first && !lead.trim().is_empty() {
                    lines.push(lead.trim_end().to_owned());
                }
                for line in code {
                    let piece = Piece { text: line.clone(), marks: CODE };
                    let shown = paint(&piece, false, layout.colour);
                    lines.push(format!("{}    {shown}", layout.indent).trim_end().to_owned());
                }
            }
            Block::Text { bullet, text } => {
                let hang = " ".repeat(bullet.chars().count());
                let lead = format!("{lead}{bullet}");
                let indent = format!("{}{hang}", layout.indent);
                let words = words(&inline(text));
                lines.extend(fill(&words, layout, &lead, lead_width + bullet.len(), &indent));
            }
        }
    }
    if lines.is_empty() {
        lines.push(layout.lead.trim_end().to_owned());
    }
    lines
}

const CODE: Marks = Marks { code: true, strong: false, emph: false };

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut bullet = String::new();
    let mut fence: Option<(String, Vec<String>)> = None;
    let flush = |paragraph: &mut Vec<&str>, bullet: &mut String, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            let text = paragraph.join(" ");
            blocks.push(Block::Text { bullet: std::mem::take(bullet), text });
            paragraph.clear();
        }
    };
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some((marker, code)) = &mut fence {
            if trimmed.starts_with(marker.as_str()) && trimmed.trim_end().len() == marker.len() {
                blocks.push(Block::Fenced(std::mem::take(code)));
                fence = None;
            } else {
                code.push(line.to_owned());
            }
            continue;
        }
        let fence_char = trimmed.chars().next().filter(|&c| c == '`' || c == '~');
        let marker_len = fence_char.map_or(0, |c| trimmed.chars().take_while(|&x| x == c).count());
        if marker_len >= 3 {
            flush(&mut paragraph, &mut bullet, &mut blocks);
            fence = Some((trimmed[..marker_len].to_owned(), Vec::new()));
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut bullet, &mut blocks);
        } else if let Some(item) = trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix("* "))
        {
            flush(&mut paragraph, &mut bullet, &mut blocks);
            bullet = "- ".to_owned();
            paragraph.push(item.trim_start());
        } else {
            paragraph.push(trimmed.trim_end());
        }
    }
    if let Some((_, code)) = fence {
        blocks.push(Block::Fenced(code));
    }
    flush(&mut paragraph, &mut bullet, &mut blocks);
    blocks
}

/// The inline markup of one paragraph: code spans, strong, emphasis, backslash escapes.
fn inline(text: &str) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut marks = Marks::default();
    let mut plain = String::new();
    let flush = |pieces: &mut Vec<Piece>, plain: &mut String, marks: Marks| {
        if !plain.is_empty() {
            pieces.push(Piece { text: std::mem::take(plain), marks });
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        if c == '\\' && chars.get(i + 1).is_some_and(char::is_ascii_punctuation) {
            plain.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '`' {
            if let Some(end) = closing_backticks(&chars, i + run, run) {
                let code: String = chars[i + run..end].iter().collect();
                let code = match code.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
                    Some(inner) if !inner.trim().is_empty() => inner.to_owned(),
                    _ => code,
                };
                flush(&mut pieces, &mut plain, marks);
                pieces.push(Piece { text: code, marks: Marks { code: true, ..marks } });
                i = end + run;
            } else {
                plain.extend(&chars[i..i + run]);
                i += run;
            }
            continue;
        }
        if c == '*' || c == '_' {
            let width = run.min(2);
            let before = i.checked_sub(1).map(|b| chars[b]);
            let after = chars.get(i + width).copied();
            let inside_word = |x: Option<char>| x.is_some_and(char::is_alphanumeric);
            let active = if width == 2 { marks.strong } else { marks.emph };
            let may_close =
                before.is_some_and(|b| !b.is_whitespace()) && (c == '*' || !inside_word(after));
            let may_open = after.is_some_and(|a| !a.is_whitespace())
                && (c == '*' || !inside_word(before))
                && closer_follows(&chars, i + width, c, width);
            if (active && may_close) || (!active && may_open) {
                flush(&mut pieces, &mut plain, marks);
                if width == 2 {
                    marks.strong = !marks.strong;
                } else {
                    marks.emph = !marks.emph;
                }
            } else {
                plain.extend(&chars[i..i + width]);
            }
            i += width;
            continue;
        }
        plain.push(c);
        i += 1;
    }
    flush(&mut pieces, &mut plain, marks);
    pieces
}

/// Where a run of exactly `run` backticks starts at or after `from`.
fn closing_backticks(chars: &[char], from: usize, run: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        let here = chars[i..].iter().take_while(|&&x| x == '`').count();
        if here == run {
            return Some(i);
        }
        i += here.max(1);
    }
    None
}

/// Whether a delimiter of `width` `c`s that can close follows `from`.
fn closer_follows(chars: &[char], from: usize, c: char, width: usize) -> bool {
    let mut i = from;
    while i < chars.len() {
        let here = chars[i..].iter().take_while(|&&x| x == c).count();
        if here > 0 {
            let before = chars[i - 1];
            if here.min(2) == width && !before.is_whitespace() && i > from {
                return true;
            }
            i += here;
        } else {
            i += 1;
        }
    }
    false
}

/// The words of a paragraph: split at spaces, except inside short code spans.
fn words(pieces: &[Piece]) -> Vec<Vec<Piece>> {
    let mut words = Vec::new();
    let mut word: Vec<Piece> = Vec::new();
    for piece in pieces {
        if piece.marks.code && piece.text.chars().count() <= UNBROKEN_CODE {
            word.push(piece.clone());
            continue;
        }
        let mut part = String::new();
        for c in piece.text.chars() {
            if c.is_whitespace() {
                if !part.is_empty() {
                    word.push(Piece { text: std::mem::take(&mut part), marks: piece.marks });
                }
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            } else {
                part.push(c);
            }
        }
        if !part.is_empty() {
            word.push(Piece { text: part, marks: piece.marks });
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn columns(word: &[Piece]) -> usize {
    word.iter().map(|piece| piece.text.chars().count()).sum()
}

/// Fills lines with whole words; a word wider than a line gets a line of its own.
fn fill(
    words: &[Vec<Piece>],
    layout: &Layout,
    lead: &str,
    lead_width: usize,
    indent: &str,
) -> Vec<String> {
    let indent_width = indent.chars().count();
    let mut lines = Vec::new();
    let mut line = lead.to_owned();
    let mut used = lead_width;
    let mut empty = true;
    for word in words {
        let wide = columns(word);
        if !empty && used + 1 + wide > layout.width {
            lines.push(std::mem::replace(&mut line, indent.to_owned()));
            used = indent_width;
            empty = true;
        }
        if !empty {
            line.push(' ');
            used += 1;
        }
        for piece in word {
            line.push_str(&paint(piece, layout.dim, layout.colour));
        }
        used += wide;
        empty = false;
    }
    lines.push(line.trim_end().to_owned());
    lines
}

/// A piece with its style (SGR codes: 36 cyan for code, 2 dim, 1 bold, 3 italic).
fn paint(piece: &Piece, dim: bool, colour: bool) -> String {
    let mut codes = Vec::new();
    if piece.marks.code {
        codes.push("36");
    } else if dim {
        codes.push("2");
    }
    if piece.marks.strong {
        codes.push("1");
    }
    if piece.marks.emph {
        codes.push("3");
    }
    if !colour || codes.is_empty() {
        return piece.text.clone();
    }
    format!("\x1b[{}m{}\x1b[0m", codes.join(";"), piece.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(markdown: &str, width: usize, indent: &str) -> Vec<String> {
        let mut layout = Layout::indented(width, indent);
        layout.colour = false;
        render(markdown, &layout)
    }

    fn text_of(pieces: &[Piece]) -> Vec<(&str, Marks)> {
        pieces.iter().map(|p| (p.text.as_str(), p.marks)).collect()
    }

    const STRONG: Marks = Marks { code: false, strong: true, emph: false };
    const EMPH: Marks = Marks { code: false, strong: false, emph: true };
    const NONE: Marks = Marks { code: false, strong: false, emph: false };

    #[test]
    fn code_spans_strong_and_emphasis_lose_their_markup() {
        let pieces = inline("**Model answer.** Call `shmctl(id, IPC_RMID)`, *not* `shmdt`.");
        assert_eq!(
            text_of(&pieces),
            [
                ("Model answer.", STRONG),
                (" Call ", NONE),
                ("shmctl(id, IPC_RMID)", CODE),
                (", ", NONE),
                ("not", EMPH),
                (" ", NONE),
                ("shmdt", CODE),
                (".", NONE),
            ]
        );
        let shown = plain("**Model answer.** `IPC_RMID` *when* asked", 80, "").join("\n");
        assert_eq!(shown, "Model answer. IPC_RMID when asked");
    }

    #[test]
    fn lone_stars_underscores_and_double_backticks_are_text() {
        assert_eq!(
            plain("3 * 5 * 2, IPC_RMID and snake_case_name", 80, ""),
            ["3 * 5 * 2, IPC_RMID and snake_case_name"]
        );
        assert_eq!(plain("`` a`b `` and \\*x\\*", 80, ""), ["a`b and *x*"]);
        assert_eq!(plain("an unclosed `tick", 80, ""), ["an unclosed `tick"]);
    }

    #[test]
    fn lines_fill_the_width_and_break_only_between_words() {
        let text = "Removing the segment with IPC_RMID marks it for destruction; \
                    it goes when the last process detaches.";
        let lines = plain(text, 30, "  ");
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:#?}");
        assert!(lines.iter().all(|l| l.starts_with("  ") && !l.starts_with("   ")), "{lines:#?}");
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(words, text.split_whitespace().collect::<Vec<_>>(), "no word is cut");
        assert!(
            lines.iter().any(|l| l.trim() == "IPC_RMID marks it for" || l.contains("IPC_RMID"))
        );
    }

    #[test]
    fn a_word_wider_than_the_line_stands_alone_uncut() {
        let lines = plain("see /proc/sysvipc/shm/with/a/very/long/path now", 12, "");
        assert_eq!(lines, ["see", "/proc/sysvipc/shm/with/a/very/long/path", "now"]);
    }

    #[test]
    fn short_code_spans_stay_whole_and_long_ones_break_at_spaces() {
        assert_eq!(plain("run `ipcrm -m` now", 9, ""), ["run", "ipcrm -m", "now"]);
        let long = "`one two three four five six seven eight nine ten eleven`";
        assert_eq!(
            plain(long, 24, ""),
            ["one two three four five", "six seven eight nine ten", "eleven"]
        );
    }

    #[test]
    fn fenced_blocks_are_indented_kept_whole_and_set_apart() {
        let markdown = "Part 3 printed:\n\n```text\n\
                        [parent 1] fetch_add: exact in 2 of 2 rounds   (3 x 5000)\n```\nWhy?";
        let lines = plain(markdown, 20, "");
        assert_eq!(
            lines,
            [
                "Part 3 printed:",
                "",
                "    [parent 1] fetch_add: exact in 2 of 2 rounds   (3 x 5000)",
                "",
                "Why?",
            ]
        );
        assert!(!lines.iter().any(|l| l.contains("```")));
    }

    #[test]
    fn paragraphs_and_list_items_keep_their_shape() {
        let lines = plain("One\nparagraph.\n\n- first item that wraps\n- second", 14, "");
        assert_eq!(lines, ["One paragraph.", "", "- first item", "  that wraps", "", "- second"]);
    }

    #[test]
    fn a_hanging_lead_is_followed_by_aligned_lines() {
        let mut layout = Layout::hanging(16, "  a) ".to_owned(), 5);
        layout.colour = false;
        assert_eq!(
            render("shmget creates a segment", &layout),
            ["  a) shmget", "     creates a", "     segment"]
        );
    }

    #[test]
    fn with_colour_code_is_coloured_and_words_still_fit() {
        let mut layout = Layout::indented(80, "");
        layout.colour = true;
        let lines = render("call `shmat` **now**", &layout);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("\x1b[36mshmat\x1b[0m"), "{lines:?}");
        assert!(lines[0].contains("\x1b[1mnow\x1b[0m"), "{lines:?}");
        assert!(!lines[0].contains('`') && !lines[0].contains("**"));
    }
}
