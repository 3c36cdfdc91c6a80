use shm_workbook::catalogue::{self};
use shm_workbook::flags::CommandLine;
use shm_workbook::lesson::*;
use std::collections::BTreeMap;

#[test]
fn common_flags_parse() {
    let options = parse_args(["--fast", "--step", "--seed", "7", "--no-color"], &[]).unwrap();
    assert_eq!(
        options,
        Options {
            trace: None,
            fast: true,
            step: true,
            seed: Some(7),
            no_color: true,
            help: false,
            extra: BTreeMap::new(),
            texts: BTreeMap::new(),
            arguments: Vec::new(),
        }
    );
    assert_eq!(parse_args(["--seed=9"], &[]).unwrap().seed, Some(9));
    assert!(parse_args(["--help"], &[]).unwrap().help);
    assert_eq!(parse_args(Vec::<&str>::new(), &[]).unwrap(), Options::default());
}

const OWN: &[LessonFlag] = &[
    LessonFlag::number("--processes", "N", "how many processes", 3, (1, 64)),
    LessonFlag::switch("--verbose", "print every read and write"),
];

#[test]
fn a_lessons_own_flags_parse_and_are_checked() {
    let options = parse_args(["--processes", "5", "--verbose"], OWN).unwrap();
    assert_eq!(options.extra.get("--processes"), Some(&5));
    assert_eq!(options.extra.get("--verbose"), Some(&1));
    assert_eq!(parse_args(["--processes=2"], OWN).unwrap().extra.get("--processes"), Some(&2));
    let too_many = parse_args(["--processes", "65"], OWN).unwrap_err();
    assert_eq!(too_many.0, "--processes needs a whole number from 1 to 64, not `65`");
    assert!(parse_args(["--processes"], OWN).unwrap_err().0.contains("needs a number"));
    assert!(parse_args(["--verbose"], &[]).is_err(), "another lesson's flag is unknown here");
}

#[test]
fn text_flags_and_command_words_parse_where_allowed() {
    const WITH_NAME: &[LessonFlag] = &[LessonFlag::text("--name", "NAME", "the name")];
    let options = parse_args_and_words(
        CommandLine::new(["write", "--name", "/x", "hello there"]),
        WITH_NAME,
        true,
    )
    .unwrap();
    assert_eq!(options.texts.get("--name").map(String::as_str), Some("/x"));
    assert_eq!(options.arguments, ["write", "hello there"]);
    assert!(parse_args(["write"], WITH_NAME).is_err(), "words only where a lesson takes them");
    assert!(parse_args(["--name"], WITH_NAME).unwrap_err().0.contains("needs a value"));
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    assert_eq!(
        parse_args(["--fats"], &[]).unwrap_err(),
        UsageError("unknown flag `--fats`".into())
    );
    assert!(parse_args(["--seed"], &[]).unwrap_err().0.contains("needs a number"));
    assert!(parse_args(["--seed", "many"], &[]).unwrap_err().0.contains("not `many`"));
    assert!(parse_args(["extra"], &[]).unwrap_err().0.contains("unexpected argument"));
}

#[test]
fn switches_take_no_value_and_odd_words_are_quoted_short() {
    for bad in ["--fast=no", "--no-color=0", "--help=please", "--step=1"] {
        let UsageError(problem) = parse_args([bad], &[]).unwrap_err();
        assert!(problem.contains("is a switch and takes no value"), "{bad}: {problem}");
    }
    let UsageError(problem) = parse_args(["--seed", "--fast"], &[]).unwrap_err();
    assert!(problem.contains("--seed needs a number, as in --seed 42"), "{problem}");
    let long = "x".repeat(100_000);
    let UsageError(problem) = parse_args([long.as_str()], &[]).unwrap_err();
    assert!(problem.len() < 120, "a huge argument is not echoed whole: {}", problem.len());
    assert!(problem.contains("(100000 characters)"), "{problem}");
    assert_eq!(shown("a\u{1b}[31mb"), "`a\\u{1b}[31mb`");
    use std::os::unix::ffi::OsStringExt;
    let args = [std::ffi::OsString::from("--fast"), std::ffi::OsString::from_vec(vec![0xff, b'x'])];
    let UsageError(problem) = parse_args(args, &[]).unwrap_err();
    assert!(problem.contains("argument 2 is not valid UTF-8"), "{problem}");
}

#[test]
fn usage_says_where_step_does_not_pause() {
    let lesson06 = catalogue::find("lesson06").unwrap();
    assert!(usage(lesson06, &[]).contains("(Part 4 runs, and pauses, only where"));
    let lesson01 = catalogue::find("lesson01").unwrap();
    assert!(!usage(lesson01, &[]).contains("(Part"));
}

#[test]
fn usage_names_every_flag() {
    let text = usage(&catalogue::LESSONS[0], OWN);
    for flag in [
        "--help",
        "--fast",
        "--step",
        "--seed N",
        "--no-color",
        "cargo run --bin lesson01",
        "--processes N",
        "(default 3)",
        "--verbose",
        "--trace FILE",
    ] {
        assert!(text.contains(flag), "usage lacks {flag}");
    }
}
