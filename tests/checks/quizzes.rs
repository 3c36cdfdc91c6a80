//! Every quiz file parses with mdbook-quiz's own schema, every question is usable, and the
//! quizzes test understanding: picking the longest option does not pass, and each quiz asks at
//! least one question that needs a lesson's printed output to answer.

use std::collections::BTreeMap;
use std::path::Path;

use mdbook_quiz_schema::{MultipleChoiceAnswerFormat, Question, Quiz};

fn quiz_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("quizzes");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_quiz_parses_and_every_question_has_an_explained_answer() {
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let files = quiz_files();
    assert!(!files.is_empty());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let quiz: Quiz = toml::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
        if name.starts_with("lesson") {
            assert!(
                quiz.questions.len() >= 6,
                "{name} has {} questions, fewer than 6",
                quiz.questions.len()
            );
        }
        for (index, question) in quiz.questions.iter().enumerate() {
            let place = format!("{name}, question {}", index + 1);
            let (id, context) = match question {
                Question::MultipleChoice(mc) => {
                    let fields = &mc.0;
                    let answers = match &fields.answer.answer {
                        MultipleChoiceAnswerFormat::Single(answer) => vec![&answer.0],
                        MultipleChoiceAnswerFormat::Multi(answers) => {
                            answers.iter().map(|a| &a.0).collect()
                        }
                    };
                    assert!(
                        !answers.is_empty() && answers.iter().all(|a| !a.trim().is_empty()),
                        "{place}: no answer"
                    );
                    let distractors = &fields.prompt.distractors;
                    assert!(distractors.len() >= 2, "{place}: fewer than two distractors");
                    for distractor in distractors {
                        assert!(
                            !answers.contains(&&distractor.0),
                            "{place}: a distractor is also an answer"
                        );
                    }
                    (&fields.id, &fields.context)
                }
                Question::ShortAnswer(sa) => {
                    assert!(!sa.0.answer.answer.trim().is_empty(), "{place}: no answer");
                    (&sa.0.id, &sa.0.context)
                }
                Question::Tracing(tr) => (&tr.0.id, &tr.0.context),
            };
            assert!(
                context.as_ref().is_some_and(|c| c.0.trim().len() > 20),
                "{place}: the answer is not explained in `context`"
            );
            let id = id.clone().unwrap_or_else(|| {
                panic!("{place}: no id (build the book once: mdbook-quiz writes ids)")
            });
            if let Some(first) = ids.insert(id.clone(), place.clone()) {
                panic!("{place} reuses the id {id} of {first}");
            }
        }
    }
}

#[test]
fn the_interview_bank_holds_the_seven_source_questions_and_at_least_twenty_more() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("quizzes/interview.toml");
    let quiz: Quiz = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let prompt = |q: &Question| match q {
        Question::MultipleChoice(mc) => mc.0.prompt.prompt.0.clone(),
        Question::ShortAnswer(sa) => sa.0.prompt.prompt.0.clone(),
        Question::Tracing(tr) => tr.0.prompt.program.clone(),
    };
    let from_source =
        quiz.questions.iter().filter(|q| prompt(q).contains("(From the source document")).count();
    assert_eq!(from_source, 7, "the source document lists seven key questions");
    assert!(quiz.questions.len() >= 7 + 20, "{} questions", quiz.questions.len());
    let short = quiz.questions.iter().filter(|q| matches!(q, Question::ShortAnswer(_))).count();
    let choice = quiz.questions.iter().filter(|q| matches!(q, Question::MultipleChoice(_))).count();
    assert!(
        short >= 5 && choice >= 10,
        "a mix of explanations and crisp choices: {short} short, {choice} choice"
    );
}

/// What a reader sees of an option: Markdown's backticks and emphasis marks do not show.
fn shown_length(text: &str) -> usize {
    text.trim().chars().filter(|c| !matches!(c, '`' | '*')).count()
}

