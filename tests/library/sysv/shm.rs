use nix::errno::Errno;
use nix::unistd::getpid;
use shm_workbook::call::{self};
use shm_workbook::sysv::ipc_flags;
use shm_workbook::sysv::key::Key;
use shm_workbook::sysv::shm::*;
use shm_workbook::{Error, ScratchDir};
use std::sync::atomic::AtomicU64;

#[test]
fn a_private_segment_is_created_attached_and_removed() {
    let segment = Segment::create(Key::PRIVATE, 4096, 0o600).unwrap();
    let id = segment.id();
    assert!(segment.removes_on_drop());
    let attachment = segment.attach().unwrap();
    attachment.store_c_string(0, "hello").unwrap();
    assert_eq!(attachment.load_c_string(0), "hello");
    let stat = segment.stat().unwrap();
    assert_eq!(stat.size, 4096);
    assert_eq!(stat.mode & 0o777, 0o600);
    assert_eq!(stat.attachments, 1);
    assert_eq!(stat.creator_pid, getpid().as_raw());
    drop(attachment);
    assert_eq!(segment.stat().unwrap().attachments, 0);
    drop(segment);
    assert_eq!(stat_errno(id), Some(Errno::EINVAL), "dropping the owner removes the segment");
}

fn stat_errno(id: i32) -> Option<Errno> {
    stat(id).err().and_then(|err| err.errno())
}

#[test]
fn an_opened_segment_is_not_removed_on_drop() {
    let owner = Segment::create(Key::PRIVATE, 64, 0o600).unwrap();
    drop(Segment::from_id(owner.id()));
    assert!(owner.stat().is_ok(), "a segment we did not create survives our drop");
    owner.remove().unwrap();
}

#[test]
fn every_call_is_recorded_as_made() {
    let segment = Segment::create(Key::PRIVATE, 64, 0o600).unwrap();
    let made = call::last().unwrap();
    assert_eq!(
        made.to_string(),
        format!("shmget(IPC_PRIVATE, 64, IPC_CREAT|IPC_EXCL|0600) = {}", segment.id())
    );
    let memory = segment.attach().unwrap();
    let made = call::last().unwrap();
    assert_eq!(
        made.to_string(),
        format!("shmat({}, NULL, 0) = {:#x}", segment.id(), memory.address()),
        "the IPC_STAT that finds the size is a helper call, not the one printed"
    );
    let id = segment.id();
    drop(memory);
    segment.remove().unwrap();
    assert_eq!(call::last().unwrap().to_string(), format!("shmctl({id}, IPC_RMID, NULL) = 0"));
    assert_eq!(
        Segment::from_id(id).attach().unwrap_err().errno(),
        Some(Errno::EINVAL),
        "no pre-check: the errno is shmat's own"
    );
    assert_eq!(call::last().unwrap().to_string(), format!("shmat({id}, NULL, 0) = -1 EINVAL"));
    assert_eq!(ipc_flags(0), "0");
    assert_eq!(ipc_flags(libc::IPC_CREAT | 0o640), "IPC_CREAT|0640");
}

#[test]
fn ftok_of_a_missing_file_is_an_error_not_minus_one() {
    let err = Key::ftok("/nonexistent/shm-workbook/file", 65).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENOENT));
    assert!(
        err.to_string().contains("ftok(\"/nonexistent/shm-workbook/file\", 65) failed: ENOENT")
    );
}

#[test]
fn ftok_gives_the_same_key_for_the_same_file_and_id() {
    let here = std::env::current_dir().unwrap();
    assert_eq!(Key::ftok(&here, 1).unwrap(), Key::ftok(&here, 1).unwrap());
    assert_ne!(Key::ftok(&here, 1).unwrap(), Key::ftok(&here, 2).unwrap());
    assert_eq!(Key::PRIVATE.to_string(), "IPC_PRIVATE");
    assert_eq!(Key::from_raw(-1).to_string(), "0xffffffff");
}

#[test]
fn typed_views_check_the_size() {
    let segment = Segment::create(Key::PRIVATE, 8, 0o600).unwrap();
    let attachment = segment.attach().unwrap();
    assert!(attachment.view::<[AtomicU64; 1]>().is_ok());
    assert!(
        attachment.view::<[AtomicU64; 4096]>().is_err(),
        "8 bytes rounded up to a page still cannot hold 32 KiB"
    );
}

#[test]
fn exclusive_create_of_a_taken_key_says_what_to_do() {
    let here = std::env::current_dir().unwrap();
    let key = Key::ftok(&here, 201).unwrap();
    let first = Segment::create(key, 64, 0o600).unwrap();
    let err = Segment::create(key, 64, 0o600).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EEXIST));
    // Its creator is alive (this process): not stale, so no advice to remove it.
    let hint = err.hint().unwrap();
    assert!(hint.contains(&format!("shmid {} has this key", first.id())), "{hint}");
    assert!(hint.contains(&format!("pid {} which is still running", std::process::id())));
    assert!(!hint.contains("ipcrm"), "{hint}");
    // Asking for more than it has: its real size, and what to ask for instead.
    let err = Segment::open(key, 4096).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
    assert!(err.meaning().contains(&format!("(shmid {}) is 64 bytes", first.id())), "{err}");
    assert!(err.hint().unwrap().contains("ask for 64 bytes or fewer"), "{err}");
    let opened = Segment::open(key, 0).unwrap();
    assert_eq!(opened.id(), first.id());
    assert!(!opened.removes_on_drop());
}

