use shm_workbook::flags::*;
use shm_workbook::*;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// Reads every word: flags named in `switches` as switches, the others with a number.
fn read(words: &[&str], switches: &[&str]) -> Result<Vec<String>, UsageError> {
    let mut line = CommandLine::new(words.iter().copied());
    let mut read = Vec::new();
    while let Some(arg) = line.next_arg()? {
        match arg {
            Arg::Flag(flag) if switches.contains(&flag.as_str()) => {
                line.switch()?;
                read.push(flag);
            }
            Arg::Flag(flag) if flag == "--seed" => {
                read.push(format!("{flag} {}", line.number((0, 99), "7")?));
            }
            Arg::Flag(_) => return Err(line.unknown()),
            Arg::Word(word) => read.push(word),
        }
    }
    Ok(read)
}

#[test]
fn values_come_after_a_space_or_an_equals_sign() {
    assert_eq!(
        read(&["check", "--seed", "7", "--seed=8", "--fast", "ex01"], &["--fast"]).unwrap(),
        ["check", "--seed 7", "--seed 8", "--fast", "ex01"]
    );
}

#[test]
fn every_wrong_line_is_refused_with_a_sentence() {
    let refused = |words: &[&str]| read(words, &["--fast"]).unwrap_err().0;
    assert_eq!(
        refused(&["--fast=1"]),
        "--fast is a switch and takes no value: write --fast alone, not --fast=`1`"
    );
    assert_eq!(refused(&["--seed"]), "--seed needs a number, as in --seed 7");
    assert_eq!(
        refused(&["--seed", "--fast"]),
        "--seed needs a number, as in --seed 7; `--fast` is another flag"
    );
    assert_eq!(refused(&["--seed=100"]), "--seed needs a whole number from 0 to 99, not `100`");
    assert_eq!(refused(&["--bogus"]), "unknown flag `--bogus`");
    let bad = OsString::from_vec(b"caf\xe9".to_vec());
    let mut line = CommandLine::new([OsString::from("x"), bad]);
    line.next_arg().unwrap();
    assert_eq!(line.next_arg().unwrap_err().0, "argument 2 is not valid UTF-8 text: `caf\\xe9`");
}

#[test]
fn what_was_typed_is_quoted_short_and_escaped() {
    let long = "x".repeat(100_000);
    assert!(shown(&long).ends_with("…` (100000 characters)"));
    assert!(shown(&long).len() < 70);
    assert_eq!(shown("a\nb\u{1b}[2J`"), "`a\\nb\\u{1b}[2J\\``");
}
