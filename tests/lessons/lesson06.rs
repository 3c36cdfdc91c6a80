//! lesson06: the document's lines in the document's order, the ENOENT of a consumer that comes
//! too early, a stress run that loses, duplicates and reorders nothing, and the document's C
//! built with `cc -O2`: hung, stopped, and its leftover segment found and removed.

use crate::common;

use common::run;

/// The text after `] ` of every line by `role`.
fn said_by<'a>(text: &'a str, role: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(&format!("[{role} ")))
        .filter_map(|l| l.split_once("] ").map(|(_, t)| t))
        .collect()
}

#[test]
fn five_messages_then_end_in_both_versions() {
    let run = run("lesson06", &["--fast"]);
    run.assert_success();
    for part in [
        run.stdout.split("Part 2").nth(1).unwrap().split("Part 3").next().unwrap(),
        run.stdout.split("Part 3").nth(1).unwrap().split("Part 4").next().unwrap(),
    ] {
        let consumer: Vec<&str> =
            said_by(part, "consumer").into_iter().filter(|t| t.starts_with("Consumer")).collect();
        let expected: Vec<String> = (1..=5)
            .map(|n| format!("Consumer read: Message {n}"))
            .chain(["Consumer received END signal. Exiting...".to_owned()])
            .collect();
        assert_eq!(consumer, expected, "{part}");
        let producer: Vec<&str> =
            said_by(part, "producer").into_iter().filter(|t| t.starts_with("Producer")).collect();
        assert_eq!(
            producer,
            (1..=5).map(|n| format!("Producer wrote: Message {n}")).collect::<Vec<_>>()
        );
        // Each message is written before it is read.
        for n in 1..=5 {
            let wrote = part.find(&format!("Producer wrote: Message {n}")).unwrap();
            let read = part.find(&format!("Consumer read: Message {n}")).unwrap();
            assert!(wrote < read, "message {n} read before it was written:\n{part}");
        }
        assert!(part.contains("of CPU time"), "the consumer reports its CPU time:\n{part}");
    }
    run.assert_nothing_left();
}

#[test]
fn a_consumer_that_looks_before_the_segment_exists_gets_enoent() {
    let run = run("lesson06", &["--fast"]);
    run.assert_success();
    let part1 = run.stdout.split("Part 2").next().unwrap();
    assert!(part1.contains(", 104, 0) = -1 ENOENT   (no IPC_CREAT"), "{part1}");
    assert!(part1.contains("no segment has this key, and IPC_CREAT was not given"), "{part1}");
    // The trace: the consumer's shmget without IPC_CREAT failed; the producer's, later, made it.
    let shmgets: Vec<_> = run.calls_named("shmget").collect();
    let looked = shmgets.iter().find(|c| c.role == "consumer").expect("the consumer's shmget");
    assert_eq!(looked.args[1..], ["104", "0"], "{}", looked.text);
    assert_eq!(looked.errno.as_deref(), Some("ENOENT"), "{}", looked.text);
    assert!(looked.args[0].starts_with("0x"), "an ftok key: {}", looked.text);
    let created = shmgets.iter().find(|c| c.role == "producer").expect("the producer's shmget");
    assert_eq!(created.args, [&looked.args[0][..], "104", "IPC_CREAT|IPC_EXCL|0600"]);
    assert!(created.errno.is_none(), "{}", created.text);
    assert!(part1.contains(&created.text), "the story prints the call made:\n{part1}");
}

#[test]
fn the_trace_holds_the_calls_each_part_teaches() {
    let run = run("lesson06", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let producer = |name: &'static str| {
        run.calls.iter().filter(move |c| c.role == "producer" && c.call == name)
    };
    let private: Vec<_> = producer("shmget").filter(|c| c.args[0] == "IPC_PRIVATE").collect();
    assert_eq!(private.len(), 2, "one segment per part");
    for call in &private {
        assert_eq!(call.args[1..], ["104", "IPC_CREAT|IPC_EXCL|0600"], "{}", call.text);
        let removed = format!("shmctl({}, IPC_RMID, NULL) = 0", call.result.as_deref().unwrap());
        assert!(producer("shmctl").any(|c| c.text == removed), "{removed}");
        assert!(run.stdout.contains(&removed), "printed: {removed}");
    }
    assert!(run.stdout.contains("the policy: spin\n"), "{}", run.stdout);
    assert!(run.stdout.contains("the policy: spin, then sleep on a futex"), "{}", run.stdout);
    // Part 2 spins: no futex call at all before Part 3's segment; Part 3 wakes and sleeps.
    let wakes = run.calls.iter().filter(|c| c.call == "futex" && c.args[1] == "FUTEX_WAKE");
    assert!(wakes.count() >= 12, "every publish of Part 3 wakes (5 messages, END, 6 replies)");
    assert!(
        run.calls
            .iter()
            .any(|c| c.role == "consumer" && c.args.get(1).is_some_and(|a| a == "FUTEX_WAIT")),
        "the consumer slept on the flag in Part 3"
    );
}

