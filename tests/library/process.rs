use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shm_workbook::error::Error;
use shm_workbook::process::*;
use shm_workbook::{Key, SemaphoreSet, procfs};

/// What a child prints (its error message, say), caught in a file of the test's instead
/// of going to `cargo test`'s output, so that the test can check it.
struct Caught(std::path::PathBuf);

impl Caught {
    fn new(name: &str) -> Caught {
        let file = format!("shm-workbook-unit-{}-{name}.out", std::process::id());
        Caught(std::env::temp_dir().join(file))
    }

    /// In the child: its stdout goes to the file from here on.
    fn redirect(&self) {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::create(&self.0).expect("a file for the child's output");
        // SAFETY: dup2 takes two descriptors: ours, open, and stdout's number.
        assert!(unsafe { libc::dup2(file.as_raw_fd(), 1) } == 1, "stdout redirected");
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.0).unwrap_or_default()
    }
}

impl Drop for Caught {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_failed_child_stops_the_others_and_leaves_no_process() {
    let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600).unwrap();
    let blocked: Vec<Child> = (0..2)
        .map(|_| spawn("waiter", |_| set.wait(0)).unwrap()) // nobody ever posts
        .collect();
    let pids: Vec<Pid> = blocked.iter().map(Child::pid).collect();
    let caught = Caught::new("writer");
    let failing = spawn("writer", |_| {
        caught.redirect();
        Err(Error::other("writing", "it failed"))
    })
    .unwrap();
    let failing_pid = failing.pid();
    let mut all = blocked;
    all.push(failing);
    let err = wait_all(all).unwrap_err();
    assert!(err.call().contains(&format!("the writer (pid {failing_pid})")), "{err}");
    assert!(err.meaning().contains("exited with status 1"), "{err}");
    let said = caught.text();
    assert!(said.contains(&format!("[writer {failing_pid}] writing failed")), "{said}");
    assert!(said.contains("what it means: it failed"), "{said}");
    assert!(err.hint().unwrap().contains("2 other process(es)"), "{err}");
    for pid in pids {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "{pid} is gone");
    }
}

#[test]
fn what_a_killed_child_created_is_removed_when_it_is_reaped() {
    use shm_workbook::Segment;
    use std::sync::atomic::{AtomicI32, Ordering};
    let board = Segment::create(Key::PRIVATE, 64, 0o600).unwrap();
    let memory = board.attach().unwrap();
    let told: &AtomicI32 = memory.view().unwrap();
    let child = spawn("creator", |_| {
        let segment = Segment::create(Key::PRIVATE, 64, 0o600)?;
        told.store(segment.id(), Ordering::Release); // tell the parent which one
        std::thread::sleep(std::time::Duration::from_secs(60)); // killed here
        Ok(())
    })
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while told.load(Ordering::Acquire) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let id = told.load(Ordering::Acquire);
    child.signal(Signal::SIGKILL).unwrap();
    let err = child.wait().unwrap_err();
    assert!(err.meaning().contains("killed by SIGKILL"), "{err}");
    assert!(
        err.meaning().contains(&format!("what it had created is removed: segment {id}")),
        "{err}"
    );
    assert!(shm_workbook::sysv::shm::stat(id).is_err(), "segment {id} is gone");
}

#[test]
fn a_segment_a_killed_child_made_but_never_wrote_down_is_found_by_its_creator() {
    use std::sync::atomic::{AtomicI32, Ordering};
    let board = shm_workbook::Segment::create(Key::PRIVATE, 64, 0o600).unwrap();
    let memory = board.attach().unwrap();
    let told: &AtomicI32 = memory.view().unwrap();
    let child = spawn("creator", |_| {
        // As if killed between shmget and writing it down: no line for it anywhere.
        // SAFETY: shmget takes plain integers.
        let id = unsafe { libc::shmget(libc::IPC_PRIVATE, 64, libc::IPC_CREAT | 0o600) };
        told.store(id, Ordering::Release);
        std::thread::sleep(std::time::Duration::from_secs(60)); // killed here
        Ok(())
    })
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while told.load(Ordering::Acquire) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let id = told.load(Ordering::Acquire);
    child.signal(Signal::SIGKILL).unwrap();
    let err = child.wait().unwrap_err();
    assert!(err.meaning().contains(&format!("removed: segment {id}")), "{err}");
    assert!(shm_workbook::sysv::shm::stat(id).is_err(), "segment {id} is gone");
}

