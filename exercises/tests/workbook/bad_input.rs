//! Programs that misbehave: each is stopped, its processes killed and its objects removed, and
//! the verdict says what happened. And the checker, interrupted itself, leaves nothing behind.

use crate::common;

use std::time::{Duration, Instant};

use common::{Checked, program, workbook};

/// Checks the misbehaving fixture, in `mode`, as exercise 01.
fn misbehave(mode: &str) -> Checked {
    let fixture = program("workbook-misbehave");
    let mark = common::new_mark();
    let output = workbook()
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
        .args(["check", "ex01", "--runs", "3", "--seed", "1", "--timeout", "10", "--program"])
        .arg(&fixture)
        .env("SHM_WORKBOOK_MISBEHAVE", mode)
        .output()
        .expect("the checker runs");
    Checked {
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        code: output.status.code(),
        program: fixture,
        mark,
    }
}

fn assert_fails(checked: &Checked, kind: &str, evidence: &[&str]) {
    assert_eq!(checked.kind().as_deref(), Some(kind), "{}", checked.output);
    let verdict = checked.verdict();
    for shown in evidence {
        assert!(verdict.contains(shown), "the verdict shows {shown:?}: {verdict}");
    }
    checked.assert_nothing_left();
}

/// The ids in a `/proc/sysvipc` table.
fn ids(table: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/sysvipc/{table}"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

/// Whether a process of the check marked `mark` is blocked in `semop`.
fn blocked_in_semop(mark: &str) -> bool {
    let mark = format!("SHM_WORKBOOK_TEST_MARK={mark}\0");
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        let dir = entry.path();
        std::fs::read(dir.join("environ"))
            .is_ok_and(|env| String::from_utf8_lossy(&env).contains(&mark))
            && std::fs::read_to_string(dir.join("syscall")).is_ok_and(|call| {
                let nr = call.split_whitespace().next().and_then(|n| n.parse::<i64>().ok());
                nr == Some(libc::SYS_semop) || nr == Some(libc::SYS_semtimedop)
            })
    })
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let checked = misbehave("panic");
    assert_fails(&checked, "panicked", &["misbehaving on purpose", "misbehave.rs"]);
}

#[test]
fn an_error_exit_is_reported_with_its_message() {
    let checked = misbehave("exit");
    assert_fails(&checked, "error", &["status 3", "shmat(7, NULL, 0) failed: EINVAL"]);
}

#[test]
fn a_busy_loop_is_stopped_and_reported_as_a_hang() {
    let checked = misbehave("loop");
    assert_fails(&checked, "hang (spinning)", &["is running, outside any system call"]);
    // Stopped when nothing had happened for a while, not at the run's 10 s timeout: the
    // verdict says when (the test does not time itself).
    let verdict = checked.verdict().replace('\n', " ");
    let after: f64 = verdict
        .split("After ")
        .nth(1)
        .and_then(|rest| rest.split(" s,").next())
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| panic!("the verdict says when it stopped the run: {verdict}"));
    assert!(after < 10.0, "stopped before the timeout: {verdict}");
    assert!(verdict.contains("nothing had happened for"), "{verdict}");
}

#[test]
fn a_fork_without_end_is_stopped_and_every_process_killed() {
    let checked = misbehave("fork-bomb");
    assert_fails(&checked, "forks without end", &["the checker killed them all"]);
}

#[test]
fn output_without_end_is_stopped() {
    let checked = misbehave("flood");
    assert_fails(&checked, "prints without end", &["again and again"]);
}

#[test]
fn objects_made_around_the_library_are_found_by_who_used_them_and_removed() {
    // Raw libc::semget and libc::msgget: no call in the trace, no creator's pid in their
    // tables; the kernel's last pid for each (GETPID, lspid) is a process of the run.
    let checked = misbehave("raw-leak");
    assert_fails(&checked, "leaked semaphore set", &["used it last", "(the checker removed it)"]);
    let verdict = checked.verdict();
    for noun in ["semaphore set ", "message queue "] {
        let at = verdict.find(noun).unwrap_or_else(|| panic!("{noun} named: {verdict}"));
        let id = verdict[at + noun.len()..].split_whitespace().next().unwrap();
        let table = if noun.starts_with("sem") { "sem" } else { "msg" };
        assert!(!ids(table).contains(&id.to_owned()), "{noun}{id} is gone");
    }
}

#[test]
fn leaked_objects_are_named_with_their_calls_and_removed() {
    let checked = misbehave("leak");
    assert_fails(
        &checked,
        "leaked segment",
        &[
            "shmget(IPC_PRIVATE, 4096,",
            "semget(IPC_PRIVATE, 2,",
            "shm_open(\"/shm-workbook-",
            "(the checker removed it)",
        ],
    );
    let verdict = checked.verdict();
    let named = |noun: &str| -> String {
        let at = verdict.find(noun).expect("named") + noun.len();
        verdict[at..].split_whitespace().next().unwrap().trim_end_matches(',').to_owned()
    };
    assert!(!ids("shm").contains(&named("segment ")), "the segment is gone");
    assert!(!ids("sem").contains(&named("semaphore set ")), "the set is gone");
    let object = named("POSIX object ");
    assert!(!std::path::Path::new(&format!("/dev/shm{object}")).exists(), "{object} is gone");
}

#[test]
fn a_process_left_running_is_reported_and_killed() {
    let checked = misbehave("orphan");
    assert_fails(&checked, "process left running", &["the checker killed it"]);
}

#[test]
fn a_child_never_waited_for_is_reported() {
    let checked = misbehave("zombie");
    assert_fails(&checked, "zombie", &["its parent never waited for it"]);
}

