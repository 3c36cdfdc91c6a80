//! The checker's commands, as a student types them: list, hint, reset, check with progress kept
//! in the XDG folder, the watch mode, and wrong command lines.

use crate::common;

use std::io::Write;
use std::process::Stdio;

use common::{Project, workbook};

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An ex01 that passes the check: it prints the line the check expects, and makes nothing.
const PASSING_EX01: &str = include_str!("../../solutions/ex01_sleep.rs");

#[test]
fn list_shows_every_exercise_and_what_is_solved() {
    let project = Project::new("list");
    let output = project.workbook(&["list"]).output().unwrap();
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    for exercise in shm_workbook_exercises::catalogue::EXERCISES {
        assert!(shown.contains(exercise.name) && shown.contains(exercise.title), "{shown}");
    }
    let all = shm_workbook_exercises::catalogue::EXERCISES.len();
    assert!(shown.contains(&format!("0 of {all} solved; next: ex01")), "{shown}");
}

#[test]
fn hint_prints_the_hints_in_order() {
    let output = workbook().args(["hint", "ex08"]).output().unwrap();
    let shown = text(&output);
    assert!(output.status.success());
    assert!(
        shown.contains("1. ") && shown.contains("3. ") && shown.contains("SEM_UNDO"),
        "{shown}"
    );
}

#[test]
fn a_passing_check_is_saved_as_progress_and_a_failing_one_too() {
    let project = Project::new("progress");
    project.write("ex01_sleep.rs", PASSING_EX01);
    let output = project.workbook(&["check", "ex01", "--runs", "3"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("✓ ex01 passed: 3 runs"), "{}", text(&output));
    let progress = project.progress();
    assert!(
        progress.contains("[exercises.ex01]") && progress.contains("solved = true"),
        "{progress}"
    );
    let listed = text(&project.workbook(&["list"]).output().unwrap());
    let all = shm_workbook_exercises::catalogue::EXERCISES.len();
    assert!(listed.contains(&format!("1 of {all} solved; next: ex02")), "{listed}");

    // ex02 as given in this project prints nothing: a failed check, saved as not solved.
    let output = project.workbook(&["check", "ex02", "--runs", "2"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let progress = project.progress();
    assert!(
        progress.contains("[exercises.ex02]") && progress.contains("solved = false"),
        "{progress}"
    );
    assert!(progress.contains("solved = true"), "ex01's record is kept: {progress}");
}

#[test]
fn a_damaged_progress_file_is_kept_aside_and_its_records_carried_over() {
    let project = Project::new("damaged");
    project.write("ex01_sleep.rs", PASSING_EX01);
    let folder = project.dir.join("data/shm-workbook");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("exercises.toml"),
        "[exercises.ex05]\nsolved = true\nnot toml at all\n[exercises.ex06]\nsolved = true\n",
    )
    .unwrap();
    let output = project.workbook(&["check", "ex01", "--runs", "2"]).output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(shown.contains("could not be read in full") && shown.contains("damaged-"), "{shown}");
    let progress = project.progress();
    for kept in ["[exercises.ex01]", "[exercises.ex06]"] {
        assert!(progress.contains(kept), "{kept}: {progress}");
    }
    let aside = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("damaged"));
    assert!(aside, "the damaged file is kept beside it");
}

#[test]
fn a_progress_folder_that_cannot_be_written_fails_the_command() {
    let project = Project::new("unwritable");
    project.write("ex01_sleep.rs", PASSING_EX01);
    std::fs::write(project.dir.join("data"), "a file where the folder should be").unwrap();
    let output = project.workbook(&["check", "ex01", "--runs", "1"]).output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(3), "{shown}");
    assert!(shown.contains("progress not saved") && shown.contains("XDG_DATA_HOME"), "{shown}");
}

