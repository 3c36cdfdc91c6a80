//! What the kernel shows of lesson 15's descriptors: where `/proc/self/fd/N` points, and the
//! lines of `/proc/self/maps` that map a memfd.

use std::os::fd::RawFd;

use shm_workbook::{Error, Result, procfs};

/// Where `/proc/self/fd/N` points, read from the kernel (`/memfd:NAME (deleted)`), or `None`
/// when `N` is not open (read with readlink, as `ls -l /proc/PID/fd` does).
pub fn fd_link(fd: RawFd) -> Result<Option<String>> {
    let path = format!("/proc/self/fd/{fd}");
    match std::fs::read_link(&path) {
        Ok(target) => Ok(Some(target.to_string_lossy().into_owned())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io(format!("readlink {path}"), err)),
    }
}

/// [`fd_link`] of a descriptor that is open: its absence is an error.
pub fn open_link(fd: RawFd) -> Result<String> {
    let missing = || Error::other(format!("readlink /proc/self/fd/{fd}"), "the link is missing");
    fd_link(fd)?.ok_or_else(missing)
}

/// The lines of `/proc/self/maps` that map a memfd.
pub fn memfd_maps() -> Result<Vec<String>> {
    let maps = procfs::read("/proc/self/maps")?;
    Ok(maps.lines().filter(|line| line.contains("/memfd:")).map(str::to_owned).collect())
}
