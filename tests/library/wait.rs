use shm_workbook::SemaphoreSet;
use shm_workbook::process;
use shm_workbook::wait::*;
use std::sync::atomic::AtomicU32;

#[test]
fn a_changed_word_returns_at_once_with_every_policy() {
    let word = AtomicU32::new(5);
    let me = Partner::Child(nix::unistd::getpid());
    for policy in [Policy::Spin, Policy::Sleep, Policy::DEFAULT] {
        assert_eq!(wait_while(&word, 4, policy, me).unwrap(), 5);
    }
}

#[test]
fn a_dead_partner_ends_the_wait_with_an_error() {
    let child = process::spawn("child", |_| Ok(())).unwrap();
    let partner = Partner::Child(child.pid());
    let word = AtomicU32::new(0);
    for policy in [Policy::Sleep, Policy::DEFAULT, Policy::Spin] {
        let err = wait_while(&word, 0, policy, partner).unwrap_err();
        assert!(err.meaning().contains(&child.pid().to_string()), "{err}");
    }
    child.wait().unwrap();
}

#[test]
fn a_semaphore_whose_holder_died_ends_the_take_with_an_error() {
    let set = SemaphoreSet::create(shm_workbook::Key::PRIVATE, 2, 0o600).unwrap();
    set.set_value(0, 1).unwrap();
    // The child takes the lock without SEM_UNDO and ends: the lock stays taken.
    let child = process::spawn("holder", |_| set.wait(0)).unwrap();
    let pid = child.pid().to_string();
    child.wait().unwrap();
    let err = take(&set, 0).unwrap_err();
    assert!(err.meaning().contains(&pid), "{err}");
    // Semaphore 1 is never posted, and the partner that would post it is gone.
    let err = take_posted(&set, 1, Partner::Other(nix::unistd::Pid::from_raw(1 << 22)));
    assert!(err.unwrap_err().meaning().contains("died before giving it back"));
}
