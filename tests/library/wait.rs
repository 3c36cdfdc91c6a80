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