#[test]
fn waiting_for_one_child_ends_when_another_fails() {
    let scenario = spawn("scenario", |_| {
        let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
        let producer = spawn("producer", |_| set.wait(0))?; // waits for a post that never comes
        let producer_pid = producer.pid();
        let caught = Caught::new("consumer");
        let consumer = spawn("consumer", |_| {
            caught.redirect();
            std::thread::sleep(std::time::Duration::from_millis(50));
            Err(Error::other("consuming", "it failed"))
        })?;
        let consumer_pid = consumer.pid();
        let err = producer.wait().expect_err("the consumer failed");
        assert!(
            err.meaning().contains(&format!("child process {consumer_pid} exited with status 1")),
            "{err}"
        );
        assert!(
            err.hint().unwrap().contains(&format!("the producer (pid {producer_pid})")),
            "{err}"
        );
        assert!(
            !std::path::Path::new(&format!("/proc/{producer_pid}")).exists(),
            "stopped and reaped"
        );
        consumer.wait().expect_err("it failed");
        assert!(caught.text().contains("consuming failed"), "{}", caught.text());
        Ok(())
    })
    .unwrap();
    scenario.wait().unwrap();
}

#[test]
fn a_parent_blocked_on_a_semaphore_learns_that_its_child_was_killed() {
    // In a child of the test, which has one thread, so that SIGCHLD reaches the thread
    // blocked in semop (the test harness has many).
    let scenario = spawn("scenario", |_| {
        let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
        let poster = spawn("poster", |_| {
            std::thread::sleep(std::time::Duration::from_secs(60)); // never posts
            Ok(())
        })?;
        let victim = poster.pid();
        let killer = spawn("killer", move |_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            kill(victim, Signal::SIGKILL).map_err(|errno| Error::sys("kill", errno))
        })?;
        let err = set.wait(0).expect_err("the wait must end when the poster dies");
        assert!(err.meaning().contains("was killed by SIGKILL"), "{err}");
        assert_eq!(poster.wait_exit()?, Exit::Signal(Signal::SIGKILL));
        killer.wait()
    })
    .unwrap();
    scenario.wait().unwrap();
}

#[test]
fn a_child_that_died_before_the_wait_began_still_ends_it() {
    // In a child of the test (one thread, so the signals reach the waiting thread).
    let scenario = spawn("scenario", |_| {
        let set = SemaphoreSet::create(Key::PRIVATE, 1, 0o600)?;
        let caught = Caught::new("poster");
        let poster = spawn("poster", |_| {
            caught.redirect();
            Err(Error::other("posting", "it failed"))
        })?;
        // The poster is dead, and its SIGCHLD handled, before the wait begins.
        while !procfs::process_stat(poster.pid().as_raw()).is_none_or(|stat| stat.has_ended()) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let err = set.wait(0).expect_err("the wait must end: the poster is dead");
        assert!(err.meaning().contains("exited with status 1"), "{err}");
        poster.wait().expect_err("it failed");
        assert!(caught.text().contains("posting failed"), "{}", caught.text());
        Ok(())
    })
    .unwrap();
    scenario.wait().unwrap();
}

/// A partner that fails because another child was killed (on the socket the dead one closed,
/// say) is the consequence: the error names the child the signal killed, although the partner
/// ended first and comes first in the list.
#[test]
fn the_child_a_signal_killed_is_named_not_the_partner_that_failed_after_it() {
    let caught = Caught::new("partner");
    let partner = spawn("client", |_| {
        caught.redirect();
        Err(Error::other("reading", "the other end was closed"))
    })
    .unwrap();
    let server = spawn("server", |_| {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    })
    .unwrap();
    let ended = |child: &Child| {
        for _ in 0..10_000 {
            if procfs::process_stat(child.pid().as_raw()).is_some_and(|s| s.state() == 'Z') {
                return; // a zombie: ended, not yet reaped
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("pid {} never ended", child.pid());
    };
    ended(&partner);
    kill(server.pid(), Signal::SIGKILL).unwrap();
    ended(&server);
    let server_pid = server.pid();
    let err = wait_all(vec![partner, server]).unwrap_err();
    assert!(err.call().contains(&format!("the server (pid {server_pid})")), "{err}");
    assert!(err.meaning().contains("SIGKILL"), "{err}");
}
