//! A failing controlled run, drawn as swimlanes: one column per process, one row per shared
//! access or call in the order they happened (the checker let one process go at a time, so the
//! trace's times are that order), the value each access loaded or stored, the places where the
//! schedule took the turn from a process that could have gone on
//! (`── 0.1 preempted: 0.2 goes`), and the three accesses that met across a preemption marked
//! `◆`: the preempted process's last access before it, the store another process made to the
//! same bytes meanwhile, and the first process's next access there. A jitter run, which no
//! schedule ordered, is drawn the same way in the order of the trace's clock
//! ([`record_from_the_clock`]).

use std::collections::BTreeMap;

use crate::runner::Trial;
use crate::schedule::Record;
use crate::trace::{Access, Call, Op};

/// The widest a drawing is.
pub const WIDTH: usize = 100;
/// How many rows are shown around the marked ones, at most.
pub const ROWS: usize = 44;

/// One row of the drawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Its number in the whole run, from 1.
    pub number: usize,
    /// The process's family name (`0.2`).
    pub process: String,
    /// What it did: `load counter+0 = 41`, `semop(LOCK -1)`.
    pub text: String,
    /// One of the accesses that met across a preemption.
    pub marked: bool,
    /// Set on the first row after the schedule took the turn from `preempted`.
    pub preempted: Option<String>,
}

/// The drawing's parts, for the terminal and for `--save`.
#[derive(Clone, Debug)]
pub struct Lanes {
    /// The processes, in family order: (family name, role).
    pub processes: Vec<(String, String)>,
    /// Every row of the run.
    pub rows: Vec<Row>,
    /// The first three accesses that met across a preemption, in words.
    pub met: Option<String>,
}

/// Where an access was: its object and offset.
type Place = (String, u64);

fn writes(row: &Row) -> bool {
    row.text.starts_with("store") || row.text.starts_with("rmw")
}

