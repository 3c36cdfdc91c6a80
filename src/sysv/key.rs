//! System V keys: how unrelated processes name the same object (`ftok`, `IPC_PRIVATE`), and a
//! key that nobody holds yet.

use std::fmt;
use std::path::Path;

use nix::errno::Errno;

use crate::call::{self, Arg};
use crate::cleanup;
use crate::error::{Error, Result};

/// An IPC key: how unrelated processes name the same object.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(libc::key_t);

impl Key {
    /// `IPC_PRIVATE` (0): always a new object, which nobody can find by key. Processes share
    /// it by inheriting its id across `fork()`.
    pub const PRIVATE: Key = Key(libc::IPC_PRIVATE);

    /// `ftok(path, proj_id)`: a key derived from an existing file's inode and device and the
    /// low 8 bits of `proj_id`. A missing file is an error here; in C, ftok returns -1 and a
    /// program that does not check goes on with the key 0xffffffff.
    pub fn ftok(path: impl AsRef<Path>, proj_id: u8) -> Result<Key> {
        let path = path.as_ref();
        let text = path.to_string_lossy();
        let made = call::make("ftok").arg_with(Arg::string(&text)).arg(proj_id);
        let c_path = cleanup::c_path(path).ok_or_else(|| {
            Error::other(format!("ftok({text:?}, {proj_id})"), "the path contains a NUL byte")
        })?;
        // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
        let key = unsafe { libc::ftok(c_path.as_ptr(), libc::c_int::from(proj_id)) };
        if key == -1 {
            return Err(made.failed(Errno::last()).error().with_hint(
                "create the file first (ftok reads its inode), and check the return value: -1 is \
                 not a key",
            ));
        }
        made.returned(Key(key).hex());
        Ok(Key(key))
    }

    /// A key for a new segment: `ftok(path, proj_id)`, and while a segment already holds the
    /// key it gives (another user's, or one that an earlier program left), `ftok` again with
    /// the next project ids (up to 255, then from 1), until one gives a key that no segment
    /// holds. Nothing of anyone else's is touched. Every `ftok` made is recorded, so
    /// [`Narrator::call`](crate::Narrator::call) prints the last one, the key chosen; and
    /// [`FreeKey::sentence`] says which keys were passed over, and whose they are.
    ///
    /// The check reads `/proc/sysvipc/shm`, as `ipcs -m` does; a segment made with the key
    /// between the check and the `shmget` still makes `shmget(IPC_EXCL)` fail with EEXIST,
    /// whose hint names the holder.
    pub fn ftok_unused(path: impl AsRef<Path>, proj_id: u8) -> Result<FreeKey> {
        let path = path.as_ref();
        let first = proj_id.max(1);
        let mut passed_over = Vec::new();
        // proj_id, proj_id + 1, ..., 255, 1, ..., proj_id - 1: ftok ignores an id of 0.
        for id in (first..=u8::MAX).chain(1..first) {
            let key = Key::ftok(path, id)?;
            match crate::procfs::sysvipc_owner(crate::procfs::IpcTable::Shm, key.raw()) {
                None => return Ok(FreeKey { key, proj_id: id, passed_over }),
                Some(owner) => passed_over.push(TakenKey { key, proj_id: id, owner }),
            }
        }
        Err(Error::other(
            format!("choosing a key for a segment from {}", path.display()),
            "segments already hold the keys of all 255 project ids for this file",
        )
        .with_hint(
            "use another file for ftok, or IPC_PRIVATE if only related processes share the segment",
        ))
    }

    /// A key given as a number (avoid fixed numbers in real programs: they collide).
    pub const fn from_raw(raw: libc::key_t) -> Key {
        Key(raw)
    }

    /// The key as the kernel sees it.
    pub const fn raw(self) -> libc::key_t {
        self.0
    }

    /// Whether this is `IPC_PRIVATE`.
    pub const fn is_private(self) -> bool {
        self.0 == libc::IPC_PRIVATE
    }

    /// The key in `ipcs` form, `0x0000abcd`, even for IPC_PRIVATE.
    pub fn hex(self) -> String {
        format!("0x{:08x}", self.0 as u32)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_private() { f.write_str("IPC_PRIVATE") } else { f.write_str(&self.hex()) }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A key that [`Key::ftok_unused`] chose: no segment held it when it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeKey {
    key: Key,
    proj_id: u8,
    passed_over: Vec<TakenKey>,
}

/// A key that was passed over because a segment already held it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakenKey {
    /// The key.
    pub key: Key,
    /// The project id that gave it.
    pub proj_id: u8,
    /// The uid of the segment's owner.
    pub owner: u32,
}

impl FreeKey {
    /// The key to use.
    pub fn key(&self) -> Key {
        self.key
    }

    /// The project id that gave it: another process finds the segment with
    /// `ftok(path, proj_id)`, this id, not necessarily the one first asked for.
    pub fn proj_id(&self) -> u8 {
        self.proj_id
    }

    /// The keys passed over, in the order they were tried.
    pub fn passed_over(&self) -> &[TakenKey] {
        &self.passed_over
    }

    /// One sentence for the student when a key was passed over: whose segment holds it, and
    /// which project id and key are used instead. `None` if the first key was free.
    pub fn sentence(&self) -> Option<String> {
        let first = self.passed_over.first()?;
        let me = nix::unistd::geteuid().as_raw();
        let whose = |owner: u32| {
            if owner == me {
                "a segment of yours (left by another program or run: `ipcs -m` lists it)".to_owned()
            } else {
                format!("a segment of {}", crate::procfs::user_called(owner))
            }
        };
        let held = match self.passed_over.as_slice() {
            [only] => format!(
                "the key {} (project id {}) is held by {}",
                only.key.hex(),
                only.proj_id,
                whose(only.owner)
            ),
            [.., last] => format!(
                "the keys of project ids {} to {} are held by segments that are not this run's \
                 (the first, {}, by {})",
                first.proj_id,
                last.proj_id,
                first.key.hex(),
                whose(first.owner)
            ),
            [] => return None,
        };
        Some(format!(
            "{held}: the workbook leaves it alone and uses project id {} instead, the key {}",
            self.proj_id,
            self.key.hex()
        ))
    }
}
