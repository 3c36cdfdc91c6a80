//! lesson11 as a student runs it: two addresses for one segment, the maps line, the physical
//! frame (compared only when this user may see frame numbers), pages arriving on first touch,
//! two attachments in one process, and nothing left behind.

use crate::common;

use common::{interrupt_at_the_pause, interrupt_when, number_after, run};
use nix::sys::signal::Signal;

/// The text of the part whose heading starts with `part` ("Part 2"), up to the next heading.
fn part<'a>(stdout: &'a str, part: &str) -> &'a str {
    let start = stdout.find(&format!("== {part}")).unwrap_or_else(|| panic!("no {part}"));
    let rest = &stdout[start + 3..];
    &rest[..rest.find("\n== ").unwrap_or(rest.len())]
}

/// The hex number right after the first `label` in `text`.
fn hex_after(text: &str, label: &str) -> u64 {
    let rest = text.split(label).nth(1).unwrap_or_else(|| panic!("no {label:?} in:\n{text}"));
    let rest = rest.trim_start_matches("0x");
    let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    u64::from_str_radix(&digits, 16).unwrap_or_else(|_| panic!("no hex after {label:?}"))
}

/// The first line of `text` that starts with `[role ` and contains `what`.
fn line_of<'a>(text: &'a str, role: &str, what: &str) -> &'a str {
    let prefix = format!("[{role:<6} ");
    text.lines()
        .find(|line| line.starts_with(&prefix) && line.contains(what))
        .unwrap_or_else(|| panic!("no {role} line with {what:?} in:\n{text}"))
}

/// What the maps line after `label` says: (range, inode, path).
fn maps_fields<'a>(line: &'a str, label: &str) -> (&'a str, &'a str, &'a str) {
    let maps = line.split(label).nth(1).unwrap();
    let fields: Vec<&str> = maps.split_whitespace().collect();
    let path_at = maps.find(fields[5]).unwrap();
    (fields[0], fields[4], &maps[path_at..])
}

/// Whether this test process (and so the lesson it starts) may see physical frame numbers.
fn we_see_frame_numbers() -> bool {
    let page = std::hint::black_box(Box::new([1u8; 64]));
    shm_workbook::procfs::pagemap(page.as_ptr() as usize).unwrap().shows_pfn()
}

#[test]
fn one_segment_two_addresses_and_each_sees_the_others_writes() {
    let run = run("lesson11", &["--fast"]);
    run.assert_success();
    assert!(run.stderr.is_empty(), "nothing on stderr: {}", run.stderr);
    let part1 = part(&run.stdout, "Part 1");

    let parent_at = hex_after(line_of(part1, "parent", "shmat("), "= ");
    let first_child_at = hex_after(line_of(part1, "child", "shmat("), "= ");
    // Right after fork() the layouts are copies: the child's first attach lands where the
    // parent's did, and the lesson says so (or says that it did not).
    if first_child_at == parent_at {
        assert!(part1.contains("the parent's address too"), "{part1}");
    } else {
        assert!(part1.contains("not the parent's address"), "{part1}");
    }
    let child_at = hex_after(line_of(part1, "child", "the same segment, at another"), "= ");
    assert_ne!(child_at, parent_at, "the child ends up at another address:\n{part1}");

    let summary = line_of(part1, "parent", "the segment is at");
    assert_eq!(hex_after(summary, "is at "), parent_at);
    assert_eq!(hex_after(summary, "and at "), child_at);
    assert!(summary.ends_with("different addresses, one memory"), "{summary}");

    // Each reads what the other wrote, with the writer's own address in it.
    let greeting = format!("hello from the parent, written at {parent_at:#x}");
    let reply = format!("hello from the child, written at {child_at:#x}");
    assert!(line_of(part1, "child", "read: ").contains(&greeting), "{part1}");
    assert!(line_of(part1, "parent", "read: ").contains(&reply), "{part1}");
    run.assert_nothing_left();
}

