use nix::errno::Errno;
use nix::fcntl::SealFlag;
use shm_workbook::memfd::*;

#[test]
fn seals_print_as_c_writes_them() {
    assert_eq!(Seals(SealFlag::empty()).to_string(), "0");
    assert_eq!(Seals::SIZE.to_string(), "F_SEAL_SHRINK|F_SEAL_GROW");
    let all = Seals(SealFlag::F_SEAL_SEAL | SealFlag::F_SEAL_FUTURE_WRITE);
    assert_eq!(all.to_string(), "F_SEAL_SEAL|F_SEAL_FUTURE_WRITE");
    assert_eq!(all.missing(Seals::SIZE), Seals::SIZE);
}

#[test]
fn a_sealed_memfd_keeps_its_size_and_an_unsealable_one_refuses_seals() {
    let memfd = Memfd::create("unit-test", true).unwrap();
    let link = std::fs::read_link(format!("/proc/self/fd/{}", memfd.raw())).unwrap();
    assert!(link.to_string_lossy().starts_with("/memfd:unit-test"), "{link:?}");
    memfd.set_len(8192).unwrap();
    assert_eq!(memfd.seals().unwrap(), Seals(SealFlag::empty()));
    let writable = memfd.map(8192).unwrap();
    let busy = memfd.add_seals(Seals(SealFlag::F_SEAL_WRITE)).unwrap_err();
    assert_eq!(busy.errno(), Some(Errno::EBUSY));
    drop(writable);
    memfd.add_seals(Seals::SIZE).unwrap();
    assert_eq!(memfd.set_len(4096).unwrap_err().errno(), Some(Errno::EPERM));
    assert_eq!(memfd.set_len(16384).unwrap_err().errno(), Some(Errno::EPERM));
    assert_eq!(memfd.size().unwrap(), 8192);
    let fixed = Memfd::create("unit-fixed", false).unwrap();
    assert_eq!(fixed.seals().unwrap(), Seals(SealFlag::F_SEAL_SEAL));
    assert_eq!(fixed.add_seals(Seals::SIZE).unwrap_err().errno(), Some(Errno::EPERM));
}
