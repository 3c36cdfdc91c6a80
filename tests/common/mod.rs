//! Running the real lesson binaries and checking the kernel's state afterwards.
#![allow(dead_code)] // each test file uses a different part of this module

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A finished run of a lesson.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Fails with the whole output, so that a failing test shows what the student saw.
    pub fn assert_success(&self) {
        assert_eq!(self.code(), Some(0), "the lesson failed:\n{}\n{}", self.stdout, self.stderr);
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout.lines()
    }
}

/// The command for a lesson binary, with colour off through NO_COLOR.
pub fn lesson(bin: &str) -> Command {
    let path = match bin {
        "lesson01" => env!("CARGO_BIN_EXE_lesson01"),
        "lesson02" => env!("CARGO_BIN_EXE_lesson02"),
        "lesson03" => env!("CARGO_BIN_EXE_lesson03"),
        "lesson04" => env!("CARGO_BIN_EXE_lesson04"),
        "lesson05" => env!("CARGO_BIN_EXE_lesson05"),
        "lesson06" => env!("CARGO_BIN_EXE_lesson06"),
        "lesson07" => env!("CARGO_BIN_EXE_lesson07"),
        "lesson08" => env!("CARGO_BIN_EXE_lesson08"),
        "lesson09" => env!("CARGO_BIN_EXE_lesson09"),
        "lesson10" => env!("CARGO_BIN_EXE_lesson10"),
        "lesson11" => env!("CARGO_BIN_EXE_lesson11"),
        "lesson12" => env!("CARGO_BIN_EXE_lesson12"),
        "lesson13" => env!("CARGO_BIN_EXE_lesson13"),
        "lesson14" => env!("CARGO_BIN_EXE_lesson14"),
        other => panic!("no binary {other}"),
    };
    let mut command = Command::new(path);
    command.env("NO_COLOR", "1").stdin(Stdio::null());
    command
}

/// Runs a lesson to the end with the given flags.
pub fn run(bin: &str, args: &[&str]) -> Run {
    let output = lesson(bin).args(args).output().expect("the lesson binary runs");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

/// What a run says it created, read from its own story: `shmid N`, `semid N`, and the pids
/// in the `[role pid]` prefixes. Tests running in parallel create objects too, so we check only
/// these, never "the table is empty".
#[derive(Debug, Default)]
pub struct Created {
    pub shmids: BTreeSet<i32>,
    pub semids: BTreeSet<i32>,
    pub pids: BTreeSet<i32>,
}

pub fn created_by(stdout: &str) -> Created {
    let mut created = Created::default();
    for line in stdout.lines() {
        for (word, set) in [("shmid ", &mut created.shmids), ("semid ", &mut created.semids)] {
            for (at, _) in line.match_indices(word) {
                let digits: String =
                    line[at + word.len()..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(id) = digits.parse() {
                    set.insert(id);
                }
            }
        }
        let pid = line
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .and_then(|inside| inside.split_whitespace().last())
            .and_then(|pid| pid.parse().ok());
        if let Some(pid) = pid {
            created.pids.insert(pid);
        }
    }
    created
}

/// Rows of a /proc/sysvipc table as (id, creator pid if the table has one).
fn sysvipc_rows(table: &str) -> Vec<(i32, Option<i32>)> {
    let text = std::fs::read_to_string(format!("/proc/sysvipc/{table}"))
        .expect("/proc/sysvipc is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    let id_column = header
        .iter()
        .position(|&h| h == "shmid" || h == "semid" || h == "msqid")
        .expect("an id column");
    let cpid_column = header.iter().position(|&h| h == "cpid");
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let id = fields[id_column].parse().expect("a numeric id");
            let cpid = cpid_column.map(|c| fields[c].parse().expect("a numeric pid"));
            (id, cpid)
        })
        .collect()
}

/// Checks that nothing the run created is left: no segment or semaphore set it printed the id
/// of, no segment created by one of its processes, no POSIX object named after its pids, and
/// no process of its own still alive (a zombie included).
pub fn assert_nothing_left(run_stdout: &str) {
    let created = created_by(run_stdout);
    assert!(!created.pids.is_empty(), "the run printed no [role pid] line:\n{run_stdout}");
    for (id, cpid) in sysvipc_rows("shm") {
        assert!(!created.shmids.contains(&id), "segment {id} was left behind:\n{run_stdout}");
        if let Some(cpid) = cpid {
            assert!(
                !created.pids.contains(&cpid),
                "a segment created by pid {cpid} was left behind"
            );
        }
    }
    for (id, _) in sysvipc_rows("sem") {
        assert!(!created.semids.contains(&id), "semaphore set {id} was left behind:\n{run_stdout}");
    }
    for entry in std::fs::read_dir("/dev/shm").expect("/dev/shm exists").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        for pid in &created.pids {
            assert!(
                !(name.starts_with("shm-workbook") && name.contains(&pid.to_string())),
                "/dev/shm/{name} was left behind"
            );
        }
    }
    for pid in &created.pids {
        assert!(!process_exists(*pid), "process {pid} of the run still exists (or is a zombie)");
    }
}

/// The whole number right after the first `label` in `text`.
pub fn number_after(text: &str, label: &str) -> u64 {
    let rest = text.split(label).nth(1).unwrap_or_else(|| panic!("no {label:?} in:\n{text}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after {label:?} in:\n{text}"))
}

/// Whether a pid exists, a zombie included.
pub fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Starts `bin` with `args`, reads its story until a line contains `marker`, and sends
/// `signal`. Returns the exit code, everything printed on stdout, and stderr.
pub fn interrupt_when(
    bin: &str,
    args: &[&str],
    marker: &str,
    signal: nix::sys::signal::Signal,
) -> (Option<i32>, String, String) {
    interrupt_when_after_pauses(bin, args, 0, marker, signal)
}

/// Like [`interrupt_when`], but first answers `pauses` `--step` pauses with Enter, so that the
/// signal lands at a later point of the story.
pub fn interrupt_when_after_pauses(
    bin: &str,
    args: &[&str],
    mut pauses: usize,
    marker: &str,
    signal: nix::sys::signal::Signal,
) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = lesson(bin)
        .args(args)
        .stdin(Stdio::piped()) // kept open: a --step lesson waits for Enter
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lesson starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).unwrap();
        assert_ne!(read, 0, "the lesson ended before printing {marker:?}:\n{seen}");
        seen.push_str(&line);
        if pauses > 0 && line.contains("[Enter] to continue") {
            pauses -= 1;
            child.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
            continue;
        }
        if pauses == 0 && line.contains(marker) {
            break;
        }
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    seen.push_str(&rest);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), seen, stderr)
}

/// Starts `bin` with --fast --step, waits for its first pause, and sends `signal`.
pub fn interrupt_at_the_pause(
    bin: &str,
    signal: nix::sys::signal::Signal,
) -> (Option<i32>, String, String) {
    let (code, stdout, stderr) =
        interrupt_when(bin, &["--fast", "--step"], "[Enter] to continue", signal);
    assert!(stdout.contains("ipcs -"), "the pause says what to look at:\n{stdout}");
    (code, stdout, stderr)
}
