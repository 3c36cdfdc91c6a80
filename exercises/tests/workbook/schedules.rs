//! The controlled schedule: the checker decides who goes next, a failing schedule is shrunk,
//! drawn and named by a token, and `--replay TOKEN` runs the same interleaving again.

use crate::common;

use common::{Checked, check, check_with, workbook};

/// The token a failing verdict gives: the word after `--replay`.
fn token_of(checked: &Checked) -> String {
    let verdict = checked.verdict();
    let after = verdict.split_once("--replay ").map(|(_, rest)| rest).unwrap_or_default();
    after.split_whitespace().next().unwrap_or_default().to_owned()
}

/// The verdict and drawing with what changes between runs (pids, ids, timings) masked.
fn masked(output: &str) -> String {
    let out = common::numbers_masked(output, false);
    out.lines().filter(|line| !line.starts_with("checking") && !line.contains(" s,")).collect()
}

fn replay(program_name: &str, token: &str) -> Checked {
    check_with("ex05", program_name, &["--replay", token])
}

#[test]
fn a_lost_update_is_found_by_a_controlled_schedule_shrunk_drawn_and_replayed_exactly() {
    // No jitter at all: the controlled runs alone must find it.
    let checked = check("ex05", "ex05-pristine", 0, 3, &["--schedules", "20"]);
    assert_eq!(checked.kind().as_deref(), Some("lost update"), "{}", checked.output);
    assert!(checked.verdict().contains("of the check (controlled schedule "), "{}", checked.output);
    let token = token_of(&checked);
    assert!(token.starts_with("ex05:") && token.contains(":x"), "a shrunk schedule: {token}");
    // The drawing: a lane per process, the three accesses that met, the diagnosis.
    let output = &checked.output;
    assert!(output.contains("worker 1 (0.1)") && output.contains("parent (0)"), "{output}");
    assert_eq!(output.matches('◆').count(), 3, "{output}");
    assert!(output.contains("LOST UPDATE: ") && output.contains("was preempted"), "{output}");
    checked.assert_nothing_left();

    // The token runs the same interleaving, every time: the same drawing, the same verdict.
    let first = replay("ex05-pristine", &token);
    assert_eq!(first.kind().as_deref(), Some("lost update"), "{}", first.output);
    let second = replay("ex05-pristine", &token);
    let drawing = |c: &Checked| {
        let from = c.output.find("The failing interleaving").unwrap_or(0);
        let to = c.output.find('✗').unwrap_or(c.output.len());
        masked(&c.output[from..to])
    };
    assert_eq!(drawing(&first), drawing(&second), "the same interleaving twice");
    assert!(drawing(&first).contains("LOST UPDATE"), "{}", first.output);
    assert!(!first.output.contains("could not follow"), "{}", first.output);
    second.assert_nothing_left();
}

#[test]
fn a_race_found_by_jitter_is_drawn_in_the_order_of_the_clock() {
    // Jitter alone, no controlled schedule: the trace's times order the rows.
    let checked = check("ex05", "ex05-pristine", 5, 3, &["--schedules", "0"]);
    assert_eq!(checked.kind().as_deref(), Some("lost update"), "{}", checked.output);
    let output = checked.output.replace('\n', " ");
    assert!(output.contains("in the order the trace's clock saw it (a jitter run"), "{output}");
    assert!(output.contains("worker 1 (0.1)") && output.contains("parent (0)"), "{output}");
    assert_eq!(output.matches('◆').count(), 3, "{output}");
    assert!(output.contains("LOST UPDATE: ") && output.contains("then worker"), "{output}");
    assert!(!output.contains("the checker chose who went next"), "{output}");
    checked.assert_nothing_left();
}

#[test]
fn a_jitter_failure_that_is_no_race_is_not_drawn() {
    // ex03 as given leaves its segment behind: no two accesses met, nothing to draw.
    let checked = check("ex03", "ex03-pristine", 3, 1, &["--schedules", "0"]);
    assert!(checked.kind().is_some(), "{}", checked.output);
    assert!(!checked.output.contains("The failing interleaving"), "{}", checked.output);
    checked.assert_nothing_left();
}

#[test]
fn a_correct_solution_passes_the_controlled_schedules_and_says_what_they_explored() {
    let checked = check("ex05", "ex05-solution", 2, 5, &["--schedules", "6"]);
    assert!(checked.passed(), "{}", checked.output);
    let output = checked.output.replace('\n', " ");
    assert!(output.contains("2 runs with jitter (seed 5) and 7 controlled schedules"), "{output}");
    assert!(output.contains("bug of depth 2") && output.contains("probability at least"));
    checked.assert_nothing_left();
}

#[test]
fn a_failing_schedule_is_saved_for_the_visualizer() {
    let file = std::env::temp_dir().join(format!("schedule-{}.json", std::process::id()));
    let file_arg = file.to_string_lossy().into_owned();
    let checked = check("ex05", "ex05-pristine", 0, 3, &["--schedules", "20", "--save", &file_arg]);
    assert_eq!(checked.code, Some(1), "{}", checked.output);
    let text = std::fs::read_to_string(&file).expect("the schedule was saved");
    let _ = std::fs::remove_file(&file);
    let saved: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(saved["kind"], "shm-workbook failing schedule");
    assert_eq!(saved["token"].as_str(), Some(token_of(&checked).as_str()));
    let rows = saved["rows"].as_array().expect("rows");
    assert!(rows.len() > 100, "every row of the run");
    assert_eq!(rows.iter().filter(|row| row["marked"] == true).count(), 3);
    assert!(saved["processes"].as_array().is_some_and(|p| p.len() == 4), "{text}");
}

#[test]
fn a_token_that_does_not_fit_is_refused_with_a_sentence_and_exit_2() {
    let token = "ex05:00000001:7:pct2/100";
    let cases: [(&str, &str, &str); 4] = [
        ("ex05", "garbage", "is not a replay token"),
        ("ex05", "ex05:zz:1", "fingerprint"),
        ("ex06", token, "is a run of ex05, not of ex06"),
        ("ex05", token, "another version of the file"),
    ];
    for (exercise, given, says) in cases {
        let program = if exercise == "ex05" { "ex05-pristine" } else { "ex06-pristine" };
        let checked = check_with(exercise, program, &["--replay", given]);
        assert_eq!(checked.code, Some(2), "{given}: {}", checked.output);
        assert!(checked.output.contains(says), "{given}: {}", checked.output);
        assert!(!checked.output.contains("panicked"), "{}", checked.output);
        checked.assert_nothing_left();
    }
    let both = workbook().args(["check", "ex05", "--replay", token, "--seed", "1"]).output();
    assert_eq!(both.expect("runs").status.code(), Some(2), "--replay with --seed");
}
