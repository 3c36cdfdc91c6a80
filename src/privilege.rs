//! Becoming another user in a forked child, so that a lesson run by root can show what a
//! *different* user on the same machine may and may not do with its IPC objects.
//!
//! | C | here |
//! |---|---|
//! | `setgroups(0, NULL); setgid(gid); setuid(uid);` | [`become_user`] |
//! | `getpwnam("nobody")` | [`Identity::nobody`] |
//!
//! The order is the one `login` and `su` use: supplementary groups first, then the group, then
//! the user. Changing groups needs privilege (CAP_SETGID), and `setuid` to an ordinary user
//! gives privilege up for good, so the user comes last. Only a privileged process (root, or one
//! holding CAP_SETUID and CAP_SETGID) may do this at all: check [`can_become`] first, and skip
//! the demonstration, saying so, when it returns `false`.
//!
//! Call [`become_user`] only in a forked child (see [`process::spawn`](crate::process::spawn)):
//! it changes the whole process, and there is no way back.

use nix::errno::Errno;
use nix::unistd::{Gid, Group, Uid, User};

use crate::error::{Error, Result};

/// The uid and gid that `nobody` has on most Linux systems, used when the password database
/// has no such user.
pub const NOBODY_ID: u32 = 65534;

/// A user and primary group to become.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    uid: Uid,
    gid: Gid,
}

impl Identity {
    /// The given user and group ids.
    pub fn new(uid: u32, gid: u32) -> Identity {
        Identity { uid: Uid::from_raw(uid), gid: Gid::from_raw(gid) }
    }

    /// The effective user and group of this process.
    pub fn current() -> Identity {
        Identity { uid: nix::unistd::geteuid(), gid: nix::unistd::getegid() }
    }

    /// `nobody` from the password database (uid and primary group), or 65534/65534 if it has
    /// no such user: an account that owns nothing, the usual stand-in for "another user".
    pub fn nobody() -> Identity {
        match User::from_name("nobody") {
            Ok(Some(user)) => Identity { uid: user.uid, gid: user.gid },
            _ => Identity::new(NOBODY_ID, NOBODY_ID),
        }
    }

    /// The same user with another primary group.
    pub fn with_group(self, gid: u32) -> Identity {
        Identity { gid: Gid::from_raw(gid), ..self }
    }

    /// The user id.
    pub fn uid(&self) -> u32 {
        self.uid.as_raw()
    }

    /// The group id.
    pub fn gid(&self) -> u32 {
        self.gid.as_raw()
    }

    /// `uid 65534 (nobody), gid 65534 (nogroup)`.
    pub fn describe(&self) -> String {
        format!("uid {}, gid {}", describe_uid(self.uid()), describe_gid(self.gid()))
    }
}

/// `0 (root)`: a user id with its name, when the password database has one.
pub fn describe_uid(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(user)) => format!("{uid} ({})", user.name),
        _ => uid.to_string(),
    }
}

/// `0 (root)`: a group id with its name, when the group database has one.
pub fn describe_gid(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(group)) => format!("{gid} ({})", group.name),
        _ => gid.to_string(),
    }
}

/// Capability numbers from `<linux/capability.h>`.
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;

/// Whether this process may become `who`: it holds CAP_SETUID and CAP_SETGID (root does,
/// unless a container took them away), both ids exist in its user namespace, and the
/// namespace allows `setgroups`.
pub fn can_become(who: &Identity) -> bool {
    let read = |name: &str| std::fs::read_to_string(format!("/proc/self/{name}"));
    let Ok(status) = read("status") else { return false };
    // A file we cannot read (an old kernel) places no limit.
    let mapped = |name: &str, id: u32| read(name).map_or(true, |map| id_is_mapped(&map, id));
    let setgroups_allowed = read("setgroups").map_or(true, |text| text.trim() != "deny");
    has_capabilities(&status, &[CAP_SETUID, CAP_SETGID])
        && mapped("uid_map", who.uid())
        && mapped("gid_map", who.gid())
        && setgroups_allowed
}

/// Whether the `CapEff` line of a `/proc/<pid>/status` text has every capability in `caps`.
fn has_capabilities(status: &str, caps: &[u32]) -> bool {
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    caps.iter().all(|&cap| effective & (1 << cap) != 0)
}

/// Whether a `uid_map` or `gid_map` text (lines of `inside outside count`) maps `id`.
fn id_is_mapped(map: &str, id: u32) -> bool {
    map.lines().any(|line| {
        let numbers: Vec<u64> =
            line.split_whitespace().filter_map(|field| field.parse().ok()).collect();
        let id = u64::from(id);
        matches!(numbers[..], [inside, _, count] if (inside..inside + count).contains(&id))
    })
}

/// `setgroups(0, NULL); setgid(gid); setuid(uid);`: this process becomes `who`, with no
/// supplementary groups, for good. Checks afterwards that the switch took and that it cannot
/// be undone (a `setuid(0)` must fail).
///
/// Call it only in a forked child. Without privilege it fails with EPERM and changes nothing.
pub fn become_user(who: &Identity) -> Result<()> {
    let not_allowed = |err: Error| {
        err.with_hint(
            "only root (CAP_SETUID and CAP_SETGID) may become another user; check can_become() \
             first",
        )
    };
    nix::unistd::setgroups(&[])
        .map_err(|errno| not_allowed(Error::sys("setgroups(0, NULL)", errno)))?;
    nix::unistd::setgid(who.gid)
        .map_err(|errno| not_allowed(Error::sys(format!("setgid({})", who.gid), errno)))?;
    nix::unistd::setuid(who.uid)
        .map_err(|errno| not_allowed(Error::sys(format!("setuid({})", who.uid), errno)))?;

    let check = "checking the new identity";
    let groups = nix::unistd::getgroups().map_err(|errno| Error::sys("getgroups()", errno))?;
    let now = (nix::unistd::getuid(), nix::unistd::geteuid(), nix::unistd::getgid());
    if now != (who.uid, who.uid, who.gid) || nix::unistd::getegid() != who.gid {
        return Err(Error::other(check, format!("the ids are {now:?}, not {}", who.describe())));
    }
    if !groups.is_empty() {
        return Err(Error::other(check, format!("supplementary groups remain: {groups:?}")));
    }
    if !who.uid.is_root() && nix::unistd::setuid(Uid::from_raw(0)) != Err(Errno::EPERM) {
        return Err(Error::other(check, "setuid(0) did not fail with EPERM: privilege remains"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_read_from_the_effective_set() {
        let root = "Name:\tx\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
        let user = "Name:\tx\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n";
        let setuid_only = "CapEff:\t0000000000000080\n";
        assert!(has_capabilities(root, &[CAP_SETUID, CAP_SETGID]));
        assert!(!has_capabilities(user, &[CAP_SETUID]));
        assert!(has_capabilities(setuid_only, &[CAP_SETUID]));
        assert!(!has_capabilities(setuid_only, &[CAP_SETUID, CAP_SETGID]));
        assert!(!has_capabilities("no such line", &[CAP_SETUID]));
    }

    #[test]
    fn id_maps_are_ranges() {
        let whole = "         0          0 4294967295\n";
        let small = "0 1000 1\n1 100000 65536\n";
        assert!(id_is_mapped(whole, NOBODY_ID));
        assert!(id_is_mapped(small, 0));
        assert!(id_is_mapped(small, 65536));
        assert!(!id_is_mapped(small, 65537));
        assert!(!id_is_mapped("", 0));
    }
}
