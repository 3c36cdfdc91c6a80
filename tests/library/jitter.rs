use shm_workbook::jitter::*;
use std::time::Duration;

#[test]
fn off_without_the_variable_and_cheap() {
    if std::env::var_os(VARIABLE).is_none() {
        assert!(!enabled());
        let start = std::time::Instant::now();
        for _ in 0..100_000 {
            point();
        }
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
