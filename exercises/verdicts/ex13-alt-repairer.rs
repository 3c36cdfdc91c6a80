//! Verdict corpus: ex13, a valid alternative.
//! expect: pass
//! A third process, the repairer, takes the mutex after the crash, gets EOWNERDEAD, gives b
//! what a + b = 100 says is missing, and marks the mutex consistent.

use shm_workbook::shared::{AtomicU64, Ordering::SeqCst};

use shm_workbook::Shareable;
use shm_workbook::process::Exit;
use shm_workbook::pthread::{Locked, SharedMutex};
use shm_workbook::{Key, Narrator, Result, Segment, cleanup, exercise_data, process};

const MUTEX_AT: usize = 64;

#[repr(C)]
struct Accounts {
    a: AtomicU64,
    b: AtomicU64,
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Accounts {}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
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
        std::process::exit(3)
    })?;
    if let Exit::Code(code) = owner.wait_exit()? {
        parent.say(format!("the owner crashed (exit status {code})"));
    }

    let repairer = process::spawn("repairer", |out| {
        if mutex.lock()? == Locked::OwnerDied {
            let (a, b) = (accounts.a.load(SeqCst), accounts.b.load(SeqCst));
            out.say(format!("EOWNERDEAD: a = {a}, b = {b}: repairing"));
            accounts.b.store(total - a, SeqCst);
            mutex.make_consistent()?;
        }
        mutex.unlock()
    })?;
    repairer.wait()?;
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
