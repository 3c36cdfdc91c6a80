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
//! It works with stdin from a pipe; end of input ends the quiz with the score so far.

mod args;
mod progress;
mod quiz;

use std::io::{BufRead, Write};

use args::{USAGE, shown, shown_path};
use colored::Colorize;
use nix::sys::signal::{SigHandler, Signal, signal};
use progress::{Record, State};
use quiz::{Item, QuizFile};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{SeedableRng, TryRng};
use shm_workbook::catalogue;
use shm_workbook::narrate;

fn main() {
    // `quiz | head` ends quietly, as other tools do, instead of panicking on a closed pipe.
    // SAFETY: restoring the default action of a signal, before any thread is started.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let args = args::parse(&args::from_os()).unwrap_or_else(|problem| {
        eprintln!("quiz: {problem}\n\n{USAGE}");
        std::process::exit(2);
    });
    if args.help {
        print!("{USAGE}");
        return;
    }
    narrate::set_colour(narrate::colour_wanted(args.no_color));

    let dir = quiz::quiz_dir();
    const WHAT_TO_DO: &str = "  what to do: run it from a clone of the workbook, or set SHM_WORKBOOK_QUIZZES to the quizzes folder";
    let files = quiz::load_all(&dir).unwrap_or_else(|problem| {
        eprintln!("quiz: {problem}\n{WHAT_TO_DO}");
        std::process::exit(1);
    });
    if files.is_empty() {
        eprintln!(
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
            (loaded.progress, note)
        }
        None => (
            progress::Progress::default(),
            Some(Note::Out(
                "note: neither XDG_DATA_HOME (an absolute path) nor HOME is set; progress will not be kept"
                    .into(),
            )),
        ),
    };

    let Some(name) = args.name.clone() else {
        if let Some(note) = note {
            note.print();
        }
        list(&files, &progress);
        return;
    };
    let Some(file) = files.iter().find(|f| f.name == name) else {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        eprintln!("quiz: there is no quiz {}; the quizzes are: {}", shown(&name), names.join(", "));
        std::process::exit(2);
    };
    let items = match &file.items {
        Ok(items) => items,
        Err(problem) => {
            eprintln!(
                "quiz: {problem}\n  the other quizzes still work: `cargo run --bin quiz` lists them"
            );
            std::process::exit(1);
        }
    };
    if let Some(note) = note {
        note.print();
    }

    let record = progress.quizzes.get(&name).cloned().unwrap_or_default();
    let mut chosen: Vec<&Item> = items.iter().collect();
    if args.review {
        chosen.retain(|item| record.missed.iter().any(|id| id == item.id()));
        if chosen.is_empty() {
            println!(
                "Nothing to review in {name}: you missed nothing last time (or never tried it)."
            );
            return;
        }
    }
    let seed = args.seed.unwrap_or_else(|| {
        rand::rngs::SysRng.try_next_u64().unwrap_or(u64::from(std::process::id()))
    });
    let mut rng = SmallRng::seed_from_u64(seed);
    if name == "interview" {
        chosen.shuffle(&mut rng);
        println!("{}", format!("(random order: --seed {seed} repeats it)").dimmed());
    }
    if let Some(count) = args.count {
        chosen.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    }

    let outcome = drill(&title(&name), &chosen, &mut rng);
    let asked = outcome.right + outcome.missed.len() as u32;
    println!(
        "\n{} {}/{}{}",
        "Score:".bold(),
        outcome.right,
        asked,
        if outcome.ended_early { " (stopped at the end of input)" } else { "" }
    );
    if !outcome.missed.is_empty() {
        println!(
            "{}",
            format!(
                "`cargo run --bin quiz -- {name} --review` asks the {} you missed again.",
                outcome.missed.len()
            )
            .dimmed()
        );
    }
    let Some(path) = progress_path.filter(|_| asked > 0) else {
        return;
    };
    let right = outcome.right;
    match progress::save_record(&path, &name, Record { right, asked, missed: outcome.missed }) {
        Ok(saved) => {
            for line in saved.backup.iter().chain(&saved.note) {
                eprintln!("{line}");
            }
        }
        Err(err) => {
            eprintln!("quiz: your result in {name} ({right}/{asked}) was not saved: {err}");
            std::process::exit(1);
        }
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
            Note::Out(text) => println!("{}", text.dimmed()),
            Note::Err(text) => eprintln!("{text}"),
        }
    }
}

