//! # The quiz runner: drill the workbook's quizzes in a terminal
//!
//! ```text
//! cargo run --bin quiz                          # list the quizzes and your progress
//! cargo run --bin quiz -- lesson05              # one lesson's quiz
//! cargo run --bin quiz -- interview             # the interview bank, in random order
//! cargo run --bin quiz -- interview --count 10 --seed 7
//! cargo run --bin quiz -- lesson05 --review     # only what you missed last time
//! ```
//!
//! It reads the same `quizzes/*.toml` files the book renders. Progress is kept in
//! `$XDG_DATA_HOME/shm-workbook/progress.toml` (or `~/.local/share/...`), never in the repository.
//! The record is saved after every answer, so Ctrl-C (status 130) or the end of input loses at
//! most the question on screen. Text is filled to the terminal's width (80 into a pipe), with the
//! quizzes' Markdown rendered (`render.rs`).

/// `println!` that ends the runner quietly when stdout is gone (see `terminal::write_out`).
macro_rules! say {
    () => { $crate::terminal::write_out(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::terminal::write_out(format_args!($($arg)*), true) };
}

/// `eprintln!` that never panics.
macro_rules! warn {
    ($($arg:tt)*) => { $crate::terminal::write_err(format_args!($($arg)*)) };
}

mod args;
mod progress;
mod quiz;
mod render;
mod terminal;

use std::path::{Path, PathBuf};

use args::{Args, USAGE, shown, shown_path};
use colored::Colorize;
use progress::{Progress, Record, State};
use quiz::{Item, QuizFile};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{SeedableRng, TryRng};
use render::Layout;
use shm_workbook::catalogue;
use shm_workbook::narrate;

fn main() {
    terminal::install();
    let args = args::parse(&args::from_os()).unwrap_or_else(|problem| {
        // The reason last, under one line of usage, so that it does not scroll away above the help.
        warn!(
            "Usage: cargo run --bin quiz -- [NAME] [FLAGS]   (--help lists every flag)\n\
             quiz: {problem}"
        );
        std::process::exit(2);
    });
    if args.help {
        terminal::write_out(format_args!("{USAGE}"), false);
        return;
    }
    narrate::set_colour(narrate::colour_wanted(args.no_color));

    let dir = quiz::quiz_dir();
    const WHAT_TO_DO: &str = "  what to do: run it from a clone of the workbook, or set \
                              SHM_WORKBOOK_QUIZZES to the quizzes folder";
    let files = quiz::load_all(&dir).unwrap_or_else(|problem| {
        warn!("quiz: {problem}\n{WHAT_TO_DO}");
        std::process::exit(1);
    });
    if files.is_empty() {
        warn!(
            "quiz: there are no quizzes in {}: it has no .toml files\n{WHAT_TO_DO}",
            shown_path(&dir)
        );
        std::process::exit(1);
    }
    let progress_path = progress::progress_path();
    let (progress, note) = match &progress_path {
        Some(path) => {
            let loaded = progress::read(path);
            let note = load_note(path, &loaded);
            (loaded.value, note)
        }
        None => (
            Progress::default(),
            Some(Note::Out(
                "note: neither XDG_DATA_HOME (an absolute path) nor HOME is set; progress will not \
                 be kept"
                    .into(),
            )),
        ),
    };
    if let Some(note) = note {
        note.print();
    }

    let name = match args.name.clone() {
        Some(name) => name,
        None => {
            list(&files, &progress);
            let Some(next) = offer_next(&files, &progress) else {
                return;
            };
            next
        }
    };
    let Some(file) = files.iter().find(|f| f.name == name) else {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        warn!("quiz: there is no quiz {}; the quizzes are: {}", shown(&name), names.join(", "));
        std::process::exit(2);
    };
    let items = match &file.items {
        Ok(items) => items,
        Err(problem) => {
            warn!(
                "quiz: {problem}\n  the other quizzes still work: `cargo run --bin quiz` lists them"
            );
            std::process::exit(1);
        }
    };
    let earlier = progress.quizzes.get(&name).cloned().unwrap_or_default();
    if !take(&name, items, &earlier, &args, progress_path) {
        std::process::exit(1);
    }
}

/// The first quiz not tried yet, or stopped before its end, in the listing's order.
fn next_unfinished<'a>(files: &'a [QuizFile], progress: &Progress) -> Option<&'a QuizFile> {
    files
        .iter()
        .filter(|file| file.items.is_ok())
        .find(|file| progress.quizzes.get(&file.name).is_none_or(|record| record.unfinished))
}

