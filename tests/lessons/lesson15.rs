//! lesson15 as a student runs it: a memfd made by a server and passed to a client over a Unix
//! socket, shrunk under the client (SIGBUS in its child), then sealed; nothing is left after,
//! and a partner killed at any pause ends the run with an error, no hang and no leak.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use common::{Run, TraceCall, TraceFile, Watchdog, process_exists, run};

/// The pid of the first line of `role` in the story.
fn pid_of(stdout: &str, role: &str) -> i32 {
    let prefix = format!("[{role:<6} ");
    let line = stdout.lines().find(|l| l.starts_with(&prefix)).expect("a line of the role");
    line[prefix.len()..].split(']').next().unwrap().trim().parse().unwrap()
}

/// The calls of `role` named `name`.
fn calls<'a>(run: &'a Run, role: &'a str, name: &'a str) -> Vec<&'a TraceCall> {
    run.calls_named(name).filter(|call| call.role == role).collect()
}

/// The line of `role` that contains `text`.
fn line_of<'a>(run: &'a Run, role: &str, text: &str) -> &'a str {
    let prefix = format!("[{role:<6} ");
    run.lines()
        .find(|l| l.starts_with(&prefix) && l.contains(text))
        .unwrap_or_else(|| panic!("no [{role}] line with {text:?}:\n{}", run.stdout))
}

/// The directory of the socket, from the bind line.
fn socket_dir(run: &Run) -> std::path::PathBuf {
    let bind = calls(run, "lesson", "bind");
    let text = &bind.first().expect("the lesson binds the socket").text;
    let path = text.split('"').nth(1).expect("the path in the bind");
    std::path::Path::new(path).parent().unwrap().to_owned()
}

