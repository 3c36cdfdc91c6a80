use nix::errno::Errno;
use shm_workbook::posix::mq::*;

#[test]
fn a_posix_queue_carries_messages_and_is_unlinked_on_drop() {
    let name = shm_workbook::posix::name::unique_name("msg-unit-test");
    let queue = PosixQueue::create(&name, 0o600, 4, 64).unwrap();
    assert!(posix_queue_exists(&name));
    queue.send(b"first").unwrap();
    let mut buffer = [0u8; 64];
    assert_eq!(queue.receive(&mut buffer).unwrap(), 5);
    assert_eq!(&buffer[..5], b"first");
    let mut small = [0u8; 8];
    assert_eq!(queue.receive(&mut small).unwrap_err().errno(), Some(Errno::EMSGSIZE));
    assert!(queue.send(&[0; 65]).is_err(), "longer than mq_msgsize");
    drop(queue);
    assert!(!posix_queue_exists(&name));
}
