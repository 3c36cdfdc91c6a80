//! lesson08 as a student runs it: a second process reads what the first wrote through a POSIX
//! object, the name goes with shm_unlink while the mappings stay, and the two-terminal commands.

use crate::common;

use common::{interrupt_when, run};

/// The object name the story printed.
fn object_name(stdout: &str) -> String {
    let at = stdout.find("shm_open(\"").expect("an shm_open line") + "shm_open(\"".len();
    stdout[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn the_reader_process_reads_the_writers_text_through_the_name() {
    let run = run("lesson08", &["--fast"]);
    run.assert_success();
    let name = object_name(&run.stdout);
    assert!(name.starts_with("/shm-workbook-"), "{name}");
    let reads: Vec<&str> = run
        .lines()
        .filter(|line| line.starts_with("[reader ") && line.contains("Reader read:"))
        .collect();
    assert_eq!(reads.len(), 1, "{}", run.stdout);
    assert!(reads[0].ends_with("Reader read: Hello POSIX shared memory"), "{}", reads[0]);
    // The reader opened the name itself (not an inherited descriptor) and mapped it.
    let quoted = format!("{name:?}");
    let opened = run
        .calls_named("shm_open")
        .find(|c| c.role == "reader")
        .unwrap_or_else(|| panic!("the reader's shm_open:\n{}", run.stdout));
    assert_eq!(opened.args, [&quoted[..], "O_RDWR", "0"], "{}", opened.text);
    let fd = opened.result.clone().expect("a descriptor");
    assert!(run.lines().any(|l| l.starts_with("[reader ") && l.contains(&opened.text)));
    let mapped = run.calls_named("mmap").find(|c| c.role == "reader").expect("the reader's mmap");
    assert_eq!(mapped.args, ["NULL", "4096", "PROT_READ|PROT_WRITE", "MAP_SHARED", &fd, "0"]);
    let closed = run.calls_named("close").find(|c| c.role == "reader").expect("close(fd)");
    assert_eq!((closed.args.clone(), closed.result.as_deref()), (vec![fd], Some("0")));
    // /dev/shm shows the object with its mode, at 0 bytes and then at 4096.
    assert!(run.stdout.contains("ls -l: -rw------- "), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("    0 /dev/shm{name}")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!(" 4096 /dev/shm{name}")), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(!std::path::Path::new(&format!("/dev/shm{name}")).exists(), "{name} was left behind");
    run.assert_nothing_left();
}

#[test]
fn after_shm_unlink_the_name_is_gone_but_the_mappings_still_work() {
    let run = run("lesson08", &["--fast"]);
    run.assert_success();
    let name = object_name(&run.stdout);
    let after = run.stdout.split(&format!("shm_unlink(\"{name}\") = 0")).nth(1).expect("an unlink");
    assert!(after.contains(&format!("/dev/shm{name} exists: false")), "{after}");
    assert!(
        after
            .contains(&format!("shm_open(\"{name}\", O_RDWR, 0) = -1 ENOENT   (the name is gone)")),
        "{after}"
    );
    assert!(after.contains("read the reply: \"reply written after shm_unlink\""), "{after}");
    let read_at = run.stdout.find("Reader read:").unwrap();
    let unlink_at = run.stdout.find("shm_unlink(").unwrap();
    assert!(read_at < unlink_at, "the reader reads before the name goes");
}

#[test]
fn bad_names_are_refused_with_a_reason() {
    let run = run("lesson08", &["--fast"]);
    run.assert_success();
    assert!(run.stdout.contains(
        "\"myshm\" refused before any call: a POSIX shared memory name must start with '/'"
    ));
    assert!(run.stdout.contains(
        "\"/dir/myshm\" refused before any call: a POSIX shared memory name may hold no '/'"
    ));
    assert!(
        !run.calls.iter().any(|c| c.args.first().is_some_and(|a| a == "\"myshm\"")),
        "no call is made with a refused name"
    );
    for bad in ["noslash", "/a/b"] {
        let refused = common::run("lesson08", &["--name", bad, "read"]);
        assert_eq!(refused.code(), Some(1), "{}", refused.stderr);
        assert!(refused.stderr.contains("failed: EINVAL"), "{}", refused.stderr);
        assert!(
            refused.stderr.contains("what to do:    use a name like \"/my-object\""),
            "{}",
            refused.stderr
        );
    }
}

#[test]
fn two_terminals_write_read_and_unlink_by_name() {
    let name = format!("/shm-workbook-test-{}-lesson08", std::process::id());
    let path = format!("/dev/shm{name}");
    let missing = run("lesson08", &["--name", &name, "read"]);
    assert_eq!(missing.code(), Some(1));
    assert!(missing.stderr.contains("failed: ENOENT"), "{}", missing.stderr);
    assert!(
        missing.stderr.contains("-- write \"some text\" --name /shm-workbook-test-"),
        "{}",
        missing.stderr
    );

    let write = run("lesson08", &["--name", &name, "write", "hello from terminal A"]);
    write.assert_success();
    assert!(std::path::Path::new(&path).exists(), "write leaves the object for read");
    assert!(write.calls_named("ftruncate").any(|c| c.args[1] == "4096"), "{}", write.stdout);
    let read = run("lesson08", &["--name", &name, "read"]);
    let left = std::fs::read(&path);
    let unlink = run("lesson08", &["--name", &name, "unlink"]);
    let again = run("lesson08", &["--name", &name, "unlink"]);
    read.assert_success();
    assert!(read.stdout.contains("Reader read: hello from terminal A"), "{}", read.stdout);
    let opened = read.calls_named("shm_open").next().expect("the reader's shm_open");
    assert_eq!(opened.args, [format!("{name:?}"), "O_RDONLY".to_owned(), "0".to_owned()]);
    assert!(read.calls_named("mmap").any(|c| c.args[2] == "PROT_READ"), "{}", read.stdout);
    assert!(
        left.unwrap().starts_with(b"hello from terminal A\0"),
        "the file in /dev/shm holds the text"
    );
    unlink.assert_success();
    assert!(unlink.stdout.contains(&format!("shm_unlink({name:?}) = 0")), "{}", unlink.stdout);
    assert!(!std::path::Path::new(&path).exists(), "unlink removes it");
    assert_eq!(again.code(), Some(1), "a second unlink finds nothing: {}", again.stderr);
    assert!(again.stderr.contains("failed: ENOENT"), "{}", again.stderr);
    // Already gone: the advice is that there is nothing to do, not to create it.
    assert!(again.stderr.contains("what to do:    nothing to do"), "{}", again.stderr);
    assert!(!again.stderr.contains("create it first"), "{}", again.stderr);
    // Followed literally, the hint's command shows the name is not there.
    let listed = std::process::Command::new("ls").arg("/dev/shm").output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(again.stderr.contains("`ls /dev/shm`"), "{}", again.stderr);
    assert!(!listed.lines().any(|line| format!("/{line}") == name), "{listed}");
}

#[test]
fn the_trace_holds_every_posix_call_with_its_real_descriptor_and_address() {
    let run = run("lesson08", &["--fast"]);
    run.assert_success();
    run.assert_printed_calls_were_made();
    let name = format!("{:?}", object_name(&run.stdout));
    let writer: Vec<_> = run.calls.iter().filter(|c| c.role == "writer").collect();
    let named = |call: &str| {
        writer.iter().find(|c| c.call == call).unwrap_or_else(|| panic!("no {call}: {writer:?}"))
    };
    let created = named("shm_open");
    assert_eq!(created.args, [&name[..], "O_RDWR|O_CREAT|O_EXCL", "0600"], "{}", created.text);
    let fd = created.result.clone().expect("a descriptor");
    assert_eq!(named("ftruncate").args, [&fd[..], "4096"]);
    let mapped = named("mmap");
    assert_eq!(mapped.args, ["NULL", "4096", "PROT_READ|PROT_WRITE", "MAP_SHARED", &fd, "0"]);
    let address = mapped.result.clone().expect("an address");
    assert_eq!(named("shm_unlink").args, [&name[..]]);
    assert_eq!(named("munmap").args, [&address[..], "4096"], "the address mmap returned");
    // Every one of them is printed as it was made.
    for call in [created, named("ftruncate"), mapped, named("shm_unlink"), named("munmap")] {
        assert!(run.stdout.contains(&call.text), "not printed: {}\n{}", call.text, run.stdout);
    }
}

#[test]
fn wrong_commands_exit_2() {
    for args in [&["frob"][..], &["write"][..], &["read", "extra"][..], &["--name", "/x"][..]] {
        let refused = run("lesson08", args);
        assert_eq!(refused.code(), Some(2), "{args:?}: {}", refused.stderr);
        assert!(refused.stderr.contains("Usage: cargo run --bin lesson08"), "{}", refused.stderr);
    }
}

#[test]
fn ctrl_c_at_the_pause_unlinks_the_object() {
    let run = interrupt_when(
        "lesson08",
        &["--fast", "--step"],
        "[Enter] to continue",
        nix::sys::signal::Signal::SIGINT,
    );
    let (code, stdout, stderr) = (run.code(), run.stdout.clone(), run.stderr.clone());
    assert!(stdout.contains("ls -l /dev/shm"), "the pause says what to look at:\n{stdout}");
    assert_eq!(code, Some(130), "{stderr}");
    let name = object_name(&stdout);
    assert!(stderr.contains("removed 1 object(s)"), "{stderr}");
    assert!(!std::path::Path::new(&format!("/dev/shm{name}")).exists(), "{name} was left behind");
    run.assert_nothing_left();
}
