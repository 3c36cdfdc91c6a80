use shm_workbook::sysv::msg::*;

fn queue_exists(id: i32) -> bool {
    let text = std::fs::read_to_string("/proc/sysvipc/msg").unwrap();
    text.lines().skip(1).any(|line| line.split_whitespace().nth(1) == Some(&id.to_string()))
}

#[test]
fn a_sysv_queue_carries_typed_messages_and_is_removed_on_drop() {
    let queue = MessageQueue::create(0o600).unwrap();
    let id = queue.id();
    assert!(queue_exists(id));
    let mut buffer = MessageBuffer::new(16);
    buffer.text_mut()[..5].copy_from_slice(b"hello");
    queue.send(&mut buffer, 2, 5).unwrap();
    buffer.text_mut()[..3].copy_from_slice(b"one");
    queue.send(&mut buffer, 1, 3).unwrap();
    let mut out = MessageBuffer::new(16);
    assert_eq!(queue.receive(&mut out, 2).unwrap(), 5, "msgrcv picks by type");
    assert_eq!(&out.text()[..5], b"hello");
    assert_eq!(out.mtype(), 2);
    assert_eq!(queue.receive(&mut out, 0).unwrap(), 3);
    assert_eq!(&out.text()[..3], b"one");
    assert!(queue.send(&mut buffer, 0, 1).is_err(), "mtype 0 is refused");
    drop(queue);
    assert!(!queue_exists(id));
}

#[test]
fn limits_are_read() {
    let limits = limits().unwrap();
    assert!(limits.sysv_max_message > 0 && limits.posix_max_message > 0);
}
