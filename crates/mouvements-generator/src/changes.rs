//! Change events of a lake's history: the corrections and cancellations an appended load
//! delivers for movements of earlier loads, as a ledger's change feed carries them.
//!
//! Like the rows, the events are a pure function of the history's settings: load `n`'s events
//! depend on the generator configs of loads `0..=n` and on the change rate of each load
//! `1..=n`, never on shards, threads or the store. Load `n` with rate `r` carries
//! `round(rows × r)` events, drawn one after the other from its own stream:
//!
//! - **Which movement.** The load it was booked in is the one just before with probability
//!   [`LAST_LOAD_SHARE`], else the one before that with the same odds, and so on for
//!   [`BACK_STEPS`] steps; past them (0.8 % of events) any earlier load, uniformly. Inside the
//!   load, any row. So corrections come mostly in the month or two after booking, when
//!   monthly closing and reconciliation find them, with a thin tail further back (the shares
//!   are ours: no public source gives them). A movement cancelled earlier, or already changed
//!   by this load, is drawn again (at most [`ATTEMPTS`] times, then the event is skipped).
//! - **Which change.** A cancellation (`delete`) with probability [`DELETE_SHARE`], else a
//!   correction (`update`) of the amount: the current amount times 0.50 to 1.50 in steps of
//!   1 %, rounded to the cent, its sign kept, never equal to the current amount.
//!
//! Events are numbered by `change_seq` across the whole history, from 1.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, Write};

use mouvements_schema::{GeneratorConfig, Montant, Mouvement};

use crate::{Generator, MouvementCsv};

/// The probability that a change aims at the load just before the one delivering it (and,
/// failing that, at the one before, and so on).
pub const LAST_LOAD_SHARE: f64 = 0.7;

/// Loads stepped back before a change aims at any earlier load uniformly.
pub const BACK_STEPS: u32 = 4;

/// The share of cancellations among the changes.
pub const DELETE_SHARE: f64 = 0.2;

/// Draws of a target before an event is skipped.
pub const ATTEMPTS: u32 = 16;

/// The change feed's CSV header.
pub const CHANGES_HEADER: &str =
    "change_type,change_seq,id_mouvement,date_op,produit,type_op,montant,agence_id,pays\n";

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The movement's amount is corrected: the row after the change.
    Update,
    /// The movement is cancelled: the row as it was.
    Delete,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Update => "update",
            Self::Delete => "delete",
        })
    }
}

/// One event of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Update or delete.
    pub kind: ChangeKind,
    /// Its place in the history's events, from 1.
    pub seq: u64,
    /// The row after an update, the row as it was for a delete.
    pub row: Mouvement,
    /// The amount before the change (an update's pre-image differs from `row` in it only).
    pub before: Montant,
}

impl Change {
    /// The event as a line of the change feed's CSV (with its `\n`).
    pub fn write_csv<W: Write>(&self, mut out: W) -> io::Result<()> {
        write!(out, "{},{},{}", self.kind, self.seq, MouvementCsv(&self.row))
    }
}

/// One load of a history, as its events depend on it.
#[derive(Debug, Clone, Copy)]
pub struct LoadSettings {
    /// Its rows' generator config.
    pub config: GeneratorConfig,
    /// Changes per new row it delivers (0 for the first load).
    pub change_rate: f64,
}

/// The events of every load of `history`, in load order (the first load's is empty).
pub fn history_changes(history: &[LoadSettings]) -> Vec<Vec<Change>> {
    let mut generators: Vec<Option<Generator>> = history.iter().map(|_| None).collect();
    // The live state of every movement a change touched: `None` once cancelled, else its
    // current amount.
    let mut touched: HashMap<u64, Option<Montant>> = HashMap::new();
    let mut seq = 0;
    let mut loads = Vec::with_capacity(history.len());
    for (n, load) in history.iter().enumerate() {
        let count = if n == 0 { 0 } else { (load.config.rows() as f64 * load.change_rate).round() as u64 };
        let stream = mix(load.config.seed() ^ 0xC4A9_6E5B_0D1F_3A27);
        let mut changed_now = HashSet::new();
        let mut events = Vec::new();
        for event in 0..count {
            for attempt in 0..ATTEMPTS {
                let draw = |what: u64| mix(stream ^ mix((event << 8 | u64::from(attempt)) ^ what << 56));
                let target = aimed_load(n, draw(1));
                let config = &history[target].config;
                let row = draw(2) % config.rows();
                let id = config.first_id() + row;
                if changed_now.contains(&id) || touched.get(&id) == Some(&None) {
                    continue;
                }
                let generator = generators[target].get_or_insert_with(|| Generator::new(*config));
                let Some(mut mouvement) = generator.rows(row..row + 1).next() else { continue };
                if let Some(Some(current)) = touched.get(&id) {
                    mouvement.montant = *current;
                }
                let before = mouvement.montant;
                let kind = if unit(draw(3)) < DELETE_SHARE { ChangeKind::Delete } else { ChangeKind::Update };
                match kind {
                    ChangeKind::Delete => {
                        touched.insert(id, None);
                    }
                    ChangeKind::Update => {
                        mouvement.montant = corrected(mouvement.montant, draw(4));
                        touched.insert(id, Some(mouvement.montant));
                    }
                }
                changed_now.insert(id);
                seq += 1;
                events.push(Change { kind, seq, row: mouvement, before });
                break;
            }
        }
        loads.push(events);
    }
    loads
}

