//! The runner at the edges of a session: Ctrl-C after some answers, a reader that goes away
//! (`quiz | head -1`), a stdin that fails, the terminal's width, the quizzes' Markdown, and
//! what a bare `cargo run --bin quiz` offers.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use common::{Run, Sandbox};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// `count` short-answer questions, each answered right by `ipcrm -m`.
fn short_questions(count: usize) -> String {
    (1..=count)
        .map(|n| {
            format!(
                "[[questions]]\nid = \"sa-{n}\"\ntype = \"ShortAnswer\"\n\
                 prompt.prompt = \"Question number {n}: which command removes a segment?\"\n\
                 answer.answer = \"ipcrm -m\"\n\n"
            )
        })
        .collect()
}

/// Reads `stdout` until a line contains `wanted`; everything read so far.
fn read_until(stdout: &mut impl BufRead, wanted: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(wanted) {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no {wanted:?} in:\n{seen}");
        seen.push_str(&line);
    }
    seen
}

#[test]
fn ctrl_c_after_three_answers_keeps_them_and_exits_130_without_a_panic() {
    let sandbox = Sandbox::new("ctrl-c");
    sandbox.quiz("five", &short_questions(5));
    let mut command = sandbox.command(&["five"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin.write_all(b"ipcrm -m\nipcrm -m\nipcrm -m\n").unwrap();
    // The fourth question is on screen: three answers are in, the fourth not typed yet.
    read_until(&mut stdout, "Question 4/5");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("every answer you gave is saved"), "{stderr}");
    let saved = std::fs::read_to_string(sandbox.progress()).expect("the answers are saved");
    assert!(saved.contains("[quizzes.five]"), "{saved}");
    assert!(saved.contains("right = 3") && saved.contains("asked = 3"), "{saved}");
    assert!(saved.contains("unfinished = true"), "{saved}");
    let left: Vec<String> = sandbox.files().into_iter().filter(|f| f.ends_with(".tmp")).collect();
    assert!(left.is_empty(), "no temporary file is left: {left:?}");

    // The listing says where the run stopped and offers it again.
    let listing = sandbox.run(&[], "");
    assert!(listing.stdout.contains("stopped after 3 (3 right)"), "{}", listing.stdout);
    assert!(listing.stdout.contains("Next: cargo run --bin quiz -- five"), "{}", listing.stdout);
}

/// Runs the runner with stdout into a pipe whose reader has already gone.
fn into_closed_pipe(sandbox: &Sandbox, args: &[&str]) -> Run {
    let (reader, writer): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    drop(reader);
    let mut command = sandbox.command(args);
    command.stdin(Stdio::null()).stdout(Stdio::from(writer)).stderr(Stdio::piped());
    let output = command.output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn a_closed_pipe_ends_the_listing_help_and_a_quiz_quietly_with_status_0() {
    let sandbox = Sandbox::new("closed-pipe");
    sandbox.quiz("five", &short_questions(5));
    for args in [&[][..], &["--help"], &["five"]] {
        let run = into_closed_pipe(&sandbox, args);
        assert_eq!(run.code, Some(0), "{args:?}: {run:?}");
        assert_eq!(run.stderr, "", "{args:?}: nothing on stderr");
    }
}

#[test]
fn a_listing_longer_than_a_pipe_holds_ends_quietly_when_the_reader_stops_after_one_line() {
    let sandbox = Sandbox::new("head");
    sandbox.write_progress(b"# nothing yet\n");
    // More listing than a pipe holds (64 KiB), so the runner is still writing when the
    // reader goes.
    for n in 0..1500 {
        sandbox.quiz(&format!("quiz-with-a-long-name-{n:04}"), &short_questions(1));
    }
    let mut command = sandbox.command(&[] as &[&str]);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "Quizzes");
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "nothing on stderr");

    // And through a shell, as a student types it (pipefail: the runner's own status).
    let shell = "set -o pipefail; \"$0\" | head -1 && \"$0\" --help | head -1";
    let command = sandbox.command(&[] as &[&str]);
    let program = command.get_program().to_owned();
    let envs: Vec<_> =
        command.get_envs().map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned()))).collect();
    let mut bash = Command::new("bash");
    bash.arg("-c").arg(shell).arg(program);
    for (key, value) in envs {
        match value {
            Some(value) => bash.env(key, value),
            None => bash.env_remove(key),
        };
    }
    let output = bash.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Quizzes\nquiz: drill the shm-workbook quizzes in the terminal\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn a_stdin_that_cannot_be_read_ends_the_quiz_quietly() {
    let sandbox = Sandbox::new("stdin-error");
    sandbox.quiz("five", &short_questions(5));
    // Reading a folder fails (EISDIR), as reading a terminal that has gone fails (EIO).
    let folder = std::fs::File::open(&sandbox.root).unwrap();
    let mut command = sandbox.command(&["five"]);
    command.stdin(Stdio::from(folder)).stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(stdout.contains("Score: 0/0 (stopped at the end of input)"), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn end_of_input_keeps_every_answer_given() {
    let sandbox = Sandbox::new("eof-saved");
    sandbox.quiz("five", &short_questions(5));
    let run = sandbox.run(&["five"], "ipcrm -m\nipcrm -m\n");
    assert_eq!(run.code, Some(0), "{run:?}");
    let saved = std::fs::read_to_string(sandbox.progress()).unwrap();
    assert!(saved.contains("right = 2") && saved.contains("unfinished = true"), "{saved}");
    let run = sandbox.run(&["five"], &"ipcrm -m\n".repeat(5));
    let saved = std::fs::read_to_string(sandbox.progress()).unwrap();
    assert!(saved.contains("right = 5") && !saved.contains("unfinished"), "{run:?}\n{saved}");
}

// A `\` at the end of a line inside a TOML """ string joins it to the next line.
const MARKDOWN_QUIZ: &str = r#"
[[questions]]
id = "md-1"
type = "ShortAnswer"
prompt.prompt = """
**Read the run.** After `shmctl(id, IPC_RMID)` the segment is *not* gone at once when a \
process is still attached, and it stays on the system until the last detach, so which column \
of `ipcs -m` shows that it is marked?

```text
key        shmid      owner      perms      bytes      nattch     status      \
(a row wider than eighty columns)
0x00000000 32769      root       600        4096       1          dest
```
"""
answer.answer = "`status`"
context = """The `status` column says **dest**: the key is reset to 0, and the segment goes \
when `nattch` reaches 0, which the kernel checks at every detach of every process."""

[[questions]]
id = "md-2"
type = "MultipleChoice"
prompt.prompt = "Which call removes it?"
prompt.distractors = ["""`shmdt`, which only detaches the caller and never removes the segment, \
whatever nattch is"""]
answer.answer = "`shmctl` with `IPC_RMID`"
"#;

#[test]
fn text_is_wrapped_at_80_between_words_with_the_markdown_rendered() {
    let sandbox = Sandbox::new("markdown");
    sandbox.write_progress(b"# nothing yet\n");
    sandbox.quiz("md", MARKDOWN_QUIZ);
    let run = sandbox.run(&["md", "--seed", "1"], "status\na\n");
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(0), "{run:?}");
    let fenced = "    key        shmid      owner      perms      bytes      nattch     \
                  status      (a row wider than eighty columns)";
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&fenced), "the fenced block is indented and whole:\n{stdout}");
    for line in &lines {
        assert!(line.chars().count() <= 80 || *line == fenced, "wider than 80: {line:?}");
        assert!(!line.contains('`') && !line.contains("**"), "raw markup: {line:?}");
        assert!(!line.trim_start().starts_with("```"), "a fence line: {line:?}");
    }
    // No word is cut at a line's end: every word of the prompt is whole in the output.
    let shown: Vec<&str> = stdout.split_whitespace().collect();
    for word in ["IPC_RMID)", "attached,", "system", "detach,", "marked?", "dest:", "detaches"] {
        assert!(shown.contains(&word), "{word} is cut or missing:\n{stdout}");
    }
    assert!(
        stdout.contains("Read the run. After shmctl(id, IPC_RMID) the segment is not"),
        "{stdout}"
    );
    assert!(stdout.contains("Right: status"), "{stdout}");
    // A blank line stands before each question.
    for (index, line) in lines.iter().enumerate() {
        if line.starts_with("Question ") {
            assert_eq!(lines[index - 1], "", "no blank line before {line:?}:\n{stdout}");
        }
    }
    // A wrapped option hangs under its first line.
    let option = lines.iter().position(|l| l.contains(") shmdt, which only")).unwrap();
    assert!(lines[option + 1].starts_with("     ") && !lines[option + 1].starts_with("      "));
}

