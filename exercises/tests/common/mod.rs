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
    /// The value of `SHM_WORKBOOK_TEST_MARK` in the checked processes' environment, which tells
    /// them from those of the tests running beside this one.
    pub mark: String,
}

/// A value for `SHM_WORKBOOK_TEST_MARK` that no other check of this test run uses.
pub fn new_mark() -> String {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
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
        let mark = format!("SHM_WORKBOOK_TEST_MARK={}\0", self.mark);
        let left: Vec<i32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe))
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| String::from_utf8_lossy(&env).contains(&mark))
            })
            .collect();
        assert!(left.is_empty(), "processes of {} still running: {left:?}", exe.display());
        assert!(!self.output.contains("could not remove"), "{}", self.output);
    }
}

/// `workbook check NAME --program PROGRAM --runs RUNS --seed SEED [extra...]`.
pub fn check(name: &str, program_name: &str, runs: usize, seed: u64, extra: &[&str]) -> Checked {
    let program = program(program_name);
    let mark = new_mark();
    let output = workbook()
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
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
        mark,
    }
}

/// A stand-in for the exercises folder: a tiny cargo project (no dependencies, quick to build)
/// whose bins carry the exercises' names, and a progress folder of its own.
pub struct Project {
    pub dir: PathBuf,
}

impl Project {
    pub fn new(name: &str) -> Project {
        let dir = std::env::temp_dir().join(format!("workbook-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pristine")).unwrap();
        let mut manifest = format!(
            "[package]\nname = \"workbook-test-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\nautobins = false\n\n[workspace]\n"
        );
        for exercise in shm_workbook_exercises::catalogue::EXERCISES {
            manifest.push_str(&format!(
                "\n[[bin]]\nname = \"{}\"\npath = \"{}\"\n",
                exercise.name, exercise.file
            ));
            std::fs::write(dir.join(exercise.file), "fn main() {}\n").unwrap();
        }
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        Project { dir }
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text).unwrap();
    }

    /// The checker, pointed at this project, with its own progress folder and target folder.
    pub fn workbook(&self, args: &[&str]) -> Command {
        let mut command = workbook();
        command
            .args(args)
            .env("SHM_WORKBOOK_EXERCISES", &self.dir)
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .env("CARGO_TARGET_DIR", self.dir.join("target"));
        command
    }

    pub fn progress(&self) -> String {
        std::fs::read_to_string(self.dir.join("data/shm-workbook/exercises.toml"))
            .unwrap_or_default()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
