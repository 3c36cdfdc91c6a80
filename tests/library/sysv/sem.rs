use nix::errno::Errno;
use nix::unistd::getpid;
use shm_workbook::sysv::key::Key;
use shm_workbook::sysv::sem::*;
use std::time::Duration;

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

#[test]
fn values_operations_and_removal() {
    let set = SemaphoreSet::create(Key::PRIVATE, 2, 0o600).unwrap();
    let id = set.id();
    assert_eq!(set.len(), 2);
    assert_eq!(set.value(0).unwrap(), 0, "Linux starts semaphores at 0");
    set.post(0).unwrap();
    assert_eq!(set.value(0).unwrap(), 1);
    assert_eq!(set.last_pid(0).unwrap(), getpid().as_raw());
    set.wait(0).unwrap();
    assert!(!set.wait_timeout(0, Duration::from_millis(5)).unwrap(), "nothing to take: times out");
    set.set_value(1, 1).unwrap();
    {
        let _guard = set.lock(1).unwrap();
        assert_eq!(set.value(1).unwrap(), 0);
        assert_eq!(set.waiting(1).unwrap(), 0);
    }
    assert_eq!(set.value(1).unwrap(), 1, "the guard gave it back");
    drop(set);
    assert!(SemaphoreSet::from_id(id).is_err(), "dropping the owner removed the set");
}
