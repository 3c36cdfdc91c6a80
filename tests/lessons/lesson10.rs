//! lesson10 as a student runs it: every case fails with the errno the man page promises (read
//! from the lesson's own summary table), as root and as an ordinary user; the C idiom beside
//! our error; nothing left behind, Ctrl-C included.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Run, interrupt_at_the_pause, interrupt_when, run};
use nix::sys::signal::Signal;

/// Every case the lesson must run, and how it must end, in the order of the table.
const EXPECTED: &[(&str, &str)] = &[
    ("shmget: key not in use, no IPC_CREAT", "ENOENT"),
    ("shmget: IPC_EXCL, key in use", "EEXIST"),
    ("shmget: size above SHMMAX", "EINVAL"),
    ("shmget: size above the existing segment's", "EINVAL"),
    ("shmget: asks 0600, the mode is 0400", "EACCES"),
    ("shmat: read-write, the mode is 0400", "EACCES"),
    ("shmat: the -1 of an unchecked shmget", "EINVAL"),
    ("shmat: the id of a removed segment", "EINVAL"),
    ("shm_open: name not in use, no O_CREAT", "ENOENT"),
    ("shm_open: O_EXCL, name in use", "EEXIST"),
    ("shm_open \"/a/b\": glibc", "EINVAL"),
    ("shm_open \"/a/b\": our check_name", "EINVAL"),
    ("shm_open without a leading slash: glibc", "success"),
    ("shm_open without a leading slash: our check_name", "EINVAL"),
    ("ftok: the file does not exist", "ENOENT"),
    ("ftok unchecked, as the seed calls it", "ENOENT"),
];

/// One row of the summary table.
#[derive(Debug)]
struct Row {
    number: usize,
    case: String,
    expected: String,
    got: String,
    mark: String,
}

/// The rows of the `| # | case | expected | got | |` table at the end of the run.
fn summary(stdout: &str) -> Vec<Row> {
    let table = stdout.split("== Summary ==").nth(1).expect("a summary");
    table
        .lines()
        .filter(|line| line.starts_with('|'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('|').map(str::trim).collect();
            let number = fields.get(1)?.parse().ok()?; // skips the header and the rule
            Some(Row {
                number,
                case: fields[2].to_owned(),
                expected: fields[3].to_owned(),
                got: fields[4].to_owned(),
                mark: fields[5].to_owned(),
            })
        })
        .collect()
}

/// Whether /proc/sys/kernel/shmmax leaves no size above it (then that case is skipped).
fn shmmax_is_the_largest_size() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/shmmax")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .is_some_and(|max| max == usize::MAX as u64)
}

/// Checks the table against [`EXPECTED`]: every case there, in order, with the expected
/// outcome, and ✓.
fn assert_every_case_as_expected(run: &Run) {
    let rows = summary(&run.stdout);
    assert_eq!(rows.len(), EXPECTED.len(), "one row per case:\n{}", run.stdout);
    for (index, (row, &(case, errno))) in rows.iter().zip(EXPECTED).enumerate() {
        assert_eq!(row.number, index + 1, "{row:?}");
        assert_eq!(row.case, case, "{row:?}");
        assert_eq!(row.expected, errno, "{row:?}");
        if row.got == "skipped" && case == "shmget: size above SHMMAX" {
            assert!(shmmax_is_the_largest_size(), "skipped although a size above shmmax exists");
            continue;
        }
        assert_eq!(row.got, errno, "case {} got {}:\n{}", row.number, row.got, run.stdout);
        assert_eq!(row.mark, "✓", "{row:?}");
    }
    // Each case also says it in its own lines.
    let checks = run.lines().filter(|line| line.contains("  check: expected ")).count();
    assert_eq!(checks, EXPECTED.len(), "{}", run.stdout);
    assert!(!run.stdout.contains(" ✗"), "{}", run.stdout);
    assert!(run.stdout.contains("every case ended with the errno the man page promises"));
}

#[test]
fn every_case_fails_with_the_expected_errno_and_nothing_is_left() {
    let run = run("lesson10", &["--fast"]);
    run.assert_success();
    assert_every_case_as_expected(&run);
    assert!(run.stderr.is_empty(), "nothing on stderr: {}", run.stderr);
    assert!(!run.stdout.contains('\x1b'), "NO_COLOR and a pipe mean no escape codes");
    run.assert_nothing_left();
    assert_scratch_dir_gone(&run);
}