/// After the listing: at a terminal, asks whether to start the next unfinished quiz (its
/// name if so); otherwise prints the command that starts it.
fn offer_next(files: &[QuizFile], progress: &Progress) -> Option<String> {
    let next = next_unfinished(files, progress)?;
    let command = format!("cargo run --bin quiz -- {}", next.name);
    if !terminal::stdin_is_terminal() {
        say!("Next: {}", command.bold());
        return None;
    }
    say!();
    loop {
        let answer = terminal::ask(&format!("Start {} now? [Y/n] ", next.name))?;
        match answer.to_lowercase().as_str() {
            "" | "y" | "yes" => {
                say!();
                return Some(next.name.clone());
            }
            "n" | "no" => {
                say!("Later: {}", command.bold());
                return None;
            }
            _ => say!("Please answer y or n."),
        }
    }
}

/// Runs one quiz, saving the record after every answer; false if the last save failed.
fn take(name: &str, items: &[Item], earlier: &Record, args: &Args, path: Option<PathBuf>) -> bool {
    let mut chosen: Vec<&Item> = items.iter().collect();
    if args.review {
        chosen.retain(|item| earlier.missed.iter().any(|id| id == item.id()));
        if chosen.is_empty() {
            let nothing = format!(
                "Nothing to review in {name}: you missed nothing last time (or never tried it)."
            );
            show(&nothing, &Layout::indented(terminal::width(), ""));
            return true;
        }
    }
    let seed = args.seed.unwrap_or_else(|| {
        rand::rngs::SysRng.try_next_u64().unwrap_or(u64::from(std::process::id()))
    });
    let mut rng = SmallRng::seed_from_u64(seed);
    if name == "interview" {
        chosen.shuffle(&mut rng);
        say!("{}", format!("(random order: --seed {seed} repeats it)").dimmed());
    }
    if let Some(count) = args.count {
        chosen.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    }

    let mut keeper = Keeper { name, path, earlier, saved: true, reported: false };
    terminal::answers_kept(keeper.path.is_some());
    let outcome = drill(&title(name), &chosen, &mut rng, &mut |outcome, answered| {
        keeper.keep(outcome, &chosen[answered..]);
    });
    let asked = outcome.right + outcome.missed.len() as u32;
    say!(
        "\n{} {}/{}{}",
        "Score:".bold(),
        outcome.right,
        asked,
        if outcome.ended_early { " (stopped at the end of input)" } else { "" }
    );
    if !outcome.missed.is_empty() {
        let review = format!(
            "`cargo run --bin quiz -- {name} --review` asks the {} you missed again.",
            outcome.missed.len()
        );
        show(&review, &Layout::indented(terminal::width(), "").dimmed());
    }
    keeper.saved
}

/// Saves the record of a quiz after each answer.
struct Keeper<'a> {
    name: &'a str,
    path: Option<PathBuf>,
    /// The record before this run: what it missed and this run has not reached stays missed.
    earlier: &'a Record,
    /// Whether the last save succeeded.
    saved: bool,
    /// Whether a failed save was reported (once is enough).
    reported: bool,
}

impl Keeper<'_> {
    fn keep(&mut self, outcome: &Outcome, not_reached: &[&Item]) {
        let Some(path) = &self.path else {
            return;
        };
        let mut missed = outcome.missed.clone();
        missed.extend(
            not_reached
                .iter()
                .map(|item| item.id().to_owned())
                .filter(|id| self.earlier.missed.contains(id)),
        );
        let right = outcome.right;
        let asked = right + outcome.missed.len() as u32;
        let record = Record { right, asked, missed, unfinished: !not_reached.is_empty() };
        match terminal::uninterrupted(|| progress::save_record(path, self.name, record)) {
            Ok(saved) => {
                for line in saved.backup.iter().chain(&saved.note) {
                    warn!("{line}");
                }
                self.saved = true;
            }
            Err(err) => {
                if !self.reported {
                    warn!(
                        "quiz: your result in {} ({right}/{asked}) was not saved: {err}",
                        self.name
                    );
                    self.reported = true;
                }
                self.saved = false;
            }
        }
        terminal::answers_kept(self.saved);
    }
}

/// A note about the progress file, for stdout (information) or stderr (a problem).
enum Note {
    Out(String),
    Err(String),
}

impl Note {
    fn print(self) {
        match self {
            Note::Out(text) => show(&text, &Layout::indented(terminal::width(), "").dimmed()),
            Note::Err(text) => warn!("{text}"),
        }
    }
}

