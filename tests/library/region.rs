use shm_workbook::{Key, Segment};

#[test]
fn one_segment_read_write_and_read_only() {
    let segment = Segment::create(Key::PRIVATE, 16, 0o600).unwrap();
    let read_only = segment.attach_read_only().unwrap();
    let read_write = segment.attach().unwrap();
    assert!(read_write.store(10, b"0123456789").is_err(), "bounds are checked");
    read_write.store_c_string(0, "abc").unwrap();
    assert_eq!(read_only.load_c_string(0), "abc", "two attachments, one memory");
    assert_eq!(read_only.load(1, 2), b"bc");
    assert_ne!(read_only.address(), read_write.address());
    assert!(!read_only.is_writable());
    assert_eq!(read_only.shmid(), Some(segment.id()));
    read_only.detach().unwrap();
    assert_eq!(shm_workbook::call::last().unwrap().name(), "shmdt");
}