/// The load a change delivered by load `n` aims at.
fn aimed_load(n: usize, draw: u64) -> usize {
    let threshold = (LAST_LOAD_SHARE * 65536.0) as u64;
    for step in 0..BACK_STEPS {
        if (draw >> (16 * step)) & 0xFFFF < threshold {
            return n.saturating_sub(1 + step as usize);
        }
    }
    // Past the steps: any earlier load. The draw's bits are spent; a fresh mix of it picks.
    (mix(draw) % n as u64) as usize
}

/// The corrected amount: `montant` times 0.50 to 1.50 (in steps of 1 %), rounded to the
/// cent, its sign kept, never equal to it.
fn corrected(montant: Montant, draw: u64) -> Montant {
    let cents = montant.cents();
    let percent = 50 + (draw % 101) as i64;
    let mut new = (i128::from(cents) * i128::from(percent) / 100) as i64;
    if new == cents || new == 0 {
        new = cents + cents.signum().max(1) * if percent < 100 { -1 } else { 1 };
        if new == 0 {
            new = cents * 2;
        }
    }
    Montant::from_cents(new)
}

/// A draw as a number in `[0, 1)`.
fn unit(draw: u64) -> f64 {
    (draw >> 11) as f64 / (1u64 << 53) as f64
}

/// SplitMix64's finaliser.
const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use mouvements_schema::Period;

    use super::*;

    fn history(loads: u32, rows: u64, rate: f64) -> Vec<LoadSettings> {
        let mut first_id = 1;
        (0..loads)
            .map(|n| {
                let period = Period::month(2025, 1 + n).unwrap();
                let config = GeneratorConfig::new(42 + u64::from(n), rows, period, first_id, 0.001).unwrap();
                first_id += rows;
                LoadSettings { config, change_rate: if n == 0 { 0.0 } else { rate } }
            })
            .collect()
    }

    #[test]
    fn events_aim_at_live_movements_of_earlier_loads_mostly_the_last() {
        let history = history(6, 20_000, 0.02);
        let loads = history_changes(&history);
        assert!(loads[0].is_empty());
        let mut cancelled = HashSet::new();
        let mut current: HashMap<u64, Montant> = HashMap::new();
        let mut seq = 0;
        let (mut last, mut all) = (0, 0);
        for (n, events) in loads.iter().enumerate().skip(1) {
            assert!(events.len() >= 390 && events.len() <= 400, "load {n}: {} events", events.len());
            let first_of_load = history[n].config.first_id();
            let mut now = HashSet::new();
            for change in events {
                seq += 1;
                assert_eq!(change.seq, seq, "numbered across the history");
                let id = change.row.id_mouvement.0;
                assert!(id < first_of_load, "an earlier load's movement");
                assert!(now.insert(id), "one change per movement per load");
                assert!(!cancelled.contains(&id), "never a cancelled movement");
                assert_eq!(change.row.check_consistency(), Ok(()));
                let target = history.iter().rposition(|l| l.config.first_id() <= id).unwrap();
                let generator = Generator::new(history[target].config);
                let row = id - history[target].config.first_id();
                let booked = generator.rows(row..row + 1).next().unwrap();
                assert_eq!((change.row.date_op, change.row.agence_id), (booked.date_op, booked.agence_id));
                let before = current.get(&id).copied().unwrap_or(booked.montant);
                assert_eq!(change.before, before);
                match change.kind {
                    ChangeKind::Delete => {
                        assert_eq!(change.row, Mouvement { montant: before, ..booked });
                        cancelled.insert(id);
                    }
                    ChangeKind::Update => {
                        assert_ne!(change.row.montant, before);
                        assert_eq!(change.row.montant.cents().signum(), before.cents().signum());
                        current.insert(id, change.row.montant);
                    }
                }
                last += u32::from(target == n - 1);
                all += 1;
            }
        }
        let share = f64::from(last) / f64::from(all);
        assert!((0.70..0.80).contains(&share), "{share} of the changes aim at the load before");
    }

    #[test]
    fn a_load_s_events_are_a_pure_function_of_the_history_up_to_it() {
        let long = history(5, 5_000, 0.05);
        let events = history_changes(&long);
        assert_eq!(history_changes(&long[..3]), events[..3], "later loads change nothing before them");
        let mut other = long.clone();
        other[4].change_rate = 0.0;
        assert_eq!(history_changes(&other)[..4], events[..4]);
        let mut line = Vec::new();
        events[1][0].write_csv(&mut line).unwrap();
        let line = String::from_utf8(line).unwrap();
        assert!(line.starts_with(&format!("{},1,M", events[1][0].kind)), "{line}");
        assert_eq!(line.matches(',').count() + 1, CHANGES_HEADER.split(',').count());
    }
}
