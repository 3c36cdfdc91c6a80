//! lesson09 as a student runs it, as root or not: the modes as the kernel reports them, the
//! refusals that the run's privileges allow it to show, the read-only fault, and nothing left.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::{
    Run, TraceCall, TraceFile, interrupt_at_the_pause, interrupt_when, interrupt_when_after_pauses,
    run,
};
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
    // What the owner finds afterwards, in its second look (the first is before the children):
    // the last to attach 0640 and 0666 was the member, and the stranger's text is in 0666.
    let (lesson_pid, member_pid) = (run.calls[0].pid, common::number_after(&member, "[member "));
    let second_look = part2.split("\n[member ").last().unwrap();
    let stat = |id: i32, pid: String, whose: &str| {
        format!("shmctl({id}, IPC_STAT, &ds) = 0   (shm_nattch 0, shm_lpid {pid}: {whose})")
    };
    line_with(second_look, &[&stat(private, lesson_pid.to_string(), "this lesson")]);
    line_with(second_look, &[&stat(group, member_pid.to_string(), "another process")]);
    line_with(second_look, &[&stat(everyone, member_pid.to_string(), "another process")]);
    let holds = second_look.lines().filter(|line| line.contains("  it holds "));
    let holds: Vec<&str> = holds.map(|line| line.split("] ").nth(1).unwrap()).collect();
    assert_eq!(
        holds,
        [
            "  it holds \"the parent's secret\"   (what the lesson wrote)",
            "  it holds \"the parent's secret\"   (what the lesson wrote)",
            "  it holds \"overwritten by uid 65534\"   (someone changed it)",
        ],
        "{second_look}"
    );
    assert!(second_look.contains("someone else came: shm_lpid is their pid"), "{second_look}");
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
fn ctrl_c_while_waiting_for_a_classmate_removes_the_three_segments_and_exits_130() {
    let pause = "[Enter] to continue";
    let run =
        interrupt_when_after_pauses("lesson09", &["--fast", "--step"], 1, pause, Signal::SIGINT);
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(part(&stdout, 2).contains("cargo run --bin lesson09 -- attach "), "{stdout}");
    assert!(stderr.contains("[SIGINT] stopping: removed 3 object(s)"), "{stderr}");
    run.assert_nothing_left();
}

#[test]
fn sigterm_at_the_pause_cleans_up_and_exits_143() {
    let run = interrupt_at_the_pause("lesson09", Signal::SIGTERM);
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(143), "{stderr}");
    run.assert_nothing_left();
}

// ---------------------------------------------------------------------------------------------
// A classmate: the `attach` command, run as another user at the Part 2 pause
// ---------------------------------------------------------------------------------------------

/// The uid and gid of `nobody`: the classmate when the tests run as root.
const NOBODY: u32 = 65534;