#[test]
fn the_maps_lines_name_the_segment_by_shmid_and_key() {
    let run = run("lesson11", &["--fast"]);
    run.assert_success();
    let shmid = run.calls_named("shmget").next().unwrap().result.clone().unwrap();
    let key = hex_after(line_of(&run.stdout, "parent", "ftok("), "= ");
    let part2 = part(&run.stdout, "Part 2");

    let parent_line = line_of(part2, "parent", "my line: ");
    let child_line = line_of(part2, "child", "my line: ");
    let (parent_range, parent_inode, parent_path) = maps_fields(parent_line, "my line: ");
    let (child_range, child_inode, child_path) = maps_fields(child_line, "my line: ");
    assert!(parent_line.contains(" rw-s 00000000 "), "shared, read-write, offset 0: {parent_line}");
    assert_eq!(parent_inode, shmid, "the inode is the shmid: {parent_line}");
    assert_eq!(parent_path, format!("/SYSV{key:08x} (deleted)"), "{parent_line}");
    assert_eq!((child_inode, child_path), (parent_inode, parent_path), "one object");
    assert_ne!(child_range, parent_range, "two ranges");
    let (start, end) = parent_range.split_once('-').unwrap();
    let length = u64::from_str_radix(end, 16).unwrap() - u64::from_str_radix(start, 16).unwrap();
    assert_eq!(length, 16384, "the whole segment: {parent_line}");

    // The POSIX object: its file in /dev/shm, then the same line marked (deleted).
    let before = line_of(part2, "parent", "its line: ");
    let after = line_of(part2, "parent", "its line now: ");
    let (_, _, path) = maps_fields(before, "its line: ");
    assert!(path.starts_with("/dev/shm/shm-workbook-") && !path.contains("deleted"), "{before}");
    assert_eq!(maps_fields(after, "its line now: ").2, format!("{path} (deleted)"));
    run.assert_nothing_left();
}

#[test]
fn pagemap_shows_one_frame_when_frame_numbers_are_visible_and_zero_otherwise() {
    let run = run("lesson11", &["--fast"]);
    run.assert_success();
    let part3 = part(&run.stdout, "Part 3");
    let parent = line_of(part3, "parent", "pagemap entry of ");
    let child = line_of(part3, "child", "pagemap entry of ");
    for entry in [parent, child] {
        assert!(entry.contains("): present, shared memory, mapped more than once, "), "{entry}");
    }
    if part3.contains("PFNs are visible: ") {
        assert!(we_see_frame_numbers(), "the lesson saw frames this user cannot:\n{part3}");
        let verdict = line_of(part3, "parent", "PFNs are visible: ");
        let (in_parent, in_child) = (hex_after(parent, "PFN "), hex_after(child, "PFN "));
        assert!(in_parent != 0 && in_parent == in_child, "{part3}");
        assert_eq!(hex_after(verdict, "visible: "), in_parent);
        assert!(verdict.ends_with("the same physical frame"), "{verdict}");
    } else {
        assert!(!we_see_frame_numbers(), "this user sees frames, the lesson said hidden:\n{part3}");
        assert!(part3.contains("PFNs are hidden: both processes read PFN 0"), "{part3}");
        assert!(parent.ends_with("PFN 0 (hidden from this user)"), "{parent}");
        assert!(child.ends_with("PFN 0 (hidden from this user)"), "{child}");
        assert!(part3.contains("CAP_SYS_ADMIN") && part3.contains("rowhammer"), "{part3}");
    }
    run.assert_nothing_left();
}

