//! lesson02 as a student runs it: one key for both processes, the ftok error, a clean exit.

use crate::common;

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
    let before_part5 = run.stdout.split("== Part 5").next().unwrap();
    let counted = before_part5.lines().filter_map(printed_call).count();
    // Part 4 prints 4 calls when the recreated file has the old key, 3 when it has another.
    assert!((18..=19).contains(&counted), "{counted} printed calls\n{}", run.stdout);
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
    // Part 4's shmgets: made with the file's key, after Part 3's two.
    let key = first.result.clone().expect("a key");
    let shmgets: Vec<_> =
        run.calls_named("shmget").filter(|call| call.args[0] == key).skip(2).collect();
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
    let removed = run.calls_named("shmctl").filter(|c| c.args[1] == "IPC_RMID");
    assert!(removed.into_iter().any(|c| c.args[0] == created), "Part 4 removes its segment");
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

/// Part 5: the key program A chose, its segment, and what program B's two shmgets returned.
struct FixedKey<'a> {
    key: String,
    created: &'a common::TraceCall,
    opened: &'a common::TraceCall,
    larger: &'a common::TraceCall,
}

fn part_five(run: &common::Run) -> FixedKey<'_> {
    // A fixed key is a small number; an ftok key has the project id in its top byte.
    let fixed = |arg: &str| {
        u32::from_str_radix(arg.trim_start_matches("0x"), 16).is_ok_and(|k| k > 0 && k < 1 << 24)
    };
    let created = run
        .calls_named("shmget")
        .find(|c| fixed(&c.args[0]) && c.args[2] == "IPC_CREAT|IPC_EXCL|0600" && c.errno.is_none())
        .unwrap_or_else(|| panic!("program A creates a segment with a fixed key:\n{}", run.stdout));
    let key = created.args[0].clone();
    let by_b: Vec<_> =
        run.calls_named("shmget").filter(|c| c.role == "program B" && c.args[0] == key).collect();
    assert_eq!(by_b.len(), 2, "program B's shmgets: {by_b:?}");
    FixedKey { key, created, opened: by_b[0], larger: by_b[1] }
}

#[test]
fn two_programs_with_one_fixed_key_share_one_segment_and_a_larger_size_is_einval() {
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let part = part_five(&run);
    let raw = u32::from_str_radix(part.key.trim_start_matches("0x"), 16).unwrap();
    if raw != 1234 {
        // Someone's segment held the documents' first key: the run said so and left it alone.
        assert!(
            run.stdout.contains("held on this machine, so left alone: 1234 "),
            "{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains(&format!("(the key {raw}: /proc/sysvipc/shm listed no segment")));
    // B, which inherited no id, gets A's segment by the number alone; a larger size fails.
    assert_eq!(part.opened.args[1..], ["1024", "IPC_CREAT|0600"], "{}", part.opened.text);
    assert_eq!(part.opened.result, part.created.result, "B opens A's segment");
    assert_ne!(part.opened.pid, part.created.pid);
    assert_eq!(part.larger.args[1..], ["4096", "IPC_CREAT|0600"], "{}", part.larger.text);
    assert_eq!(part.larger.errno.as_deref(), Some("EINVAL"), "{}", part.larger.text);
    // And B's data replaced A's.
    assert!(run.stdout.contains("] program B finds: program A's data: balance 100\n"));
    assert!(run.stdout.contains("] program A reads back: program B's data: 7 rows\n"));
    let id = part.created.result.clone().unwrap();
    let removed = format!("shmctl({id}, IPC_RMID, NULL) = 0");
    assert!(run.calls.iter().any(|c| c.pid == part.created.pid && c.text == removed), "{removed}");
    run.assert_nothing_left();
}

/// `shmctl(IPC_SET)` giving a segment of ours to `uid` (root only).
fn give_away(id: i32, uid: u32) {
    let mut ds = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT fills the structure, IPC_SET reads it back; both are ours.
    unsafe {
        assert_eq!(libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()), 0);
        let mut ds = ds.assume_init();
        ds.shm_perm.uid = uid;
        assert_eq!(libc::shmctl(id, libc::IPC_SET, &mut ds), 0);
    }
}

#[test]
fn a_fixed_key_already_held_is_left_alone() {
    use shm_workbook::{Key, Segment};
    // Hold the documents' key 1234 ourselves (another lesson02 run of this binary may hold it
    // for a moment), and as root give it to nobody: someone else's segment.
    let key = Key::from_raw(1234);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut holder = None;
    while holder.is_none() && std::time::Instant::now() < deadline {
        match shm_workbook::procfs::sysvipc_owner(shm_workbook::procfs::IpcTable::Shm, key.raw()) {
            None => holder = Segment::create(key, 64, 0o600).ok(),
            Some(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
    let Some(holder) = holder else {
        // Held all along by a segment that is not ours: the run must still leave it alone.
        eprintln!("the key 1234 is held by another segment on this machine: checking only that");
        let run = run("lesson02", &["--fast"]);
        run.assert_success();
        assert!(!run.calls.iter().any(|c| c.args.first().is_some_and(|a| a == "0x000004d2")));
        return;
    };
    let root = nix::unistd::geteuid().is_root();
    if root {
        give_away(holder.id(), 65534);
    }
    let run = run("lesson02", &["--fast"]);
    run.assert_success();
    let whose = if root {
        "nobody (uid 65534)".to_owned()
    } else {
        format!("(uid {})", nix::unistd::geteuid())
    };
    let said = run
        .lines()
        .find(|l| l.contains("held on this machine, so left alone: 1234 (0x000004d2) by user"));
    let said = said.unwrap_or_else(|| panic!("the run says it left 1234 alone:\n{}", run.stdout));
    assert!(said.contains(&whose), "{said}");
    // Not one call on the key or on the holder's id, and the holder is as it was.
    let id = holder.id().to_string();
    let touched: Vec<_> = run
        .calls
        .iter()
        .filter(|c| c.args.first().is_some_and(|a| *a == id || a == "0x000004d2"))
        .collect();
    assert!(touched.is_empty(), "the run touched the holder: {touched:?}");
    assert_ne!(part_five(&run).key, "0x000004d2");
    let stat = holder.stat().expect("the holder is still there");
    assert_eq!((stat.key, stat.attachments), (key, 0));
    run.assert_nothing_left();
    holder.remove().unwrap();
}
