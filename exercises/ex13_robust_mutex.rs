//! # Exercise 13: The mutex's owner died
//!
//! Goal: two accounts in shared memory hold 100 together, and a process-shared, *robust*
//! pthread mutex guards every transfer between them. A process takes the mutex, takes 10 from
//! account a, and crashes before it gives them to b. Because the mutex is robust, the next
//! `lock` does not block for ever: it succeeds with EOWNERDEAD, meaning "you hold it now, but
//! the data it guards may be half-updated". Today the program ignores that: it neither repairs
//! the accounts nor marks the mutex consistent, so 10 are lost, and once it unlocks, the mutex
//! is broken for good (every later `lock` fails with ENOTRECOVERABLE).
//!
//! Follows lesson 12 (`cargo run --bin lesson12`), the robust mutex.
//!
//! What the checker does: runs the program 50 times with jitter and expects the clerk's
//! transfer to succeed and the parent to print `a = 85, b = 15, total = 100`, with nothing
//! left behind. (Leave the crash where it is: it is the test.) The total, the 10 and the 5 come
//! from `exercise_data`: the checker draws them for each run (by hand they are 100, 10 and 5), so
//! that a repair or a line written as constants cannot pass.
//!
//! Then at least as many runs under controlled schedules: the checker picks which process takes
//! each step (first the orders one choice away from the usual one, then random priorities),
//! and a run that fails is drawn step by step, with a token that replays it exactly.
//!
//! Run it: `cargo run --bin workbook -- check ex13`; by hand: `cargo run --example ex13`.

use shm_workbook::shared::{AtomicU64, Ordering::SeqCst};

use shm_workbook::Shareable;
use shm_workbook::process::Exit;
use shm_workbook::pthread::{Locked, SharedMutex};
use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const MUTEX_AT: usize = 64; // the mutex lives after the accounts

#[repr(C)]
struct Accounts {
    a: AtomicU64,
    b: AtomicU64,
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Accounts {}

fn main() -> Result<()> {
    cleanup::install_signal_handlers(); // Ctrl-C removes what this run created
    let total = exercise_data::number("total", 100);
    let amount = exercise_data::number("amount", 10);
    let transfer = exercise_data::number("transfer", 5);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, 4096, 0o600)?;
    let memory = segment.attach()?;
    let accounts: &Accounts = memory.view()?;
    accounts.a.store(total, SeqCst);
    let mutex = SharedMutex::init(&memory, MUTEX_AT)?;

    let owner = process::spawn("owner", |out| {
        mutex.lock()?;
        accounts.a.fetch_sub(amount, SeqCst);
        out.say(format!("took {amount} from a, and crashes before giving them to b"));
        std::process::exit(3) // a crash, holding the mutex
    })?;
    if let Exit::Code(code) = owner.wait_exit()? {
        parent.say(format!("the owner crashed (exit status {code})"));
    }

    match mutex.lock()? {
        // TODO: EOWNERDEAD: repair the accounts (a + b must be total again: give b what a
        // lost), then call mutex.make_consistent() before unlocking.
        Locked::OwnerDied | Locked::Acquired => {}
    }
    mutex.unlock()?;

    let clerk = process::spawn("clerk", |out| {
        mutex.lock()?;
        accounts.a.fetch_sub(transfer, SeqCst);
        accounts.b.fetch_add(transfer, SeqCst);
        mutex.unlock()?;
        out.say(format!("moved {transfer} from a to b"));
        Ok(())
    })?;
    clerk.wait()?;
    let (a, b) = (accounts.a.load(SeqCst), accounts.b.load(SeqCst));
    parent.say(format!("a = {a}, b = {b}, total = {}", a + b));
    Ok(())
}
