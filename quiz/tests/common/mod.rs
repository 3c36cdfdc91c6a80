//! What the quiz runner's tests share: a private folder with its own quizzes and its own
//! `XDG_DATA_HOME` (and `HOME`), so that a test never touches a student's real progress and runs
//! beside other tests and other work; and a way to run the binary as a student would.
//!
//! `SHM_WORKBOOK_QUIZ_BIN=/path/to/quiz cargo test -p shm-workbook-quiz` runs the tests against
//! another build of the runner (an older one, to see which of them it fails).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// The user the runner is run as when a test needs an ordinary user and runs as root.
pub const NOBODY: u32 = 65534;

/// The binary under test.
pub fn quiz_binary() -> PathBuf {
    std::env::var_os("SHM_WORKBOOK_QUIZ_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_quiz")))
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A private folder with its own quizzes and progress, removed at the end of the test.
pub struct Sandbox {
    pub root: PathBuf,
    /// Run the runner as this user instead of the test's own
    /// (see [`Sandbox::run_as_ordinary_user`]).
    user: Option<u32>,
}

impl Sandbox {
    pub fn new(test: &str) -> Sandbox {
        let root = std::env::temp_dir()
            .join(format!("shm-workbook-quiz-test-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("quizzes")).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        Sandbox { root, user: None }
    }

    /// Runs the runner as an ordinary user from now on: as `nobody` (with the data folder
    /// given to it) when the test runs as root, for whom a mode such as 000 means nothing; as
    /// the test's own user otherwise.
    pub fn run_as_ordinary_user(mut self) -> Sandbox {
        if nix::unistd::geteuid().is_root() {
            // The runner is copied where nobody can run it (a target folder may be private).
            std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::copy(quiz_binary(), self.root.join("quiz")).unwrap();
            self.user = Some(NOBODY);
            self.chown_data();
        }
        self
    }

    /// Gives the data folder and everything in it to the user the runner is run as.
    pub fn chown_data(&self) {
        if let Some(user) = self.user {
            chown_tree(&self.data(), user);
        }
    }

    pub fn quiz(&self, name: &str, text: &str) {
        std::fs::write(self.root.join("quizzes").join(format!("{name}.toml")), text).unwrap();
    }

    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn folder(&self) -> PathBuf {
        self.root.join("data/shm-workbook")
    }

    pub fn progress(&self) -> PathBuf {
        self.folder().join("progress.toml")
    }

    /// Writes the progress file as a student's earlier runs left it.
    pub fn write_progress(&self, bytes: &[u8]) {
        std::fs::create_dir_all(self.folder()).unwrap();
        std::fs::write(self.progress(), bytes).unwrap();
        self.chown_data();
    }

    /// Names of the files in the progress folder, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.folder())
            .map(|entries| {
                entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The one backup beside the progress file (`progress.toml.damaged-…` or `.unreadable-…`).
    pub fn backup(&self) -> PathBuf {
        let backups: Vec<String> = self
            .files()
            .into_iter()
            .filter(|name| name.starts_with("progress.toml.") && !name.ends_with(".lock"))
            .collect();
        assert_eq!(backups.len(), 1, "one backup expected: {:?}", self.files());
        self.folder().join(&backups[0])
    }

    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let binary = match self.user {
            Some(_) => self.root.join("quiz"),
            None => quiz_binary(),
        };
        let mut command = Command::new(binary);
        command
            .args(args)
            .env("SHM_WORKBOOK_QUIZZES", self.root.join("quizzes"))
            .env("XDG_DATA_HOME", self.data())
            .env("HOME", self.root.join("home"))
            .env("NO_COLOR", "1");
        if let Some(user) = self.user {
            use std::os::unix::process::CommandExt;
            command.uid(user).gid(user);
        }
        command
    }

    /// Runs the runner with `args`, feeding `input` on stdin.
    pub fn run(&self, args: &[&str], input: &str) -> Run {
        finish(self.command(args), input)
    }

    /// Like [`run`](Self::run), with arguments that may not be UTF-8.
    pub fn run_os<S: AsRef<OsStr>>(&self, args: &[S], input: &str) -> Run {
        finish(self.command(args), input)
    }

    /// Like [`run`](Self::run), with the workbook's own quizzes (no `SHM_WORKBOOK_QUIZZES`).
    pub fn run_real_bank(&self, args: &[&str], input: &str) -> Run {
        let mut command = self.command(args);
        command.env_remove("SHM_WORKBOOK_QUIZZES");
        finish(command, input)
    }

    /// Starts the runner with `args` and waits until it has read the progress file and asked
    /// its first question; it then waits for an answer on the returned stdin.
    pub fn start_at_first_question(&self, args: &[&str]) -> Started {
        let mut command = self.command(args);
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = spawn(&mut command);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        while !seen.contains("Question 1/") {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "no question asked:\n{seen}");
            seen.push_str(&line);
        }
        let stdin = child.stdin.take().unwrap();
        Started { child, stdin, stdout }
    }
}

/// A runner waiting at its first question.
pub struct Started {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Started {
    /// Types `input`, closes stdin and waits for the end.
    pub fn answer(mut self, input: &str) -> Run {
        self.stdin.write_all(input.as_bytes()).unwrap();
        drop(self.stdin);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        let output = self.child.wait_with_output().unwrap();
        Run {
            code: output.status.code(),
            stdout: rest,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(self.folder(), std::fs::Permissions::from_mode(0o700));
        let _ = std::fs::set_permissions(self.progress(), std::fs::Permissions::from_mode(0o600));
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs `command`, feeding `input` on stdin.
pub fn finish(mut command: Command, input: &str) -> Run {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = spawn(&mut command);
    // The runner may exit before reading its input (a refused command line).
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Starts `command`. A binary just copied (for nobody) can be "busy" for a moment, while a
/// process that another test forked still holds the copy's file open until it execs.
fn spawn(command: &mut Command) -> Child {
    for _ in 0..100 {
        match command.spawn() {
            Err(err) if err.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            started => return started.unwrap(),
        }
    }
    command.spawn().unwrap()
}

fn chown_tree(path: &Path, user: u32) {
    std::os::unix::fs::lchown(path, Some(user), Some(user)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            chown_tree(&entry.path(), user);
        }
    }
}

/// Two questions: a multiple-choice one and a short answer.
pub const TWO_QUESTIONS: &str = r#"
[[questions]]
id = "mc-1"
type = "MultipleChoice"
prompt.prompt = "Which call attaches a System V segment?"
prompt.distractors = ["shmget", "shmctl", "semop"]
answer.answer = "shmat"
context = "shmat maps the segment into the caller."

[[questions]]
id = "sa-2"
type = "ShortAnswer"
prompt.prompt = "Which command removes a segment by id?"
answer.answer = "ipcrm -m"
context = "ipcrm -m <shmid> removes it."
"#;

/// One short-answer question, answered right by `ipcrm -m`.
pub const ONE_QUESTION: &str = r#"
[[questions]]
id = "sa-1"
type = "ShortAnswer"
prompt.prompt = "Which command removes a segment by id?"
answer.answer = "ipcrm -m"
"#;

/// The letter in front of `option` in a listing of options.
pub fn letter_of(stdout: &str, option: &str) -> String {
    label_of(stdout, option)
}

/// The label (`c`, `27`) in front of `option` in a listing of options.
pub fn label_of(stdout: &str, option: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().ends_with(&format!(") {option}")))
        .unwrap_or_else(|| panic!("no option {option}:\n{stdout}"));
    let line = line.trim_start();
    line[..line.find(')').unwrap()].to_owned()
}
