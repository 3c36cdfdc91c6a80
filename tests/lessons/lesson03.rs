//! lesson03 as a student runs it: IPC_STAT at each stage, a segment that outlives its creator,
//! IPC_RMID while attached, and nothing left behind.

use crate::common;

use common::{Run, TraceCall, interrupt_at_the_pause, run};

/// What one stage printed: the IPC_STAT fields, then the segment's `/proc/sysvipc/shm` line,
/// each as (name, value) in the order printed.
struct Stage {
    stat: Vec<(String, String)>,
    proc: Vec<(String, String)>,
}

impl Stage {
    fn stat(&self, name: &str) -> &str {
        Self::find(&self.stat, name)
    }

    fn proc(&self, name: &str) -> &str {
        Self::find(&self.proc, name)
    }

    fn find<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
        let found = fields.iter().find(|(n, _)| n == name);
        &found.unwrap_or_else(|| panic!("no {name} in {fields:?}")).1
    }
}

/// `name value  name value ...` as pairs.
fn pairs(text: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.len().is_multiple_of(2), "not name-value pairs: {text}");
    words.chunks(2).map(|pair| (pair[0].to_owned(), pair[1].to_owned())).collect()
}

/// Every stage of a part: an IPC_STAT call that succeeded, then the indented lines below it.
fn stages(part: &str) -> Vec<Stage> {
    let lines: Vec<&str> = part.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.ends_with("IPC_STAT, &ds) = 0") {
            continue;
        }
        let (mut stat, mut proc, mut in_proc) = (String::new(), String::new(), false);
        for below in &lines[i + 1..] {
            let Some((_, text)) = below.split_once("]     ") else { break };
            let text = match text.split_once("/proc/sysvipc/shm:") {
                Some((_, rest)) => {
                    in_proc = true;
                    rest
                }
                None => text,
            };
            let target = if in_proc { &mut proc } else { &mut stat };
            target.push(' ');
            target.push_str(text);
        }
        found.push(Stage { stat: pairs(&stat), proc: pairs(&proc) });
    }
    found
}

/// The `nattch N` values the IPC_STAT lines of a part report, in order.
fn nattch_values(part: &str) -> Vec<u64> {
    stages(part).iter().map(|stage| stage.stat("nattch").parse().unwrap()).collect()
}

fn part<'a>(stdout: &'a str, name: &str) -> &'a str {
    let start = stdout.find(name).unwrap_or_else(|| panic!("no {name}:\n{stdout}"));
    let rest = &stdout[start..];
    let end = rest[1..].find("\n== Part").map_or(rest.len(), |end| end + 1);
    &rest[..end]
}

#[test]
fn ipc_stat_follows_every_attach_and_detach_and_matches_the_kernel_table() {
    let run = run("lesson03", &["--fast"]);
    run.assert_success();
    let part1 = part(&run.stdout, "Part 1");
    assert_eq!(nattch_values(part1), [0, 1, 2, 1, 0], "{part1}");
    // Below each IPC_STAT, the segment's /proc/sysvipc/shm line, every column by its name in
    // the table's header and in its order, says the same (the key in decimal, the mode in
    // octal without its leading 0, times in seconds where IPC_STAT shows the time of day).
    let table = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    for stage in stages(&run.stdout) {
        let names: Vec<&str> = stage.proc.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, header, "{}", run.stdout);
        for name in ["size", "cpid", "lpid", "nattch"] {
            assert_eq!(stage.proc(name), stage.stat(name), "{name}:\n{}", run.stdout);
        }
        assert_eq!(stage.proc("perms"), stage.stat("mode").trim_start_matches('0'));
        let key = i64::from_str_radix(stage.stat("key").trim_start_matches("0x"), 16).unwrap();
        assert_eq!(stage.proc("key"), (key as i32).to_string(), "the key in decimal");
        for time in ["atime", "dtime"] {
            assert_eq!(stage.proc(time) == "0", stage.stat(time) == "never", "{time}");
        }
    }
    assert!(part1.contains("dtime never") && part1.contains("atime never"), "{part1}");
    assert!(part1.contains("detaching never destroys it"), "{part1}");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.assert_nothing_left();
}

