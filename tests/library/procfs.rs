use shm_workbook::procfs::*;

const SYSV: &str = "7f3a1c000000-7f3a1c004000 rw-s 00000000 00:01 32769                      \
                    /SYSV4102a1b2 (deleted)";

#[test]
fn a_maps_line_splits_into_its_columns() {
    let line = MapsLine::parse(SYSV).unwrap();
    assert_eq!((line.start, line.end, line.len()), (0x7f3a1c000000, 0x7f3a1c004000, 0x4000));
    assert_eq!((line.perms.as_str(), line.offset, line.device.as_str()), ("rw-s", 0, "00:01"));
    assert_eq!(line.inode, 32769);
    assert_eq!(line.path, "/SYSV4102a1b2 (deleted)");
    assert!(line.is_shared() && line.contains(0x7f3a1c003fff) && !line.contains(0x7f3a1c004000));
    let anonymous = MapsLine::parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 ").unwrap();
    assert_eq!(anonymous.path, "");
    assert!(!anonymous.is_shared());
    assert_eq!(MapsLine::parse("Rss:                   4 kB"), None);
}

#[test]
fn smaps_gives_the_rss_of_the_right_mapping() {
    let smaps = format!(
        "55d000-55e000 r--p 00000000 08:01 12 /usr/bin/x\nRss:                   4 kB\n{SYSV}\n\
         Size:                 16 kB\nRss:                   8 kB\n"
    );
    assert_eq!(rss_kib_in(&smaps, 0x55d800), Some(4));
    assert_eq!(rss_kib_in(&smaps, 0x7f3a1c001000), Some(8));
    assert_eq!(rss_kib_in(&smaps, 0x1000), None);
}

#[test]
fn pagemap_bits_decode() {
    let entry = PagemapEntry(1 << 63 | 1 << 61 | 0x1a2b3c);
    assert!(entry.present() && entry.file_or_shared() && !entry.exclusive());
    assert_eq!(entry.pfn(), 0x1a2b3c);
    assert!(!PagemapEntry(1 << 63).shows_pfn(), "present with PFN 0: hidden");
    assert_eq!(PagemapEntry(0x1234).pfn(), 0, "no PFN for a page that is not present");
}

#[test]
fn a_touched_page_of_our_own_is_present_and_in_maps() {
    let value = std::hint::black_box(Box::new([7u8; 64]));
    let address = value.as_ptr() as usize;
    assert!(pagemap(address).unwrap().present());
    let line = maps_line(address).unwrap().expect("the heap is mapped");
    assert!(line.perms.starts_with("rw"));
    assert!(rss_kib(address).unwrap().unwrap() >= 4);
    assert_eq!(maps_line(0).unwrap(), None, "nothing is mapped at address 0");
}

#[test]
fn the_sysvipc_table_gives_a_segments_rss() {
    let table = concat!(
        "       key      shmid perms                  size  cpid  lpid nattch   uid   gid",
        "  cuid  cgid      atime      dtime      ctime                   rss",
        "                  swap\n",
        "         0         42   600                 65536  100   100      1     0     0",
        "     0     0 1 0 1 8192 0\n",
    );
    assert_eq!(segment_rss_in(table, 42), Some(8192));
    assert_eq!(segment_rss_in(table, 43), None);
    assert_eq!(segment_rss_in("key shmid perms\n0 42 600\n", 42), None, "an old kernel");
}

#[test]
fn the_sysvipc_table_gives_a_segments_line_by_column_name() {
    let table = "  key shmid perms  size\n    0    42   600  4096\n 1234    43   666  8192\n";
    let rows = ipc_rows_in(table);
    let row = rows.iter().find(|row| row.number("shmid") == Some(43)).unwrap();
    let pairs: Vec<(&str, &str)> =
        row.fields().iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    assert_eq!(pairs, [("key", "1234"), ("shmid", "43"), ("perms", "666"), ("size", "8192")]);
    assert_eq!(row.number::<u32>("size"), Some(8192));
    assert_eq!(row.get("rss"), None, "no such column");
    assert!(ipc_rows_in("").is_empty(), "no header");
}

#[test]
fn a_process_stat_is_read_after_its_command_name() {
    let text = "4242 (a (strange) name) S 4200 4242 4200 0 -1 4194560 1 0 0 0 7 3 0 0 \
                20 0 1 0 12345 0 0";
    let stat = process_stat_in(text).unwrap();
    assert_eq!(stat.state(), 'S');
    assert_eq!(stat.ppid(), Some(4200));
    assert_eq!(stat.process_group(), Some(4242));
    assert_eq!(stat.cpu_ticks(), Some(10));
    assert_eq!(stat.start_time(), Some(12345));
    assert!(!stat.has_ended());
    let me = process_stat(std::process::id() as i32).unwrap();
    assert_eq!(me.ppid(), Some(nix::unistd::getppid().as_raw()));
    assert!(process_stat(i32::MAX).is_none(), "no such process");
}

#[test]
fn the_sysvipc_table_gives_chosen_columns_of_chosen_segments() {
    let table = "  key shmid perms  size\n    0    42   600  4096\n    0    43   666  8192\n";
    let rows = sysvipc_columns_in(table, &[43, 42], &["shmid", "perms"]);
    assert_eq!(rows[1..], ["      43      666", "      42      600"], "in the order asked");
    let rows = sysvipc_columns_in(table, &[43], &["shmid", "perms"]);
    assert_eq!(rows, ["   shmid    perms", "      43      666"]);
    let wide = "  key shmid perms\n    0 10059839   600\n";
    let rows = sysvipc_columns_in(wide, &[10059839], &["key", "shmid"]);
    assert_eq!(rows[1], "       0 10059839", "a wide id stays apart from the key");
}
