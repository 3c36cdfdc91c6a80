//! lesson02 as a student runs it: one key for both processes, the ftok error, a clean exit.

mod common;

use common::run;

#[test]
fn the_child_reads_the_message_through_the_same_key() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    assert!(
        run.lines()
            .any(|line| line.starts_with("[parent ") && line.ends_with("] Parent writes message"))
    );
    let reads: Vec<&str> = run
        .lines()
        .filter(|line| line.starts_with("[child ") && line.contains("Child reads:"))
        .collect();
    assert_eq!(reads.len(), 1, "{}", run.stdout);
    assert!(
        reads[0].ends_with("] Child reads: Hello from parent via shared memory"),
        "{}",
        reads[0]
    );
    assert!(!run.stdout.contains('\x1b'));
    run.assert_nothing_left();
}

/// The key printed after `= ` on the first line that contains `call`, by the given role.
fn key_after(stdout: &str, role: &str, call: &str) -> String {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(&format!("[{role}")) && line.contains(call))
        .unwrap_or_else(|| panic!("no {role} line with {call}:\n{stdout}"));
    line.split(" = ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
}

#[test]
fn the_same_file_and_id_give_the_same_key_in_both_processes_and_another_id_another_key() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    let parent_key = key_after(&run.stdout, "parent", ", 65) = ");
    let child_key = key_after(&run.stdout, "child", ", 65) = ");
    let other_key = key_after(&run.stdout, "parent", ", 66) = ");
    assert!(parent_key.starts_with("0x41"), "project id 65 is the top byte: {parent_key}");
    assert_eq!(parent_key, child_key);
    assert_ne!(parent_key, other_key);
    let packed_line = run.lines().find(|l| l.contains("packed by hand: ")).unwrap();
    assert!(
        packed_line.contains(&format!("packed by hand: {parent_key} ")),
        "the hand-packed key equals ftok's: {packed_line}"
    );
}

#[test]
fn a_missing_file_is_an_error_with_a_reason_not_key_minus_one() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    assert!(
        run.stdout.contains("/no-such-file\", 65) failed: ENOENT (No such file or directory)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("what to do:"));
    assert!(run.stdout.contains("0xffffffff"));
}

#[test]
fn the_private_directory_and_its_file_are_removed() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    let dir = run
        .lines()
        .find_map(|line| {
            line.split("= ").nth(1).filter(|rest| rest.contains("shm-workbook-lesson02-"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the lesson prints its directory")
        .to_owned();
    assert!(!std::path::Path::new(&dir).exists(), "{dir} was left behind");
}

#[test]
fn an_unusable_tmpdir_is_a_clear_error_not_a_panic() {
    let output = common::lesson("lesson02")
        .arg("--fast")
        .env("TMPDIR", "/nonexistent/shm-workbook")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "mkdtemp(\"/nonexistent/shm-workbook/shm-workbook-lesson02-XXXXXX\") failed: ENOENT"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("what to do:    set TMPDIR"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}
