//! A private scratch directory for files a lesson needs (such as the file ftok reads), removed
//! with everything in it when the run ends, by drop or by the signal handler.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use nix::unistd::{Pid, getpid};

use crate::cleanup::{self, Tracked};
use crate::error::{Error, Result};
use crate::registry::Kind;

/// A directory only this user can enter (mode 0700), under `$TMPDIR` or `/tmp`.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    owner: Pid,
    tracked: Vec<Tracked>,
    files: Vec<PathBuf>,
}

impl ScratchDir {
    /// `mkdtemp("$TMPDIR/shm-workbook-<name>-XXXXXX")`.
    pub fn new(name: &str) -> Result<ScratchDir> {
        let template = std::env::temp_dir().join(format!("shm-workbook-{name}-XXXXXX"));
        let call = format!("mkdtemp(\"{}\")", template.display());
        let template = cleanup::c_path(&template)
            .ok_or_else(|| Error::other(&call, "the path contains a NUL byte"))?;
        let mut bytes = template.into_bytes_with_nul();
        let made = cleanup::with_signals_held(|| {
            // SAFETY: `bytes` is a writable NUL-terminated template ending in XXXXXX, which
            // mkdtemp replaces in place.
            let made = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
            if made.is_null() {
                return Err(nix::errno::Errno::last());
            }
            Ok(cleanup::track(Kind::TempDir, 0, Some(&bytes[..bytes.len() - 1])))
        });
        let tracked = made.map_err(|errno| {
            let err = Error::sys(call, errno);
            match errno {
                nix::errno::Errno::ENOSPC | nix::errno::Errno::EDQUOT => err.with_hint(
                    "the temporary directory's file system is full: free some space, or set TMPDIR \
                     to a directory on another one",
                ),
                _ => err.with_hint("set TMPDIR to a directory you can write to, such as your home"),
            }
        })?;
        bytes.pop();
        let path = PathBuf::from(String::from_utf8_lossy(&bytes).into_owned());
        Ok(ScratchDir {
            path,
            owner: getpid(),
            tracked: tracked.into_iter().collect(),
            files: Vec::new(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates (or truncates) `name` inside the directory with `contents`, mode 0600.
    pub fn create_file(&mut self, name: &str, contents: &[u8]) -> Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path.join(name);
        let call = format!("open(\"{}\", O_CREAT|O_WRONLY|O_TRUNC, 0600)", path.display());
        let c_path: CString = cleanup::c_path(&path)
            .ok_or_else(|| Error::other(&call, "the path contains a NUL byte"))?;
        let opened = cleanup::with_signals_held(|| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)?;
            if let Some(tracked) = cleanup::track(Kind::TempFile, 0, Some(c_path.as_bytes())) {
                self.tracked.push(tracked);
            }
            Ok::<_, std::io::Error>(file)
        });
        let mut file = opened.map_err(|err| Error::io(&call, err))?;
        file.write_all(contents)
            .map_err(|err| Error::io(format!("write(\"{}\")", path.display()), err))?;
        self.files.push(path.clone());
        Ok(path)
    }

    /// A path inside the directory for a file that another program will write (a compiler's
    /// output): written down now, so that it is removed with the directory, by drop or by the
    /// signal handler, whether or not the file was ever made.
    pub fn reserve(&mut self, name: &str) -> Result<PathBuf> {
        let path = self.path.join(name);
        let c_path: CString = cleanup::c_path(&path).ok_or_else(|| {
            Error::other(format!("reserving {}", path.display()), "the path contains a NUL byte")
        })?;
        let tracked = cleanup::with_signals_held(|| {
            cleanup::track(Kind::TempFile, 0, Some(c_path.as_bytes()))
        });
        self.tracked.extend(tracked);
        self.files.push(path.clone());
        Ok(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if getpid() == self.owner {
            for file in self.files.iter().rev() {
                let _ = std::fs::remove_file(file);
            }
            let _ = std::fs::remove_dir(&self.path);
        }
        for tracked in self.tracked.drain(..).rev() {
            cleanup::forget(tracked);
        }
    }
}