/// Runs `args`, and once `marker` is printed after `part`, kills the process of `role` that
/// printed it with SIGKILL; returns the finished run and the victim's pid.
fn kill_partner(args: &[&str], part: &str, marker: &str, role: &str) -> (common::Run, i32) {
    use std::io::{BufRead, BufReader, Read};
    let trace = common::TraceFile::new();
    let mut child = common::lesson("lesson06")
        .args(args)
        .args(["--trace", trace.path()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut seen, mut in_part, mut victim) = (String::new(), false, 0);
    while victim == 0 {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "ended early:\n{seen}");
        seen.push_str(&line);
        in_part |= line.contains(part);
        if in_part && line.starts_with(&format!("[{role} ")) && line.contains(marker) {
            victim = common::number_after(&line, &format!("[{role} ")) as i32;
        }
    }
    let pid = nix::unistd::Pid::from_raw(victim);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let watchdog = common::Watchdog::new(
        &child,
        std::time::Duration::from_secs(20),
        nix::sys::signal::Signal::SIGKILL,
    );
    let status = child.wait().unwrap();
    drop(watchdog);
    stdout.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (common::Run::new(seen, stderr, status, trace.calls()), victim)
}

#[test]
fn a_killed_consumer_ends_the_spinning_producer_with_an_error() {
    // Without --fast: the producer pauses 300 ms between messages, so the consumer is killed
    // while the exchange is still going on.
    let (run, victim) = kill_partner(&[], "== Part 2", "Consumer read: Message 1", "consumer");
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    assert_eq!(run.code(), Some(1), "an error, not a hang:\n{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("the child process {victim} ended")), "{stderr}");
    assert!(!stdout.contains("== Part 3"), "{stdout}");
    run.assert_nothing_left();
}

#[test]
fn the_stress_run_delivers_every_message_once_in_order() {
    let run = run("lesson06", &["--fast", "--messages", "20000"]);
    run.assert_success();
    assert!(
        run.stdout.contains("received 20000 messages, each exactly once and in order"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("20000 messages in "), "{}", run.stdout);
    assert!(run.stdout.contains("messages/s"), "{}", run.stdout);
    assert!(!run.stdout.contains("Part 1"), "--messages replaces the story");
    run.assert_nothing_left();
}

#[test]
fn ctrl_c_during_the_story_leaves_nothing() {
    let run = common::interrupt_when(
        "lesson06",
        &[],
        "Producer wrote: Message 2",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    run.assert_nothing_left();
}

/// Part 4 of a run's story.
fn part_four(stdout: &str) -> &str {
    stdout.split("== Part 4").nth(1).unwrap_or_else(|| panic!("no Part 4:\n{stdout}"))
}

/// Whether `cc` is GCC, whose -O2 is known to load the flag once (another compiler may not).
fn cc_is_gcc() -> bool {
    let version = std::process::Command::new("cc").arg("--version").output();
    version.is_ok_and(|out| {
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        text.contains("gcc") || text.contains("free software foundation")
    })
}

/// The rows of /proc/sysvipc/shm as (shmid, key, cpid).
fn segments() -> Vec<(i32, i64, i32)> {
    let table = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    table
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f[1].parse().unwrap(), f[0].parse().unwrap(), f[4].parse().unwrap())
        })
        .collect()
}

/// The private directory a line `built cc -O2 -o <dir>/flag <dir>/flag.c` names.
fn built_in(part: &str) -> std::path::PathBuf {
    let line = part.lines().find(|l| l.contains("] built cc -O2 -o ")).expect("the build line");
    let binary = line.split(" -o ").nth(1).unwrap().split_whitespace().next().unwrap();
    std::path::Path::new(binary).parent().unwrap().to_owned()
}

