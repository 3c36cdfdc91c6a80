//! Verdict corpus: ex14, a valid alternative.
//! expect: pass
//! The reader loads the sequence with SeqCst, yields while it is odd, and puts a SeqCst fence
//! between the field loads and the second load of the sequence.

use shm_workbook::shared::{AtomicU32, Ordering, fence};
use std::time::Duration;

use shm_workbook::Shareable;
use shm_workbook::{Key, Narrator, Region, Result, Segment, cleanup, exercise_data, process};

const READERS: usize = 2;
const FIELDS_AT: usize = 64;

#[repr(C)]
struct Header {
    sequence: AtomicU32,
    done: AtomicU32,
}

// SAFETY: #[repr(C)], only atomics (valid for every bit pattern, zero included), no pointers.
unsafe impl Shareable for Header {}

fn of_version(v: u64) -> [u64; 4] {
    let (width, height) = (640 + v % 1000, 480 + v % 700);
    [v, width, height, width * height]
}

fn write_fields(memory: &Region, fields: [u64; 4]) -> Result<()> {
    (0..4).try_for_each(|i| memory.store(FIELDS_AT + 8 * i, &fields[i].to_ne_bytes()))
}

fn read_fields(memory: &Region) -> [u64; 4] {
    std::array::from_fn(|i| {
        u64::from_ne_bytes(memory.load(FIELDS_AT + 8 * i, 8).try_into().expect("8 bytes"))
    })
}

fn write(header: &Header, memory: &Region, fields: [u64; 4]) -> Result<()> {
    let sequence = header.sequence.load(Ordering::Relaxed);
    header.sequence.store(sequence + 1, Ordering::Relaxed);
    fence(Ordering::Release);
    write_fields(memory, fields)?;
    header.sequence.store(sequence + 2, Ordering::Release);
    Ok(())
}

fn read(header: &Header, memory: &Region) -> [u64; 4] {
    loop {
        let before = header.sequence.load(Ordering::SeqCst);
        if before % 2 == 1 {
            std::thread::yield_now();
            continue;
        }
        let fields = read_fields(memory);
        fence(Ordering::SeqCst);
        if header.sequence.load(Ordering::SeqCst) == before {
            return fields;
        }
    }
}

fn main() -> Result<()> {
    cleanup::install_signal_handlers();
    let updates = exercise_data::number("updates", 100);
    let parent = Narrator::new("parent");
    let segment = Segment::create(Key::PRIVATE, FIELDS_AT + 32, 0o600)?;
    let memory = segment.attach()?;
    let header: &Header = memory.view()?;
    write(header, &memory, of_version(0))?;

    let mut readers = Vec::new();
    for number in 1..=READERS {
        readers.push(process::spawn(&format!("reader {number}"), |out| {
            let (mut reads, mut torn) = (0, 0);
            loop {
                let finished = header.done.load(Ordering::Acquire) == 1;
                let fields = read(header, &memory);
                reads += 1;
                torn += u32::from(fields != of_version(fields[0]));
                if finished {
                    break;
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            out.say(format!("{reads} reads, {torn} torn"));
            Ok(())
        })?);
    }
    let writer = process::spawn("writer", |_| {
        for version in 1..=updates {
            write(header, &memory, of_version(version))?;
            std::thread::sleep(Duration::from_micros(100));
        }
        header.done.store(1, Ordering::Release);
        Ok(())
    })?;
    readers.push(writer);
    process::wait_all(readers)?;
    let [version, width, height, area] = read_fields(&memory);
    parent.say(format!("final: version {version}, {width} x {height}, area {area}"));
    Ok(())
}
