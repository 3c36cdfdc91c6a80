use nix::errno::Errno;
use nix::sys::stat::Mode;
use shm_workbook::posix::name::unique_name;
use shm_workbook::posix::shm::*;

#[test]
fn an_object_is_created_sized_mapped_shared_and_unlinked_on_drop() {
    let name = unique_name("unit-test");
    let object = SharedObject::create(&name, 0o600).unwrap();
    assert_eq!(object.stat().unwrap().len, 0);
    assert!(object.map(4096).is_err(), "a 0-byte object cannot be mapped");
    object.set_len(4096).unwrap();
    let stat = object.stat().unwrap();
    assert_eq!((stat.len, stat.mode), (4096, 0o600));
    let writer = object.map(4096).unwrap();
    let other = SharedObject::open_read_only(&name).unwrap();
    assert_eq!(other.map(4096).unwrap_err().errno(), Some(Errno::EACCES));
    let reader = other.map_read_only(4096).unwrap();
    writer.store_c_string(0, "hello").unwrap();
    assert_eq!(reader.load_c_string(0), "hello");
    assert_eq!(SharedObject::create(&name, 0o600).unwrap_err().errno(), Some(Errno::EEXIST));
    drop(other);
    drop(object);
    assert!(!std::path::Path::new(&format!("/dev/shm{name}")).exists());
    assert_eq!(reader.load_c_string(0), "hello", "mappings outlive the name");
    assert_eq!(SharedObject::open(&name).unwrap_err().errno(), Some(Errno::ENOENT));
}

#[test]
fn an_object_open_to_others_or_of_another_user_is_refused() {
    let name = unique_name("unit-foreign");
    let object = SharedObject::create(&name, 0o600).unwrap();
    nix::sys::stat::fchmod(object.fd(), Mode::from_bits_truncate(0o666)).unwrap();
    let err = SharedObject::open(&name).unwrap_err();
    assert!(err.meaning().contains("mode is 0666"), "{err}");
    nix::sys::stat::fchmod(object.fd(), Mode::from_bits_truncate(0o600)).unwrap();
    assert!(SharedObject::open(&name).is_ok(), "our own 0600 object is fine");
    if nix::unistd::geteuid().is_root() {
        let nobody = nix::unistd::Uid::from_raw(65534);
        nix::unistd::fchown(object.fd(), Some(nobody), None).unwrap();
        let err = SharedObject::open(&name).unwrap_err();
        assert!(err.meaning().contains("uid 65534"), "{err}");
        assert!(err.meaning().contains("not to you"), "{err}");
    }
}
