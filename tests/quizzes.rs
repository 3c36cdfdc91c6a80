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
