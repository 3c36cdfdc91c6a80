//! The quiz runner, driven through stdin as a student at a pipe would drive it.

use crate::common;

use common::{Sandbox, TWO_QUESTIONS, letter_of};

#[test]
fn a_right_answer_and_a_typed_short_answer_score_two_of_two() {
    let sandbox = Sandbox::new("right");
    sandbox.quiz("basics", TWO_QUESTIONS);
    // First run with no input, to see where the seeded shuffle put the answer.
    let listing = sandbox.run(&["basics", "--seed", "3"], "").stdout;
    let right = letter_of(&listing, "shmat");
    let run = sandbox.run(&["basics", "--seed", "3"], &format!("{right}\nipcrm -m\n"));
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(0), "{run:?}");
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
    let listing = sandbox.run(&["basics", "--seed", "4"], "").stdout;
    let wrong = letter_of(&listing, "semop");
    // Wrong letter, then Enter to reveal the short answer, then "n".
    let run = sandbox.run(&["basics", "--seed", "4"], &format!("{wrong}\n\nn\n"));
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(stdout.contains("Not quite: the answer is"), "{stdout}");
    assert!(stdout.contains("Model answer: ipcrm -m"), "{stdout}");
    assert!(stdout.contains("Score: 0/2"), "{stdout}");
    assert!(stdout.contains("--review"), "the runner suggests a review:\n{stdout}");

    // Review: only the two missed questions; answer the short one right this time.
    let listing = sandbox.run(&["basics", "--review", "--seed", "4"], "").stdout;
    assert!(listing.contains("Question 1/2"), "{listing}");
    let right = letter_of(&listing, "shmat");
    let run = sandbox.run(&["basics", "--review", "--seed", "4"], &format!("{right}\n\ny\n"));
    assert!(run.stdout.contains("Score: 2/2"), "{}", run.stdout);
    let run = sandbox.run(&["basics", "--review"], "");
    assert!(run.stdout.contains("Nothing to review"), "nothing missed any more:\n{}", run.stdout);
}

#[test]
fn end_of_input_stops_cleanly_with_the_score_so_far() {
    let sandbox = Sandbox::new("eof");
    sandbox.quiz("basics", TWO_QUESTIONS);
    let listing = sandbox.run(&["basics", "--seed", "5"], "").stdout;
    let right = letter_of(&listing, "shmat");
    let run = sandbox.run(&["basics", "--seed", "5"], &format!("{right}\n"));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Score: 1/1 (stopped at the end of input)"), "{}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_malformed_file_is_reported_by_path_and_question_and_the_others_still_run() {
    let sandbox = Sandbox::new("malformed");
    sandbox.quiz("basics", TWO_QUESTIONS);
    sandbox.quiz(
        "broken",
        "[[questions]]\nid = \"ok-1\"\ntype = \"ShortAnswer\"\nprompt.prompt = \"x\"\n\
         answer.answer = \"y\"\n\n\
         [[questions]]\nid = \"bad-2\"\ntype = \"MultipleChoice\"\n\
         prompt.prompt = \"no answer here\"\nprompt.distractors = [\"a\", \"b\"]\n",
    );
    let run = sandbox.run(&[], "");
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(stdout.contains("basics") && stdout.contains("2 questions"), "{stdout}");
    assert!(
        stdout.contains("cannot be used:") && stdout.contains("broken.toml: question 2 (id bad-2)"),
        "{stdout}"
    );
    let run = sandbox.run(&["broken"], "");
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("broken.toml: question 2 (id bad-2)") && run.stderr.contains("answer"),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&["basics", "--count", "1"], "");
    assert_eq!(run.code, Some(0), "the good quiz still runs:\n{run:?}");
}

#[test]
fn an_unknown_name_exits_2_and_lists_the_names() {
    let sandbox = Sandbox::new("unknown");
    sandbox.quiz("basics", TWO_QUESTIONS);
    let run = sandbox.run(&["lesson99"], "");
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("there is no quiz `lesson99`; the quizzes are: basics"),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&["--bogus"], "");
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("unknown flag `--bogus`"), "{}", run.stderr);
}

#[test]
fn the_real_bank_lists_every_lesson_quiz_and_the_interview_drill_is_shuffled_and_short() {
    let sandbox = Sandbox::new("real");
    let run = sandbox.run_real_bank(&[], "");
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(0), "{run:?}");
    for lesson in shm_workbook::catalogue::LESSONS {
        assert!(stdout.contains(lesson.bin), "{} is not listed:\n{stdout}", lesson.bin);
    }
    assert!(stdout.contains("interview") && !stdout.contains("cannot be used"), "{stdout}");
    let first = sandbox.run_real_bank(&["interview", "--count", "3", "--seed", "11"], "");
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(
        first.stdout.contains("Question 1/3")
            && first.stdout.contains("(random order: --seed 11 repeats it)"),
        "{}",
        first.stdout
    );
    let again = sandbox.run_real_bank(&["interview", "--count", "3", "--seed", "11"], "");
    assert_eq!(first.stdout, again.stdout, "the same seed gives the same order");
}
