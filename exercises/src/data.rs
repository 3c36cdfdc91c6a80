//! Each run's data, drawn afresh: the message, the amounts and the counts an exercise reads with
//! `shm_workbook::exercise_data`. The checker draws them from the run's seed (so a replay token
//! repeats them), hands them to the run in [`VARIABLE`], and its judges expect these values: a
//! program that prints the default result as a constant fails on the first run.
//!
//! One draw holds the data of every exercise; each takes the names it uses. A drawn number
//! never equals its default, and a drawn message never equals any default message.

/// The environment variable the program reads its data from.
pub const VARIABLE: &str = shm_workbook::exercise_data::VARIABLE;

/// The defaults, as the exercises' files write them (`exercise_data::number("tickets", 5000)`);
/// a test checks that the files agree.
pub const DEFAULTS: &[(&str, u64)] = &[
    ("increments", 100),
    ("tickets", 5000),
    ("messages", 5),
    ("items", 20),
    ("total", 100),
    ("amount", 10),
    ("transfer", 5),
    ("updates", 100),
];

/// The default texts (one per exercise that reads a `message`).
pub const DEFAULT_MESSAGES: &[&str] = &[
    "Hello from parent!",
    "the meeting moved to room 42",
    "message",
    "Hello through /dev/shm!",
    "hello from the parent",
];

/// The data of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// A message of a few words and a number, at most 40 bytes of printable ASCII (it fits
    /// ex09's mailbox of 56 bytes with its number after it): ex01, ex03, ex09, ex11, ex16.
    pub message: String,
    /// How many times each of ex05's three workers adds one.
    pub increments: u64,
    /// How many tickets each of ex06's three workers takes (a multiple of 100).
    pub tickets: u64,
    /// How many messages ex09's producer hands over.
    pub messages: u64,
    /// How many items pass through ex10's ring.
    pub items: u64,
    /// What ex13's two accounts hold together.
    pub total: u64,
    /// What ex13's owner takes from a before it crashes.
    pub amount: u64,
    /// What ex13's clerk moves from a to b.
    pub transfer: u64,
    /// How many updates ex14's writer makes.
    pub updates: u64,
}

const WORDS: &[&str] = &[
    "amber", "otter", "lantern", "harbour", "violet", "copper", "meadow", "falcon", "pebble",
    "cinder", "willow", "quartz", "maple", "signal", "orchard", "tundra", "ember", "raven",
    "garnet", "breeze", "canyon", "thistle", "comet", "juniper",
];

/// splitmix64: a stream of numbers from one seed.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high` other than `avoid`.
    fn between(&mut self, low: u64, high: u64, avoid: u64) -> u64 {
        let n = low + self.next() % (high - low + 1);
        if n != avoid {
            n
        } else if n < high {
            n + 1
        } else {
            n - 1
        }
    }
}

fn default_of(name: &str) -> u64 {
    DEFAULTS.iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v)
}

impl Data {
    /// The data of the run whose seed is `seed`.
    pub fn draw(seed: u64) -> Data {
        // Apart from the jitter's stream, which starts from the same seed.
        let mut stream = Stream(seed ^ 0x6461_7461_2d64_7261);
        let mut word = || WORDS[(stream.next() % WORDS.len() as u64) as usize];
        let (first, second, third) = (word(), word(), word());
        let number = 100 + stream.next() % 9900;
        let message = format!("{first} {second} {number} {third}");
        // `low..=high`, in steps of `step`, never the default.
        let mut pick = |name, low, high, step| {
            step * stream.between(low / step, high / step, default_of(name) / step)
        };
        let increments = pick("increments", 50, 150, 1);
        // Hundreds, so that a worker may take them in batches of 10 (or 100).
        let tickets = pick("tickets", 2000, 6000, 100);
        let messages = pick("messages", 3, 8, 1);
        let items = pick("items", 12, 30, 1);
        let total = pick("total", 60, 200, 1);
        // The owner's take and the clerk's transfer stay under a quarter of the total each, so
        // that a keeps enough for both.
        let amount = pick("amount", 3, total / 4, 1);
        let transfer = pick("transfer", 1, total / 4, 1);
        let updates = pick("updates", 60, 140, 1);
        Data { message, increments, tickets, messages, items, total, amount, transfer, updates }
    }

    /// The data as the program finds it in [`VARIABLE`]: one JSON object.
    pub fn to_variable(&self) -> String {
        use shm_workbook::json::Json;
        let numbers = [
            ("increments", self.increments),
            ("tickets", self.tickets),
            ("messages", self.messages),
            ("items", self.items),
            ("total", self.total),
            ("amount", self.amount),
            ("transfer", self.transfer),
            ("updates", self.updates),
        ];
        let pairs = std::iter::once(("message", Json::from(self.message.as_str())))
            .chain(numbers.into_iter().map(|(name, n)| (name, Json::from(n))));
        Json::object(pairs).render_line()
    }

    /// ex13's accounts at the end: (a, b), once the repair and the clerk's transfer are done.
    pub fn accounts(&self) -> (u64, u64) {
        (self.total - self.amount - self.transfer, self.amount + self.transfer)
    }

    /// ex14's fields of version `v`, as the exercise computes them: [version, width, height,
    /// area].
    pub fn of_version(v: u64) -> [u64; 4] {
        let (width, height) = (640 + v % 1000, 480 + v % 700);
        [v, width, height, width * height]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_data_and_another_seed_other_data() {
        assert_eq!(Data::draw(7), Data::draw(7));
        assert_ne!(Data::draw(7), Data::draw(8));
    }

    #[test]
    fn no_drawn_value_is_a_default_and_every_value_fits_its_exercise() {
        for seed in 0..2000 {
            let data = Data::draw(seed);
            assert!(!DEFAULT_MESSAGES.contains(&data.message.as_str()), "{data:?}");
            assert!(data.message.len() <= 40 && data.message.is_ascii(), "{data:?}");
            let numbers = [
                ("increments", data.increments),
                ("tickets", data.tickets),
                ("messages", data.messages),
                ("items", data.items),
                ("total", data.total),
                ("amount", data.amount),
                ("transfer", data.transfer),
                ("updates", data.updates),
            ];
            for (name, value) in numbers {
                assert_ne!(value, default_of(name), "{name} in {data:?}");
                assert!(value > 0, "{name} in {data:?}");
            }
            assert!(data.amount + data.transfer < data.total, "{data:?}");
            assert!((3..=8).contains(&data.messages) && (12..=30).contains(&data.items));
            assert!(data.tickets.is_multiple_of(100) && (2000..=6000).contains(&data.tickets));
        }
    }

    #[test]
    fn the_variable_reads_back_through_the_library() {
        let data = Data::draw(42);
        let variable = data.to_variable();
        let parsed = shm_workbook::json::parse(&variable).expect("JSON");
        assert_eq!(parsed.get("message").text(), data.message);
        assert_eq!(parsed.get("total").num() as u64, data.total);
        assert_eq!(parsed.get("updates").num() as u64, data.updates);
    }
}