#[test]
fn reset_puts_the_pristine_copy_back_and_keeps_a_backup() {
    let project = Project::new("reset");
    project.write("pristine/ex03_last_one_out.rs", "// as given\n");
    project.write("ex03_last_one_out.rs", "// my attempt\n");
    let output = project.workbook(&["reset", "ex03"]).output().unwrap();
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert_eq!(
        std::fs::read_to_string(project.dir.join("ex03_last_one_out.rs")).unwrap(),
        "// as given\n"
    );
    let backups = project.dir.join("data/shm-workbook/exercise-backups");
    let kept: Vec<_> = std::fs::read_dir(&backups).unwrap().flatten().collect();
    assert_eq!(kept.len(), 1, "{shown}");
    assert_eq!(std::fs::read_to_string(kept[0].path()).unwrap(), "// my attempt\n");
    assert!(shown.contains("your version is kept as"), "{shown}");
    let again = text(&project.workbook(&["reset", "ex03"]).output().unwrap());
    assert!(again.contains("already as it was given"), "{again}");
}

#[test]
fn the_watch_mode_checks_the_next_exercise_moves_on_when_it_passes_and_quits_on_q() {
    let project = Project::new("watch");
    project.write("ex01_sleep.rs", PASSING_EX01);
    project.write("pristine/ex01_sleep.rs", "//! # Exercise 01\n//!\n//! Goal: print the line.\n");
    let mut watch = project
        .workbook(&["--runs", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    watch.stdin.take().unwrap().write_all(b"h\nq\n").unwrap();
    let output = watch.wait_with_output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(shown.contains("Exercise ex01") && shown.contains("Goal: print the line."), "{shown}");
    assert!(shown.contains("✓ ex01 passed"), "{shown}");
    assert!(shown.contains("next: ex02") && shown.contains("Exercise ex02"), "{shown}");
    assert!(shown.contains("Save ") && shown.contains("to check again"), "{shown}");
    assert!(project.progress().contains("[exercises.ex01]"));
}

#[test]
fn wrong_command_lines_get_the_usage_and_status_2() {
    for args in [
        &["check"][..],
        &["check", "ex99"],
        &["frobnicate"],
        &["check", "ex01", "--runs", "many"],
        &["check", "ex01", "--runs", "0"],
        &["check", "ex01", "--solution=yes"],
        &["list", "ex01"],
        &["check", "ex01", "--fast"],
        &["check", "--all", "ex01"],
        &["check", "--all", "--program", "/bin/true"],
        &["check", "--all", "--json"],
        &["check", "--all", "--json="],
        &["check", "--all=yes"],
        &["list", "--json", "results.json"],
        &["--all"],
    ] {
        let output = workbook().args(args).output().unwrap();
        let shown = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {shown}");
        assert!(shown.contains("Usage: cargo run --bin workbook"), "{args:?}: {shown}");
    }
    use std::os::unix::ffi::OsStringExt;
    let output = workbook().arg(std::ffi::OsString::from_vec(vec![0xff])).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("not valid UTF-8"));
    let help = workbook().arg("--help").output().unwrap();
    assert!(help.status.success() && text(&help).contains("--seed N"));
}

#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    // The reading end is closed before the checker writes a byte, so its first write fails
    // with EPIPE (what `workbook list | head -1` meets once head has exited).
    for args in [&["list"][..], &["hint", "ex01"], &["--help"]] {
        let (reader, writer) = nix::unistd::pipe().unwrap();
        drop(reader);
        let project = Project::new("closed-pipe");
        let output = project
            .workbook(args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "workbook {args:?}: {stderr}");
        assert!(stderr.is_empty(), "workbook {args:?} printed on stderr: {stderr}");
    }
}

/// The results file of `check --all --json FILE`, parsed.
fn results(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

/// The entry of `name` in a results file.
fn entry<'a>(results: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let entries = results["exercises"].as_array().expect("an array of exercises");
    entries.iter().find(|e| e["id"] == name).unwrap_or_else(|| panic!("no entry {name}"))
}

