//! POSIX names: the rule a name of a shared memory object or message queue follows here, and
//! a name that nobody holds yet.

use nix::errno::Errno;

use crate::error::{Error, Result};

/// The longest name Linux accepts after the leading `/` (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Checks a name the way this workbook wants it: a leading `/`, no other `/`, not empty, at
/// most [`NAME_MAX`] bytes. (glibc itself strips a missing leading slash silently; refusing
/// it here keeps programs portable.)
pub fn check_name(name: &str) -> Result<()> {
    // No call is made: the errno is the one the kernel or glibc would give such a name.
    let call = format!("posix::name::check_name({name:?})");
    let refuse = |why: &str| {
        Err(Error::sys(&call, Errno::EINVAL).with_meaning(why.to_owned()).with_hint(
            "use a name like \"/my-object\": one leading slash, then letters, digits, '-', '_' or \
             '.'",
        ))
    };
    let Some(rest) = name.strip_prefix('/') else {
        return refuse("a POSIX shared memory name must start with '/'");
    };
    if rest.is_empty() {
        return refuse("the name is only '/': it needs at least one character after the slash");
    }
    if rest.contains('/') {
        return refuse(
            "a POSIX shared memory name may hold no '/' after the first one (it is a file name in \
             /dev/shm, not a path)",
        );
    }
    if rest.len() > NAME_MAX {
        return Err(Error::sys(&call, Errno::ENAMETOOLONG).with_meaning(format!(
            "the name is {} bytes long; at most {NAME_MAX} may follow the slash",
            rest.len()
        )));
    }
    if rest == "." || rest == ".." || rest.contains('\0') {
        return refuse("\".\", \"..\" and NUL bytes are not object names");
    }
    Ok(())
}

/// A name that no other run, and no other user, will pick:
/// `/shm-workbook-<uid>-<random>-<what>`. The user id says whose it is; the 8 random hex
/// digits make it new for each run (even one whose pid an earlier run had, which left its
/// object behind), and keep another user from
/// guessing it in advance (to create it first, and read what is written into it). No pid: the
/// name stays short enough for a line of the story with any uid.
pub fn unique_name(what: &str) -> String {
    format!("/shm-workbook-{}-{:08x}-{what}", nix::unistd::getuid(), random_u32())
}

/// 32 bits from the operating system's random source (or, without one, from the clock).
fn random_u32() -> u32 {
    use rand::TryRng;
    rand::rngs::SysRng.try_next_u32().unwrap_or_else(|_| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map(|d| d.subsec_nanos() ^ d.as_secs() as u32).unwrap_or(0) ^ std::process::id()
    })
}

/// A name that several runs of the user must agree on (two terminals, `write` then `read`),
/// so it cannot be random: `base`, or if another user holds `base` in `/dev/shm`, `base-2`,
/// `base-3`, ... up to `base-9`: the first that does not exist or is this user's own. Both
/// terminals walk the same list and stop at the same name. Makes no call: it only looks at
/// `/dev/shm`, as `ls -l` does (opening the object checks its owner again).
pub fn own_name(base: &str) -> Result<OwnName> {
    check_name(base)?;
    let me = nix::unistd::geteuid().as_raw();
    let mut passed_over = Vec::new();
    for n in 1..=9 {
        let name = if n == 1 { base.to_owned() } else { format!("{base}-{n}") };
        let owner = std::fs::symlink_metadata(format!("/dev/shm{name}"))
            .ok()
            .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta));
        match owner {
            Some(uid) if uid != me => passed_over.push((name, uid)),
            _ => return Ok(OwnName { name, passed_over }),
        }
    }
    Err(Error::other(
        format!("choosing a name from {base}"),
        format!("{base} and {base}-2 to {base}-9 all belong to other users"),
    )
    .with_hint("pass a name of your own with --name /something-else"))
}

/// A name [`own_name`] chose, and the names it passed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnName {
    name: String,
    passed_over: Vec<(String, u32)>,
}

impl OwnName {
    /// The name to use.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The names that belong to other users, with their owners' uids.
    pub fn passed_over(&self) -> &[(String, u32)] {
        &self.passed_over
    }

    /// One sentence when a name was passed over, `None` otherwise.
    pub fn sentence(&self) -> Option<String> {
        let (first, owner) = self.passed_over.first()?;
        let held = if self.passed_over.len() == 1 {
            format!("/dev/shm{first} belongs to {}", crate::procfs::user_called(*owner))
        } else {
            format!(
                "/dev/shm{first} and {} more names after it belong to other users (the first to \
                 {})",
                self.passed_over.len() - 1,
                crate::procfs::user_called(*owner)
            )
        };
        Some(format!(
            "{held}, not to you: the workbook leaves it alone and uses {} instead",
            self.name
        ))
    }
}
