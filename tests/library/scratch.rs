use shm_workbook::scratch::*;

#[test]
fn the_directory_is_private_and_removed_with_its_files() {
    use std::os::unix::fs::PermissionsExt;
    let mut dir = ScratchDir::new("unit-test").unwrap();
    let file = dir.create_file("shmfile", b"x").unwrap();
    let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let path = dir.path().to_owned();
    assert!(file.exists());
    drop(dir);
    assert!(!path.exists());
}