#[test]
fn a_segment_outlives_its_creator_and_is_found_by_key() {
    let run = run("lesson03", &["--fast"]);
    run.assert_success();
    let part2 = part(&run.stdout, "Part 2");
    let creator = part2
        .lines()
        .find(|line| line.starts_with("[child ") && line.contains("wrote \"written by pid "))
        .map(|line| common::number_after(line, "written by pid "))
        .expect("the child writes");
    assert!(part2.contains(&format!("process {creator} has exited")), "{part2}");
    assert!(part2.contains("found by key: it outlived its creator"), "{part2}");
    assert!(
        part2.contains(&format!("cpid {creator}  ")),
        "IPC_STAT names the dead creator:\n{part2}"
    );
    assert!(part2.contains("names a process that no longer exists"), "{part2}");
    assert!(
        part2.lines().any(|line| line.starts_with("[parent ")
            && line
                .contains(&format!("read \"written by pid {creator}, which has exited since\""))),
        "the parent reads what the dead child wrote:\n{part2}"
    );
}

#[test]
fn ipc_rmid_while_attached_marks_the_segment_and_the_last_detach_frees_it() {
    let run = run("lesson03", &["--fast"]);
    run.assert_success();
    let part3 = part(&run.stdout, "Part 3");
    assert_eq!(nattch_values(part3), [2, 2, 1], "{part3}");
    let after = part3.split("after IPC_RMID").nth(1).expect("a stat after IPC_RMID");
    assert!(after.contains("key 0x00000000") && after.contains("mode 1600"), "marked: {after}");
    assert!(part3.contains("= -1 ENOENT   (the old key finds nothing)"), "{part3}");
    assert!(part3.contains("the key is free again"), "{part3}");
    assert!(part3.contains("reads \"written before IPC_RMID\""), "{part3}");
    assert!(part3.contains("reads \"the child wrote this after IPC_RMID\""), "{part3}");
    assert!(part3.contains("= -1 EINVAL   (the last detach freed it)"), "{part3}");
    assert!(part3.contains("not only the creator may remove a segment"), "{part3}");
}

#[test]
fn the_limits_come_from_proc_and_ipcrm_removes_by_key() {
    let run = run("lesson03", &["--fast"]);
    run.assert_success();
    let part4 = part(&run.stdout, "Part 4");
    let shmmax = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    assert!(part4.contains(&format!("SHMMAX (/proc/sys/kernel/shmmax) = {}", shmmax.trim())));
    let shmmni = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    assert!(part4.contains(&format!("SHMMNI (/proc/sys/kernel/shmmni) = {}", shmmni.trim())));
    if std::process::Command::new("ipcrm").arg("--version").output().is_ok() {
        assert!(part4.contains(": exit status 0"), "{part4}");
        assert!(part4.contains("is gone)\n"), "{part4}");
        assert!(part4.contains("`ipcrm -m <shmid>` does the same by id"), "{part4}");
    }
}

#[test]
fn shmall_is_told_in_pages_and_the_default_as_no_limit() {
    let run = run("lesson03", &["--fast"]);
    run.assert_success();
    let part4 = part(&run.stdout, "Part 4");
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).unwrap().unwrap();
    let number = |name: &str| -> u64 {
        let path = format!("/proc/sys/kernel/{name}");
        std::fs::read_to_string(path).unwrap().trim().parse().unwrap()
    };
    let (shmmax, shmall) = (number("shmmax"), number("shmall"));
    let shmall_line = format!("SHMALL (/proc/sys/kernel/shmall) = {shmall} pages of {page} bytes");
    assert!(part4.contains(&shmall_line), "{part4}");
    assert!(part4.contains(&format!("shmmax) = {shmmax} bytes\n")), "{part4}");
    // The default of both (man 2 shmget) is ULONG_MAX - 2^24: no limit, never a byte count
    // that saturated (SHMALL in bytes would overflow 64 bits).
    let no_limit = "no limit (ULONG_MAX - 2^24, the default since Linux 3.16)";
    let defaults = [shmmax, shmall].iter().filter(|&&n| n == u64::MAX - (1 << 24)).count();
    assert_eq!(part4.matches(no_limit).count(), defaults, "{part4}");
    assert!(!part4.contains("EiB"), "{part4}");
    run.assert_nothing_left();
}