#[test]
fn the_c_flag_program_hangs_at_o2_is_interrupted_and_its_leftover_removed() {
    let run = run("lesson06", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let part = part_four(&run.stdout);
    if !c_compiler_here() {
        assert!(part.contains("no C compiler (cc) here: Part 4 is skipped"), "{part}");
        return;
    }
    // The wait loop as compiled: GCC's -O2 loads the flag once, before a loop that reads none.
    assert!(part.lines().any(|l| l.starts_with("  > ")), "the loop is marked:\n{part}");
    if cc_is_gcc() {
        assert!(part.contains("the loop (>) reads no memory: the flag was loaded once"), "{part}");
    }
    // The program: forked, its segment adopted by key (no IPC_CREAT), watched read-only.
    let program = common::number_after(part, "fork() = ") as i32;
    assert!(part.contains(&format!("fork() = {program}   (becomes the C program: flag ")));
    let adopted = run.calls_named("shmget").find(|c| c.args[1..] == ["0", "0"]).expect("adopted");
    let (key, id) = (adopted.args[0].clone(), adopted.result.clone().expect("an id"));
    let lesson = adopted.pid;
    // Made by the child that became the program, before exec: its creator is the program's pid.
    let made = run.calls_named("shmget").find(|c| c.pid == program).expect("the child's shmget");
    assert_eq!(made.args, [key.as_str(), "104", "IPC_CREAT|IPC_EXCL|0600"], "{}", made.text);
    assert_eq!(made.result.as_deref(), Some(id.as_str()));
    // It hung: after the watch, both of its processes were running (spinning), not sleeping.
    let consumer = common::number_after(part, "the C consumer, pid ") as i32;
    for (who, pid) in [("producer", program), ("consumer", consumer)] {
        let line = format!("the C {who}, pid {pid}: state R, ");
        assert!(part.contains(&line), "{line}\n{part}");
    }
    assert!(part.contains(" unchanged: flag ") && !part.contains("still changing"), "{part}");
    // Stopped with SIGINT, as Ctrl-C would, and both reaped by the lesson.
    for pid in [program, consumer] {
        for text in
            [format!("kill({pid}, SIGINT) = 0"), format!("waitpid({pid}, &status, 0) = {pid}")]
        {
            assert!(run.calls.iter().any(|c| c.pid == lesson && c.text == text), "{text}");
        }
    }
    assert!(part.contains("(the C producer, killed by SIGINT: no handler, no cleanup)"), "{part}");
    // The leftover, as /proc/sysvipc/shm showed it: the dead creator's pid, nobody attached.
    let row: Vec<&str> = part
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&id.as_str()))
        .unwrap_or_else(|| panic!("the row of segment {id}:\n{part}"));
    assert_eq!(row[3..5], [program.to_string(), "0".to_owned()], "cpid and nattch: {row:?}");
    let leftover = format!(
        "leftover: shmid {id}, key {key}, 104 bytes, created by pid {program} (gone)   (the C program's)"
    );
    assert!(part.contains(&leftover), "{leftover}\n{part}");
    let removed = format!("shmctl({id}, IPC_RMID, NULL) = 0");
    assert!(run.calls.iter().any(|c| c.pid == lesson && c.text == removed), "{removed}");
    // The kernel's tables: no segment of the program's, no process of it, no file.
    assert!(!segments().iter().any(|&(_, _, cpid)| cpid == program), "{:?}", segments());
    assert!(!common::process_exists(program) && !common::process_exists(consumer));
    assert!(!built_in(part).exists(), "{}", built_in(part).display());
    run.assert_nothing_left();
}

#[test]
fn ctrl_c_while_the_c_program_spins_leaves_nothing() {
    use std::io::{BufRead, BufReader, Read};
    if !c_compiler_here() {
        eprintln!("no cc: nothing to interrupt");
        return;
    }
    let trace = common::TraceFile::new();
    let mut child = common::lesson("lesson06")
        .args(["--fast", "--trace", trace.path()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // The C producer has written its first message: both C processes exist, and spin.
    while !seen.contains("[C producer ") {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "ended early:\n{seen}");
        seen.push_str(&line);
    }
    let program = common::number_after(part_four(&seen), "fork() = ") as i32;
    let consumers: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1))
                == Some(&program.to_string())
        })
        .collect();
    assert_eq!(consumers.len(), 1, "the C program forked its consumer: {consumers:?}");
    let lesson = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(lesson, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    stdout.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{seen}\n{stderr}");
    let run = common::Run::new(seen, stderr, status, trace.calls());
    let adopted = run.calls_named("shmget").find(|c| c.args[1..] == ["0", "0"]).expect("adopted");
    // The key as /proc/sysvipc/shm prints it: a signed decimal key_t.
    let key = u32::from_str_radix(adopted.args[0].trim_start_matches("0x"), 16).unwrap() as i32;
    let left: Vec<_> = segments()
        .into_iter()
        .filter(|&(_, k, cpid)| k == i64::from(key) || cpid == program)
        .collect();
    assert!(left.is_empty(), "the C program's segment was left: {left:?}");
    for pid in [program, consumers[0]] {
        assert!(!common::process_exists(pid), "process {pid} of the C program is left");
    }
    assert!(!built_in(part_four(&run.stdout)).exists());
    run.assert_nothing_left();
}