#[test]
fn colour_marks_code_spans_at_a_terminal_width() {
    let sandbox = Sandbox::new("colour");
    sandbox.write_progress(b"# nothing yet\n");
    sandbox.quiz("md", MARKDOWN_QUIZ);
    let (stdout, _) = at_a_terminal(&sandbox, &["md", "--seed", "1"], 60, "status\na\n");
    assert!(stdout.contains("\x1b[36mshmctl(id, IPC_RMID)\x1b[0m"), "{stdout}");
    let plain: Vec<String> = stdout.lines().map(strip_escapes).collect();
    let fenced = |line: &str| line.starts_with("    key ") || line.starts_with("    0x00000000 ");
    for line in &plain {
        // Typed ahead, the answers are echoed before their prompts, which then share a line
        // with what follows.
        let typed_ahead = line.starts_with("Your answer");
        let wide = line.chars().count() > 60 && !fenced(line) && !typed_ahead;
        assert!(!wide, "wider than 60: {line:?}");
        assert!(!line.contains('`') && !line.contains("**"), "raw markup: {line:?}");
    }
}

fn strip_escapes(line: &str) -> String {
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else if c != '\r' {
            plain.push(c);
        }
    }
    plain
}

/// Runs the runner with stdin and stdout on a pseudo-terminal `columns` wide, typing `typed`;
/// what it printed (the terminal's echo of `typed` included) and its status.
fn at_a_terminal(
    sandbox: &Sandbox,
    args: &[&str],
    columns: u16,
    typed: &str,
) -> (String, Option<i32>) {
    let size = nix::pty::Winsize { ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0 };
    let pty = nix::pty::openpty(&size, None).unwrap();
    let mut command = sandbox.command(args);
    command.env_remove("NO_COLOR");
    command
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    // Only the runner holds the terminal now, so the reads below end when it exits.
    drop(command);
    drop(pty.slave);
    let mut master = std::fs::File::from(pty.master);
    master.write_all(typed.as_bytes()).unwrap();
    let mut output = Vec::new();
    // The read ends with EIO once the runner has exited and closed the terminal.
    let _ = master.read_to_end(&mut output);
    let status = child.wait().unwrap();
    (String::from_utf8_lossy(&output).into_owned(), status.code())
}

