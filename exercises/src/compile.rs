//! Building an exercise with cargo, showing the compiler's own message when it fails.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::runner::INTERRUPTED;

/// Why a build gave no program.
#[derive(Debug)]
pub enum BuildError {
    /// The compiler refused the code: its messages.
    Compiler(String),
    /// cargo could not be run, or said nothing of the program.
    Cargo(String),
    /// The checker was interrupted meanwhile (the build was stopped).
    Interrupted,
}

/// What to build: the student's exercises are examples of the exercises package, the reference
/// programs (solutions, copies as given) bins of the package in `reference/`.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Example(&'a str),
    Bin(&'a str),
}

impl Target<'_> {
    /// The program's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Example(name) | Target::Bin(name) => name,
        }
    }

    fn flag(&self) -> &'static str {
        match self {
            Target::Example(_) => "--example",
            Target::Bin(_) => "--bin",
        }
    }
}

/// Builds `target` of the package whose manifest is `manifest`, and returns the program's path.
/// Warnings are printed; errors are returned.
pub fn build(manifest: &Path, target: Target) -> Result<PathBuf, BuildError> {
    let bin = target.name();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let colour = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        "always"
    } else {
        "never"
    };
    let mut child = Command::new(&cargo)
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(manifest)
        .args([
            target.flag(),
            bin,
            "--message-format",
            "json-render-diagnostics",
            "--color",
            colour,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            BuildError::Cargo(format!("cannot run {}: {err}", cargo.to_string_lossy()))
        })?;
    // Read both pipes on threads, so that neither fills up while we wait.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if INTERRUPTED.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BuildError::Interrupted);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(err) => return Err(BuildError::Cargo(format!("waiting for cargo: {err}"))),
        }
    };
    let messages = out.join().unwrap_or_default();
    let diagnostics = err.join().unwrap_or_default();
    if !status.success() {
        return Err(BuildError::Compiler(diagnostics));
    }
    if !diagnostics.trim().is_empty() {
        eprint!("{diagnostics}"); // warnings
    }
    executable(&messages, bin).ok_or_else(|| {
        BuildError::Cargo(format!("cargo built nothing called {bin}:\n{diagnostics}"))
    })
}

/// The path of `bin`'s executable, from cargo's JSON messages.
fn executable(messages: &str, bin: &str) -> Option<PathBuf> {
    messages.lines().rev().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        (message.get("reason")?.as_str()? == "compiler-artifact"
            && message.get("target")?.get("name")?.as_str()? == bin)
            .then(|| message.get("executable")?.as_str().map(PathBuf::from))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_comes_from_the_artifact_message() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"shm_workbook"},"#,
            r#""executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"ex01"},"#,
            r#""executable":"/t/debug/ex01"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#
        );
        assert_eq!(executable(messages, "ex01"), Some(PathBuf::from("/t/debug/ex01")));
        assert_eq!(executable(messages, "ex02"), None);
    }
}
