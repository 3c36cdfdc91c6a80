//! The quiz bank behind `cargo run --bin quiz`: the same `quizzes/*.toml` files that the book
//! renders with mdbook-quiz, read with that format's own model (`mdbook-quiz-schema`).

use std::path::{Path, PathBuf};

use mdbook_quiz_schema::{MultipleChoiceAnswerFormat, Question};
use shm_workbook::catalogue::LESSONS;

/// One question, reduced to what the terminal runner needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// Pick the right option(s) among shuffled ones.
    Choice {
        /// The question's id (for progress and review).
        id: String,
        /// The prompt, in Markdown.
        prompt: String,
        /// The right options (usually one).
        answers: Vec<String>,
        /// The wrong options.
        distractors: Vec<String>,
        /// Why the answer is right.
        context: String,
    },
    /// Type an answer (or reveal it), then compare with the model answer.
    Short {
        /// The question's id.
        id: String,
        /// The prompt, in Markdown.
        prompt: String,
        /// The model answer.
        answer: String,
        /// Other accepted answers.
        alternatives: Vec<String>,
        /// The explanation.
        context: String,
    },
}

impl Item {
    /// The question's id.
    pub fn id(&self) -> &str {
        match self {
            Item::Choice { id, .. } | Item::Short { id, .. } => id,
        }
    }
}

/// A quiz file: its name (`lesson05`, `interview`) and its questions, or why it cannot be used.
#[derive(Clone, Debug)]
pub struct QuizFile {
    /// The name a student types: the file name without `.toml`.
    pub name: String,
    /// Its questions, or what is wrong with the file.
    pub items: Result<Vec<Item>, String>,
}

/// Where the quizzes are: `$SHM_WORKBOOK_QUIZZES` if set (and not empty), else the
/// repository's `quizzes/`.
pub fn quiz_dir() -> PathBuf {
    std::env::var_os("SHM_WORKBOOK_QUIZZES")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../quizzes"))
}

/// Every `*.toml` in `dir`, lessons in catalogue order first, then the others (`interview`).
pub fn load_all(dir: &Path) -> Result<Vec<QuizFile>, String> {
    let entries = std::fs::read_dir(dir).map_err(|err| {
        format!(
            "cannot read the quiz folder {}: {}",
            crate::args::shown_path(dir),
            crate::progress::reason(&err)
        )
    })?;
    let mut files: Vec<QuizFile> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| load(&path))
        .collect();
    let rank = |name: &str| LESSONS.iter().position(|l| l.bin == name).unwrap_or(LESSONS.len());
    files.sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
    Ok(files)
}

/// Reads one quiz file. A problem is described with the file's path and, where it lies in one
/// question, that question's number and id.
pub fn load(path: &Path) -> QuizFile {
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let items = parse(path);
    QuizFile { name, items }
}

fn parse(path: &Path) -> Result<Vec<Item>, String> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|err| format!("{shown}: cannot read it: {err}"))?;
    let table: toml::Table =
        text.parse().map_err(|err| format!("{shown}: not valid TOML: {err}"))?;
    let questions = table
        .get("questions")
        .and_then(toml::Value::as_array)
        .ok_or_else(|| format!("{shown}: no [[questions]]"))?;
    let mut items = Vec::new();
    for (index, value) in questions.iter().enumerate() {
        let id = value.get("id").and_then(toml::Value::as_str).unwrap_or("(no id)").to_owned();
        let place = format!("{shown}: question {} (id {id})", index + 1);
        let question: Question = value
            .clone()
            .try_into()
            .map_err(|err: toml::de::Error| format!("{place}: {}", err.message()))?;
        items.push(convert(question, &place)?);
    }
    if items.is_empty() {
        return Err(format!("{shown}: the quiz has no questions"));
    }
    Ok(items)
}

fn convert(question: Question, place: &str) -> Result<Item, String> {
    let text =
        |markdown: Option<mdbook_quiz_schema::Markdown>| markdown.map(|m| m.0).unwrap_or_default();
    match question {
        Question::MultipleChoice(mc) => {
            let fields = mc.0;
            let answers = match fields.answer.answer {
                MultipleChoiceAnswerFormat::Single(answer) => vec![answer.0],
                MultipleChoiceAnswerFormat::Multi(answers) => {
                    answers.into_iter().map(|a| a.0).collect()
                }
            };
            if answers.is_empty() || fields.prompt.distractors.is_empty() {
                return Err(format!(
                    "{place}: a multiple-choice question needs an answer and distractors"
                ));
            }
            Ok(Item::Choice {
                id: fields.id.ok_or_else(|| format!("{place}: no id"))?,
                prompt: fields.prompt.prompt.0,
                answers,
                distractors: fields.prompt.distractors.into_iter().map(|d| d.0).collect(),
                context: text(fields.context),
            })
        }
        Question::ShortAnswer(sa) => {
            let fields = sa.0;
            Ok(Item::Short {
                id: fields.id.ok_or_else(|| format!("{place}: no id"))?,
                prompt: fields.prompt.prompt.0,
                answer: fields.answer.answer,
                alternatives: fields.answer.alternatives.unwrap_or_default(),
                context: text(fields.context),
            })
        }
        Question::Tracing(_) => {
            Err(format!("{place}: tracing questions are not supported in the terminal"))
        }
    }
}

/// Whether a typed short answer matches the model answer or an alternative (ignoring case,
/// surrounding spaces and backticks).
pub fn matches(typed: &str, answer: &str, alternatives: &[String]) -> bool {
    let clean = |s: &str| s.trim().trim_matches('`').trim().to_lowercase();
    let typed = clean(typed);
    !typed.is_empty()
        && std::iter::once(answer)
            .chain(alternatives.iter().map(String::as_str))
            .any(|a| clean(a) == typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_repository_quizzes_all_load() {
        for file in load_all(&quiz_dir()).unwrap() {
            assert!(file.items.is_ok(), "{:?}", file.items);
        }
    }

    #[test]
    fn a_broken_question_is_named_by_path_number_and_id() {
        let dir =
            std::env::temp_dir().join(format!("shm-workbook-quiz-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = write(
            &dir,
            "broken.toml",
            "[[questions]]\nid = \"a\"\ntype = \"ShortAnswer\"\nprompt.prompt = \"ok\"\n\
             answer.answer = \"x\"\n\n\
             [[questions]]\nid = \"b\"\ntype = \"MultipleChoice\"\nprompt.prompt = \"no answer\"\n\
             prompt.distractors = [\"y\"]\n",
        );
        let error = load(&path).items.unwrap_err();
        assert!(error.contains("broken.toml: question 2 (id b)"), "{error}");
        let not_toml = write(&dir, "nottoml.toml", "[[questions]\n");
        assert!(load(&not_toml).items.unwrap_err().contains("not valid TOML"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_answers_match_loosely() {
        assert!(matches(" GETNCNT ", "GETNCNT", &[]));
        assert!(matches("`futex`", "futex", &[]));
        assert!(matches("seqlock", "sequence lock", &["seqlock".into()]));
        assert!(!matches("", "x", &[]));
        assert!(!matches("semop", "futex", &[]));
    }
}