/// The multiple-choice questions of a quiz, and how many of them have a right option at least
/// as long as every wrong one (a tie counts: "pick the longest" would not lose on it).
fn longest_is_right(quiz: &Quiz) -> (usize, usize) {
    let mut choice = 0;
    let mut longest = 0;
    for question in &quiz.questions {
        let Question::MultipleChoice(mc) = question else { continue };
        let fields = &mc.0;
        let answers: Vec<&str> = match &fields.answer.answer {
            MultipleChoiceAnswerFormat::Single(answer) => vec![&answer.0],
            MultipleChoiceAnswerFormat::Multi(answers) => answers.iter().map(|a| &*a.0).collect(),
        };
        let right = answers.iter().map(|a| shown_length(a)).max().unwrap_or(0);
        let wrong = fields.prompt.distractors.iter().map(|d| shown_length(&d.0)).max().unwrap_or(0);
        choice += 1;
        if right >= wrong {
            longest += 1;
        }
    }
    (choice, longest)
}

#[test]
fn picking_the_longest_option_fails_every_quiz() {
    let mut report = Vec::new();
    let mut failing = Vec::new();
    for path in quiz_files() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let quiz: Quiz = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (choice, longest) = longest_is_right(&quiz);
        report.push(format!("{name}: {longest} of {choice}"));
        if longest * 3 > choice {
            failing.push(format!(
                "{name}: the right option is the longest in {longest} of {choice} \
                 multiple-choice questions (at most {} allowed)",
                choice / 3
            ));
        }
    }
    assert!(
        failing.is_empty(),
        "make a wrong option the longest (a real misconception, spelled out) or shorten the \
         right one:\n{}\n\nall quizzes: {}",
        failing.join("\n"),
        report.join(", ")
    );
}

#[test]
fn the_balance_count_sees_the_longest_option_and_ignores_markup() {
    let quiz: Quiz = toml::from_str(
        r#"
[[questions]]
type = "MultipleChoice"
prompt.prompt = "q"
prompt.distractors = ["short", "`a`"]
answer.answer = "the longest"

[[questions]]
type = "MultipleChoice"
prompt.prompt = "q"
prompt.distractors = ["a much longer wrong option", "x"]
answer.answer = "right"

[[questions]]
type = "MultipleChoice"
prompt.prompt = "q"
prompt.distractors = ["`abcd`", "**ab**"]
answer.answer = "abcd"
"#,
    )
    .unwrap();
    assert_eq!(longest_is_right(&quiz), (3, 2), "a tie counts as longest; backticks do not count");
}

#[test]
fn every_quiz_asks_about_a_real_run() {
    // A question about a run quotes it: a ```text block in the prompt, copied from a run of
    // the lesson (`cargo run --bin lessonNN -- --fast --no-color`).
    for path in quiz_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let quiz: Quiz = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let quoting = quiz
            .questions
            .iter()
            .filter(|question| match question {
                Question::MultipleChoice(mc) => mc.0.prompt.prompt.0.contains("```text"),
                Question::ShortAnswer(sa) => sa.0.prompt.prompt.0.contains("```text"),
                Question::Tracing(_) => false,
            })
            .count();
        assert!(quoting >= 1, "{name} asks nothing about a run's output (quote it in ```text)");
    }
}

// ---- The interview page of the book -------------------------------------------------------------
//
// The interview bank's explanation questions ("Explain shared memory and give three situations
// ...") have a model answer, not a string to match, and the book grades a short answer by exact
// string: a good explanation would be marked wrong. So the book shows them in interview.md as
// prompts whose model answer the reader reveals, and renders only the other questions, from
// book/src/interview-bank.toml. The terminal runner asks every question of
// quizzes/interview.toml, the explanations self-marked. Both parts of the book are made from
// quizzes/interview.toml, the one file to edit: `SHM_WORKBOOK_REGENERATE=1 cargo test --test
// quizzes` rewrites them, and this test fails when they differ.

const ESSAYS_BEGIN: &str = "<!-- BEGIN explanation questions: made from quizzes/interview.toml by `SHM_WORKBOOK_REGENERATE=1 cargo test --test checks quizzes::`; edit that file, not this section -->";
const ESSAYS_END: &str = "<!-- END explanation questions -->";
const BANK_HEADER: &str = "# Made from quizzes/interview.toml by `SHM_WORKBOOK_REGENERATE=1 cargo test --test checks quizzes::`:\n# the bank without its explanation questions, which book/src/interview.md shows with a model\n# answer to reveal (the book grades a typed answer by exact string). Edit quizzes/interview.toml.\n\n";
const MODEL_ANSWER: &str = "**Model answer.**";

/// The `[[questions]]` blocks of a quiz file, each as written (without the header line).
fn question_blocks(text: &str) -> Vec<&str> {
    text.split("[[questions]]\n").skip(1).collect()
}