#[test]
fn ctrl_c_at_each_pause_leaves_nothing() {
    // The first pause (Part 1, both attached, a child waiting on a semaphore).
    let run = interrupt_at_the_pause("lesson03", nix::sys::signal::Signal::SIGINT);
    let (code, stderr) = (run.code(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("reaped 1 child"), "{stderr}");
    run.assert_nothing_left();
    // The pause of Part 2, where the segment's creator has exited and the parent holds it.
    let run = common::interrupt_when_after_pauses(
        "lesson03",
        &["--fast", "--step"],
        1,
        "The creator (pid",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.contains("found by key"), "{stdout}");
    run.assert_nothing_left();
}

/// The line the lesson printed for a recorded call, as its narrator writes it.
fn printed(run: &Run, call: &TraceCall) -> String {
    let line = format!("[{:<6} {}] {}", call.role, call.pid, call.text);
    assert!(run.stdout.contains(&line), "not printed as made: {line}\n{}", run.stdout);
    line
}

/// The one recorded call named `name` whose arguments are `args`.
fn the_call<'a>(run: &'a Run, name: &'a str, args: &[&str]) -> &'a TraceCall {
    let found: Vec<_> = run.calls_named(name).filter(|call| call.args == args).collect();
    assert_eq!(found.len(), 1, "{name}{args:?} made {} times: {:#?}", found.len(), run.calls);
    found[0]
}

#[test]
fn the_trace_holds_the_calls_taught_with_their_real_arguments() {
    let run = run("lesson03", &["--fast"]);
    run.assert_success();
    let exclusive: Vec<&TraceCall> = run
        .calls_named("shmget")
        .filter(|call| call.args[1..] == ["4096", "IPC_CREAT|IPC_EXCL|0600"])
        .collect();
    // Parts 1, 2 (the child), 3 (and the successor), the removal by a child, and ipcrm.
    assert_eq!(exclusive.len(), 6, "{exclusive:#?}");
    let [part1, part2, part3] = [0, 1, 2].map(|i| exclusive[i]);
    assert!(part1.args[0].starts_with("0x31") && part3.args[0].starts_with("0x33"), "ftok's ids");
    let id = |call: &TraceCall| call.result.clone().expect("a shmid");
    let (id1, id2, id3) = (id(part1), id(part2), id(part3));
    // Part 1: both processes attach and detach; every stage is an IPC_STAT of the segment.
    let attaches: Vec<_> =
        run.calls_named("shmat").filter(|c| c.args == [&*id1, "NULL", "0"]).collect();
    assert_eq!(attaches.iter().map(|c| c.role.as_str()).collect::<Vec<_>>(), ["child", "parent"]);
    for attach in &attaches {
        printed(&run, attach);
        let address = attach.result.as_deref().expect("an address");
        let detach = run
            .calls_named("shmdt")
            .find(|c| c.pid == attach.pid && c.args == [address])
            .expect("the same process detaches the same address");
        assert_eq!(detach.result.as_deref(), Some("0"));
        printed(&run, detach);
    }
    let stats = run.calls_named("shmctl").filter(|c| c.args == [&*id1, "IPC_STAT", "&ds"]);
    assert!(stats.count() >= 5, "an IPC_STAT at each of the five stages");
    // Part 2: the child creates; after its waitpid, the parent finds the same id by key.
    assert_eq!(part2.role, "child");
    let found = the_call(&run, "shmget", &[&part2.args[0], "0", "0"]);
    assert_eq!((found.role.as_str(), found.result.as_ref()), ("parent", Some(&id2)));
    printed(&run, the_call(&run, "waitpid", &[&part2.pid.to_string(), "&status", "0"]));
    // Part 3: IPC_RMID while attached; the old key then finds nothing; the last detach frees.
    printed(&run, the_call(&run, "shmctl", &[&id3, "IPC_RMID", "NULL"]));
    let gone = the_call(&run, "shmget", &[&part3.args[0], "0", "0"]);
    assert_eq!(gone.errno.as_deref(), Some("ENOENT"), "{gone:?}");
    let freed = run.calls_named("shmctl").filter(|c| c.args == [&*id3, "IPC_STAT", "&ds"]).last();
    assert_eq!(freed.and_then(|c| c.errno.as_deref()), Some("EINVAL"));
    // A child removes a segment that its parent created.
    let by_child = id(exclusive[4]);
    let removal = the_call(&run, "shmctl", &[&by_child, "IPC_RMID", "NULL"]);
    assert_eq!((removal.role.as_str(), removal.result.as_deref()), ("child", Some("0")));
    printed(&run, removal);
    run.assert_nothing_left();
}

#[test]
fn a_bad_flag_exits_2() {
    let run = run("lesson03", &["--stpe"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("unknown flag `--stpe`"), "{}", run.stderr);
}
