//! Messages that check themselves: every message lesson 13 sends carries its sequence number
//! at both ends, and the bytes between are compared now and then, so that a lost, repeated,
//! reordered or torn message stops the run with an error. A fast wrong answer is not a
//! measurement.

use std::sync::OnceLock;

use shm_workbook::error::{Error, Result};

/// The sizes of the throughput part: 64 B, 4 KiB, 64 KiB and 1 MiB.
pub const SIZES: [usize; 4] = [64, 4 << 10, 64 << 10, 1 << 20];

/// The largest message.
pub const LARGEST: usize = 1 << 20;

// ANCHOR: stamp
/// The bytes every message carries between its stamps (the same for every message).
pub fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| (0..LARGEST).map(|i| (i as u8).wrapping_mul(31) ^ 0x5a).collect())
}

/// Writes the sequence number into the first 8 bytes and its complement into the last 8, so
/// that a lost, repeated, reordered or torn message cannot pass `check`.
pub fn stamp(message: &mut [u8], seq: u64) {
    let end = message.len();
    message[..8].copy_from_slice(&seq.to_le_bytes());
    message[end - 8..].copy_from_slice(&(!seq).to_le_bytes());
}

/// Checks the stamps of every message, and every 64th message's bytes in between.
pub fn check(message: &[u8], seq: u64, size: usize) -> Result<()> {
    let end = message.len();
    let word = |at: usize| u64::from_le_bytes(message[at..at + 8].try_into().expect("8 bytes"));
    let wrong = if end != size {
        Some(format!("{end} bytes instead of {size}"))
    } else if word(0) != seq || word(end - 8) != !seq {
        Some(format!("stamps {} and !{} instead of {seq}", word(0), !word(end - 8)))
    } else if seq.is_multiple_of(64) && message[8..end - 8] != pattern()[8..end - 8] {
        Some("the bytes between the stamps differ from what was sent".to_owned())
    } else {
        None
    };
    match wrong {
        None => Ok(()),
        Some(what) => Err(Error::other(
            format!("checking message {seq}"),
            format!("the message received is not the one sent: {what}"),
        )
        .with_hint("a fast wrong answer is a failure: this is a bug in the transport's code")),
    }
}
// ANCHOR_END: stamp

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_message_passes_and_a_wrong_one_does_not() {
        let mut message = pattern()[..4096].to_vec();
        stamp(&mut message, 64);
        assert!(check(&message, 64, 4096).is_ok());
        assert!(check(&message, 65, 4096).is_err(), "another number");
        assert!(check(&message[..4000], 64, 4096).is_err(), "a short message");
        message[100] ^= 1;
        assert!(check(&message, 64, 4096).is_err(), "a changed byte in a 64th message");
        let mut torn = pattern()[..64].to_vec();
        stamp(&mut torn, 3);
        torn[56..].copy_from_slice(&(!4u64).to_le_bytes());
        assert!(check(&torn, 3, 64).is_err(), "the end of another message");
    }
}