/// A question to explain in words: a short answer whose context is a model answer.
fn is_explanation(block: &str) -> bool {
    let table: toml::Table = block.parse().unwrap_or_else(|err| panic!("{err}\n{block}"));
    let context = table.get("context").and_then(toml::Value::as_str).unwrap_or_default();
    table.get("type").and_then(toml::Value::as_str) == Some("ShortAnswer")
        && context.trim_start().starts_with(MODEL_ANSWER)
}

/// book/src/interview-bank.toml as it must be: the bank's questions but the explanations.
fn expected_bank(bank: &str) -> String {
    let mut text = BANK_HEADER.to_owned();
    for block in question_blocks(bank).into_iter().filter(|block| !is_explanation(block)) {
        text.push_str("[[questions]]\n");
        text.push_str(block);
    }
    text
}

/// The section of interview.md between the markers, as it must be.
fn expected_essays(bank: &str) -> String {
    let mut text = String::new();
    let explanations = question_blocks(bank).into_iter().filter(|block| is_explanation(block));
    for (number, block) in explanations.enumerate() {
        let table: toml::Table = block.parse().unwrap();
        let prompt = table["prompt"]["prompt"].as_str().unwrap().trim();
        let context = table["context"].as_str().unwrap().trim();
        // "**(From the source document.)** Explain ..." becomes a heading and a note.
        let (source, question) = match prompt.strip_prefix("**(").and_then(|p| p.split_once(")** "))
        {
            Some((source, question)) => (Some(source.trim_end_matches('.')), question),
            None => (None, prompt),
        };
        text.push_str(&format!("\n### {}. {question}\n\n", number + 1));
        if let Some(source) = source {
            text.push_str(&format!("*{source}.*\n\n"));
        }
        let answer = context.strip_prefix(MODEL_ANSWER).unwrap().trim();
        text.push_str(&format!(
            "<details>\n<summary>Model answer</summary>\n\n{answer}\n\n</details>\n"
        ));
    }
    text.push('\n');
    text
}

#[test]
fn the_books_interview_page_is_made_from_the_bank() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bank = std::fs::read_to_string(root.join("quizzes/interview.toml")).unwrap();
    let explanations = question_blocks(&bank).into_iter().filter(|b| is_explanation(b)).count();
    assert!(explanations >= 7, "the seven source questions are explanations: {explanations}");

    let bank_path = root.join("book/src/interview-bank.toml");
    let page_path = root.join("book/src/interview.md");
    let page = std::fs::read_to_string(&page_path).unwrap();
    let (before, rest) = page.split_once(ESSAYS_BEGIN).expect("interview.md has the BEGIN marker");
    let (section, after) = rest.split_once(ESSAYS_END).expect("interview.md has the END marker");
    let (bank_now, essays_now) = (expected_bank(&bank), expected_essays(&bank));
    if std::env::var_os("SHM_WORKBOOK_REGENERATE").is_some() {
        std::fs::write(&bank_path, &bank_now).unwrap();
        std::fs::write(
            &page_path,
            format!("{before}{ESSAYS_BEGIN}{essays_now}{ESSAYS_END}{after}"),
        )
        .unwrap();
        return;
    }
    let stale = "is stale: run `SHM_WORKBOOK_REGENERATE=1 cargo test --test checks quizzes::`";
    assert_eq!(
        std::fs::read_to_string(&bank_path).ok().as_deref(),
        Some(bank_now.as_str()),
        "book/src/interview-bank.toml {stale}"
    );
    assert_eq!(section, essays_now, "the explanation questions in book/src/interview.md {stale}");
    assert!(
        page.contains("{{#quiz interview-bank.toml}}")
            && !page.contains("quizzes/interview.toml}}"),
        "interview.md renders book/src/interview-bank.toml, not the whole bank"
    );

    // The book's quiz grades every question it shows: no short answer there needs a sentence.
    let book_quiz: Quiz = toml::from_str(&bank_now).unwrap();
    for question in &book_quiz.questions {
        if let Question::ShortAnswer(sa) = question {
            let answer = &sa.0.answer.answer;
            assert!(
                answer.split_whitespace().count() <= 3,
                "a short answer the book cannot grade: {answer}"
            );
        }
    }
}
