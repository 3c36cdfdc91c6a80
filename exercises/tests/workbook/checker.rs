//! The checker against the exercises: every solution passes, and every unsolved exercise (its
//! pristine copy) fails for the reason it is about. Fewer runs than a student's check, with seeds
//! known to expose each bug early; each check stops at its first failed run.

use crate::common;

use common::{Checked, check};
use shm_workbook_exercises::catalogue;

/// Runs for a solution: enough for jitter to find most mistakes, few enough for `cargo test`.
const SOLUTION_RUNS: usize = 10;
/// Runs allowed for an unsolved exercise to fail (it usually fails on the first).
const UNSOLVED_RUNS: usize = 25;

fn solution_passes(name: &str) {
    let checked = check(name, &format!("{name}-solution"), SOLUTION_RUNS, 5, &[]);
    assert!(checked.passed(), "{name}'s solution must pass:\n{}", checked.output);
    assert!(checked.output.contains(&format!("{SOLUTION_RUNS} runs")), "{}", checked.output);
    checked.assert_nothing_left();
}

fn unsolved_fails(name: &str, seed: u64) {
    let exercise = catalogue::find(name).expect("in the catalogue");
    let checked = check(name, &format!("{name}-pristine"), UNSOLVED_RUNS, seed, &[]);
    let kind =
        checked.kind().unwrap_or_else(|| panic!("{name} unsolved must fail:\n{}", checked.output));
    assert!(
        exercise.failures.iter().any(|expected| kind.starts_with(expected)),
        "{name} unsolved must fail with one of {:?}, not `{kind}`:\n{}",
        exercise.failures,
        checked.output
    );
    assert_verdict(&checked, name, seed);
    checked.assert_nothing_left();
}

/// The verdict: what failed, evidence, a hint, and how to repeat it with the seed.
fn assert_verdict(checked: &Checked, name: &str, seed: u64) {
    let verdict = checked.verdict();
    assert!(verdict.contains("Hint: "), "{verdict}");
    assert!(
        verdict.contains(&format!("cargo run --bin workbook -- check {name} --seed {seed}")),
        "the verdict says how to repeat the check: {verdict}"
    );
}

macro_rules! exercises {
    ($($name:ident: seed $seed:expr;)*) => {
        $(
            mod $name {
                #[test]
                fn its_solution_passes() {
                    super::solution_passes(stringify!($name));
                }

                #[test]
                fn unsolved_it_fails_for_its_reason() {
                    super::unsolved_fails(stringify!($name), $seed);
                }
            }
        )*

        #[test]
        fn every_exercise_is_tested() {
            let tested = [$(stringify!($name)),*];
            let listed: Vec<&str> = catalogue::EXERCISES.iter().map(|e| e.name).collect();
            assert_eq!(tested.as_slice(), listed.as_slice());
        }
    };
}

exercises! {
    ex01: seed 14;
    ex02: seed 1;
    ex03: seed 1;
    ex04: seed 1;
    ex05: seed 1;
    ex06: seed 1;
    ex07: seed 1;
    ex08: seed 1;
    ex09: seed 3;
    ex10: seed 1;
    ex11: seed 1;
    ex12: seed 1;
    ex13: seed 1;
    ex14: seed 1;
    ex15: seed 1;
    ex16: seed 2;
}

#[test]
fn a_deadlock_is_reported_as_the_kernel_sees_it() {
    let checked = check("ex10", "ex10-pristine", 5, 1, &[]);
    let verdict = checked.verdict();
    for shown in [
        "semop(",
        "{FILLED, -1, 0}",
        "{MUTEX, -1, SEM_UNDO}",
        "(GETVAL)",
        "(GETNCNT)",
        "(GETZCNT)",
        "(GETPID)",
        "consumer",
        "producer",
    ] {
        assert!(verdict.contains(shown), "the report shows {shown}:\n{verdict}");
    }
    let checked = check("ex08", "ex08-pristine", 5, 1, &[]);
    let verdict = checked.verdict();
    assert!(verdict.contains("LOCK = 0 (GETVAL), 2 waiting (GETNCNT)"), "{verdict}");
    assert!(verdict.contains("last changed by writer 1"), "{verdict}");
    assert!(verdict.contains("which has ended"), "{verdict}");
}

#[test]
fn a_leak_names_the_call_that_made_it_and_is_removed() {
    let checked = check("ex03", "ex03-pristine", 5, 1, &[]);
    let verdict = checked.verdict();
    assert!(verdict.contains("shmget(0x"), "{verdict}");
    assert!(verdict.contains("IPC_CREAT|IPC_EXCL|0600"), "{verdict}");
    assert!(verdict.contains("by publisher"), "{verdict}");
    assert!(verdict.contains("(the checker removed it)"), "{verdict}");
    checked.assert_nothing_left();
}

#[test]
fn solution_builds_the_solution_from_the_reference_package() {
    // The solutions are bins of exercises/reference, not of the package a student runs: the
    // checker must find and build them there.
    let _ = common::program("ex01-solution"); // built once for this test binary
    let mark = common::new_mark();
    let output = common::workbook()
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
        .args(["check", "ex01", "--solution", "--runs", "2", "--seed", "1"])
        .output()
        .expect("the checker runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("building ex01-solution..."), "{text}");
    assert!(output.status.success() && text.contains("passed"), "{text}");
}

/// Exercise 13 repaired with a constant (b gets 10, what the owner takes when run by hand)
/// passed every run while each run's data was the same. The checker now draws the data from
/// each run's seed: the constant fails on the first run, and the verdict shows the drawn values.
#[test]
fn a_repair_written_as_a_constant_fails_on_the_first_run() {
    use shm_workbook_exercises::{check::run_seed, data::Data};
    let checked = check("ex13", "ex13-constant-repair", 5, 5, &[]);
    assert_eq!(checked.kind().as_deref(), Some("not this run's data"), "{}", checked.output);
    assert!(checked.verdict().contains("failed on run 1 of "), "{}", checked.output);
    let data = Data::draw(run_seed(5, 0));
    let (a, b) = data.accounts();
    let expected = format!("expected `a = {a}, b = {b}, total = {}`", data.total);
    assert!(checked.verdict().contains(&expected), "{expected}:\n{}", checked.output);
    checked.assert_nothing_left();
}