/// One access or call of the trace.
enum Event<'a> {
    Access(&'a Access),
    Call(&'a Call),
}

/// Every access and every call (helpers' aside) of the run: (start time, pid, seq, event), in
/// the order of the trace's clock.
fn events_in_time_order(trial: &Trial) -> Vec<(u64, i32, u64, Event<'_>)> {
    let mut events: Vec<(u64, i32, u64, Event)> = Vec::new();
    for copy in &trial.copies {
        for access in &copy.accesses {
            events.push((access.t0_ns, access.pid, access.seq, Event::Access(access)));
        }
        for call in copy.calls.iter().filter(|c| !c.helper) {
            events.push((call.t0_ns, call.pid, call.seq, Event::Call(call)));
        }
    }
    events.sort_by_key(|(t, pid, seq, _)| (*t, *pid, *seq));
    events
}

/// Lays a controlled run out in rows.
pub fn lay_out(trial: &Trial, record: &Record) -> Lanes {
    let name_of = |pid: i32| record.names.get(&pid).cloned();
    let mut processes: Vec<(String, String)> = record
        .names
        .iter()
        .map(|(&pid, name)| (name.clone(), trial.role_of(pid).unwrap_or_else(|| "process".into())))
        .collect();
    processes.sort_by(|a, b| crate::schedule::family_order(&a.0, &b.0));
    processes.dedup_by(|a, b| a.0 == b.0);

    let events = events_in_time_order(trial);
    let objects: BTreeMap<&str, String> = trial
        .copies
        .iter()
        .flat_map(|c| c.objects.iter())
        .map(|(object, path)| (object.as_str(), short_object(path)))
        .collect();

    let mut rows: Vec<Row> = Vec::new();
    let mut places: Vec<(usize, Option<Place>, u64)> = Vec::new(); // (row, place, time)
    for (t0, pid, _, event) in &events {
        let Some(process) = name_of(*pid) else { continue };
        let (text, place) = match event {
            Event::Access(access) => {
                let object = objects.get(access.object.as_str()).cloned().unwrap_or_default();
                (describe(access, &object), Some((access.object.clone(), access.offset)))
            }
            Event::Call(call) => (call.text.clone(), None),
        };
        places.push((rows.len(), place, *t0));
        rows.push(Row { number: rows.len() + 1, process, text, marked: false, preempted: None });
    }

    // Each preemption: the preempted process's last access before it and its next access to
    // the same place after it, and the first store another process made there in between.
    let mut met = None;
    for (when, from, _, preempted) in &record.switches {
        if !preempted {
            continue;
        }
        let Some(first) = places.iter().position(|(_, _, t)| t >= when) else { continue };
        rows[places[first].0].preempted.get_or_insert_with(|| from.clone());
        let before = places[..first]
            .iter()
            .rev()
            .find(|(row, place, _)| rows[*row].process == *from && place.is_some())
            .cloned();
        let Some((before_row, Some(place), _)) = before else { continue };
        let resumed = places[first..]
            .iter()
            .find(|(row, p, _)| rows[*row].process == *from && p.as_ref() == Some(&place))
            .map(|(row, _, _)| *row);
        let Some(resume_row) = resumed else { continue };
        let between = places[first..].iter().take_while(|(row, _, _)| *row < resume_row).find(
            |(row, p, _)| {
                p.as_ref() == Some(&place) && rows[*row].process != *from && writes(&rows[*row])
            },
        );
        let Some((store_row, _, _)) = between.cloned() else { continue };
        if met.is_some() {
            continue; // the first meeting is the one drawn and told
        }
        for row in [before_row, store_row, resume_row] {
            rows[row].marked = true;
        }
        let who = |row: usize| {
            let name = &rows[row].process;
            let role = processes.iter().find(|(n, _)| n == name).map_or("process", |(_, r)| r);
            format!("{role} ({name})")
        };
        met = Some(format!(
            "{} did `{}` (row {}), was preempted; {} did `{}` (row {}); then {} did `{}` \
                 (row {})",
            who(before_row),
            rows[before_row].text,
            before_row + 1,
            who(store_row),
            rows[store_row].text,
            store_row + 1,
            who(resume_row),
            rows[resume_row].text,
            resume_row + 1
        ));
    }
    Lanes { processes, rows, met }
}

/// A jitter run has no schedule: a record of it made from the trace's clock, for
/// [`lay_out`]. Each process is named as a controlled run names it (a copy's main process by
/// the copy's number, a child by its parent's name and the order of the parent's `fork`s). A
/// switch is wherever the next event in time is another process's; it counts as a preemption
/// when the process left behind has more to do and its last event was an access, not a call
/// that may have blocked. The processes ran side by side, so this is the order the clock saw,
/// not one the checker chose.
pub fn record_from_the_clock(trial: &Trial) -> Record {
    let mut names: BTreeMap<i32, String> = BTreeMap::new();
    for (number, copy) in trial.copies.iter().enumerate() {
        names.insert(copy.pid, number.to_string());
        let mut forks: Vec<&Call> =
            copy.calls.iter().filter(|c| c.name == "fork" && c.returned() > Some(0)).collect();
        // A parent is named before its children: forks in the order of the trace's clock.
        forks.sort_by_key(|c| (c.t_ns, c.seq));
        let mut children: BTreeMap<i32, usize> = BTreeMap::new();
        for fork in forks {
            let (Some(parent), Some(child)) = (names.get(&fork.pid).cloned(), fork.returned())
            else {
                continue;
            };
            let count = children.entry(fork.pid).or_default();
            *count += 1;
            names.insert(child as i32, format!("{parent}.{count}"));
        }
    }
    // (time, pid, whether it was an access)
    let events: Vec<(u64, i32, bool)> = events_in_time_order(trial)
        .into_iter()
        .filter(|(_, pid, _, _)| names.contains_key(pid))
        .map(|(t, pid, _, event)| (t, pid, matches!(event, Event::Access(_))))
        .collect();
    let last_of: BTreeMap<i32, usize> =
        events.iter().enumerate().map(|(at, (_, pid, _))| (*pid, at)).collect();
    let mut record = Record { processes: names.len(), ..Record::default() };
    for at in 1..events.len() {
        let ((_, from, accessed), (when, to, _)) = (events[at - 1], events[at]);
        if from == to {
            continue;
        }
        let preempted = accessed && last_of[&from] > at;
        record.preemptions += u32::from(preempted);
        record.switches.push((when, names[&from].clone(), names[&to].clone(), preempted));
    }
    record.steps = events.len() as u32;
    record.names = names;
    record
}

/// `load counter+0 = 41`, `store counter+0 ← 42`, `rmw next+0 41 → 42`, `fence Acquire`.
fn describe(access: &Access, object: &str) -> String {
    let place = format!("{object}+{}", access.offset);
    let value = |bytes: &[u8]| shown_value(bytes, access.data);
    match access.op {
        Op::Load => format!("load {place} = {}", value(&access.bytes)),
        Op::Store => format!("store {place} ← {}", value(&access.bytes)),
        Op::Rmw => {
            let old = access.old.as_deref().map(value).unwrap_or_default();
            format!("rmw {place} {old} → {}", value(&access.bytes))
        }
        Op::Fence => format!("fence {:?}", access.order),
    }
}

/// A word as a number, plain bytes as text when they are text.
fn shown_value(bytes: &[u8], data: bool) -> String {
    let text: String = bytes.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
    let is_text = text.len() >= 2 && text.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if data && is_text {
        return format!("{:?}", text.chars().take(24).collect::<String>());
    }
    if bytes.len() > 8 {
        return format!("{} bytes", bytes.len());
    }
    crate::trace::little_endian(bytes).to_string()
}

/// `/SYSV00000000 (deleted)` as `shm`, `/dev/shm/ex11-…` as its last part.
fn short_object(path: &str) -> String {
    if path.starts_with("/SYSV") {
        return "shm".into();
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    last.trim_end_matches(" (deleted)").chars().take(12).collect()
}

impl Lanes {
    /// The drawing for a terminal: the rows around the marked ones (all of them if few), at
    /// most [`WIDTH`] columns (the diagnosis goes under it).
    pub fn draw(&self) -> String {
        let n = self.processes.len().max(1);
        let number_width = 5;
        let column = ((WIDTH - number_width) / n).clamp(14, 48);
        let mut out = String::new();
        let mut header = " ".repeat(number_width);
        for (name, role) in &self.processes {
            header.push_str(&cell(&format!("{role} ({name})"), column));
        }
        out.push_str(header.trim_end());
        out.push('\n');
        out.push_str(&format!("{}{}\n", " ".repeat(number_width), "─".repeat(column * n - 1)));
        let shown = self.window();
        let mut last = None;
        for &index in &shown {
            let row = &self.rows[index];
            if let Some(previous) = last
                && index > previous + 1
            {
                out.push_str(&format!(
                    "{}… {} rows …\n",
                    " ".repeat(number_width),
                    index - previous - 1
                ));
            }
            if let Some(from) = &row.preempted {
                out.push_str(&format!(
                    "{}── {from} preempted: {} goes\n",
                    " ".repeat(number_width),
                    row.process
                ));
            }
            let place = self.processes.iter().position(|(name, _)| *name == row.process);
            let mut line = format!("{:>4} ", row.number);
            for k in 0..n {
                let text = if Some(k) == place {
                    format!("{}{}", if row.marked { "◆ " } else { "" }, row.text)
                } else {
                    "│".to_owned()
                };
                line.push_str(&cell(&text, column));
            }
            out.push_str(line.trim_end());
            out.push('\n');
            last = Some(index);
        }
        if let Some(previous) = last
            && previous + 1 < self.rows.len()
        {
            out.push_str(&format!(
                "{}… {} rows …\n",
                " ".repeat(number_width),
                self.rows.len() - previous - 1
            ));
        }
        out
    }

    /// The rows worth showing: all if few, else those around the preemptions and marks.
    fn window(&self) -> Vec<usize> {
        if self.rows.len() <= ROWS {
            return (0..self.rows.len()).collect();
        }
        let interesting: Vec<usize> =
            self.rows.iter().enumerate().filter(|(_, row)| row.marked).map(|(i, _)| i).collect();
        let mut shown: Vec<usize> = Vec::new();
        for &i in &interesting {
            for j in i.saturating_sub(3)..(i + 4).min(self.rows.len()) {
                if !shown.contains(&j) {
                    shown.push(j);
                }
            }
        }
        if shown.is_empty() {
            // Nothing met across a preemption: the start, where the story begins.
            shown.extend(0..ROWS);
        }
        shown.sort_unstable();
        shown.truncate(ROWS);
        shown
    }

    /// The drawing as JSON, for `--save` and the book's visualizer.
    pub fn to_json(&self, diagnosis: &str, token: &str) -> serde_json::Value {
        serde_json::json!({
            "kind": "shm-workbook failing schedule",
            "version": 1,
            "token": token,
            "diagnosis": diagnosis,
            "met": self.met,
            "processes": self.processes.iter().map(|(name, role)| {
                serde_json::json!({ "name": name, "role": role })
            }).collect::<Vec<_>>(),
            "rows": self.rows.iter().map(|row| serde_json::json!({
                "number": row.number,
                "process": row.process,
                "text": row.text,
                "marked": row.marked,
                "preempted": row.preempted,
            })).collect::<Vec<_>>(),
        })
    }
}

/// `text` cut or padded to `width` columns, with a space after it.
fn cell(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < width {
        format!("{text}{}", " ".repeat(width - chars.len()))
    } else {
        format!("{}… ", chars[..width - 2].iter().collect::<String>())
    }
}