/// The words of a printed command line, as a shell splits them (a "quoted part" is one word).
fn words_of(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.trim().chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => words.extend((!word.is_empty()).then(|| std::mem::take(&mut word))),
            _ => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// A copy of a binary in a directory of its own that every user may enter, removed on drop:
/// `nobody` cannot reach every target directory (a home directory may be closed to others).
struct SharedCopy(std::path::PathBuf);

impl SharedCopy {
    fn of(binary: &str) -> SharedCopy {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("lesson09-classmate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::copy(binary, dir.join("lesson09")).expect("the printed binary exists");
        SharedCopy(dir)
    }
}

impl Drop for SharedCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a printed `lesson09 attach ...` command line as the classmate: `nobody` (another,
/// ordinary user) when the tests run as root; otherwise the same user, in another process.
fn run_as_classmate(printed: &str) -> Run {
    let words = words_of(printed);
    let expected = std::fs::canonicalize(common::lesson_path("lesson09")).unwrap();
    let binary = std::fs::canonicalize(&words[0]).expect("the printed binary exists");
    assert_eq!(binary, expected, "the command names this lesson's binary: {printed}");
    let root = nix::unistd::geteuid().is_root();
    let copy = root.then(|| SharedCopy::of(&words[0]));
    let program = copy.as_ref().map_or(binary, |copy| copy.0.join("lesson09"));
    let mut command = Command::new(program);
    command.args(&words[1..]).env("NO_COLOR", "1").env_remove("XDG_RUNTIME_DIR");
    if root {
        command.uid(NOBODY).gid(NOBODY).env("HOME", "/");
    }
    common::run_command(command)
}

/// A `--fast --step` run of lesson09 that answers every pause with Enter; at the pause of each
/// part in `act`, first runs what `act` says on the text printed so far.
fn step_through(mut act: impl FnMut(u32, &str)) -> Run {
    let trace = TraceFile::new();
    let mut child = common::lesson("lesson09")
        .args(["--fast", "--step", "--trace", trace.path()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lesson starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut seen, mut part) = (String::new(), 0);
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.starts_with("== Part ") {
            part = common::number_after(&line, "== Part ") as u32;
        }
        if line.contains("[Enter] to continue") {
            act(part, &seen);
            child.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
        }
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    Run::new(seen, stderr, status, trace.calls())
}

/// The line after the one containing `label`, in `text`.
fn line_after<'a>(text: &'a str, label: &str) -> &'a str {
    let mut lines = text.lines().skip_while(|line| !line.contains(label));
    lines.nth(1).unwrap_or_else(|| panic!("nothing after {label:?} in:\n{text}"))
}

/// The lesson's first look at its segments in Part 2 (before any child of its own knocks).
fn first_look(run: &Run) -> &str {
    let part2 = part(&run.stdout, 2);
    let end = part2.find("else came: ").expect("the lesson says whether anyone came");
    &part2[..end]
}

#[test]
fn a_classmate_at_the_pause_is_refused_or_let_in_as_the_kernel_says_and_noticed() {
    let mut classmate = None;
    let mut owner_tried = None;
    let run = step_through(|part, seen| match part {
        2 => {
            let cargo = line_after(seen, "From their own copy of the workbook:");
            assert!(cargo.trim().starts_with("cargo run --bin lesson09 -- attach "), "{cargo}");
            let binary = line_after(seen, "or with your build");
            let (cargo_args, binary_args) = (&words_of(cargo)[5..], &words_of(binary)[1..]);
            assert_eq!(cargo_args, binary_args, "the two commands do the same");
            classmate = Some(run_as_classmate(binary));
        }
        3 => {
            // The owner's own try, as the pause words it: the cargo command, run as its binary.
            let hint = seen.lines().rev().find(|line| line.contains("try to write it anyway"));
            let cargo = hint.unwrap().split(":  ").nth(1).unwrap();
            let mut command = common::lesson("lesson09");
            command.args(&words_of(cargo)[5..]);
            owner_tried = Some(common::run_command(command));
        }
        _ => {}
    });
    run.assert_success();
    let classmate = classmate.expect("Part 2 paused for a classmate");
    classmate.assert_success();
    assert!(classmate.stderr.is_empty(), "{}", classmate.stderr);

    // The classmate's shmat calls, as the kernel answered them: another user gets EACCES from
    // 0600 and 0640 (not in root's group) and gets in 0666; the owner itself gets in everywhere.
    let another_user = nix::unistd::geteuid().is_root();
    let ids = ["0600", "0640", "0666"].map(|mode| created(&run, mode)[0]);
    let pid = classmate.calls[0].pid;
    for (id, mode) in ids.iter().zip(["0600", "0640", "0666"]) {
        let shmat = classmate.calls_named("shmat").find(|c| c.args[0] == id.to_string());
        let shmat = shmat.unwrap_or_else(|| panic!("no shmat of {id}: {:#?}", classmate.calls));
        assert_eq!(shmat.args[1..], ["NULL", "0"], "read-write: {shmat:?}");
        let refused = another_user && mode != "0666";
        assert_eq!(shmat.errno.as_deref(), refused.then_some("EACCES"), "{mode}: {shmat:?}");
        let line = printed(&classmate, shmat);
        assert!(line.starts_with(&format!("[classmate {pid}] ")), "{line}");
    }
    let wrote = classmate.lines().filter(|l| l.contains("wrote \"a classmate was here\"")).count();
    assert_eq!(wrote, if another_user { 1 } else { 3 }, "{}", classmate.stdout);
    assert_eq!(classmate.calls_named("shmdt").count(), wrote, "each attachment detached");
    classmate.assert_printed_calls_were_made();
    assert!(classmate.calls.iter().all(|c| c.pid == pid), "one process: {:#?}", classmate.calls);

    // What the lesson noticed after the pause: the classmate's pid as shm_lpid, and its text,
    // where the kernel let it in; its own pid and its own text elsewhere.
    let look = first_look(&run);
    let lesson_pid = run.calls[0].pid;
    let holds: Vec<&str> = look.lines().filter(|l| l.contains("  it holds ")).collect();
    for (at, (id, mode)) in ids.iter().zip(["0600", "0640", "0666"]).enumerate() {
        let came = !another_user || mode == "0666";
        let (lpid, whose) =
            if came { (pid, "another process") } else { (lesson_pid, "this lesson") };
        let stat =
            format!("shmctl({id}, IPC_STAT, &ds) = 0   (shm_nattch 0, shm_lpid {lpid}: {whose})");
        line_with(look, &[&stat]);
        let text = if came { "a classmate was here" } else { "the parent's secret" };
        assert!(holds[at].contains(&format!("it holds \"{text}\"")), "{mode}: {look}");
    }
    assert!(part(&run.stdout, 2).contains("someone else came: "), "{look}");
    run.assert_printed_calls_were_made();
    run.assert_nothing_left();
    classmate.assert_nothing_left();

    // Part 3's hint: the owner's own read-write attach of the 0400 segment is refused, as the
    // pause says, unless the owner is root.
    let owner = owner_tried.expect("Part 3 paused");
    owner.assert_success();
    let id = created(&run, "0400")[0].to_string();
    let shmat = owner.calls_named("shmat").find(|c| c.args == [&*id, "NULL", "0"]).unwrap();
    let expected = (!nix::unistd::geteuid().is_root()).then_some("EACCES");
    assert_eq!(shmat.errno.as_deref(), expected, "{shmat:?}");
}

#[test]
fn without_a_classmate_the_lesson_says_nobody_came() {
    let run = run("lesson09", &["--fast"]);
    run.assert_success();
    let look = first_look(&run);
    let lesson_pid = run.calls[0].pid;
    for mode in ["0600", "0640", "0666"] {
        let id = created(&run, mode)[0];
        let stat =
            format!("shmctl({id}, IPC_STAT, &ds) = 0   (shm_nattch 0, shm_lpid {lesson_pid}");
        line_with(look, &[&stat]);
    }
    let holds = look.lines().filter(|l| l.contains("it holds \"the parent's secret\"")).count();
    assert_eq!(holds, 3, "{look}");
    assert!(part(&run.stdout, 2).contains("nobody else came: "), "{look}");
    run.assert_nothing_left();
}

#[test]
fn step_pauses_in_every_part() {
    let run = step_through(|_, _| {});
    run.assert_success();
    for number in 1..=5 {
        let pauses = part(&run.stdout, number).matches("[Enter] to continue").count();
        assert!(pauses >= 1, "no pause in Part {number}:\n{}", part(&run.stdout, number));
    }
    run.assert_nothing_left();
}

#[test]
fn attach_refuses_bad_arguments_with_a_sentence_and_exit_2() {
    // An id that no segment has: not the next id (a test beside this one may be given it), but
    // the largest, which the kernel hands out only after 65535 reuses of its last slot.
    let table = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let mut ids = table.lines().skip(1).filter_map(|l| l.split_whitespace().nth(1)?.parse().ok());
    assert!(!ids.any(|id: i32| id == i32::MAX), "a segment has the id {}", i32::MAX);
    let missing = i32::MAX.to_string();
    let cases: [(&[&str], &str); 6] = [
        (&["attach"], "attach needs one shmid or more"),
        (&["attach", "twelve"], "`twelve` is not a shmid: a shmid is a whole number"),
        (&["attach", &missing], &format!("no segment has shmid {missing}")),
        (&["attach", "1", "--read-only", "--write", "x"], "--read-only cannot --write"),
        (&["--read-only"], "--read-only and --write go with attach SHMID"),
        (&["attach", "--write"], "--write needs a value"),
    ];
    for (args, sentence) in cases {
        let run = run("lesson09", args);
        assert_eq!(run.code(), Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(sentence), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("internal error"), "{args:?}: {}", run.stderr);
        assert!(!run.stdout.contains("wrote"), "{args:?}: {}", run.stdout);
        // Only the missing id gets as far as a call: shmat's own EINVAL, printed as made.
        let shmats: Vec<_> = run.calls_named("shmat").collect();
        if args == ["attach", missing.as_str()] {
            assert_eq!(shmats.len(), 1, "{shmats:?}");
            assert_eq!(shmats[0].errno.as_deref(), Some("EINVAL"), "{shmats:?}");
            printed(&run, shmats[0]);
            run.assert_nothing_left();
        } else {
            assert!(run.calls.is_empty(), "{args:?}: {:#?}", run.calls);
        }
    }
}