#[test]
fn a_size_above_shmmax_and_an_unchecked_minus_one_get_their_own_advice() {
    let err = Segment::create(Key::PRIVATE, usize::MAX - 1, 0o600).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
    assert!(err.meaning().contains("outside what the kernel allows"), "{err}");
    assert!(!err.meaning().contains("existing segment"), "IPC_PRIVATE names none: {err}");
    let err = Segment::from_id(-1).attach().unwrap_err();
    assert!(err.hint().unwrap().contains("check shmget's result"), "{err}");
}

#[test]
fn a_key_held_by_a_dead_creators_segment_is_called_stale_and_ipcrm_named() {
    let here = std::env::current_dir().unwrap();
    let key = Key::ftok(&here, 203).unwrap();
    // Made by a child that exits: a segment whose creator is gone, as a crashed run's.
    let maker = shm_workbook::process::spawn("maker", |_| {
        // SAFETY: shmget takes plain integers.
        let id = unsafe { libc::shmget(key.raw(), 64, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
        if id == -1 { Err(Error::sys("shmget", Errno::last())) } else { Ok(()) }
    })
    .unwrap();
    maker.wait().unwrap();
    let err = Segment::create(key, 64, 0o600).unwrap_err();
    let stale = Segment::open(key, 0).unwrap();
    stale.remove().unwrap();
    assert_eq!(err.errno(), Some(Errno::EEXIST));
    assert!(err.hint().unwrap().contains(&format!("ipcrm -M {}", key.hex())), "{err}");
}

#[test]
fn a_segment_of_another_user_is_refused_by_key() {
    if !nix::unistd::geteuid().is_root() {
        return; // only root can give a segment away to test this
    }
    let here = std::env::current_dir().unwrap();
    let key = Key::ftok(&here, 204).unwrap();
    let segment = Segment::create(key, 64, 0o600).unwrap();
    let mut ds = ipc_stat(segment.id());
    ds.shm_perm.uid = 65534;
    // SAFETY: IPC_SET reads the valid structure `ds` points to.
    assert_eq!(unsafe { libc::shmctl(segment.id(), libc::IPC_SET, &mut ds) }, 0);
    let err = Segment::open(key, 0).unwrap_err();
    assert!(err.meaning().contains("uid 65534"), "{err}");
    let err = Segment::create(key, 64, 0o600).unwrap_err();
    assert!(err.hint().unwrap().contains("held by"), "{err}");
    assert!(
        !err.hint().unwrap().contains("ipcrm"),
        "never tell a student to remove another's segment"
    );
}

#[test]
fn ftok_unused_passes_over_keys_that_segments_hold() {
    let mut dir = ScratchDir::new("shm-unit").unwrap();
    let file = dir.create_file("keyfile", b"").unwrap();
    let free = Key::ftok_unused(&file, 211).unwrap();
    assert_eq!((free.proj_id(), free.sentence()), (211, None), "{free:?}");
    assert_eq!(free.key(), Key::ftok(&file, 211).unwrap());
    // Our own segment holds the key of id 211; root also plants one of nobody's at 212.
    let ours = Segment::create(free.key(), 64, 0o600).unwrap();
    let theirs = Segment::create(Key::ftok(&file, 212).unwrap(), 64, 0o600).unwrap();
    let as_root = nix::unistd::geteuid().is_root();
    if as_root {
        let mut ds = ipc_stat(theirs.id());
        ds.shm_perm.uid = 65534;
        // SAFETY: IPC_SET reads the valid structure `ds` points to.
        assert_eq!(unsafe { libc::shmctl(theirs.id(), libc::IPC_SET, &mut ds) }, 0);
    }
    let free = Key::ftok_unused(&file, 211).unwrap();
    assert_eq!(free.proj_id(), 213, "{free:?}");
    assert_eq!(
        call::last().unwrap().to_string(),
        format!("ftok({:?}, 213) = {}", file.display().to_string(), free.key().hex()),
        "the last call recorded is the key chosen"
    );
    let taken: Vec<u8> = free.passed_over().iter().map(|t| t.proj_id).collect();
    assert_eq!(taken, [211, 212]);
    let sentence = free.sentence().unwrap();
    assert!(sentence.contains("project ids 211 to 212"), "{sentence}");
    assert!(sentence.contains("uses project id 213 instead"), "{sentence}");
    drop(ours);
    let free = Key::ftok_unused(&file, 212).unwrap();
    let sentence = free.sentence().unwrap();
    assert!(
        sentence.starts_with(&format!(
            "the key {} (project id 212) is held by",
            Key::ftok(&file, 212).unwrap().hex()
        )),
        "{sentence}"
    );
    if as_root {
        assert!(sentence.contains("uid 65534"), "{sentence}");
    } else {
        assert!(sentence.contains("of yours"), "{sentence}");
    }
    assert!(!sentence.contains("ipcrm"), "never tell a student to remove another's segment");
    // Wrapping past 255 skips the id 0, which ftok would ignore.
    let free = Key::ftok_unused(&file, 255).unwrap();
    assert_eq!(free.proj_id(), 255);
    drop(theirs); // root removes even nobody's segment (test cleanup)
}

/// `shmctl(id, IPC_STAT, &ds)`, to change a field with IPC_SET.
fn ipc_stat(id: i32) -> libc::shmid_ds {
    let mut ds = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT writes one shmid_ds through the pointer, which points to one.
    assert_eq!(unsafe { libc::shmctl(id, libc::IPC_STAT, ds.as_mut_ptr()) }, 0);
    // SAFETY: the call succeeded, and the structure was zeroed before.
    unsafe { ds.assume_init() }
}
