//! The run files (src/registry.rs) go with the run, and their folder with the last of them:
//! a finished, interrupted or killed-and-swept run leaves no empty `shm-workbook-<uid>/`
//! behind, and a folder that holds something else stays.
//!
//! Each test gives the lessons a `TMPDIR` of its own (and no `XDG_RUNTIME_DIR`), so that
//! other runs on the machine, which share the real folder, cannot change what it sees.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A fresh temporary directory for one test, removed when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Temp {
        let dir = std::env::temp_dir()
            .join(format!("shm-workbook-test-run-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        Temp(dir)
    }

    /// Where the lessons keep their run files with this `TMPDIR`.
    fn folder(&self) -> PathBuf {
        self.0.join(format!("shm-workbook-{}", nix::unistd::getuid()))
    }

    fn lesson(&self, bin: &str, args: &[&str]) -> Command {
        let mut command = common::lesson(bin);
        command.args(args).env("TMPDIR", &self.0).env_remove("XDG_RUNTIME_DIR");
        command
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_finished_run_takes_its_folder_with_it() {
    // Children have run files of their own: lesson05 kills one with SIGKILL (its parent
    // sweeps the file), lesson03's hands a segment over, and as root lessons 09 and 10 have
    // children that become nobody, who cannot remove their files from root's folder.
    for lesson in shm_workbook::catalogue::LESSONS {
        let bin = lesson.bin;
        let temp = Temp::new(bin);
        let output = temp.lesson(bin, &["--fast"]).output().unwrap();
        assert!(output.status.success(), "{bin}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(
            !temp.folder().exists(),
            "{bin} left {} with {:?}",
            temp.folder().display(),
            entries(&temp.folder())
        );
    }
}

#[test]
fn ctrl_c_takes_the_folder_with_the_run_file() {
    let temp = Temp::new("ctrl-c");
    let mut child = temp
        .lesson("lesson01", &["--fast", "--step"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("[Enter] to continue") {
        line.clear();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "no pause");
    }
    assert!(temp.folder().exists(), "while the run lasts, its file is there");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(!temp.folder().exists(), "left {:?}", entries(&temp.folder()));
}

#[test]
fn a_killed_runs_file_is_swept_by_the_next_and_the_folder_goes_then() {
    let temp = Temp::new("killed");
    let mut child = temp
        .lesson("lesson01", &["--fast", "--step"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("[Enter] to continue") {
        assert_ne!(stdout.read_line(&mut seen).unwrap(), 0, "no pause:\n{seen}");
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert!(!entries(&temp.folder()).is_empty(), "SIGKILL runs no cleanup: its file stays");
    let next = temp.lesson("lesson02", &["--fast"]).output().unwrap();
    assert!(next.status.success(), "{}", String::from_utf8_lossy(&next.stderr));
    let said = String::from_utf8_lossy(&next.stdout);
    assert!(said.contains("cleaned up after an earlier run that was killed"), "{said}");
    assert!(!temp.folder().exists(), "left {:?}", entries(&temp.folder()));
}

#[test]
fn a_folder_that_holds_something_else_stays() {
    let temp = Temp::new("shared");
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(temp.folder()).unwrap();
    // As the exercise checker keeps its work directory there.
    std::fs::create_dir(temp.folder().join("checker-1")).unwrap();
    let output = temp.lesson("lesson01", &["--fast"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(entries(&temp.folder()), ["checker-1"], "only the run's own file went");
}
