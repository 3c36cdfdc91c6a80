use nix::errno::Errno;
use nix::unistd::getpid;
use shm_workbook::call::{self};
use shm_workbook::sysv::ipc_flags;
use shm_workbook::sysv::key::Key;
use shm_workbook::sysv::shm::*;
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