#[test]
fn each_failure_shows_the_c_idiom_beside_our_error() {
    let run = run("lesson10", &["--fast"]);
    run.assert_success();
    let text = &run.stdout;
    for expected in [
        // The C side: the check, errno, and what perror prints.
        "C:    if (shmid == -1) perror(\"shmget\");   errno = ENOENT (2), so perror prints: shmget: No such file or directory",
        "errno = EEXIST (17), so perror prints: shmget: File exists",
        "errno = EACCES (13), so perror prints: shmget: Permission denied",
        "C:    if (addr == (void *) -1) perror(\"shmat\");   errno = EINVAL (22), so perror prints: shmat: Invalid argument",
        "C:    if (fd == -1) perror(\"shm_open\");   errno = ENOENT (2), so perror prints: shm_open: No such file or directory",
        "C:    if (key == -1) perror(\"ftok\");   errno = ENOENT (2), so perror prints: ftok: No such file or directory",
        // The unchecked ftok never calls perror.
        "not checked: the program goes on with key = -1;   errno = ENOENT (2), and perror would have printed: ftok: No such file or directory",
        // No call at all: our check refuses the name first.
        "C:    no call is made: the check refuses first",
        // Our side: the Rust expression as written, and the Error's Display.
        "Rust: Segment::open(key, SIZE) returns Err, whose Display is:",
        "failed: ENOENT (No such file or directory)",
        "what it means: no segment has this key, and IPC_CREAT was not given",
        "what to do:    start the program that creates the segment first, or pass IPC_CREAT",
        "what it means: a segment with this key exists, but its mode does not let you have the access you asked for",
        "what it means: a POSIX shared memory name must start with '/'",
        "what it means: the file does not exist (ftok needs an existing file",
        // What the unchecked ftok leaves: -1 as a key.
        "gets the -1 as its key: 0xffffffff",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // The line after each case's heading is the call it made, exactly as the trace has it.
    let lines: Vec<&str> = run.lines().collect();
    let mut shown = 0;
    for (at, line) in lines.iter().enumerate() {
        // The speaker's next line: another process's line may come between the two.
        let speaker = line.split(']').next().unwrap_or_default();
        let Some(next) = lines[at + 1..].iter().find(|l| l.starts_with(speaker)) else {
            continue;
        };
        if line.contains("] case ") && !next.contains("no call is made") {
            let printed = next
                .split("]   ")
                .nth(1)
                .unwrap_or_else(|| panic!("no call after {line:?}: {next:?} in:\n{text}"));
            assert!(
                run.calls.iter().any(|call| call.text == printed),
                "not in the trace: {printed}"
            );
            shown += 1;
        }
    }
    assert_eq!(shown, EXPECTED.len() - 2, "every case but the two name checks makes a call");
}

/// A test of a call's arguments.
type Args<'a> = &'a dyn Fn(&[String]) -> bool;

/// The trace holds each call the lesson teaches, made with the arguments the case is about and
/// failing with the errno of the case.
#[test]
fn the_trace_has_each_failing_call_with_its_real_arguments() {
    let run = run("lesson10", &["--fast"]);
    run.assert_success();
    let failed = |name: &str, errno: &str, args: &dyn Fn(&[String]) -> bool| {
        run.calls_named(name).any(|call| call.errno.as_deref() == Some(errno) && args(&call.args))
    };
    let key = run.calls_named("ftok").next().unwrap().result.clone().unwrap();
    let size_above_shmmax = |args: &[String]| args[1].parse::<u128>().unwrap() > 1 << 63;
    let checks: [(&str, &str, Args); 10] = [
        ("shmget", "ENOENT", &|a| a == [key.as_str(), "4096", "0"]),
        ("shmget", "EEXIST", &|a| a == [key.as_str(), "4096", "IPC_CREAT|IPC_EXCL|0600"]),
        ("shmget", "EINVAL", &|a| a[0] == "IPC_PRIVATE" && size_above_shmmax(a)),
        ("shmget", "EINVAL", &|a| a == [key.as_str(), "8192", "0"]),
        ("shmget", "EACCES", &|a| a == [key.as_str(), "0", "IPC_CREAT|0600"]),
        ("shmat", "EACCES", &|a| a[1..] == ["NULL", "0"]),
        ("shmat", "EINVAL", &|a| a == ["-1", "NULL", "0"]),
        ("shm_open", "ENOENT", &|a| a[0].ends_with("-never-created\"") && a[1] == "O_RDWR"),
        ("shm_open", "EEXIST", &|a| a[1].contains("O_CREAT") && a[1].contains("O_EXCL")),
        ("shm_open", "EINVAL", &|a| a[0].ends_with("/inner\"")),
    ];
    for (name, errno, args) in checks {
        assert!(
            failed(name, errno, args),
            "no {name} failing with {errno} as taught:\n{:#?}",
            run.calls
        );
    }
    assert_eq!(run.calls_named("ftok").filter(|c| c.errno.as_deref() == Some("ENOENT")).count(), 2);
    if nix::unistd::geteuid().is_root() {
        assert!(
            run.calls_named("shmget")
                .any(|c| c.role == "nobody" && c.errno.as_deref() == Some("EACCES"))
        );
    }
    // The segment whose mode went to 0400: IPC_SET, as made.
    assert!(
        run.calls_named("shmctl").any(|c| c.args[1] == "IPC_SET" && c.args[2].contains("0400"))
    );
}

#[test]
fn glibc_opens_a_name_without_its_slash_and_it_is_the_same_object() {
    let run = run("lesson10", &["--fast"]);
    run.assert_success();
    let line = run
        .lines()
        .find(|line| line.contains("its inode is "))
        .unwrap_or_else(|| panic!("no inode comparison:\n{}", run.stdout));
    let theirs = common::number_after(line, "its inode is ");
    let ours = common::number_after(line, "'s is ");
    assert_eq!(theirs, ours, "{line}");
    let bare = run
        .calls_named("shm_open")
        .find(|call| !call.args[0].starts_with("\"/"))
        .unwrap_or_else(|| panic!("no shm_open of a name without its slash: {:#?}", run.calls));
    assert!(bare.result.as_deref().is_some_and(|fd| fd.parse::<i32>().is_ok()), "{bare:?}");
}

#[test]
fn the_permission_cases_fit_who_runs_them() {
    let run = run("lesson10", &["--fast"]);
    run.assert_success();
    let nobody_lines: Vec<&str> = run.lines().filter(|line| line.starts_with("[nobody ")).collect();
    if nix::unistd::geteuid().is_root() {
        assert!(
            run.stdout.contains("as root: no EACCES, root's CAP_IPC_OWNER skips the mode check"),
            "{}",
            run.stdout
        );
        assert!(
            nobody_lines.iter().any(|line| line.contains("gave up root for good: now uid ")),
            "a child drops root:\n{}",
            run.stdout
        );
        let in_child = nobody_lines
            .iter()
            .filter(|line| line.contains("check: expected EACCES, got EACCES ✓"));
        assert_eq!(in_child.count(), 2, "both EACCES cases run as nobody:\n{}", run.stdout);
    } else {
        assert!(nobody_lines.is_empty(), "an ordinary user needs no child:\n{}", run.stdout);
        assert!(run.stdout.contains("its mode binds its owner too"), "{}", run.stdout);
    }
}

/// A copy of the lesson binary that any user may run, in a directory removed on drop.
struct PublicCopy(PathBuf);

impl PublicCopy {
    fn new() -> PublicCopy {
        let dir =
            std::env::temp_dir().join(format!("shm-workbook-lesson10-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let binary = dir.join("lesson10");
        std::fs::copy(env!("CARGO_BIN_EXE_lesson10"), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        PublicCopy(dir)
    }
}

impl Drop for PublicCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn an_unprivileged_user_gets_the_same_errnos() {
    if !nix::unistd::geteuid().is_root() {
        // Already unprivileged: the other tests ran as an ordinary user.
        return;
    }
    let copy = PublicCopy::new();
    let mut command = Command::new(copy.0.join("lesson10"));
    command
        .arg("--fast")
        .env("NO_COLOR", "1")
        .env("TMPDIR", "/tmp")
        .current_dir("/")
        .stdin(Stdio::null())
        .uid(65534)
        .gid(65534);
    let run = common::run_command(command);
    run.assert_success();
    assert_every_case_as_expected(&run);
    assert!(run.stdout.contains("its mode binds its owner too"), "{}", run.stdout);
    assert!(!run.stdout.contains("[nobody "), "no child needed:\n{}", run.stdout);
    run.assert_nothing_left();
    assert_scratch_dir_gone(&run);
}

/// The run's scratch directory (where the key file of its first ftok was) no longer exists.
fn assert_scratch_dir_gone(run: &Run) {
    let ftok = run.calls_named("ftok").next().expect("an ftok call");
    let path = ftok.args[0].trim_matches('"');
    let dir = std::path::Path::new(path).parent().unwrap();
    assert!(dir.starts_with(std::env::temp_dir()) || dir.starts_with("/tmp"), "{path}");
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn an_unknown_flag_prints_usage_and_exits_2() {
    let run = run("lesson10", &["--bogus"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("unknown flag `--bogus`"), "{}", run.stderr);
    assert!(run.stderr.contains("Usage: cargo run --bin lesson10"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing runs: {}", run.stdout);
}

#[test]
fn ctrl_c_at_the_pause_removes_the_segment_and_the_key_file_and_exits_130() {
    let run = interrupt_at_the_pause("lesson10", Signal::SIGINT);
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.contains("shows perms 400"), "the pause says what ipcs shows:\n{stdout}");
    // The segment, the key file and its directory.
    assert!(stderr.contains("[SIGINT] stopping: removed 3 object(s)"), "{stderr}");
    assert!(!stdout.contains("== Summary =="), "{stdout}");
    run.assert_nothing_left();
    assert_scratch_dir_gone(&run);
}

#[test]
fn ctrl_c_in_the_middle_of_a_run_leaves_nothing() {
    // Without --fast each case is followed by a pause, so the signal lands mid-run.
    for marker in ["case 3:", "case 10:"] {
        let run = interrupt_when("lesson10", &[], marker, Signal::SIGINT);
        let (code, stderr) = (run.code(), run.stderr.clone());
        assert_eq!(code, Some(130), "{marker}: {stderr}");
        assert!(stderr.contains("[SIGINT] stopping: removed "), "{stderr}");
        run.assert_nothing_left();
        assert_scratch_dir_gone(&run);
    }
}
