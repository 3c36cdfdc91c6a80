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

/// The project id the run's key is made with: 65, unless another segment on the machine
/// already held that key (then `Key::ftok_unused` said whose, and took the next id). It is the
/// id of the first ftok call the parent printed.
fn chosen_id(run: &common::Run) -> String {
    let line = run
        .lines()
        .find(|line| line.starts_with("[parent ") && line.contains("/shmfile\", "))
        .unwrap_or_else(|| panic!("no ftok of shmfile printed:\n{}", run.stdout));
    line.split("/shmfile\", ").nth(1).unwrap().split(')').next().unwrap().to_owned()
}

#[test]
fn the_same_file_and_id_give_the_same_key_in_both_processes_and_another_id_another_key() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    let id = chosen_id(&run);
    let number: u8 = id.parse().unwrap();
    let parent_key = key_after(&run.stdout, "parent", &format!(", {id}) = "));
    let child_key = key_after(&run.stdout, "child", &format!(", {id}) = "));
    let other_key = key_after(&run.stdout, "parent", &format!(", {}) = ", number + 1));
    let top = format!("0x{number:02x}");
    assert!(parent_key.starts_with(&top), "project id {id} is the top byte: {parent_key}");
    if id != "65" {
        assert!(
            run.stdout.contains(&format!("uses project id {id} instead")),
            "the run says why it passed over project id 65:\n{}",
            run.stdout
        );
    }
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
    assert!(run.stdout.contains("what it means: the file does not exist"), "{}", run.stdout);
    assert!(run.stdout.contains("what to do:    create the file first"), "{}", run.stdout);
    assert!(run.stdout.contains("0xffffffff"));
    let failed: Vec<_> = run.calls_named("ftok").filter(|call| call.result.is_none()).collect();
    assert_eq!(failed.len(), 1, "one ftok fails: {failed:?}");
    assert!(failed[0].args[0].ends_with("/no-such-file\""), "{}", failed[0].text);
    assert_eq!(failed[0].errno.as_deref(), Some("ENOENT"));
    assert!(run.stdout.contains("/no-such-file\", 65) = -1 ENOENT"), "the failed call is printed");
}

/// The call text of a printed line: `[role pid] shmat(7, NULL, 0) = 0x7f00   (note)` gives
/// the pid and `shmat(7, NULL, 0) = 0x7f00`; `None` for a line that prints no call.
fn printed_call(line: &str) -> Option<(i32, &str)> {
    let (prefix, text) = line.split_once("] ")?;
    let text = text.split("   (").next()?;
    let name = &text[..text.find('(')?];
    let is_call = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        && text.contains(") = ");
    is_call.then(|| (prefix.rsplit(' ').next().unwrap().parse().unwrap(), text))
}

#[test]
fn the_trace_holds_ftok_and_both_shmgets_with_their_real_arguments() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    let id = chosen_id(&run);
    let ftoks: Vec<_> = run
        .calls_named("ftok")
        .filter(|call| call.args[0].ends_with("/shmfile\"") && call.args[1] == id)
        .collect();
    assert_eq!(ftoks.len(), 3, "parent, child, recreated file: {ftoks:?}");
    let (parent, child) = (ftoks[0], ftoks[1]);
    assert!(parent.args[0].ends_with("/shmfile\""), "{}", parent.text);
    assert_eq!(child.args, parent.args, "the same file and id in both processes");
    assert_eq!(child.result, parent.result, "the same key");
    assert_ne!(child.pid, parent.pid);
    let key = parent.result.clone().expect("a key");

    let shmgets: Vec<_> = run.calls_named("shmget").take(2).collect();
    assert_eq!(shmgets[0].pid, parent.pid);
    assert_eq!(shmgets[0].args, [key.as_str(), "1024", "IPC_CREAT|IPC_EXCL|0600"]);
    assert_eq!(shmgets[1].pid, child.pid);
    assert_eq!(shmgets[1].args, [key.as_str(), "0", "0"], "the child opens by key");
    assert_eq!(shmgets[1].result, shmgets[0].result, "and finds the same segment");
    let semget = run.calls_named("semget").next().expect("a semaphore set");
    assert_eq!(semget.args, ["IPC_PRIVATE", "1", "IPC_CREAT|IPC_EXCL|0600"]);

    // Every call the story prints is one the trace recorded, in the process that printed it.
    let made: Vec<(i32, &str)> = run.calls.iter().map(|c| (c.pid, c.text.as_str())).collect();
    let printed: Vec<(i32, &str)> = run.lines().filter_map(printed_call).collect();
    // Part 4 prints 4 calls when the recreated file has the old key, 3 when it has another.
    assert!((18..=19).contains(&printed.len()), "{} printed calls\n{}", printed.len(), run.stdout);
    for call in printed {
        assert!(made.contains(&call), "printed but not made: {call:?}");
    }
}

