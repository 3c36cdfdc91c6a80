//! The runner's command line follows the lessons' conventions: OS strings, `--flag value` or
//! `--flag=value`, a switch given a value refused, a reason for every refusal (usage, exit 2),
//! and what was typed quoted and shortened. Also: an empty quiz folder, and a question with more
//! options than letters.

use crate::common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use common::{Run, Sandbox, TWO_QUESTIONS, label_of};

fn sandbox(test: &str) -> Sandbox {
    let sandbox = Sandbox::new(test);
    sandbox.quiz("basics", TWO_QUESTIONS);
    sandbox
}

/// Refused with the usage text and exit status 2, and no panic.
fn assert_usage_error(run: &Run, reason: &str) {
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains(reason), "{reason:?} is not said:\n{}", run.stderr);
    assert!(run.stderr.contains("Usage: cargo run --bin quiz"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn an_argument_that_is_not_utf8_gets_the_usage_not_a_panic() {
    let sandbox = sandbox("notutf8");
    let bad = OsString::from_vec(b"lesson0\xff".to_vec());
    let run = sandbox.run_os(std::slice::from_ref(&bad), "");
    assert_usage_error(&run, "argument 1 is not valid UTF-8 text: `lesson0\\xff`");
    let run = sandbox.run_os(&[OsString::from("--seed"), bad], "");
    assert_usage_error(&run, "not valid UTF-8");
}

#[test]
fn a_switch_given_a_value_is_refused() {
    let sandbox = sandbox("switchvalue");
    for (arg, flag, value) in [
        ("--review=yes", "--review", "yes"),
        ("--help=please", "--help", "please"),
        ("--no-color=0", "--no-color", "0"),
    ] {
        let run = sandbox.run(&["basics", arg], "");
        let said = format!(
            "{flag} is a switch and takes no value: write {flag} alone, not {flag}=`{value}`"
        );
        assert_usage_error(&run, &said);
        assert!(!run.stdout.contains("Question"), "nothing is asked:\n{}", run.stdout);
    }
}

#[test]
fn seed_and_count_take_their_value_after_an_equals_sign_as_lessons_do() {
    let sandbox = sandbox("equals");
    let spaced = sandbox.run(&["basics", "--seed", "5", "--count", "1"], "");
    let joined = sandbox.run(&["basics", "--seed=5", "--count=1"], "");
    assert_eq!(joined.code, Some(0), "{joined:?}");
    assert_eq!(spaced.stdout, joined.stdout);
    assert!(joined.stdout.contains("Question 1/1"), "{}", joined.stdout);
}

#[test]
fn count_zero_is_refused_with_a_reason() {
    let sandbox = sandbox("countzero");
    for args in [&["basics", "--count", "0"][..], &["basics", "--count=0"]] {
        let run = sandbox.run(args, "");
        assert_usage_error(&run, "--count 0 would ask no questions: give --count 1 or more");
    }
    let run = sandbox.run(&["basics", "--count", "lots"], "");
    assert_usage_error(&run, "--count needs a whole number, 1 or more, not `lots`");
}

#[test]
fn an_empty_quiz_folder_says_so_and_exits_non_zero() {
    let sandbox = Sandbox::new("emptyfolder");
    for args in [&[][..], &["lesson01"]] {
        let run = sandbox.run(args, "");
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(run.stderr.contains("there are no quizzes in"), "{}", run.stderr);
        assert!(run.stderr.contains("SHM_WORKBOOK_QUIZZES"), "what to do:\n{}", run.stderr);
    }
}

#[test]
fn help_names_the_environment_it_reads() {
    let run = sandbox("help").run(&["--help"], "");
    assert_eq!(run.code, Some(0), "{run:?}");
    for name in ["SHM_WORKBOOK_QUIZZES", "XDG_DATA_HOME", "NO_COLOR", "--count N", "--seed N"] {
        assert!(run.stdout.contains(name), "--help does not mention {name}:\n{}", run.stdout);
    }
}

#[test]
fn long_and_odd_values_are_quoted_and_shortened() {
    let sandbox = sandbox("longvalue");
    let long = "x".repeat(100_000);
    let run = sandbox.run(&[&long], "");
    assert_eq!(run.code, Some(2), "{}", &run.stderr[..run.stderr.len().min(300)]);
    assert!(run.stderr.len() < 1_000, "the value is not echoed whole: {} bytes", run.stderr.len());
    assert!(run.stderr.contains("…` (100000 characters)"), "{}", run.stderr);
    let run = sandbox.run(&["basics", "--count", &long], "");
    assert_usage_error(&run, "(100000 characters)");
    assert!(run.stderr.len() < 3_000, "{} bytes", run.stderr.len());

    // An escape sequence typed as a name is shown, not sent to the terminal.
    let run = sandbox.run(&["x\u{1b}[2Jy"], "");
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("`x\\u{1b}[2Jy`"), "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
}

/// A multiple-choice question with `options` options, the right one `right`.
fn many_options(options: usize) -> String {
    let distractors: Vec<String> = (1..options).map(|n| format!("\"wrong {n}\"")).collect();
    format!(
        "[[questions]]\nid = \"many\"\ntype = \"MultipleChoice\"\nprompt.prompt = \"Pick right\"\n\
         prompt.distractors = [{}]\nanswer.answer = \"right\"\n",
        distractors.join(", ")
    )
}

#[test]
fn a_question_with_more_than_26_options_shows_them_all_numbered() {
    let sandbox = Sandbox::new("manyoptions");
    sandbox.quiz("many", &many_options(30));
    let listing = sandbox.run(&["many", "--seed", "1"], "").stdout;
    for n in 1..30 {
        assert!(listing.contains(&format!(") wrong {n}\n")), "wrong {n} is not shown:\n{listing}");
    }
    assert!(listing.contains("\n  30) "), "numbered 1 to 30:\n{listing}");
    assert!(listing.contains("Your answer (a number)"), "{listing}");
    let right = label_of(&listing, "right");
    let run = sandbox.run(&["many", "--seed", "1"], &format!("{right}\n"));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Right.") && run.stdout.contains("Score: 1/1"), "{}", run.stdout);
    let wrong = if right == "1" { "2" } else { "1" };
    let run = sandbox.run(&["many", "--seed", "1"], &format!("31\n{wrong}\n"));
    assert!(run.stdout.contains("Please answer with numbers from 1 to 30."), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("the answer is {right}) right")), "{}", run.stdout);

    // Up to 26, letters a to z as before.
    sandbox.quiz("many", &many_options(26));
    let listing = sandbox.run(&["many", "--seed", "1"], "").stdout;
    assert!(listing.contains("\n  z) ") && !listing.contains("\n  1) "), "{listing}");
}
