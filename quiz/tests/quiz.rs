//! The quiz runner, driven through stdin as a student at a pipe would drive it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A private folder with its own quizzes and progress, removed at the end of the test.
struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    fn new(test: &str) -> Sandbox {
        let root = std::env::temp_dir()
            .join(format!("shm-workbook-quiz-test-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("quizzes")).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        Sandbox { root }
    }

    fn quiz(&self, name: &str, text: &str) {
        std::fs::write(self.root.join("quizzes").join(format!("{name}.toml")), text).unwrap();
    }

    fn progress(&self) -> PathBuf {
        self.root.join("data/shm-workbook/progress.toml")
    }

    /// Runs the quiz binary with `args`, feeding `input` on stdin.
    fn run(&self, args: &[&str], input: &str) -> (Option<i32>, String, String) {
        run_quiz(Some(&self.root.join("quizzes")), &self.root.join("data"), args, input)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn run_quiz(
    quizzes: Option<&Path>,
    data: &Path,
    args: &[&str],
    input: &str,
) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quiz"));
    command.args(args).env("XDG_DATA_HOME", data).env("NO_COLOR", "1");
    if let Some(quizzes) = quizzes {
        command.env("SHM_WORKBOOK_QUIZZES", quizzes);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const TWO_QUESTIONS: &str = r#"
[[questions]]
id = "mc-1"
type = "MultipleChoice"
prompt.prompt = "Which call attaches a System V segment?"
prompt.distractors = ["shmget", "shmctl", "semop"]
answer.answer = "shmat"
context = "shmat maps the segment into the caller."

[[questions]]
id = "sa-2"
type = "ShortAnswer"
prompt.prompt = "Which command removes a segment by id?"
answer.answer = "ipcrm -m"
context = "ipcrm -m <shmid> removes it."
"#;

/// The letter in front of `option` in a listing of options.
fn letter_of(stdout: &str, option: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().ends_with(&format!(") {option}")))
        .unwrap_or_else(|| panic!("no option {option}:\n{stdout}"));
    line.trim_start()[..1].to_owned()
}

#[test]
fn a_right_answer_and_a_typed_short_answer_score_two_of_two() {
    let sandbox = Sandbox::new("right");
    sandbox.quiz("basics", TWO_QUESTIONS);
    // First run with no input, to see where the seeded shuffle put the answer.
    let (_, listing, _) = sandbox.run(&["basics", "--seed", "3"], "");
    let right = letter_of(&listing, "shmat");
    let (code, stdout, _) =
        sandbox.run(&["basics", "--seed", "3"], &format!("{right}\nipcrm -m\n"));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("Right."), "{stdout}");
    assert!(stdout.contains("Right: ipcrm -m"), "{stdout}");
    assert!(
        stdout.contains("shmat maps the segment into the caller."),
        "the explanation is shown:\n{stdout}"
    );
    assert!(stdout.contains("Score: 2/2"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour into a pipe");
    let saved = std::fs::read_to_string(sandbox.progress()).unwrap();
    assert!(saved.contains("right = 2") && saved.contains("missed = []"), "{saved}");
}

#[test]
fn a_wrong_answer_and_a_revealed_answer_are_missed_and_review_asks_them_again() {
    let sandbox = Sandbox::new("review");
    sandbox.quiz("basics", TWO_QUESTIONS);
    let (_, listing, _) = sandbox.run(&["basics", "--seed", "4"], "");
    let wrong = letter_of(&listing, "semop");
    // Wrong letter, then Enter to reveal the short answer, then "n".
    let (code, stdout, _) = sandbox.run(&["basics", "--seed", "4"], &format!("{wrong}\n\nn\n"));
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Not quite: the answer is"), "{stdout}");
    assert!(stdout.contains("Model answer: ipcrm -m"), "{stdout}");
    assert!(stdout.contains("Score: 0/2"), "{stdout}");
    assert!(stdout.contains("--review"), "the runner suggests a review:\n{stdout}");

    // Review: only the two missed questions; answer the short one right this time.
    let (_, listing, _) = sandbox.run(&["basics", "--review", "--seed", "4"], "");
    assert!(listing.contains("Question 1/2"), "{listing}");
    let right = letter_of(&listing, "shmat");
    let (_, stdout, _) =
        sandbox.run(&["basics", "--review", "--seed", "4"], &format!("{right}\n\ny\n"));
    assert!(stdout.contains("Score: 2/2"), "{stdout}");
    let (_, stdout, _) = sandbox.run(&["basics", "--review"], "");
    assert!(stdout.contains("Nothing to review"), "nothing missed any more:\n{stdout}");
}

#[test]
fn end_of_input_stops_cleanly_with_the_score_so_far() {
    let sandbox = Sandbox::new("eof");
    sandbox.quiz("basics", TWO_QUESTIONS);
    let (_, listing, _) = sandbox.run(&["basics", "--seed", "5"], "");
    let right = letter_of(&listing, "shmat");
    let (code, stdout, stderr) = sandbox.run(&["basics", "--seed", "5"], &format!("{right}\n"));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Score: 1/1 (stopped at the end of input)"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_malformed_file_is_reported_by_path_and_question_and_the_others_still_run() {
    let sandbox = Sandbox::new("malformed");
    sandbox.quiz("basics", TWO_QUESTIONS);
    sandbox.quiz(
        "broken",
        "[[questions]]\nid = \"ok-1\"\ntype = \"ShortAnswer\"\nprompt.prompt = \"x\"\nanswer.answer = \"y\"\n\n\
         [[questions]]\nid = \"bad-2\"\ntype = \"MultipleChoice\"\nprompt.prompt = \"no answer here\"\nprompt.distractors = [\"a\", \"b\"]\n",
    );
    let (code, stdout, _) = sandbox.run(&[], "");
    assert_eq!(code, Some(0));
    assert!(stdout.contains("basics") && stdout.contains("2 questions"), "{stdout}");
    assert!(
        stdout.contains("cannot be used:") && stdout.contains("broken.toml: question 2 (id bad-2)"),
        "{stdout}"
    );
    let (code, _, stderr) = sandbox.run(&["broken"], "");
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("broken.toml: question 2 (id bad-2)") && stderr.contains("answer"),
        "{stderr}"
    );
    let (code, stdout, _) = sandbox.run(&["basics", "--count", "1"], "");
    assert_eq!(code, Some(0), "the good quiz still runs:\n{stdout}");
}

#[test]
fn an_unknown_name_exits_2_and_lists_the_names() {
    let sandbox = Sandbox::new("unknown");
    sandbox.quiz("basics", TWO_QUESTIONS);
    let (code, _, stderr) = sandbox.run(&["lesson99"], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("there is no quiz `lesson99`; the quizzes are: basics"), "{stderr}");
    let (code, _, stderr) = sandbox.run(&["--bogus"], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown flag `--bogus`"), "{stderr}");
}

#[test]
fn a_damaged_progress_file_means_starting_fresh_with_a_note() {
    let sandbox = Sandbox::new("damaged");
    sandbox.quiz("basics", TWO_QUESTIONS);
    std::fs::create_dir_all(sandbox.progress().parent().unwrap()).unwrap();
    std::fs::write(sandbox.progress(), "this is not toml [").unwrap();
    let (code, stdout, _) = sandbox.run(&[], "");
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout.lines().filter(|l| l.contains("damaged; starting fresh")).count(),
        1,
        "{stdout}"
    );
    assert!(stdout.contains("not tried yet"), "{stdout}");
}

#[test]
fn the_real_bank_lists_every_lesson_quiz_and_the_interview_drill_is_shuffled_and_short() {
    let data =
        std::env::temp_dir().join(format!("shm-workbook-quiz-test-real-{}", std::process::id()));
    let (code, stdout, _) = run_quiz(None, &data, &[], "");
    assert_eq!(code, Some(0));
    for lesson in shm_workbook::catalogue::LESSONS {
        assert!(stdout.contains(lesson.bin), "{} is not listed:\n{stdout}", lesson.bin);
    }
    assert!(stdout.contains("interview") && !stdout.contains("cannot be used"), "{stdout}");
    let (code, first, _) =
        run_quiz(None, &data, &["interview", "--count", "3", "--seed", "11"], "");
    assert_eq!(code, Some(0));
    assert!(
        first.contains("Question 1/3") && first.contains("(random order: --seed 11 repeats it)"),
        "{first}"
    );
    let (_, again, _) = run_quiz(None, &data, &["interview", "--count", "3", "--seed", "11"], "");
    assert_eq!(first, again, "the same seed gives the same order");
    let _ = std::fs::remove_dir_all(&data);
}