#[test]
fn pages_arrive_on_first_touch_and_a_second_attachment_maps_the_same_memory() {
    let run = run("lesson11", &["--fast"]);
    run.assert_success();
    let part4 = part(&run.stdout, "Part 4");
    let rss = |when: &str| number_after(line_of(part4, "parent", when), "Rss of this mapping ");
    let segment_rss =
        |when: &str| number_after(line_of(part4, "parent", when), "/proc/sysvipc/shm ");
    assert_eq!(rss("after shmat:"), 0, "nothing resident before the first touch:\n{part4}");
    let after_one = rss("after one store:");
    assert!((4..=64).contains(&after_one), "at least the touched page:\n{part4}");
    assert_eq!(rss("after touching all:"), 64, "all sixteen pages:\n{part4}");
    if !part4.contains("no rss column") {
        assert_eq!(segment_rss("after shmat:"), 0, "{part4}");
        assert_eq!(segment_rss("after one store:"), after_one * 1024, "{part4}");
        assert_eq!(segment_rss("after touching all:"), 65536, "{part4}");
    }
    let untouched = line_of(part4, "parent", "pagemap entry of ");
    assert!(untouched.ends_with("): not present, no PFN"), "{untouched}");

    let part5 = part(&run.stdout, "Part 5");
    let first_at = hex_after(line_of(part5, "parent", "the first attachment is at"), "is at ");
    let second_at = hex_after(line_of(part5, "parent", "shmat("), "= ");
    assert_ne!(first_at, second_at);
    assert!(part5.contains("IPC_STAT, &ds) = 0   (shm_nattch is 2:"), "{part5}");
    let written = format!("\"written through {first_at:#x}\"");
    let read = line_of(part5, "parent", "read through the second");
    assert!(read.contains(&format!("({second_at:#x}): {written}")), "{read}");
    let maps: Vec<&str> = part5.lines().filter(|line| line.contains("] maps: ")).collect();
    assert_eq!(maps.len(), 2, "{part5}");
    assert_eq!(maps_fields(maps[0], "maps: ").1, maps_fields(maps[1], "maps: ").1, "one inode");
    let untouched = line_of(part5, "parent", "the second attachment, untouched");
    assert_eq!(number_after(untouched, "Rss of this mapping "), 0, "{untouched}");
    let after_read = line_of(part5, "parent", "the second attachment, after one read");
    assert!(number_after(after_read, "Rss of this mapping ") >= 4, "{after_read}");
    let entries: Vec<&str> =
        part5.lines().filter(|line| line.contains("pagemap entry of ")).collect();
    assert_eq!(entries.len(), 2, "{part5}");
    if we_see_frame_numbers() {
        assert_eq!(hex_after(entries[0], "PFN "), hex_after(entries[1], "PFN "), "{part5}");
        assert!(part5.contains("one frame, mapped twice by one process"), "{part5}");
    } else {
        assert!(entries.iter().all(|e| e.contains("mapped more than once, PFN 0 (hidden")));
    }
    run.assert_nothing_left();
}

