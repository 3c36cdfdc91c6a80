use std::time::Duration;

use nix::errno::Errno;
use shm_workbook::call;
use shm_workbook::unnamed_sem::*;
use shm_workbook::{Key, Segment};

#[test]
fn a_semaphore_in_a_segment_counts_and_times_out() {
    let segment = Segment::create(Key::PRIVATE, 4096, 0o600).unwrap();
    let memory = segment.attach().unwrap();
    assert!(UnnamedSemaphore::init(&memory, 4090, 1, 1).is_err(), "it must fit");
    let sem = UnnamedSemaphore::init(&memory, 64, 1, 1).unwrap();
    let at = memory.address() + 64;
    assert_eq!(call::last().unwrap().to_string(), format!("sem_init({at:#x}, 1, 1) = 0"));
    assert_eq!(sem.value().unwrap(), 1);
    sem.wait().unwrap();
    assert!(!sem.try_wait().unwrap(), "taken: EAGAIN");
    assert_eq!(call::last().unwrap().errno(), Some(Errno::EAGAIN));
    assert!(!sem.wait_timeout(Duration::from_millis(5)).unwrap(), "times out");
    sem.post().unwrap();
    assert!(sem.wait_timeout(Duration::from_millis(5)).unwrap());
    sem.post().unwrap();
    for _ in 0..10 {
        sem.wait().unwrap();
        sem.post().unwrap();
    }
    assert_eq!(sem.value().unwrap(), 1);
    sem.destroy().unwrap();
}
