use nix::errno::Errno;
use nix::unistd::Uid;
use shm_workbook::privilege::*;
#[test]
fn identities_describe_themselves() {
    let nobody = Identity::nobody();
    assert_ne!(nobody.uid(), 0, "nobody is not root");
    assert!(nobody.describe().starts_with(&format!("uid {}", nobody.uid())));
    let member = nobody.clone().with_group(0);
    assert_eq!((member.uid(), member.gid()), (nobody.uid(), 0));
    assert_eq!(describe_uid(0), "0 (root)");
    assert_eq!(Identity::current().uid(), nix::unistd::geteuid().as_raw());
}

#[test]
fn a_child_becomes_nobody_for_good_or_is_refused_without_privilege() {
    let nobody = Identity::nobody();
    let allowed = can_become(&nobody);
    let before = nix::unistd::geteuid();
    let child = shm_workbook::process::spawn("test", |_| match become_user(&nobody) {
        Ok(()) if allowed => {
            assert_eq!(nix::unistd::geteuid().as_raw(), nobody.uid());
            assert_eq!(nix::unistd::setuid(Uid::from_raw(0)), Err(Errno::EPERM));
            Ok(())
        }
        Err(err) if !allowed => {
            assert_eq!(err.errno(), Some(Errno::EPERM), "{err}");
            assert!(err.hint().unwrap().contains("only root"));
            assert_eq!(nix::unistd::geteuid(), before, "nothing changed");
            Ok(())
        }
        other => panic!("can_become said {allowed}, become_user gave {other:?}"),
    })
    .unwrap();
    let pid = child.pid().as_raw();
    child.wait().unwrap();
    // As nobody, the child could not remove its run file from root's folder; a lesson
    // sweeps it at its end, this test here.
    shm_workbook::registry::sweep_process(pid);
}