#[test]
fn the_bare_command_offers_the_next_unfinished_quiz_at_a_terminal() {
    let sandbox = Sandbox::new("offer");
    sandbox.quiz("alpha", &short_questions(1));
    sandbox.quiz("beta", &short_questions(2));
    // Not at a terminal: the listing and the command to run.
    let run = sandbox.run(&[], "");
    assert!(run.stdout.contains("Next: cargo run --bin quiz -- alpha"), "{}", run.stdout);
    assert!(!run.stdout.contains("now? [Y/n]"), "{}", run.stdout);
    sandbox.run(&["alpha"], "ipcrm -m\n");
    let run = sandbox.run(&[], "");
    assert!(run.stdout.contains("Next: cargo run --bin quiz -- beta"), "{}", run.stdout);

    // At a terminal: Enter starts beta, whose two answers are then kept.
    let (stdout, code) = at_a_terminal(&sandbox, &[], 80, "\nipcrm -m\nipcrm -m\n");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("Start beta now? [Y/n]"), "{stdout}");
    assert!(stdout.contains("Question 2/2"), "{stdout}");
    let saved = std::fs::read_to_string(sandbox.progress()).unwrap();
    assert!(saved.contains("[quizzes.beta]\nright = 2\nasked = 2"), "{saved}");

    // Everything done: nothing to offer.
    let (stdout, _) = at_a_terminal(&sandbox, &[], 80, "");
    assert!(!stdout.contains("now? [Y/n]") && stdout.contains("Quizzes"), "{stdout}");
}
