//! lesson09 as a student runs it, as root or not: the modes as the kernel reports them, the
//! refusals that the run's privileges allow it to show, the read-only fault, and nothing left.

mod common;

use std::os::unix::process::CommandExt;

use common::{Run, TraceCall, interrupt_at_the_pause, interrupt_when, run};
use nix::sys::signal::Signal;

/// The text of one part, from its heading to the next one.
fn part(stdout: &str, number: u32) -> &str {
    let start = stdout
        .find(&format!("== Part {number}:"))
        .unwrap_or_else(|| panic!("no Part {number}:\n{stdout}"));
    let rest = &stdout[start..];
    match rest[1..].find("\n== Part ") {
        Some(end) => &rest[..end + 1],
        None => rest,
    }
}

/// The lines of `text` spoken by `role`.
fn lines_of<'a>(text: &'a str, role: &str) -> Vec<&'a str> {
    text.lines().filter(|line| line.starts_with(&format!("[{role} "))).collect()
}

/// The one line of `text` containing all of `pieces`.
fn line_with<'a>(text: &'a str, pieces: &[&str]) -> &'a str {
    let found: Vec<&str> =
        text.lines().filter(|line| pieces.iter().all(|piece| line.contains(piece))).collect();
    assert_eq!(found.len(), 1, "expected one line with {pieces:?}, found {found:?} in:\n{text}");
    found[0]
}

/// The line the lesson printed for a recorded call, as its narrator writes it.
fn printed<'a>(run: &'a Run, call: &TraceCall) -> &'a str {
    let line = format!("[{:<6} {}] {}", call.role, call.pid, call.text);
    let found = run.lines().find(|printed| printed.starts_with(&line));
    found.unwrap_or_else(|| panic!("not printed as made: {line}\n{}", run.stdout))
}

/// The shmids of the segments created (exclusively, 4096 bytes) with `mode`, in order.
fn created(run: &Run, mode: &str) -> Vec<i32> {
    let flags = format!("IPC_CREAT|IPC_EXCL|{mode}");
    run.calls_named("shmget")
        .filter(|call| call.args[1..] == ["4096", flags.as_str()])
        .map(|call| call.result.as_deref().expect("a shmid").parse().unwrap())
        .collect()
}

/// Whether the run skipped what needs root. Checks that it did so everywhere or nowhere, and
/// that it said so exactly when it did not run as root (or lacked the capabilities).
fn skipped_root_steps(run: &Run) -> bool {
    let skips = run.stdout.matches("skipped: this step needs root").count();
    assert!(skips == 0 || skips == 2, "Parts 2 and 5 skip together:\n{}", run.stdout);
    let as_root = run.stdout.contains("running as: uid 0 (root)");
    if !as_root {
        assert_eq!(skips, 2, "an ordinary user cannot become another user:\n{}", run.stdout);
    }
    skips == 2
}