/// The names of the files in `dir`.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn check_all_on_a_tree_as_given_writes_every_exercise_as_not_started() {
    let project = Project::new("all-given");
    project.as_given();
    let file = project.dir.join("results.json");
    let output = project.workbook(&["check", "--all", "--json"]).arg(&file).output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "not every exercise passed: {shown}");
    assert!(!shown.contains("building"), "nothing is built: {shown}");
    let results = results(&file);
    assert_eq!(results["schema"], 1);
    assert_eq!(results["workbook"], env!("CARGO_PKG_VERSION"));
    let ids: Vec<&str> = results["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let catalogue: Vec<&str> =
        shm_workbook_exercises::catalogue::EXERCISES.iter().map(|e| e.name).collect();
    assert_eq!(ids, catalogue, "one entry per exercise, in the catalogue's order");
    for exercise in shm_workbook_exercises::catalogue::EXERCISES {
        let entry = entry(&results, exercise.name);
        assert_eq!(entry["status"], "not-started", "{entry}");
        assert_eq!(entry["title"], exercise.title);
        assert_eq!((&entry["runs"], &entry["replay"]), (&0.into(), &serde_json::Value::Null));
    }
    assert_eq!(results["summary"]["not-started"], catalogue.len());
    assert!(project.progress().is_empty(), "nothing checked, nothing recorded");
    assert!(shown.contains(&format!("0 of {} passed", catalogue.len())), "{shown}");
}

#[test]
fn check_all_gives_each_exercise_the_status_and_sentence_its_check_gives() {
    let project = Project::new("all-mixed");
    project.as_given();
    project.write("ex01_sleep.rs", PASSING_EX01); // solved
    project.write("ex02_fixed_key.rs", "fn main() {\n    println!(\"started\");\n}\n"); // tried
    project.write("ex03_last_one_out.rs", "fn main() {\n    let x = ;\n}\n"); // broken
    let file = project.dir.join("results.json");
    std::fs::write(&file, "an older results file").unwrap();
    let args = ["check", "--all", "--runs", "2", "--seed", "7", "--json"];
    let output = project.workbook(&args).arg(&file).output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    let results = results(&file);
    assert_eq!((&results["runs"], &results["seed"]), (&2.into(), &"7".into()));

    let solved = entry(&results, "ex01");
    assert_eq!(solved["status"], "pass", "{solved}");
    assert_eq!((&solved["runs"], &solved["failed_run"]), (&2.into(), &serde_json::Value::Null));
    // A pass has no failing run to replay.
    assert_eq!((&solved["seed"], &solved["replay"]), (&"7".into(), &serde_json::Value::Null));
    assert_eq!(solved["repeat"], "cargo run --bin workbook -- check ex01 --seed 7 --runs 2");
    let printed = format!("✓ {}", solved["verdict"].as_str().unwrap());
    assert!(shown.contains(&printed), "the sentence printed: {printed}\n{shown}");

    // The verdict paragraph printed, its lines joined; and the failure `check ex02` gives alone.
    let from = shown.find("✗ ex02").expect("a verdict for ex02");
    let to = shown[from..].find("building ex03").expect("then ex03") + from;
    let verdict = shown[from..to].lines().collect::<Vec<_>>().join(" ");
    let tried = entry(&results, "ex02");
    assert_eq!(tried["status"], "fail", "{tried}");
    assert_eq!(format!("✗ {}", tried["verdict"].as_str().unwrap()), verdict);
    let kind = tried["kind"].as_str().unwrap();
    // Two runs with jitter and two controlled schedules.
    assert!(verdict.contains(&format!("of 4: {kind}. ")), "{kind}: {verdict}");
    let alone =
        project.workbook(&["check", "ex02", "--runs", "2", "--seed", "7"]).output().unwrap();
    assert!(text(&alone).contains(&format!("of 4: {kind}. ")), "{}", text(&alone));
    let token = tried["replay"].as_str().expect("a failure has its run's token");
    assert!(token.starts_with("ex02:") && verdict.contains(&format!("--replay {token}")));
    assert!(verdict.contains(&format!("Hint: {}", tried["hint"].as_str().unwrap())), "{verdict}");
    assert_eq!((&tried["failed_run"], &tried["runs"]), (&1.into(), &1.into()));
    assert!(tried["output"].as_str().is_some_and(|o| o.contains("started")), "{tried}");

    let broken = entry(&results, "ex03");
    assert_eq!((&broken["status"], &broken["kind"]), (&"fail".into(), &"does not compile".into()));
    assert!(broken["output"].as_str().unwrap().contains("expected expression"), "{broken}");
    assert_eq!(broken["replay"], serde_json::Value::Null, "nothing ran");

    for untouched in &shm_workbook_exercises::catalogue::EXERCISES[3..] {
        assert_eq!(entry(&results, untouched.name)["status"], "not-started");
    }
    let all = shm_workbook_exercises::catalogue::EXERCISES.len();
    let summary = &results["summary"];
    assert_eq!((&summary["pass"], &summary["fail"]), (&1.into(), &2.into()));
    assert_eq!(summary["not-started"], all - 3);
    let progress = project.progress();
    assert!(progress.contains("[exercises.ex01]") && progress.contains("[exercises.ex02]"));
    assert!(!progress.contains("[exercises.ex04]"), "an exercise not checked is not recorded");
    let left: Vec<String> =
        files_in(&project.dir).into_iter().filter(|f| f.contains("tmp")).collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
}

