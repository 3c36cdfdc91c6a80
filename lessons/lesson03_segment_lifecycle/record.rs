//! How lesson 03 shows what the kernel keeps: a record's fields a fixed number to a line, the
//! times of IPC_STAT as a clock reads them, and what a limit in `/proc/sys/kernel` means.

/// How many `name value` pairs a line of a `/proc/sysvipc/shm` record shows (see
/// [`group_fields`]): four stay within 100 columns after the narrator's prefix for the
/// segments the lessons make (and the narrator folds a wider line).
pub const RECORD_PAIRS: usize = 4;

/// `name value` pairs, two spaces apart, `per_line` to a line: the same fields on the same
/// line at every stage, whatever the width of the values (a pid, an id, a user's uid), so
/// that two records can be compared line by line. The first line starts with `label`, the
/// next ones two spaces deeper than the label's own indentation.
pub fn group_fields<N: AsRef<str>, V: AsRef<str>>(
    label: &str,
    fields: &[(N, V)],
    per_line: usize,
) -> Vec<String> {
    let indent = format!("{}  ", &label[..label.len() - label.trim_start().len()]);
    let pairs: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{} {}", name.as_ref(), value.as_ref()))
        .collect();
    let mut lines: Vec<String> =
        pairs.chunks(per_line.max(1)).map(|group| group.join("  ")).collect();
    match lines.first_mut() {
        Some(first) => first.insert_str(0, label),
        None => lines.push(label.to_owned()),
    }
    for line in lines.iter_mut().skip(1) {
        line.insert_str(0, &indent);
    }
    lines
}

/// What the value of a shared memory limit in `/proc/sys/kernel` means, counted in units of
/// `unit` bytes (1 for `shmmax`, the page size for `shmall`): `8 GiB`, or, for the default of
/// `ULONG_MAX - 2^24` (`man 2 shmget`: chosen so that no allocation is limited) and anything
/// larger, that there is no limit. The value is never multiplied into an overflow.
pub fn limit_text(value: u64, unit: u64) -> String {
    const NO_LIMIT: u64 = u64::MAX - (1 << 24);
    if value >= NO_LIMIT {
        return "no limit (ULONG_MAX - 2^24, the default since Linux 3.16)".to_owned();
    }
    let Some(bytes) = value.checked_mul(unit) else {
        return "more than 16 EiB: no limit in practice".to_owned();
    };
    let units = [(60, "EiB"), (50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
    match units.iter().find(|&&(shift, _)| bytes >> shift > 0) {
        Some(&(shift, name)) => {
            let amount = format!("{:.1}", bytes as f64 / (1u64 << shift) as f64);
            format!("{} {name}", amount.trim_end_matches(".0"))
        }
        None => format!("{bytes} bytes"),
    }
}

/// A time from IPC_STAT (seconds since the epoch) as local `HH:MM:SS`, or `never` for 0.
pub fn time_of_day(seconds: i64) -> String {
    if seconds == 0 {
        return "never".to_owned();
    }
    let t = seconds as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: localtime_r reads `t` and fills the `tm` we own; it is the thread-safe variant.
    if unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) }.is_null() {
        return seconds.to_string();
    }
    // SAFETY: localtime_r succeeded, so it initialised `tm` (which was zeroed anyway).
    let tm = unsafe { tm.assume_init() };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_go_a_fixed_number_to_a_line_under_the_label() {
        let fields = [("key", "822116371"), ("shmid", "2293787"), ("perms", "600")];
        assert_eq!(
            group_fields("/proc: ", &fields, 2),
            ["/proc: key 822116371  shmid 2293787", "  perms 600"]
        );
        assert_eq!(group_fields("  ", &fields, 4), ["  key 822116371  shmid 2293787  perms 600"]);
        let lines = group_fields("    ", &fields, 1);
        assert_eq!(lines, ["    key 822116371", "      shmid 2293787", "      perms 600"]);
        let none: [(&str, &str); 0] = [];
        assert_eq!(group_fields("x: ", &none, 4), ["x: "]);
    }

    #[test]
    fn a_limit_is_read_in_its_unit_and_never_overflows() {
        let default = u64::MAX - (1 << 24);
        assert_eq!(
            limit_text(default, 4096),
            "no limit (ULONG_MAX - 2^24, the default since Linux 3.16)"
        );
        assert_eq!(limit_text(default, 1), limit_text(default, 4096));
        assert_eq!(limit_text(2097152, 4096), "8 GiB", "the old default shmall, in pages");
        assert_eq!(limit_text(0x2000000, 1), "32 MiB", "the old default shmmax, in bytes");
        assert_eq!(limit_text(3 << 29, 1), "1.5 GiB");
        assert_eq!(limit_text(100, 1), "100 bytes");
        assert_eq!(limit_text(1 << 60, 4096), "more than 16 EiB: no limit in practice");
    }
}
