use nix::errno::Errno;
use shm_workbook::posix::name::*;
use shm_workbook::posix::shm::SharedObject;

#[test]
fn names_need_one_leading_slash_and_no_other() {
    assert!(check_name("/good-name").is_ok());
    for bad in ["no-slash", "/", "/a/b", "//x", "/.."] {
        let err = check_name(bad).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EINVAL), "{bad}");
    }
    let long = format!("/{}", "x".repeat(NAME_MAX + 1));
    assert_eq!(check_name(&long).unwrap_err().errno(), Some(Errno::ENAMETOOLONG));
}

#[test]
fn unique_names_differ_even_in_one_process() {
    let (a, b) = (unique_name("x"), unique_name("x"));
    assert_ne!(a, b, "a random part: a recycled pid cannot meet its predecessor's name");
    let prefix = format!("/shm-workbook-{}-", nix::unistd::getuid());
    assert!(a.starts_with(&prefix) && a.ends_with("-x"), "{a}");
    assert!(check_name(&a).is_ok());
}

#[test]
fn own_name_passes_over_another_users_name() {
    let base = unique_name("unit-own");
    let chosen = own_name(&base).unwrap();
    assert_eq!((chosen.name(), chosen.sentence()), (base.as_str(), None));
    let object = SharedObject::create(&base, 0o600).unwrap();
    assert_eq!(own_name(&base).unwrap().name(), base, "our own object is the one to use");
    if nix::unistd::geteuid().is_root() {
        nix::unistd::fchown(object.fd(), Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let chosen = own_name(&base).unwrap();
        assert_eq!(chosen.name(), format!("{base}-2"));
        let sentence = chosen.sentence().unwrap();
        assert!(sentence.contains("uid 65534") && sentence.ends_with("-2 instead"), "{sentence}");
    }
}