/// Runs lesson09 --fast in an empty directory of its own, with the core-file size limit raised
/// as far as it goes, and checks that the SIGSEGV of Part 4 left no core file there.
fn run_in_a_fresh_directory() -> Run {
    let dir = std::env::temp_dir().join(format!("lesson09-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = common::lesson("lesson09");
    command.arg("--fast").current_dir(&dir);
    // SAFETY: between fork and exec this calls only getrlimit and setrlimit, which are
    // async-signal-safe, on a struct on the stack.
    unsafe {
        command.pre_exec(|| {
            let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                limit.rlim_cur = limit.rlim_max;
                libc::setrlimit(libc::RLIMIT_CORE, &limit);
            }
            Ok(())
        });
    }
    let run = common::run_command(command);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(left.is_empty(), "the run left files in its directory (a core dump?): {left:?}");
    run
}

#[test]
fn the_modes_are_what_was_asked_and_the_umask_does_not_apply() {
    let run = run("lesson09", &["--fast"]);
    run.assert_success();
    let part1 = part(&run.stdout, 1);
    let rows: Vec<Vec<&str>> = part1
        .lines()
        .filter_map(|line| line.split("] ").nth(1))
        .map(|text| text.split_whitespace().collect())
        .collect();
    for mode in ["0600", "0640", "0666"] {
        let id = created(&run, mode)[0];
        line_with(part1, &[&format!("IPC_CREAT|IPC_EXCL|{mode}) = {id}   (owner ")]);
        line_with(part1, &[&format!("shmctl({id}, IPC_STAT, &ds) = 0"), &format!("mode {mode},")]);
        // The /proc/sysvipc/shm row: key 0, shmid, perms in octal without the leading 0.
        let row = rows
            .iter()
            .find(|fields| fields.len() == 7 && fields[1] == id.to_string())
            .unwrap_or_else(|| panic!("no /proc/sysvipc/shm row for {id}:\n{part1}"));
        assert_eq!((row[0], row[2], row[3]), ("0", &mode[1..], "4096"), "{row:?}");
    }
    assert!(part1.contains("shmget keeps 0666"), "{part1}");
    assert!(run.stderr.is_empty(), "nothing on stderr: {}", run.stderr);
    run.assert_nothing_left();
}

#[test]
fn another_user_is_refused_by_0600_and_0640_and_alters_0666_or_the_step_is_skipped() {
    let run = run("lesson09", &["--fast"]);
    run.assert_success();
    let part2 = part(&run.stdout, 2);
    if skipped_root_steps(&run) {
        assert!(part2.contains("only root may become another user"), "{part2}");
        assert!(lines_of(part2, "stranger").is_empty() && lines_of(part2, "member").is_empty());
        run.assert_nothing_left();
        return;
    }
    let [private, group, everyone] = ["0600", "0640", "0666"].map(|mode| created(&run, mode)[0]);
    let stranger = lines_of(part2, "stranger").join("\n");
    let member = lines_of(part2, "member").join("\n");
    assert!(stranger.contains("setuid: now uid 65534 (nobody)"), "{stranger}");
    for id in [private, group] {
        for flags in ["0", "SHM_RDONLY"] {
            line_with(&stranger, &[&format!("shmat({id}, NULL, {flags}) = -1 EACCES")]);
        }
    }
    line_with(&stranger, &[&format!("shmat({everyone}, NULL, 0) = 0x")]);
    line_with(&stranger, &["mode 0666: read \"the parent's secret\""]);
    line_with(&stranger, &["wrote \"overwritten by uid 65534\""]);
    // The member of the owner's group: the group bits of 0640 (r--) let it read, not write.
    line_with(&member, &[&format!("shmat({private}, NULL, SHM_RDONLY) = -1 EACCES")]);
    line_with(&member, &[&format!("shmat({group}, NULL, 0) = -1 EACCES")]);
    line_with(&member, &[&format!("shmat({group}, NULL, SHM_RDONLY) = 0x")]);
    line_with(&member, &["mode 0640: read \"the parent's secret\""]);
    // What the owner finds afterwards.
    line_with(
        part2,
        &[&format!("shmid {private} now holds \"the parent's secret\"   (untouched)")],
    );
    line_with(part2, &[&format!("shmid {group} now holds \"the parent's secret\"   (untouched)")]);
    line_with(part2, &[&format!("shmid {everyone} now holds \"overwritten by uid 65534\"")]);
    run.assert_nothing_left();
}

#[test]
fn the_mode_binds_the_owner_unless_it_is_root() {
    let run = run("lesson09", &["--fast"]);
    run.assert_success();
    let part3 = part(&run.stdout, 3);
    let id = created(&run, "0400")[0];
    let second = lines_of(part3, "second").join("\n");
    line_with(&second, &["shmget(0x", &format!(", 0, 0) = {id}   (asks for no access")]);
    line_with(&second, &[&format!("shmat({id}, NULL, SHM_RDONLY) = 0x")]);
    let refused = second.contains(&format!("shmat({id}, NULL, 0) = -1 EACCES"));
    if !run.stdout.contains("running as: uid 0 (root)") {
        assert!(refused, "an ordinary owner cannot write a 0400 segment:\n{second}");
    }
    if refused {
        line_with(&second, &["IPC_CREAT|0666) = -1 EACCES"]);
        assert!(second.contains("checks the owner against the owner's bits"), "{second}");
    } else {
        line_with(&second, &[&format!("shmat({id}, NULL, 0) = 0x")]);
        line_with(&second, &[&format!("IPC_CREAT|0666) = {id}")]);
        assert!(second.contains("CAP_IPC_OWNER"), "{second}");
    }
    run.assert_nothing_left();
}

#[test]
fn a_store_through_a_read_only_attachment_kills_the_child_quietly() {
    let run = run_in_a_fresh_directory();
    run.assert_success();
    let part4 = part(&run.stdout, 4);
    let child = lines_of(part4, "child").join("\n");
    let pid = common::number_after(&child, "[child  ");
    line_with(&child, &["NULL, SHM_RDONLY) = 0x"]);
    line_with(&child, &["read \"the parent's secret\""]);
    line_with(&child, &["view.store(0, b\"X\")", "would not even compile"]);
    assert!(!child.contains("never printed"), "the store must fault:\n{child}");
    line_with(
        part4,
        &[&format!("waitpid({pid}, &status, 0) = {pid}   (WIFSIGNALED, WTERMSIG = SIGSEGV")],
    );
    line_with(part4, &["the segment still holds \"the parent's secret\""]);
    line_with(part4, &["IPC_STAT, &ds) = 0   (shm_nattch 1:"]);
    // No "Segmentation fault", no "stack overflow", no core-dump note: nothing at all.
    assert!(run.stderr.is_empty(), "stderr: {}", run.stderr);
    assert!(run.stdout.contains("== Part 5"), "the lesson goes on after the fault");
    run.assert_nothing_left();
}

#[test]
fn ipc_set_needs_ownership_not_the_mode() {
    let run = run("lesson09", &["--fast"]);
    run.assert_success();
    let part5 = part(&run.stdout, 5);
    let id = *created(&run, "0600").last().unwrap();
    let set = |mode: &str| format!("shmctl({id}, IPC_SET, {{shm_perm={{mode={mode}}}}})");
    let parent = lines_of(part5, "parent").join("\n");
    for mode in ["0666", "0400", "0600"] {
        // The IPC_SET, then the IPC_STAT that shows its effect.
        let after = parent.split(&format!("{} = 0\n", set(mode))).nth(1).expect("the IPC_SET");
        let stat = after.lines().next().unwrap();
        assert!(stat.contains(&format!("shm_perm.mode is now {mode}:")), "{stat}");
    }
    if skipped_root_steps(&run) {
        assert!(lines_of(part5, "stranger").is_empty(), "{part5}");
        assert!(part5.contains("gets EPERM from IPC_SET and IPC_RMID"), "{part5}");
    } else {
        let stranger = lines_of(part5, "stranger").join("\n");
        line_with(&stranger, &[&format!("shmat({id}, NULL, 0) = 0x")]);
        line_with(&stranger, &[&format!("{} = -1 EPERM", set("0600"))]);
        line_with(&stranger, &[&format!("shmctl({id}, IPC_RMID, NULL) = -1 EPERM")]);
        line_with(
            &parent,
            &[&format!("shmctl({id}, IPC_STAT, &ds) = 0   (mode 0666: still there")],
        );
    }
    // Locked out at 0400 (root excepted), then the mode set back and a read-write attach works.
    let after_0400 = part5.split(&format!("{} = 0", set("0400"))).nth(1).unwrap();
    let first_attach =
        after_0400.lines().find(|l| l.contains(&format!("shmat({id}, NULL, 0)"))).unwrap();
    if !run.stdout.contains("running as: uid 0 (root)") {
        assert!(first_attach.contains("= -1 EACCES"), "{first_attach}");
    }
    let after_0600 = part5.split(&format!("{} = 0", set("0600"))).nth(1).unwrap();
    line_with(after_0600, &[&format!("shmat({id}, NULL, 0) = 0x")]);
    line_with(part5, &[&format!("shmctl({id}, IPC_RMID, NULL) = 0")]);
    run.assert_nothing_left();
}

#[test]
fn the_trace_holds_the_calls_taught_with_their_real_arguments() {
    let run = run("lesson09", &["--fast"]);
    run.assert_success();
    let as_root = !skipped_root_steps(&run);
    // Part 1: the modes passed as they were asked for, and each IPC_STAT printed as made.
    for mode in ["0600", "0640", "0666"] {
        let id = created(&run, mode)[0].to_string();
        let stat = run.calls_named("shmctl").find(|c| c.args == [&*id, "IPC_STAT", "&ds"]);
        assert!(printed(&run, stat.unwrap()).contains(&format!("shm_perm.mode {mode},")));
    }
    // Every refusal is shmat's own -1 EACCES, made by the process that printed it (no IPC_STAT
    // in its place), and every shmat the lesson printed is in the trace.
    let shmats: Vec<&TraceCall> = run.calls_named("shmat").collect();
    for call in &shmats {
        if call.errno.is_some() {
            assert_eq!(call.errno.as_deref(), Some("EACCES"), "{call:?}");
            assert!(printed(&run, call).contains("= -1 EACCES   ("), "{call:?}");
        }
    }
    let refused =
        |role: &str| shmats.iter().filter(|c| c.role == role && c.errno.is_some()).count();
    if as_root {
        assert_eq!((refused("stranger"), refused("member")), (4, 3), "{shmats:#?}");
        let visitors = run.calls.iter().filter(|c| c.role == "stranger" || c.role == "member");
        assert!(visitors.clone().all(|c| c.pid != run.calls[0].pid), "children of their own");
        let stranger_ipc = run.calls.iter().filter(|c| c.role == "stranger" && c.call == "shmctl");
        let eperm: Vec<_> = stranger_ipc.filter(|c| c.errno.as_deref() == Some("EPERM")).collect();
        assert_eq!(
            eperm.iter().map(|c| c.args[1].as_str()).collect::<Vec<_>>(),
            ["IPC_SET", "IPC_RMID"]
        );
    } else {
        assert_eq!(refused("second") + refused("parent"), 2, "read-write on 0400: {shmats:#?}");
    }
    // Part 3: the second program asks for 0666 by key, then for nothing.
    let key = run.calls_named("shmget").find(|c| c.args[2] == "IPC_CREAT|IPC_EXCL|0400").unwrap();
    let asks =
        run.calls_named("shmget").find(|c| c.args == [&*key.args[0], "4096", "IPC_CREAT|0666"]);
    printed(&run, asks.expect("shmget with IPC_CREAT|0666"));
    let opens = run.calls_named("shmget").find(|c| c.args == [&*key.args[0], "0", "0"]).unwrap();
    assert_eq!(opens.result, key.result, "the same segment");
    // Part 4: the child's read-only attach, and the parent's waitpid for it.
    let read_only = shmats.iter().find(|c| c.role == "child" && c.args[2] == "SHM_RDONLY").unwrap();
    assert!(read_only.result.as_deref().unwrap().starts_with("0x"), "{read_only:?}");
    let reaped = run.calls_named("waitpid").find(|c| c.args[0] == read_only.pid.to_string());
    printed(&run, reaped.expect("the child's waitpid"));
    // Part 5: the owner's IPC_SET calls, with the mode passed.
    let sets: Vec<&str> = run
        .calls_named("shmctl")
        .filter(|c| c.args[1] == "IPC_SET" && c.result.as_deref() == Some("0"))
        .map(|c| printed(&run, c))
        .collect();
    assert_eq!(sets.len(), 3, "{sets:#?}");
    for (line, mode) in sets.iter().zip(["0666", "0400", "0600"]) {
        assert!(line.contains(&format!("{{shm_perm={{mode={mode}}}}}) = 0")), "{line}");
    }
    run.assert_nothing_left();
}

#[test]
fn an_unknown_flag_prints_usage_and_exits_2() {
    let run = run("lesson09", &["--everyone"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("unknown flag `--everyone`"), "{}", run.stderr);
    assert!(run.stderr.contains("Usage: cargo run --bin lesson09"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing runs: {}", run.stdout);
}

#[test]
fn help_names_the_lesson() {
    let run = run("lesson09", &["--help"]);
    run.assert_success();
    assert!(run.stdout.contains("Permissions and access control"), "{}", run.stdout);
}

#[test]
fn ctrl_c_at_the_first_pause_removes_the_three_segments_and_exits_130() {
    let run = interrupt_at_the_pause("lesson09", Signal::SIGINT);
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.contains("run:  ipcs -m"), "{stdout}");
    assert!(stderr.contains("[SIGINT] stopping: removed 3 object(s)"), "{stderr}");
    run.assert_nothing_left();
}

#[test]
fn ctrl_c_mid_run_leaves_nothing() {
    // Without --fast: while another user's children run (as root), and around the fault.
    for marker in ["== Part 2", "== Part 4", "== Part 5"] {
        let run = interrupt_when("lesson09", &[], marker, Signal::SIGINT);
        let (code, stderr) = (run.code(), run.stderr.clone());
        assert_eq!(code, Some(130), "at {marker}: {stderr}");
        assert!(stderr.contains("[SIGINT] stopping: removed"), "at {marker}: {stderr}");
        run.assert_nothing_left();
    }
}

#[test]
fn sigterm_at_the_pause_cleans_up_and_exits_143() {
    let run = interrupt_at_the_pause("lesson09", Signal::SIGTERM);
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(143), "{stderr}");
    run.assert_nothing_left();
}
