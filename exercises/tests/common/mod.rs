//! Running the checker from the tests, and checking that a check left nothing behind.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

/// The checker.
pub fn workbook() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workbook"));
    command.env("NO_COLOR", "1").env_remove("SHM_WORKBOOK_JITTER").env_remove("SHM_WORKBOOK_TRACE");
    command
}

/// A program built beside the checker (`ex05-solution`, `workbook-misbehave`).
pub fn program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_workbook")).with_file_name(name)
}

/// What a check printed, and how it ended.
pub struct Checked {
    pub output: String,
    pub code: Option<i32>,
    pub program: PathBuf,
}

impl Checked {
    pub fn passed(&self) -> bool {
        self.code == Some(0) && self.output.contains("passed")
    }

    /// The verdict paragraph (from `✗` to the end), its lines joined.
    pub fn verdict(&self) -> String {
        let at = self.output.find('✗').unwrap_or(0);
        self.output[at..].lines().collect::<Vec<_>>().join(" ")
    }

    /// The kind of failure: `✗ exNN failed on run R of N: KIND. Evidence...`.
    pub fn kind(&self) -> Option<String> {
        if self.code != Some(1) {
            return None;
        }
        let verdict = self.verdict();
        let rest = verdict.split_once(" of ")?.1;
        let rest = rest.split_once(": ")?.1;
        Some(rest.split(". ").next()?.to_owned())
    }

    /// No process of the checked program is left running.
    pub fn assert_nothing_left(&self) {
        let exe = self.program.canonicalize().unwrap_or(self.program.clone());
        let left: Vec<i32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe))
            .collect();
        assert!(left.is_empty(), "processes of {} still running: {left:?}", exe.display());
        assert!(!self.output.contains("could not remove"), "{}", self.output);
    }
}

/// `workbook check NAME --program PROGRAM --runs RUNS --seed SEED [extra...]`.
pub fn check(name: &str, program_name: &str, runs: usize, seed: u64, extra: &[&str]) -> Checked {
    let program = program(program_name);
    let output = workbook()
        .args([
            "check",
            name,
            "--runs",
            &runs.to_string(),
            "--seed",
            &seed.to_string(),
            "--program",
        ])
        .arg(&program)
        .args(extra)
        .output()
        .expect("the checker runs");
    Checked {
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        code: output.status.code(),
        program,
    }
}