#[test]
fn the_descriptor_crosses_between_two_processes_that_are_not_parent_and_child() {
    let run = run("lesson15", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let (server, client) = (pid_of(&run.stdout, "server"), pid_of(&run.stdout, "client"));
    // Both were forked by the lesson: neither is the other's parent, and neither forks the other.
    let forked: Vec<&str> =
        calls(&run, "lesson", "fork").iter().filter_map(|c| c.result.as_deref()).collect();
    assert_eq!(forked, [server.to_string(), client.to_string()]);
    assert!(calls(&run, "server", "fork").is_empty(), "the server forks nothing");
    // The server's memfd: no name anywhere, a link in /proc, passed with SCM_RIGHTS.
    let made = calls(&run, "server", "memfd_create");
    assert_eq!(made[0].args, ["\"lesson15\"", "MFD_CLOEXEC"], "{}", made[0].text);
    let fd = made[0].result.clone().unwrap();
    line_of(&run, "server", &format!("/proc/{server}/fd/{fd} -> /memfd:lesson15 (deleted)"));
    let sent = calls(&run, "server", "sendmsg");
    assert!(sent[0].text.contains(&format!("SCM_RIGHTS {{{fd}}}")), "{}", sent[0].text);
    // The client's new descriptor points to the same file, and it maps that one.
    let got = calls(&run, "client", "recvmsg");
    let passed = got.iter().find(|c| c.text.contains("SCM_RIGHTS")).expect("the client's fd");
    let theirs = passed.text.split("SCM_RIGHTS {").nth(1).unwrap().split('}').next().unwrap();
    line_of(&run, "client", &format!("/proc/{client}/fd/{theirs} -> /memfd:lesson15 (deleted)"));
    let mapped = calls(&run, "client", "mmap");
    assert_eq!(mapped[0].args[2..5], ["PROT_READ", "MAP_SHARED", theirs]);
    line_of(&run, "client", "Client read: frame 1 from the server");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn a_shrink_under_the_reader_kills_its_child_with_sigbus_at_the_page_past_the_end() {
    let run = run("lesson15", &["--fast"]);
    run.assert_success();
    let page = shm_workbook::procfs::page_size();
    let shrink = calls(&run, "server", "ftruncate");
    assert_eq!(
        (shrink[1].args[1].as_str(), shrink[1].result.as_deref()),
        (&*page.to_string(), Some("0"))
    );
    let touched = line_of(&run, "reader", &format!("loading the byte at offset {page}, address "));
    let address = touched.rsplit(' ').next().unwrap();
    let died = line_of(&run, "client", "the reader died of SIGBUS at si_addr ");
    assert!(died.ends_with(&format!("si_addr {address}, offset {page}")), "{died}");
    line_of(&run, "client", &format!("(the object is {page} bytes now)"));
    // The reader is a child of the client, reaped by it.
    let waited = calls(&run, "client", "waitpid");
    assert!(!waited.is_empty(), "the client waits for its reader");
}

#[test]
fn seals_refuse_the_shrink_and_the_client_checks_them_first() {
    let run = run("lesson15", &["--fast"]);
    run.assert_success();
    let page = shm_workbook::procfs::page_size();
    let made = calls(&run, "server", "memfd_create");
    assert_eq!(made[1].args[1], "MFD_CLOEXEC|MFD_ALLOW_SEALING");
    let seals = calls(&run, "server", "fcntl");
    assert_eq!(seals[0].args[2], "F_SEAL_WRITE");
    assert_eq!(seals[0].errno.as_deref(), Some("EBUSY"), "its own writable mapping exists");
    assert_eq!(seals[1].args[2], "F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_FUTURE_WRITE");
    assert_eq!(seals[1].result.as_deref(), Some("0"));
    // The client asks for the seals before it reads the size or maps.
    let order: Vec<&str> = run
        .calls
        .iter()
        .filter(|c| c.role == "client" && !c.text.contains("1 byte)"))
        .map(|c| c.call.as_str())
        .skip_while(|&name| name != "fcntl")
        .take(3)
        .collect();
    assert_eq!(order, ["fcntl", "fstat", "mmap"]);
    let asked = calls(&run, "client", "fcntl");
    assert_eq!(asked[0].result.as_deref(), Some("0x17"), "{}", asked[0].text);
    let mapped = calls(&run, "client", "mmap");
    assert_eq!(
        (mapped[1].args[2].as_str(), mapped[1].errno.as_deref()),
        ("PROT_READ|PROT_WRITE", Some("EPERM"))
    );
    let refused = calls(&run, "server", "ftruncate");
    assert_eq!(refused[3].args[1], page.to_string());
    assert_eq!(refused[3].errno.as_deref(), Some("EPERM"), "{}", refused[3].text);
    line_of(&run, "client", &format!("the reader loaded 0x70 'p' at offset {page}: no SIGBUS"));
    line_of(&run, "client", "Client read: frame 2, written after F_SEAL_FUTURE_WRITE");
}

#[test]
fn when_the_last_holder_lets_go_nothing_is_left_anywhere() {
    let run = run("lesson15", &["--fast"]);
    run.assert_success();
    let (server, client) = (pid_of(&run.stdout, "server"), pid_of(&run.stdout, "client"));
    let server_fd = calls(&run, "server", "memfd_create")[1].result.clone().unwrap();
    line_of(&run, "server", &format!("/proc/{server}/fd/{server_fd} exists: false"));
    let closes = calls(&run, "client", "close");
    let last = closes.last().unwrap();
    line_of(&run, "client", &format!("/proc/{client}/fd/{} exists: false", last.args[0]));
    line_of(&run, "client", "memfd lines in /proc/self/maps: 0");
    line_of(&run, "lesson", "entries of this lesson in /dev/shm: 0");
    assert!(!socket_dir(&run).exists(), "the socket's directory is removed");
    run.assert_nothing_left();
}

/// Runs with `--fast --step`, answers each pause with Enter, and at pause `nth` (from 1)
/// kills the process of `role` with SIGKILL; the run must end by itself.
fn kill_at_pause(role: &str, nth: usize) -> Run {
    let trace = TraceFile::new();
    let mut child = common::lesson("lesson15")
        .args(["--fast", "--step", "--trace", trace.path()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watchdog = Watchdog::new(&child, Duration::from_secs(60), nix::sys::signal::SIGKILL);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut seen, mut pauses) = (String::new(), 0);
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        if line.contains("[Enter] to continue") {
            pauses += 1;
            if pauses == nth {
                let victim = nix::unistd::Pid::from_raw(pid_of(&seen, role));
                nix::sys::signal::kill(victim, nix::sys::signal::SIGKILL).unwrap();
            }
            let _ = stdin.write_all(b"\n");
        }
        line.clear();
    }
    drop(stdin);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!watchdog.fired(), "HANG after the {role} was killed:\n{seen}");
    assert!(pauses >= nth, "only {pauses} pauses:\n{seen}");
    Run {
        stdout: shm_workbook::fold::unfold(&seen),
        printed: seen,
        stderr,
        status,
        calls: trace.calls(),
    }
}

fn assert_ended_cleanly_without(run: &Run, role: &str) {
    assert_eq!(run.code(), Some(1), "an error exit:\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("what it means"), "the error explains:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stdout.contains("== Part 5"), "the story stops:\n{}", run.stdout);
    for other in ["server", "client", "lesson"] {
        let pid = pid_of(&run.stdout, other);
        assert!(!process_exists(pid), "the {other} ({pid}) is left after the {role} was killed");
    }
    assert!(!socket_dir(run).exists(), "the socket's directory is removed");
    run.assert_nothing_left();
}

#[test]
fn the_server_killed_while_it_holds_the_memfd_ends_the_run_cleanly() {
    let run = kill_at_pause("server", 1);
    assert_ended_cleanly_without(&run, "server");
    let named = format!("the server (pid {})", pid_of(&run.stdout, "server"));
    assert!(run.stderr.contains(&named) && run.stderr.contains("SIGKILL"), "{}", run.stderr);
}

#[test]
fn the_client_killed_while_it_maps_the_shrunk_object_ends_the_run_cleanly() {
    let run = kill_at_pause("client", 2);
    assert_ended_cleanly_without(&run, "client");
}

#[test]
fn the_client_killed_holding_the_last_reference_ends_the_run_cleanly() {
    let run = kill_at_pause("client", 4);
    assert!(run.stdout.contains("== Part 4"), "{}", run.stdout);
    assert_ended_cleanly_without(&run, "client");
    assert!(run.stderr.contains("SIGKILL"), "the lesson names the signal:\n{}", run.stderr);
}