/// The trace holds the calls the lesson teaches, with the arguments they were made with.
#[test]
fn the_trace_has_the_calls_taught_with_their_real_arguments() {
    let run = run("lesson11", &["--fast"]);
    run.assert_success();
    let by = |role: &str, name: &str| -> Vec<&common::TraceCall> {
        run.calls.iter().filter(|call| call.call == name && call.role == role).collect()
    };
    let ftok = by("parent", "ftok");
    assert_eq!(ftok[0].args[1], "85", "ftok's project id is 'U'");
    let key = ftok[0].result.clone().unwrap();
    let shmget = by("parent", "shmget");
    assert_eq!(shmget[0].args, [key.as_str(), "16384", "IPC_CREAT|IPC_EXCL|0600"]);
    assert_eq!(shmget[1].args, ["IPC_PRIVATE", "65536", "IPC_CREAT|IPC_EXCL|0600"]);
    let (first, second) = (shmget[0].result.clone().unwrap(), shmget[1].result.clone().unwrap());
    let shmat = |role| by(role, "shmat").into_iter().map(|c| c.args.clone()).collect::<Vec<_>>();
    let attach = |id: &str| vec![id.to_owned(), "NULL".to_owned(), "0".to_owned()];
    assert_eq!(shmat("child"), [attach(&first), attach(&first)], "the child attaches twice");
    assert_eq!(shmat("parent"), [attach(&first), attach(&second), attach(&second)]);
    // The child's first address is freed, then taken by other memory.
    let child_first = by("child", "shmat")[0].result.clone().unwrap();
    assert_eq!(by("child", "shmdt")[0].args, [child_first.as_str()]);
    let anonymous = &by("child", "mmap")[0];
    assert_eq!(
        anonymous.args,
        ["NULL", "16384", "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS", "-1", "0"]
    );
    // The POSIX object, sized and mapped shared.
    let fd = by("parent", "shm_open")[0].result.clone().unwrap();
    assert_eq!(by("parent", "ftruncate")[0].args, [fd.as_str(), "4096"]);
    assert_eq!(
        by("parent", "mmap")[0].args,
        ["NULL", "4096", "PROT_READ|PROT_WRITE", "MAP_SHARED", fd.as_str(), "0"]
    );
    // The turns: both sides sleep on the futex of the board and wake each other.
    for role in ["parent", "child"] {
        let futex = by(role, "futex");
        assert!(futex.iter().any(|c| c.args[1] == "FUTEX_WAKE"), "{role} wakes the other");
    }
    assert_eq!(by("parent", "waitpid").len(), 1);
    run.assert_nothing_left();
}

/// A child that dies while the parent waits for its turn ends the wait with an error naming
/// the child, and the run still leaves nothing behind.
#[test]
fn a_dead_child_ends_the_parents_wait_with_an_error() {
    use std::io::{BufRead, BufReader, Write};
    let trace = common::TraceFile::new();
    let mut lesson = common::lesson("lesson11")
        .args(["--fast", "--step", "--trace", trace.path()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(lesson.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("[Enter] to continue") {
        assert_ne!(stdout.read_line(&mut seen).unwrap(), 0, "no pause:\n{seen}");
    }
    // At the first pause the child waits for its next turn: kill it there.
    let child: i32 = number_after(line_of(&seen, "parent", "fork() = "), "fork() = ") as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), Signal::SIGKILL).unwrap();
    lesson.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    let status = lesson.wait().unwrap();
    std::io::Read::read_to_string(&mut stdout, &mut seen).unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut lesson.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{seen}\n{stderr}");
    // The error names the child that died (the wording is the wait module's).
    assert!(stderr.contains(&format!("child process {child} ")), "{stderr}");
    let run = common::Run::new(seen, stderr, status, trace.calls());
    run.assert_nothing_left();
}

#[test]
fn an_unknown_flag_prints_usage_and_exits_2() {
    let run = run("lesson11", &["--pfn"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("unknown flag `--pfn`"), "{}", run.stderr);
    assert!(run.stderr.contains("Usage: cargo run --bin lesson11"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing runs: {}", run.stdout);
}

#[test]
fn ctrl_c_at_the_pause_removes_the_segment_and_the_key_file_and_reaps_the_child() {
    let run = interrupt_at_the_pause("lesson11", Signal::SIGINT);
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.contains("grep SYSV /proc/"), "the pause says where to look:\n{stdout}");
    assert!(stderr.contains("reaped 1 child"), "{stderr}");
    let key_file = line_of(&stdout, "parent", "ftok(").split('"').nth(1).unwrap().to_owned();
    let scratch = std::path::Path::new(&key_file).parent().unwrap();
    assert!(!scratch.exists(), "{} was left behind", scratch.display());
    run.assert_nothing_left();
}

#[test]
fn ctrl_c_mid_run_leaves_nothing() {
    // Without --fast the lesson pauses between steps, so the signal lands inside Part 4.
    let run = interrupt_when("lesson11", &[], "after shmat: Rss", Signal::SIGINT);
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.contains("Part 4"), "{stdout}");
    run.assert_nothing_left();
}