#[test]
fn the_private_directory_and_its_file_are_removed() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    let dir = run
        .lines()
        .find_map(|line| line.split("made a private directory ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the lesson prints its directory")
        .to_owned();
    assert!(dir.contains("shm-workbook-lesson02-"), "{dir}");
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

/// Part 4 in a run: the two inode numbers it printed, and its calls.
fn part_four(run: &common::Run) -> (u64, u64) {
    let line = run
        .lines()
        .find(|line| line.contains("deleted shmfile (inode "))
        .unwrap_or_else(|| panic!("Part 4 prints the inodes:\n{}", run.stdout));
    (common::number_after(line, "(inode "), common::number_after(line, "the new file's inode is "))
}

/// What the lesson says about the recreated file matches what the file system did: the same
/// inode gives the same key and finds the old segment; another inode (in its low 16 bits)
/// gives another key. `tmpdir` picks the file system.
fn recreated_key_file_is_reported_as_it_happened(tmpdir: Option<&str>) -> (u64, u64) {
    let mut command = common::lesson("lesson02");
    command.arg("--fast");
    if let Some(dir) = tmpdir {
        command.env("TMPDIR", dir);
    }
    let run = common::run_command(command);
    run.assert_success();
    let (before, after) = part_four(&run);
    let id = chosen_id(&run);
    let ftoks: Vec<_> = run.calls_named("ftok").filter(|call| call.args[1] == id).collect();
    let (first, last) = (ftoks[0], ftoks[ftoks.len() - 1]);
    assert_eq!(first.args, last.args, "the same path and id before and after");
    let same_key = first.result == last.result;
    assert_eq!(same_key, before & 0xffff == after & 0xffff, "ftok keeps the inode's low 16 bits");
    let shmgets: Vec<_> = run.calls_named("shmget").skip(2).collect();
    let created = shmgets[0].result.clone().expect("Part 4 creates a segment");
    if same_key {
        assert_eq!(shmgets.len(), 2, "{shmgets:?}");
        assert_eq!(shmgets[1].args[1..], ["0", "0"]);
        assert_eq!(shmgets[1].result.as_deref(), Some(created.as_str()), "the old segment");
        assert!(run.stdout.contains("(the old segment: the new file names it)"));
        if before == after {
            assert!(run.stdout.contains("gave the freed inode number back"), "{}", run.stdout);
        }
    } else {
        assert_eq!(shmgets.len(), 1, "nothing to find by the new key: {shmgets:?}");
        assert!(run.stdout.contains("another key: the inode changed"), "{}", run.stdout);
    }
    let removed = run.calls_named("shmctl").filter(|c| c.args[1] == "IPC_RMID").last().unwrap();
    assert_eq!(removed.args[0], created, "Part 4 removes its segment");
    run.assert_nothing_left();
    (before, after)
}

#[test]
fn a_recreated_key_file_is_reported_as_the_file_system_handled_it() {
    recreated_key_file_is_reported_as_it_happened(None);
    // tmpfs numbers every new file afresh: the other branch, where the key changes.
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() && std::fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly()) {
        let (before, after) = recreated_key_file_is_reported_as_it_happened(Some("/dev/shm"));
        assert_ne!(before, after, "tmpfs gives a new file a new inode number");
    }
}