fn load_note(path: &Path, loaded: &progress::Loaded) -> Option<Note> {
    let path = shown_path(path);
    let kept = "the file is kept, not overwritten";
    match &loaded.state {
        State::Sound => None,
        State::Missing => {
            Some(Note::Out(format!("note: no progress yet; it will be kept in {path}")))
        }
        State::Damaged(_) => {
            let count = loaded.value.quizzes.len();
            Some(Note::Err(format!(
                "quiz: note: {path} is damaged ({}); the {count} record{} that could be read {} \
                 used, and {kept}",
                loaded.state.summary().unwrap_or_default(),
                if count == 1 { "" } else { "s" },
                if count == 1 { "is" } else { "are" },
            )))
        }
        State::Unreadable(why) => Some(Note::Err(format!(
            "quiz: note: cannot read {path} ({why}); earlier results are not shown, and {kept}"
        ))),
    }
}

fn title(name: &str) -> String {
    match catalogue::find(name) {
        Some(lesson) => format!("Lesson {:02}: {}", lesson.number, lesson.title),
        None if name == "interview" => "Interview practice".to_owned(),
        None => name.to_owned(),
    }
}

/// The quizzes, one a row: name, status, then the title, which wraps under itself when the
/// terminal is narrow; a quiz that cannot be used has its problem on the next line.
fn list(files: &[QuizFile], progress: &progress::Progress) {
    let columns = terminal::width();
    say!("{}", "Quizzes".bold());
    let statuses: Vec<String> = files
        .iter()
        .map(|file| match (&file.items, progress.quizzes.get(&file.name)) {
            (Err(_), _) => "cannot be used:".to_owned(),
            (Ok(items), None) => format!("{} questions, not tried yet", items.len()),
            (Ok(items), Some(record)) if record.unfinished => format!(
                "{} questions, stopped after {} ({} right)",
                items.len(),
                record.asked,
                record.right
            ),
            (Ok(items), Some(record)) => format!(
                "{} questions, last time {}/{}{}",
                items.len(),
                record.right,
                record.asked,
                if record.missed.is_empty() {
                    String::new()
                } else {
                    format!(", {} to review", record.missed.len())
                }
            ),
        })
        .collect();
    let widest = |texts: &mut dyn Iterator<Item = usize>| texts.max().unwrap_or(0);
    let name_width = widest(&mut files.iter().map(|file| file.name.chars().count()));
    let status_width = widest(&mut statuses.iter().map(|status| status.chars().count()));
    for (file, status) in files.iter().zip(&statuses) {
        let shown_status = match &file.items {
            Err(_) => status.red().to_string(),
            Ok(_) => status.clone(),
        };
        let pad = |text: &str, width: usize| " ".repeat(width - text.chars().count());
        let (name_pad, status_pad) = (pad(&file.name, name_width), pad(status, status_width));
        let name = file.name.bold();
        let lead = format!("  {name}{name_pad}  {shown_status}{status_pad}  ");
        let lead_width = 2 + name_width + 2 + status_width + 2;
        show(&short_title(&file.name), &Layout::hanging(columns, lead, lead_width));
        if let Err(problem) = &file.items {
            say!("    {problem}");
        }
    }
    say!();
    show("Run one with `cargo run --bin quiz -- NAME`.", &Layout::indented(columns, ""));
}

/// A quiz's title without the lesson's number, which its name already gives.
fn short_title(name: &str) -> String {
    match catalogue::find(name) {
        Some(lesson) => lesson.title.to_owned(),
        None => title(name),
    }
}

struct Outcome {
    right: u32,
    missed: Vec<String>,
    ended_early: bool,
}

/// Asks the questions; `answered(outcome, n)` runs after each of the first n answers.
fn drill(
    title: &str,
    items: &[&Item],
    rng: &mut SmallRng,
    answered: &mut dyn FnMut(&Outcome, usize),
) -> Outcome {
    let width = terminal::width();
    say!("{}", title.bold().underline());
    let mut outcome = Outcome { right: 0, missed: Vec::new(), ended_early: false };
    for (number, item) in items.iter().enumerate() {
        say!();
        say!("{}", format!("Question {}/{}", number + 1, items.len()).bold());
        show(item_prompt(item), &Layout::indented(width, ""));
        let result = match item {
            Item::Choice { answers, distractors, context, .. } => {
                choice(answers, distractors, context, rng, width)
            }
            Item::Short { answer, alternatives, context, .. } => {
                short(answer, alternatives, context, width)
            }
        };
        match result {
            None => {
                outcome.ended_early = true;
                say!();
                break;
            }
            Some(true) => outcome.right += 1,
            Some(false) => outcome.missed.push(item.id().to_owned()),
        }
        answered(&outcome, number + 1);
    }
    outcome
}

