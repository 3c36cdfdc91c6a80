//! The book's page "A failing schedule, drawn" shows a real saved schedule when no file is
//! opened: book/src/failing-schedule-sample.json, written by
//! `cargo run --bin workbook -- check ex05 --runs 0 --schedules 20 --seed 3 --save FILE`.
//! This test replays the sample's schedule, saves it again and checks that the sample is
//! still what the checker writes: the same format (every key, every kind of value), the same
//! processes, rows, marks and preemptions, and a token that replays on exercise 05 as given.
//! When it fails, make the sample again with that command (from the workspace's root, with the
//! exercise as given).

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use shm_workbook_exercises::replay::{Token, fingerprint};

fn sample() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    let path = path.join("failing-schedule-sample.json");
    let text = std::fs::read_to_string(&path).expect("the book's sample schedule");
    serde_json::from_str(&text).expect("the sample is JSON")
}

/// Every path of keys in a JSON value with the kind of value found there (array elements
/// share the path `[]`): the format, without the contents.
fn shape(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, at: &str, out: &mut BTreeSet<String>) {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(items) => {
                items.iter().for_each(|item| walk(item, &format!("{at}[]"), out));
                "array"
            }
            Value::Object(map) => {
                map.iter().for_each(|(key, item)| walk(item, &format!("{at}.{key}"), out));
                "object"
            }
        };
        out.insert(format!("{at}: {kind}"));
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

/// A row with what changes between runs (pids, ids, addresses) masked.
fn masked(row: &Value) -> String {
    let text = format!("{} {} {} {}", row["process"], row["text"], row["marked"], row["preempted"]);
    common::numbers_masked(&text, true)
}

fn marked(saved: &Value) -> usize {
    saved["rows"].as_array().map_or(0, |rows| rows.iter().filter(|r| r["marked"] == true).count())
}

#[test]
fn the_books_sample_schedule_is_a_real_run_in_the_checkers_format() {
    let sample = sample();
    assert_eq!(sample["kind"], "shm-workbook failing schedule");
    assert_eq!(sample["version"], 1);
    assert_eq!(marked(&sample), 3, "the sample's marked rows");
    let token = Token::parse(sample["token"].as_str().unwrap_or_default()).expect("a token");
    assert_eq!(token.exercise, "ex05");
    // The book prints the command that replays it: on exercise 05 as given, it must fit.
    let given = Path::new(env!("CARGO_MANIFEST_DIR")).join("ex05_lost_update.rs");
    assert_eq!(token.source, fingerprint(&given), "the sample was made from another ex05");

    // The same schedule, replayed and saved again now, on the pristine program (exercise 05
    // as given, built): its token carries that program's fingerprint. A replay follows the
    // token's choices exactly, where a search with the same seed may find another failure on a
    // busy machine.
    let program = common::program("ex05-pristine");
    let schedule = sample["token"].as_str().unwrap_or_default().splitn(3, ':').nth(2);
    let again = format!("ex05:{:08x}:{}", fingerprint(&program), schedule.unwrap_or_default());
    let file = std::env::temp_dir().join(format!("book-sample-{}.json", std::process::id()));
    let mark = common::new_mark();
    let output = common::workbook()
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
        .args(["check", "ex05", "--program"])
        .arg(&program)
        .args(["--replay", &again, "--save"])
        .arg(&file)
        .output()
        .expect("the checker runs");
    let checked = common::Checked {
        output: String::from_utf8_lossy(&output.stdout).into_owned(),
        code: output.status.code(),
        program,
        mark,
    };
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    assert_eq!(checked.code, Some(1), "{}", checked.output);
    checked.assert_nothing_left();
    let fresh: Value = serde_json::from_str(&text).expect("the checker saved the schedule");

    assert_eq!(shape(&fresh), shape(&sample), "the saved format changed: make the sample again");
    assert_eq!(fresh["processes"], sample["processes"]);
    assert_eq!(fresh["diagnosis"], sample["diagnosis"]);
    assert_eq!(fresh["met"], sample["met"]);
    assert_eq!(fresh["token"].as_str(), Some(again.as_str()));
    let rows = |saved: &Value| -> Vec<String> {
        saved["rows"].as_array().map(|rows| rows.iter().map(masked).collect()).unwrap_or_default()
    };
    assert_eq!(rows(&fresh), rows(&sample), "the same rows, up to pids, ids and addresses");
}

#[test]
fn the_shape_tells_a_changed_format_apart() {
    // The check above must fail on a format change: a key renamed, or a value of another kind.
    let sample = sample();
    let mut renamed = sample.clone();
    let row = renamed["rows"][0].as_object_mut().expect("a row");
    let text = row.remove("text").expect("a text");
    row.insert("line".into(), text);
    assert_ne!(shape(&renamed), shape(&sample));
    let mut retyped = sample.clone();
    retyped["version"] = Value::from("1");
    assert_ne!(shape(&retyped), shape(&sample));
    let mut one_row = sample.clone();
    one_row["rows"][5]["marked"] = Value::from(true);
    assert_eq!(shape(&one_row), shape(&sample), "contents are not the format");
    assert_ne!(masked(&one_row["rows"][5]), masked(&sample["rows"][5]));
}