#[test]
fn check_with_json_and_every_exercise_passed_gives_status_0() {
    let project = Project::new("one-json");
    project.write("ex01_sleep.rs", PASSING_EX01);
    let file = project.dir.join("one.json");
    let args = ["check", "ex01", "--runs", "2", "--json"];
    let output = project.workbook(&args).arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let results = results(&file);
    let entries = results["exercises"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((&entries[0]["id"], &entries[0]["status"]), (&"ex01".into(), &"pass".into()));
}

#[test]
fn every_solution_checked_gives_status_0_and_the_results_alone_on_stdout() {
    let _ = common::program("ex01-solution"); // the reference package, built once
    let mark = common::new_mark();
    let output = workbook()
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
        // One run each and no controlled schedule: what is checked here is the status and the
        // streams; each solution's full check is its own test (checker::exNN).
        .args(["check", "--all", "--solution", "--runs", "1", "--schedules", "0", "--seed", "3"])
        .args(["--json", "-"])
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let results: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!("stdout holds the results and nothing else ({err}): {stdout}")
    });
    assert_eq!(results["checked"], "solutions");
    for exercise in shm_workbook_exercises::catalogue::EXERCISES {
        let entry = entry(&results, exercise.name);
        assert_eq!(entry["status"], "pass", "{entry}");
        assert_eq!(entry["replay"], serde_json::Value::Null);
        let passed = format!("✓ {} passed: 1 run with jitter (seed 3) in ", exercise.name);
        assert!(stderr.contains(&passed), "{stderr}");
    }
    let all = shm_workbook_exercises::catalogue::EXERCISES.len();
    assert!(stderr.contains(&format!("{all} of {all} passed; the results are in the standard")));
}

/// A page of the book.
fn book_page(page: &str) -> (std::path::PathBuf, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src").join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{page}: {err}"));
    (path, text)
}

/// The fenced block after `marker` in `text`: the marker line's rest, and the block's byte
/// range (its body, between the fences).
fn block_after(text: &str, marker: &str) -> (String, std::ops::Range<usize>) {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker} in the page"));
    let line_end = at + text[at..].find('\n').unwrap();
    let rest = text[at + marker.len()..line_end].trim().trim_end_matches("-->").trim().to_owned();
    let open = line_end + 1 + text[line_end + 1..].find('\n').unwrap() + 1;
    let close = open + text[open..].find("```").unwrap();
    (rest, open..close)
}