/// Prints Markdown laid out for the terminal.
fn show(markdown: &str, layout: &Layout) {
    for line in render::render(markdown.trim(), layout) {
        say!("{line}");
    }
}

/// A coloured label (`Right:`) followed by Markdown, lines after the first aligned under it.
fn labelled(label: colored::ColoredString, markdown: &str, width: usize) {
    let label_width = label.chars().count() + 1;
    show(markdown, &Layout::hanging(width, format!("{label} "), label_width));
}

fn item_prompt(item: &Item) -> &str {
    match item {
        Item::Choice { prompt, .. } | Item::Short { prompt, .. } => prompt.trim(),
    }
}

/// A multiple-choice question; `None` at the end of input. Options are lettered a to z, or
/// numbered when there are more than 26 of them.
fn choice(
    answers: &[String],
    distractors: &[String],
    context: &str,
    rng: &mut SmallRng,
    width: usize,
) -> Option<bool> {
    let mut options: Vec<(&String, bool)> =
        answers.iter().map(|a| (a, true)).chain(distractors.iter().map(|d| (d, false))).collect();
    options.shuffle(rng);
    let numbered = options.len() > 26;
    let labels: Vec<String> = if numbered {
        (1..=options.len()).map(|n| n.to_string()).collect()
    } else {
        ('a'..='z').take(options.len()).map(String::from).collect()
    };
    say!();
    for (label, (text, _)) in labels.iter().zip(&options) {
        let lead = format!("  {label}) ");
        let lead_width = lead.chars().count();
        show(text, &Layout::hanging(width, lead, lead_width));
    }
    let hint = match (numbered, answers.len() > 1) {
        (false, false) => "a letter",
        (false, true) => "letters of every right option, such as ac",
        (true, false) => "a number",
        (true, true) => "numbers of every right option, such as 1 3",
    };
    let position = |label: &str| labels.iter().position(|l| l == label);
    let picked: Vec<usize> = loop {
        let line = terminal::ask(&format!("Your answer ({hint}): "))?.to_lowercase();
        let separator = |c: char| c.is_whitespace() || c == ',';
        let picked: Option<Vec<usize>> = if numbered {
            line.split(separator).filter(|word| !word.is_empty()).map(position).collect()
        } else {
            line.chars().filter(|&c| !separator(c)).map(|c| position(&c.to_string())).collect()
        };
        match picked {
            Some(picked) if !picked.is_empty() => break picked,
            _ if numbered => say!("Please answer with numbers from 1 to {}.", labels.len()),
            _ => say!("Please answer with {}.", labels.join(", ")),
        }
    };
    let right_ones: Vec<usize> =
        options.iter().enumerate().filter(|(_, (_, right))| *right).map(|(i, _)| i).collect();
    let mut picked_sorted = picked.clone();
    picked_sorted.sort_unstable();
    picked_sorted.dedup();
    let right = picked_sorted == right_ones;
    if right {
        say!("{}", "Right.".green().bold());
    } else {
        let shown: Vec<String> =
            right_ones.iter().map(|&i| format!("{}) {}", labels[i], options[i].0.trim())).collect();
        let answer = format!("the answer is {}", shown.join(" and "));
        labelled("Not quite:".red().bold(), &answer, width);
    }
    explain(context, width);
    Some(right)
}

/// A short-answer question; `None` at the end of input.
fn short(answer: &str, alternatives: &[String], context: &str, width: usize) -> Option<bool> {
    let typed = terminal::ask("Your answer (or just Enter to see the model answer): ")?;
    if quiz::matches(&typed, answer, alternatives) {
        labelled("Right:".green().bold(), answer, width);
        explain(context, width);
        return Some(true);
    }
    labelled("Model answer:".bold(), answer, width);
    explain(context, width);
    loop {
        match terminal::ask("Did you get it right? [y/n]: ")?.to_lowercase().as_str() {
            "y" | "yes" => return Some(true),
            "n" | "no" => return Some(false),
            _ => say!("Please answer y or n."),
        }
    }
}

fn explain(context: &str, width: usize) {
    if !context.trim().is_empty() {
        show(context, &Layout::indented(width, "  ").dimmed());
    }
}
