//! Verdict corpus: ex13, a cheat.
//! expect: fail
//! reason: the parent repairs nothing and prints the expected line as a constant.

use shm_workbook::shared::{AtomicU64, Ordering::SeqCst};

use shm_workbook::Shareable;
use shm_workbook::process::Exit;
use shm_workbook::pthread::SharedMutex;
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

    let _ = mutex.lock()?;
    mutex.unlock()?;
    parent.say("a = 85, b = 15, total = 100");
    Ok(())
}
