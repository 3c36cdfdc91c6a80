use nix::errno::Errno;
use shm_workbook::sysv::key::Key;
use shm_workbook::sysv::sem::*;
#[test]
fn an_opened_set_is_not_removed_on_drop() {
    let here = std::env::current_dir().unwrap();
    let key = Key::ftok(&here, 202).unwrap();
    let owner = SemaphoreSet::create(key, 1, 0o600).unwrap();
    let opened = SemaphoreSet::open(key).unwrap();
    assert_eq!(opened.len(), 1);
    assert!(!opened.removes_on_drop());
    drop(opened);
    assert_eq!(owner.value(0).unwrap(), 0);
    assert_eq!(SemaphoreSet::create(key, 1, 0o600).unwrap_err().errno(), Some(Errno::EEXIST));
}