#[test]
fn without_a_working_cc_part_four_says_so_in_one_line() {
    // No cc on PATH at all.
    let mut command = common::lesson("lesson06");
    command.arg("--fast").env("PATH", "/nonexistent");
    let run = common::run_command(command);
    run.assert_success();
    let part = part_four(&run.stdout);
    let said: Vec<&str> = part.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(said.len(), 1, "{part}");
    assert!(
        said[0].ends_with("] no C compiler (cc) here: Part 4 is skipped (install gcc to see it)")
    );
    run.assert_nothing_left();

    // A cc that fails (no C headers, say): its first error line, and nothing left behind.
    let dir = std::env::temp_dir().join(format!("shm-workbook-test-cc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = dir.join("cc");
    let script = "#!/bin/sh\necho 'flag.c:1:10: fatal error: stdio.h: No such file or directory' >&2\nexit 1\n";
    std::fs::write(&cc, script).unwrap();
    std::fs::set_permissions(&cc, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut command = common::lesson("lesson06");
    command.arg("--fast").env("PATH", &dir);
    let run = common::run_command(command);
    std::fs::remove_dir_all(&dir).unwrap();
    run.assert_success();
    let part = part_four(&run.stdout);
    let said: Vec<&str> = part.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(said.len(), 1, "{part}");
    assert!(said[0].contains("` failed (flag.c:1:10: fatal error: stdio.h: No such file or directory): Part 4 is skipped"), "{}", said[0]);
    let built = said[0].split("`cc -O2 -o ").nth(1).unwrap().split_whitespace().next().unwrap();
    let scratch = std::path::Path::new(built).parent().unwrap();
    assert!(!scratch.exists(), "{} was left behind", scratch.display());
    run.assert_nothing_left();
}

/// The processes whose parent is `parent`, from /proc.
fn children_of(parent: i32) -> Vec<i32> {
    let parent = parent.to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1))
                == Some(parent.as_str())
        })
        .collect()
}

#[test]
fn killed_with_sigkill_while_the_c_program_spins_the_next_run_removes_its_segment() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::DirBuilderExt;
    if !c_compiler_here() {
        eprintln!("no cc: nothing to kill");
        return;
    }
    // A registry of our own, so that the sweep seen is the next run's; and the orphans of the
    // killed lesson come to this process (a subreaper), which reaps them.
    let runtime =
        std::env::temp_dir().join(format!("shm-workbook-l06-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runtime);
    std::fs::DirBuilder::new().mode(0o700).create(&runtime).unwrap();
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer; no memory is passed.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
    let trace = common::TraceFile::new();
    let mut child = common::lesson("lesson06")
        .args(["--fast", "--trace", trace.path()])
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("[C producer ") {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "ended early:\n{seen}");
        seen.push_str(&line);
    }
    let program = common::number_after(part_four(&seen), "fork() = ") as i32;
    let consumer = children_of(program);
    let lesson = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(lesson, nix::sys::signal::Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    // The program and its consumer die with the lesson (PR_SET_PDEATHSIG); reap them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for pid in consumer.iter().copied().chain([program]) {
        while common::process_exists(pid) && std::time::Instant::now() < deadline {
            let flags = Some(nix::sys::wait::WaitPidFlag::WNOHANG);
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), flags);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!common::process_exists(pid), "process {pid} outlived the killed lesson");
    }
    // Its segment is left, as the document's program leaves it, created by the program's pid.
    let calls = trace.calls();
    let made = calls.iter().find(|c| c.call == "shmget" && c.pid == program).expect("made");
    let id: i32 = made.result.as_deref().unwrap().parse().unwrap();
    assert!(segments().iter().any(|&(s, _, cpid)| s == id && cpid == program), "{id} is left");
    // The next run removes it, and says so.
    let mut command = common::lesson("lesson06");
    command.arg("--fast").env("XDG_RUNTIME_DIR", &runtime);
    let next = common::run_command(command);
    next.assert_success();
    let line = next
        .lines()
        .find(|l| l.contains("cleaned up after an earlier run that was killed (pid"))
        .unwrap_or_else(|| panic!("the sweep's line:\n{}", next.stdout));
    assert!(
        line.contains(&program.to_string()) && line.contains(&format!("segment {id}")),
        "{line}"
    );
    assert!(!segments().iter().any(|&(s, _, cpid)| s == id && cpid == program), "{id} stays");
    assert!(!built_in(part_four(&seen)).exists(), "the killed run's files are swept too");
    next.assert_nothing_left();
    let folder = runtime.join("shm-workbook");
    let runs: Vec<_> = std::fs::read_dir(&folder).into_iter().flatten().flatten().collect();
    assert!(runs.is_empty(), "no run file stays: {runs:?}");
    assert!(!folder.exists(), "and the folder went with the last one");
    std::fs::remove_dir_all(&runtime).unwrap();
}

/// Whether `cc` is an executable file on the PATH, as the lesson looks for it.
fn c_compiler_here() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).map(|dir| dir.join("cc")).any(|candidate| {
        std::fs::metadata(candidate)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}
