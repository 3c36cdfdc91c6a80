//! Running the checker from the tests, and checking that a check left nothing behind.
#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The checker.
pub fn workbook() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workbook"));
    command.env("NO_COLOR", "1").env_remove("SHM_WORKBOOK_JITTER").env_remove("SHM_WORKBOOK_TRACE");
    command
}

/// A program of the reference package (`ex05-solution`, `ex05-pristine`, `workbook-misbehave`).
/// That package is not a default member of the workspace (so that `cargo run` does not list a
/// solution), so `cargo test` does not build it: the first call of each test binary builds all
/// its programs, once, into the target folder and profile the checker was built in.
pub fn program(name: &str) -> PathBuf {
    static PROGRAMS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    let programs = PROGRAMS.get_or_init(build_reference);
    programs
        .get(name)
        .unwrap_or_else(|| panic!("the reference package has no program {name}"))
        .clone()
}

fn build_reference() -> BTreeMap<String, PathBuf> {
    // The checker is <target>/<profile folder>/workbook.
    let profile_dir = Path::new(env!("CARGO_BIN_EXE_workbook")).parent().unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev",
        other => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--bins", "--message-format", "json", "--profile", profile])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building exercises/reference failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let message: serde_json::Value = serde_json::from_str(line).ok()?;
            let name = message.get("target")?.get("name")?.as_str()?;
            let executable = message.get("executable")?.as_str()?;
            Some((name.to_owned(), PathBuf::from(executable)))
        })
        .collect()
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
    let (runs, seed) = (runs.to_string(), seed.to_string());
    let mut args = vec!["--runs", runs.as_str(), "--seed", seed.as_str()];
    args.extend_from_slice(extra);
    check_with(name, program_name, &args)
}

/// `workbook check NAME --program PROGRAM [args...]`.
pub fn check_with(name: &str, program_name: &str, args: &[&str]) -> Checked {
    let program = program(program_name);
    let mark = new_mark();
    let output = workbook()
        .env("SHM_WORKBOOK_TEST_MARK", &mark)
        .args(["check", name, "--program"])
        .arg(&program)
        .args(args)
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

/// A stand-in for the exercises folder: a small cargo project whose examples carry the
/// exercises' names, which depends on the library as the exercises do (so that a solution
/// really shares memory, and the checker sees it in the trace), and a progress folder of its
/// own. It builds in the workspace's target folder, reusing the library built there, and holds
/// a lock on that folder while it lives: two stand-ins build examples of the same names, and
/// one must not run the other's.
pub struct Project {
    pub dir: PathBuf,
    /// What is removed when the project is dropped: `dir`, or the folder that holds it.
    root: PathBuf,
    /// The lock on the target folder's stand-in file (released when dropped).
    _lock: std::fs::File,
}

/// The target folder the checker was built in.
fn target_dir() -> PathBuf {
    let profile_dir = Path::new(env!("CARGO_BIN_EXE_workbook")).parent().unwrap();
    profile_dir.parent().unwrap().to_owned()
}

/// An exclusive lock on `<target>/stand-in.lock`, across test threads and test programs.
fn stand_in_lock() -> std::fs::File {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(target_dir().join("stand-in.lock"))
        .unwrap();
    // SAFETY: flock on a descriptor we own; it blocks until the lock is ours.
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
    file
}

impl Project {
    pub fn new(name: &str) -> Project {
        let dir = std::env::temp_dir().join(format!("workbook-test-{name}-{}", std::process::id()));
        Project::at(dir.clone(), dir, name)
    }

    /// A project in a folder named `exercises`, as in a clone of the workbook, so that the
    /// checker names its files `exercises/ex01_sleep.rs`.
    pub fn named_exercises(name: &str) -> Project {
        let root =
            std::env::temp_dir().join(format!("workbook-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        Project::at(root.join("exercises"), root, name)
    }

    fn at(dir: PathBuf, root: PathBuf, name: &str) -> Project {
        let lock = stand_in_lock();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pristine")).unwrap();
        // The library and nix as the reference package has them (nix with the features the
        // workspace unifies it to), and the workspace's lock file: the build reuses theirs.
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let reference = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("reference/Cargo.toml"),
        )
        .unwrap();
        let nix = reference.lines().find(|l| l.starts_with("nix = ")).unwrap();
        std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        let mut manifest = format!(
            "[package]\nname = \"workbook-test-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\nautobins = false\n\n[workspace]\n\n[dependencies]\n\
             shm-workbook = {{ path = {:?} }}\nlibc = \"0.2\"\n{nix}\n",
            workspace.display().to_string()
        );
        for exercise in shm_workbook_exercises::catalogue::EXERCISES {
            manifest.push_str(&format!(
                "\n[[example]]\nname = \"{}\"\npath = \"{}\"\n",
                exercise.name, exercise.file
            ));
            std::fs::write(dir.join(exercise.file), "fn main() {}\n").unwrap();
        }
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        Project { dir, root, _lock: lock }
    }

    /// Each exercise's file given as its pristine copy too: not started, as in a fresh clone.
    pub fn as_given(&self) {
        for exercise in shm_workbook_exercises::catalogue::EXERCISES {
            std::fs::copy(
                self.dir.join(exercise.file),
                self.dir.join("pristine").join(exercise.file),
            )
            .unwrap();
        }
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
            .env("CARGO_TARGET_DIR", target_dir());
        command
    }

    pub fn progress(&self) -> String {
        std::fs::read_to_string(self.dir.join("data/shm-workbook/exercises.toml"))
            .unwrap_or_default()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `text` with each run of digits (with `hex`, of hex digits that starts with a digit) as `N`:
/// what changes between runs (pids, ids, addresses) masked.
pub fn numbers_masked(text: &str, hex: bool) -> String {
    let mut out = String::new();
    let mut digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() || (hex && digits && c.is_ascii_hexdigit()) {
            if !digits {
                out.push('N');
            }
            digits = true;
        } else {
            digits = false;
            out.push(c);
        }
    }
    out
}