/// A results file with what differs from run to run masked: its times, and the numbers in
/// its sentences (pids, durations).
fn masked(mut results: shm_workbook::json::Json) -> shm_workbook::json::Json {
    use shm_workbook::json::Json;
    fn digits(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            if !c.is_ascii_digit() {
                out.push(c);
            } else if !out.ends_with('#') {
                out.push('#');
            }
        }
        out
    }
    let Json::Object(fields) = &mut results else { panic!("an object: {results:?}") };
    for (key, value) in fields.iter_mut() {
        match (key.as_str(), value) {
            ("started" | "finished", value) => *value = Json::from("TIME"),
            ("exercises", Json::Array(entries)) => {
                for entry in entries {
                    let Json::Object(fields) = entry else { panic!("an object: {entry:?}") };
                    for (key, value) in fields {
                        if let ("verdict" | "output", Json::String(text)) = (key.as_str(), &value) {
                            *value = Json::from(digits(text));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    results
}

/// The stand-in clone of the book's sample: ex01 prints the line its check expects, ex02 only
/// `started`, the rest as given.
fn sample_clone(name: &str) -> Project {
    let project = Project::named_exercises(name);
    project.as_given();
    project.write("ex01_sleep.rs", PASSING_EX01);
    project.write("ex02_fixed_key.rs", "fn main() {\n    println!(\"started\");\n}\n");
    project
}

#[test]
fn the_books_sample_results_file_is_a_real_runs() {
    use shm_workbook::json::{Json, parse};
    let (path, page) = book_page("grading.md");
    let (command, body) = block_after(&page, "<!-- results:");
    let project = sample_clone("sample");
    let clone = project.dir.parent().unwrap();
    let args: Vec<&str> = command.split_whitespace().collect();
    let output = project.workbook(&args).current_dir(clone).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let real = parse(&std::fs::read_to_string(clone.join("results.json")).unwrap()).unwrap();
    // The block shows the first three entries.
    let mut shown = real.clone();
    if let Json::Object(fields) = &mut shown {
        for (key, value) in fields {
            if let ("exercises", Json::Array(entries)) = (key.as_str(), value) {
                entries.truncate(3);
            }
        }
    }
    let statuses: Vec<&str> =
        shown.get("exercises").items().iter().map(|e| e.get("status").text()).collect();
    assert_eq!(statuses, ["pass", "fail", "not-started"], "{}", shown.render());
    if std::env::var("SHM_WORKBOOK_REGENERATE").is_ok_and(|v| v == "1" || v.contains("grading")) {
        let page = format!("{}{}\n{}", &page[..body.start], shown.render(), &page[body.end..]);
        std::fs::write(&path, page).unwrap();
        return;
    }
    let documented = parse(&page[body.clone()])
        .unwrap_or_else(|err| panic!("grading.md's sample is not JSON ({err})"));
    assert_eq!(
        masked(documented).render(),
        masked(shown).render(),
        "book/src/grading.md's sample no longer matches a real run. Regenerate with: \
         SHM_WORKBOOK_REGENERATE=grading cargo test -p shm-workbook-exercises --test workbook cli::"
    );
}

#[test]
fn the_instructor_guides_workflow_and_the_reading_commands_work_on_a_clone() {
    let (_, guide) = book_page("instructor-guide.md");
    let (_, range) = block_after(&guide, "<!-- ci workflow -->");
    let runs: Vec<&str> =
        guide[range].lines().filter_map(|line| line.trim().strip_prefix("run: ")).collect();
    let project = sample_clone("workflow");
    let clone = project.dir.parent().unwrap();
    let summary = clone.join("step-summary.md");
    let [check, rest @ ..] = runs.as_slice() else { panic!("no step runs a command") };
    let args = check
        .strip_prefix("cargo run --bin workbook -- ")
        .unwrap_or_else(|| panic!("the first step runs the checker: {check}"));
    let args: Vec<&str> = args.split_whitespace().collect();
    let output = project.workbook(&args).current_dir(clone).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "the step fails: not all pass: {}", text(&output));
    assert!(clone.join("results.json").is_file(), "{}", text(&output));
    if std::process::Command::new("jq").arg("--version").output().is_err() {
        eprintln!(
            "jq is not installed: the workflow's other steps and the reading commands \
                   are not tried"
        );
        return;
    }
    let (_, grading) = book_page("grading.md");
    let reading = grading.split("## Reading the results").nth(1).expect("a section");
    let (_, range) = block_after(reading, "```sh");
    let mut commands: Vec<String> = rest.iter().map(|r| r.to_string()).collect();
    commands.extend(reading[range].lines().map(str::to_owned));
    let (_, range) = block_after(&guide[guide.find("To read the results").unwrap()..], "```sh");
    let from = guide.find("To read the results").unwrap();
    commands.extend(guide[from..][range].lines().map(str::to_owned));
    for command in commands.iter().filter(|c| !c.trim().is_empty()) {
        let output = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(clone)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        assert!(output.status.success(), "{command}: {}", text(&output));
        let printed = String::from_utf8_lossy(&output.stdout);
        let quiet = command.contains(">>");
        assert!(
            quiet || printed.contains("ex0") || printed.contains("pass"),
            "{command}: {printed}"
        );
    }
    let summary = std::fs::read_to_string(&summary).expect("the summary step wrote");
    assert!(summary.contains("- ex01 pass") && summary.contains("- ex02 fail wrong"), "{summary}");
}
