use nix::errno::Errno;
use shm_workbook::error::*;

#[test]
fn names_the_call_the_errno_and_its_meaning_here() {
    let err = Error::sys("shmget(0x00001234, 1024, 0600)", Errno::ENOENT)
        .with_hint("create it first, or add IPC_CREAT");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "shmget(0x00001234, 1024, 0600) failed: ENOENT (No such file or directory)"
        )
    );
    assert!(text.contains("no segment has this key"));
    assert!(text.contains("what to do:    create it first"));
    assert_eq!(format!("{err:?}"), text, "main prints Debug: it must read like Display");
}

#[test]
fn falls_back_to_strerror_for_unlisted_pairs() {
    let err = Error::sys("shmdt(0x1000)", Errno::EPERM);
    assert_eq!(err.meaning(), Errno::EPERM.desc());
    assert_eq!(err.errno(), Some(Errno::EPERM));
}

#[test]
fn io_errors_keep_their_errno() {
    let err = Error::io("mkdtemp(/nonexistent/x)", std::io::Error::from_raw_os_error(libc::ENOENT));
    assert_eq!(err.errno(), Some(Errno::ENOENT));
}