#[test]
fn the_checker_interrupted_stops_the_run_and_removes_what_it_left() {
    let pristine = program("ex08-pristine");
    let mark = common::new_mark();
    let checker = workbook()
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
        .args(["check", "ex08", "--runs", "3", "--seed", "1", "--program"])
        .arg(&pristine)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first run hangs (writer 1 dies holding LOCK); the checker would report it after two
    // quiet seconds. Interrupt it before that, as Ctrl-C would, once a writer waits in semop.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !blocked_in_semop(&mark) {
        assert!(Instant::now() < deadline, "no writer of the run ever waited in semop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(checker.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = checker.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted: the run in progress was stopped"), "{text}");
    // Stopped by a signal, the run's own cleanup handler may remove its set before the checker
    // looks; otherwise the checker removes it and names it. Either way it is gone.
    match text.split("semaphore set ").nth(1).and_then(|rest| rest.split_whitespace().next()) {
        Some(set) => assert!(!ids("sem").contains(&set.to_owned()), "set {set} is gone"),
        None => assert!(text.contains("it had left nothing"), "{text}"),
    }
    Checked { output: text, code: Some(130), program: pristine, mark }.assert_nothing_left();
}

#[test]
fn an_exercise_that_does_not_compile_shows_the_compilers_message() {
    let project = common::Project::new("broken");
    project.write("ex01_sleep.rs", "fn main() {\n    let message = ;\n}\n");
    let output = project.workbook(&["check", "ex01"]).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("error: expected expression"), "the compiler's own message: {text}");
    assert!(text.contains("ex01_sleep.rs:2"), "where: {text}");
    assert!(text.contains("ex01 does not compile"), "{text}");
    assert!(!text.contains("run 1 of"), "nothing runs: {text}");
}

/// An ex01 that passes the check (see cli.rs).
const PASSING_EX01: &str = include_str!("../../solutions/ex01_sleep.rs");

/// Every file under `dir`, with its contents, to compare before and after.
fn tree(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
        }
    }
    found.sort();
    found
}

#[test]
fn a_results_file_that_cannot_be_written_is_refused_before_any_check() {
    let project = common::Project::new("json-refused");
    project.write("ex01_sleep.rs", PASSING_EX01);
    project.write("a-file", "not a folder");
    std::fs::create_dir(project.dir.join("a-folder")).unwrap();
    let before = tree(&project.dir);
    let refusals = [
        ("missing/results.json", "the folder"),
        ("a-file/results.json", "is not a folder"),
        ("a-folder", "it is a folder"),
    ];
    for (path, why) in refusals {
        for command in [&["check", "--all"][..], &["check", "ex01"]] {
            let output = project
                .workbook(command)
                .arg("--json")
                .arg(project.dir.join(path))
                .output()
                .unwrap();
            let shown = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(output.status.code(), Some(2), "{path}: {shown}");
            assert!(shown.contains("workbook: cannot write the results to "), "{path}: {shown}");
            assert!(shown.contains(why) && shown.contains("nothing was checked"), "{shown}");
            assert!(!shown.contains("building") && !shown.contains("checking"), "{shown}");
            assert_eq!(tree(&project.dir), before, "{path}: nothing made, nothing left");
        }
    }
    // A folder nobody may write in, root included (/sys takes no new file).
    let output = project.workbook(&["check", "--all", "--json", "/sys/results.json"]).output();
    let output = output.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no file can be made in `/sys`"), "{stderr}");
    assert_eq!(tree(&project.dir), before);
}

#[test]
fn a_results_file_that_cannot_be_written_at_the_end_leaves_nothing_behind() {
    // ex01 makes a folder where the results file should go, after the checker tried its folder:
    // the rename at the end fails (EISDIR), and its temporary file is removed.
    let project = common::Project::new("json-late");
    let target = project.dir.join("out/results.json");
    std::fs::create_dir(project.dir.join("out")).unwrap();
    project.write(
        "ex01_sleep.rs",
        &format!(
            "fn main() {{\n    let _ = std::fs::create_dir_all({target:?});\n    {}\n}}\n",
            "println!(\"[child {}] Child read: Hello from parent!\", std::process::id());"
        ),
    );
    let output =
        project.workbook(&["check", "ex01", "--runs", "1", "--json"]).arg(&target).output();
    let output = output.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the results to") && stderr.contains("EISDIR"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(project.dir.join("out")).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "only the program's folder: {left:?}");
}

#[test]
fn an_interrupted_check_all_writes_no_results_and_keeps_the_old_file() {
    // ex01 prints a line and sleeps; the checker is interrupted while it runs.
    let project = common::Project::new("json-interrupted");
    project.write(
        "ex01_sleep.rs",
        "fn main() {\n    println!(\"started\");\n    \
         std::thread::sleep(std::time::Duration::from_secs(30));\n}\n",
    );
    let file = project.dir.join("results.json");
    std::fs::write(&file, "the last results").unwrap();
    let mark = common::new_mark();
    let checker = project
        .workbook(&["check", "--all", "--runs", "1", "--json"])
        .arg(&file)
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let running = |mark: &str| {
        let mark = format!("SHM_WORKBOOK_TEST_MARK={mark}\0");
        std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
            let dir = entry.path();
            std::fs::read_link(dir.join("exe")).is_ok_and(|exe| exe.ends_with("examples/ex01"))
                && std::fs::read(dir.join("environ"))
                    .is_ok_and(|env| String::from_utf8_lossy(&env).contains(&mark))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !running(&mark) {
        assert!(Instant::now() < deadline, "ex01 never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(checker.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = checker.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("No results were written."), "{stdout}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "the last results");
    let temporary = std::fs::read_dir(&project.dir)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"));
    assert!(!temporary, "no temporary file left");
    assert!(!running(&mark), "ex01 was stopped");
}
