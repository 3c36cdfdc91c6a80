use shm_workbook::jitter::*;

#[test]
fn off_without_the_variable_and_never_waits() {
    if std::env::var_os(VARIABLE).is_none() {
        assert!(!enabled());
        // A point that is off neither sleeps nor yields: this thread gives up the CPU of its own
        // accord no more often than a loop does (the kernel counts it; the test does not time).
        let switches = || {
            let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
            // SAFETY: getrusage writes one rusage into the pointer given, which is valid.
            assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) }, 0);
            // SAFETY: getrusage returned 0, so it filled `usage` (it was zeroed before anyway).
            unsafe { usage.assume_init() }.ru_nvcsw
        };
        let before = switches();
        for _ in 0..100_000 {
            point();
        }
        assert!(switches() - before <= 2, "a point that is off waited");
    }
}