fn load_note(path: &std::path::Path, loaded: &progress::Loaded) -> Option<Note> {
    let path = shown_path(path);
    let kept = "the file is kept, not overwritten";
    match &loaded.state {
        State::Sound => None,
        State::Missing => {
            Some(Note::Out(format!("note: no progress yet; it will be kept in {path}")))
        }
        State::Damaged(_) => {
            let count = loaded.progress.quizzes.len();
            Some(Note::Err(format!(
                "quiz: note: {path} is damaged ({}); the {count} record{} that could be read {} used, and {kept}",
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

fn list(files: &[QuizFile], progress: &progress::Progress) {
    println!("{}", "Quizzes".bold());
    let width = files.iter().map(|file| title(&file.name).chars().count()).max().unwrap_or(0);
    for file in files {
        let status = match (&file.items, progress.quizzes.get(&file.name)) {
            (Err(problem), _) => format!("{} {problem}", "cannot be used:".red()),
            (Ok(items), None) => format!("{} questions, not tried yet", items.len()),
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
        };
        println!("  {:<10} {:<width$}  {status}", file.name.bold(), title(&file.name));
    }
    println!(
        "\nRun one with `cargo run --bin quiz -- NAME` (for example `-- lesson01` or `-- interview`)."
    );
}

struct Outcome {
    right: u32,
    missed: Vec<String>,
    ended_early: bool,
}

/// Reads one line; `None` at the end of input. When the answers come from a pipe, they are
/// echoed, so the transcript reads like a session at the keyboard.
fn ask(prompt: &str) -> Option<String> {
    use std::io::IsTerminal;
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            let line = line.trim().to_owned();
            if !std::io::stdin().is_terminal() {
                println!("{line}");
            }
            Some(line)
        }
    }
}

fn drill(title: &str, items: &[&Item], rng: &mut SmallRng) -> Outcome {
    println!("{}", title.bold().underline());
    let mut outcome = Outcome { right: 0, missed: Vec::new(), ended_early: false };
    for (number, item) in items.iter().enumerate() {
        println!(
            "\n{} {}",
            format!("Question {}/{}", number + 1, items.len()).bold(),
            item_prompt(item)
        );
        let result = match item {
            Item::Choice { answers, distractors, context, .. } => {
                choice(answers, distractors, context, rng)
            }
            Item::Short { answer, alternatives, context, .. } => {
                short(answer, alternatives, context)
            }
        };
        match result {
            None => {
                outcome.ended_early = true;
                println!();
                break;
            }
            Some(true) => outcome.right += 1,
            Some(false) => outcome.missed.push(item.id().to_owned()),
        }
    }
    outcome
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
    for (label, (text, _)) in labels.iter().zip(&options) {
        println!("  {label}) {}", text.trim());
    }
    let hint = match (numbered, answers.len() > 1) {
        (false, false) => "a letter",
        (false, true) => "letters of every right option, such as ac",
        (true, false) => "a number",
        (true, true) => "numbers of every right option, such as 1 3",
    };
    let position = |label: &str| labels.iter().position(|l| l == label);
    let picked: Vec<usize> = loop {
        let line = ask(&format!("Your answer ({hint}): "))?.to_lowercase();
        let separator = |c: char| c.is_whitespace() || c == ',';
        let picked: Option<Vec<usize>> = if numbered {
            line.split(separator).filter(|word| !word.is_empty()).map(position).collect()
        } else {
            line.chars().filter(|&c| !separator(c)).map(|c| position(&c.to_string())).collect()
        };
        match picked {
            Some(picked) if !picked.is_empty() => break picked,
            _ if numbered => println!("Please answer with numbers from 1 to {}.", labels.len()),
            _ => println!("Please answer with {}.", labels.join(", ")),
        }
    };
    let right_ones: Vec<usize> =
        options.iter().enumerate().filter(|(_, (_, right))| *right).map(|(i, _)| i).collect();
    let mut picked_sorted = picked.clone();
    picked_sorted.sort_unstable();
    picked_sorted.dedup();
    let right = picked_sorted == right_ones;
    if right {
        println!("{}", "Right.".green().bold());
    } else {
        let shown: Vec<String> =
            right_ones.iter().map(|&i| format!("{}) {}", labels[i], options[i].0.trim())).collect();
        println!("{} the answer is {}", "Not quite:".red().bold(), shown.join(" and "));
    }
    explain(context);
    Some(right)
}

/// A short-answer question; `None` at the end of input.
fn short(answer: &str, alternatives: &[String], context: &str) -> Option<bool> {
    let typed = ask("Your answer (or just Enter to see the model answer): ")?;
    if quiz::matches(&typed, answer, alternatives) {
        println!("{} {}", "Right:".green().bold(), answer);
        explain(context);
        return Some(true);
    }
    println!("{} {}", "Model answer:".bold(), answer);
    explain(context);
    loop {
        match ask("Did you get it right? [y/n]: ")?.to_lowercase().as_str() {
            "y" | "yes" => return Some(true),
            "n" | "no" => return Some(false),
            _ => println!("Please answer y or n."),
        }
    }
}

fn explain(context: &str) {
    for line in context.trim().lines() {
        println!("  {}", line.dimmed());
    }
}
