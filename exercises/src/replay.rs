//! A replay token: everything needed to run one run of a check again, in one word a student
//! can paste: `ex05:9c1e04ab:812736/3` (run 3, counted from 0, of the check with seed 812736,
//! with jitter), `ex05:9c1e04ab:812736/57:pct2/340` (a controlled run, PCT aiming at depth 2
//! over about 340 steps), `ex05:9c1e04ab:812736/51:x@0=0.2,0.2@7=0.1` (a controlled run with
//! exactly these choices: see [`crate::schedule::Choice`]). The run's number gives its seed
//! (its jitter, its plan's draws, its data) and what the checker does to it (a fault, the
//! peer's plan), as in the check. The second field is the checked
//! file's fingerprint, so that a token made from another version of the file is refused rather
//! than replayed into another interleaving.

use crate::schedule::{Choice, Plan};

/// How the run was ordered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum How {
    /// The machine, shaken by jitter from the seed (a replay may take another interleaving).
    Jitter,
    /// PCT: `depth`, about `steps` steps, from the seed.
    Pct {
        /// The depth aimed at.
        depth: u32,
        /// The steps the change points are drawn among.
        steps: u32,
    },
    /// Exactly these choices, else the process that ran last goes on.
    Choices(Vec<Choice>),
}

/// One run, named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The exercise: `ex05`.
    pub exercise: String,
    /// The checked file's fingerprint.
    pub source: u32,
    /// The check's seed.
    pub seed: u64,
    /// Which run of the check, from 0.
    pub run: usize,
    /// How it was ordered.
    pub how: How,
}

impl Token {
    /// The schedule the run follows, if the checker decides it.
    pub fn plan(&self) -> Option<Plan> {
        match &self.how {
            How::Jitter => None,
            How::Pct { depth, steps } => Some(Plan::Pct {
                depth: *depth,
                steps: *steps,
                seed: crate::schedule::run_seed(self.seed, self.run),
            }),
            How::Choices(choices) => Some(Plan::Choices(choices.clone())),
        }
    }

    /// Reads a token; the error is a sentence saying what is wrong with it.
    pub fn parse(text: &str) -> Result<Token, String> {
        let bad = |why: &str| {
            Err(format!(
                "{} is not a replay token: {why}. A check prints its token after \"To repeat \
                 it:\", as in ex05:9c1e04ab:812736:pct2/340",
                shm_workbook::flags::shown(text)
            ))
        };
        let mut fields = text.trim().splitn(4, ':');
        let (Some(exercise), Some(source), Some(seed)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return bad("it needs at least three fields separated by `:`");
        };
        if !(exercise.len() == 4
            && exercise.starts_with("ex")
            && exercise[2..].bytes().all(|b| b.is_ascii_digit()))
        {
            return bad("its first field names no exercise");
        }
        let Ok(source) = u32::from_str_radix(source, 16) else {
            return bad("its second field is not a file's fingerprint (8 hexadecimal digits)");
        };
        let (seed, run) = seed.split_once('/').unwrap_or((seed, "0"));
        let (Ok(seed), Ok(run)) = (seed.parse::<u64>(), run.parse::<usize>()) else {
            return bad("its third field is not a seed and a run, as 812736/3");
        };
        let how = match fields.next() {
            None => How::Jitter,
            Some(plan) if plan.starts_with("pct") => {
                let numbers = plan[3..]
                    .split_once('/')
                    .and_then(|(d, k)| Some((d.parse::<u32>().ok()?, k.parse::<u32>().ok()?)));
                match numbers {
                    Some((depth, steps)) if (1..=10).contains(&depth) && steps > 0 => {
                        How::Pct { depth, steps }
                    }
                    _ => return bad("its schedule `pct` needs a depth and steps, as pct2/340"),
                }
            }
            Some(plan) if plan.starts_with('x') => {
                let mut choices = Vec::new();
                for entry in plan[1..].split(',').filter(|e| !e.is_empty()) {
                    let parsed = entry.split_once('=').and_then(|(left, run)| {
                        let (after, at) = left.split_once('@')?;
                        let name_ok = |n: &str| {
                            n.split('.').all(|p| p.trim_start_matches('x').parse::<u32>().is_ok())
                        };
                        (name_ok(run) && (after.is_empty() || name_ok(after))).then_some(Choice {
                            after: after.to_owned(),
                            at: at.parse().ok()?,
                            run: run.to_owned(),
                        })
                    });
                    match parsed {
                        Some(choice) => choices.push(choice),
                        None => return bad("a choice of its schedule is not PROCESS@STEP=PROCESS"),
                    }
                }
                How::Choices(choices)
            }
            Some(_) => return bad("its fourth field is neither pct… nor x…"),
        };
        Ok(Token { exercise: exercise.to_owned(), source, seed, run, how })
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{:08x}:{}/{}", self.exercise, self.source, self.seed, self.run)?;
        match &self.how {
            How::Jitter => Ok(()),
            How::Pct { depth, steps } => write!(f, ":pct{depth}/{steps}"),
            How::Choices(choices) => {
                let entries: Vec<String> =
                    choices.iter().map(|c| format!("{}@{}={}", c.after, c.at, c.run)).collect();
                write!(f, ":x{}", entries.join(","))
            }
        }
    }
}

/// The fingerprint of a file's text (FNV-1a folded to 32 bits); 0 if it cannot be read.
pub fn fingerprint(path: &std::path::Path) -> u32 {
    let bytes = std::fs::read(path).unwrap_or_default();
    let hash = bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash ^ (hash >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_as_written() {
        let choices = vec![
            Choice { after: String::new(), at: 0, run: "0.2".into() },
            Choice { after: "0.2".into(), at: 7, run: "0.1".into() },
        ];
        for how in [How::Jitter, How::Pct { depth: 3, steps: 340 }, How::Choices(choices)] {
            let token =
                Token { exercise: "ex05".into(), source: 0x9c1e_04ab, seed: 812, run: 3, how };
            assert_eq!(Token::parse(&token.to_string()), Ok(token));
        }
    }

    #[test]
    fn a_bad_token_is_refused_with_a_reason() {
        for text in [
            "",
            "ex05",
            "ex5:1:2",
            "ex05:zz:1",
            "ex05:1:-1",
            "ex05:1:1:pct",
            "ex05:1:1:y",
            "ex05:1:1/x",
        ] {
            let err = Token::parse(text).expect_err(text);
            assert!(err.contains("is not a replay token"), "{err}");
        }
        assert!(Token::parse("ex05:1:1:x@0=0.a").is_err());
    }
}
