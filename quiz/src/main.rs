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

mod quiz;

use std::io::{BufRead, Write};

use colored::Colorize;
use quiz::{Item, Progress, QuizFile, Record};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{SeedableRng, TryRng};
use shm_workbook::catalogue;
use shm_workbook::narrate;

const USAGE: &str = "\
quiz: drill the shm-workbook quizzes in the terminal

Usage: cargo run --bin quiz -- [NAME] [FLAGS]

  (no NAME)     list the quizzes and your progress
  NAME          run one quiz: lesson01, lesson02, ..., interview

Flags:
  --review      ask only the questions you missed last time
  --count N     ask at most N questions
  --seed N      repeat a random order (the interview bank is shuffled)
  --no-color    plain text (also when NO_COLOR is set or stdout is not a terminal)
  --help        show this text
";

#[derive(Debug, Default)]
struct Args {
    name: Option<String>,
    review: bool,
    count: Option<usize>,
    seed: Option<u64>,
    no_color: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |flag: &str| -> Result<u64, String> {
            let value = args.next().ok_or_else(|| format!("{flag} needs a number"))?;
            value.parse().map_err(|_| format!("{flag} needs a whole number, not `{value}`"))
        };
        match arg.as_str() {
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--review" => parsed.review = true,
            "--no-color" | "--no-colour" => parsed.no_color = true,
            "--count" => parsed.count = Some(number("--count")?.max(1) as usize),
            "--seed" => parsed.seed = Some(number("--seed")?),
            flag if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`")),
            name if parsed.name.is_none() => parsed.name = Some(name.to_owned()),
            extra => return Err(format!("unexpected argument `{extra}`")),
        }
    }
    Ok(parsed)
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = parse_args(&argv).unwrap_or_else(|problem| {
        eprintln!("quiz: {problem}\n\n{USAGE}");
        std::process::exit(2);
    });
    narrate::set_colour(narrate::colour_wanted(args.no_color));

    let dir = quiz::quiz_dir();
    let files = quiz::load_all(&dir).unwrap_or_else(|problem| {
        eprintln!("quiz: {problem}\n  what to do: run it from a clone of the workbook, or set SHM_WORKBOOK_QUIZZES to the quizzes folder");
        std::process::exit(1);
    });
    let progress_path = quiz::progress_path();
    let (mut progress, note) = match &progress_path {
        Some(path) => Progress::load(path),
        None => (
            Progress::default(),
            Some("note: neither XDG_DATA_HOME nor HOME is set; progress will not be kept".into()),
        ),
    };

    let Some(name) = args.name.clone() else {
        if let Some(note) = note {
            println!("{}", note.dimmed());
        }
        list(&files, &progress);
        return;
    };
    let Some(file) = files.iter().find(|f| f.name == name) else {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        eprintln!("quiz: there is no quiz `{name}`; the quizzes are: {}", names.join(", "));
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
        println!("{}", note.dimmed());
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
        chosen.truncate(count);
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
    if asked > 0 {
        progress
            .quizzes
            .insert(name, Record { right: outcome.right, asked, missed: outcome.missed });
        if let Some(path) = &progress_path
            && let Err(err) = progress.save(path)
        {
            eprintln!("quiz: could not save your progress to {}: {err}", path.display());
        }
    }
}

fn title(name: &str) -> String {
    match catalogue::find(name) {
        Some(lesson) => format!("Lesson {:02}: {}", lesson.number, lesson.title),
        None if name == "interview" => "Interview practice".to_owned(),
        None => name.to_owned(),
    }
}

fn list(files: &[QuizFile], progress: &Progress) {
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

/// A multiple-choice question; `None` at the end of input.
fn choice(
    answers: &[String],
    distractors: &[String],
    context: &str,
    rng: &mut SmallRng,
) -> Option<bool> {
    let mut options: Vec<(&String, bool)> =
        answers.iter().map(|a| (a, true)).chain(distractors.iter().map(|d| (d, false))).collect();
    options.shuffle(rng);
    let letters: Vec<char> = ('a'..='z').take(options.len()).collect();
    for (letter, (text, _)) in letters.iter().zip(&options) {
        println!("  {letter}) {}", text.trim());
    }
    let hint =
        if answers.len() > 1 { "letters of every right option, such as ac" } else { "a letter" };
    let picked: Vec<usize> = loop {
        let line = ask(&format!("Your answer ({hint}): "))?;
        let picked: Option<Vec<usize>> = line
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ',')
            .map(|c| letters.iter().position(|&l| l == c))
            .collect();
        match picked {
            Some(picked) if !picked.is_empty() => break picked,
            _ => println!(
                "Please answer with {}.",
                letters.iter().map(char::to_string).collect::<Vec<_>>().join(", ")
            ),
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
        let shown: Vec<String> = right_ones
            .iter()
            .map(|&i| format!("{}) {}", letters[i], options[i].0.trim()))
            .collect();
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
