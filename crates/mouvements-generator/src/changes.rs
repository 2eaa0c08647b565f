//! Change events of a lake's history: the corrections and cancellations an appended load
//! delivers for movements of earlier loads, as a ledger's change feed carries them.
//!
//! Like the rows, the events are a pure function of the history's settings, never of shards,
//! threads or the store, and each load's are computed alone, in time and memory that grow with
//! its own events, not with the history: load `n` with rate `r` draws `round(rows × r)`
//! changes (fewer when a load of the window has fewer rows than its share).
//!
//! - **Which movements.** The draws go to two loads of the [`WINDOW`] before it (a year of
//!   monthly loads): [`LAST_LOAD_SHARE`] to the load just before, the rest to one load further
//!   back, drawn per load: two loads back with probability 1/2, three with 1/4, and so on. In
//!   each load they aim at a *span*, a run of consecutive movements (rows come in date order)
//!   of which [`SPAN_DENSITY`] are changed: the last movements of the load just before
//!   (corrections come mostly with the month's closing) and, in the earlier load, a span at a
//!   keyed place (a reconciliation of a few days, months later). The shares and the density
//!   are ours: no public source gives them. Concentrated so, a load's changes touch a few
//!   shards of the loads before, whatever the history's length, which bounds what a merge
//!   rewrites. Inside a span, the movements drawn are the first of a keyed permutation of its
//!   rows: distinct, and whether a later load drew a given movement is answered without
//!   listing its draws, which is what keeps each load's events independent of the history's
//!   length.
//! - **Which change.** A cancellation (`delete`) with probability [`DELETE_SHARE`], else a
//!   correction (`update`) of the amount: the current amount times 0.50 to 1.50 in steps of
//!   1 %, rounded to the cent, its sign kept, never equal to the current amount. A movement
//!   cancelled by an earlier load is not changed again: its draw is skipped.
//!
//! `change_seq` orders the events of the whole history: load `n`'s draws are numbered after
//! every draw of the loads before it, so a skipped draw leaves a gap, never a reordering.
//!
//! A load can also deliver again rows of the load before it, byte for byte: the *repeats* of
//! [`load_repeats`], a file sent twice by a partner's retry. They come from the load just
//! before (a retried delivery is the last one), which no event has touched yet: a repeat is
//! its row as first delivered and as it still stands, so a pipeline that inserts only the ids
//! it has not seen keeps the book right. The *late* rows a load carries are its own new rows
//! dated before its period (`GeneratorConfig::with_late_rate`).

use std::fmt;
use std::io::{self, Write};

use mouvements_schema::{GeneratorConfig, Montant, Mouvement, MouvementId};

use crate::{Generator, MouvementCsv};

/// The share of a load's changes aimed at the load just before it; the rest go to one load
/// further back.
pub const LAST_LOAD_SHARE: f64 = 0.8;

/// The share of changed movements in a span: a load's changes in a load before it lie in a
/// run of `changes / SPAN_DENSITY` consecutive rows.
pub const SPAN_DENSITY: f64 = 0.05;

/// How many loads back a change reaches at most.
pub const WINDOW: usize = 12;

/// The share of cancellations among the changes.
pub const DELETE_SHARE: f64 = 0.2;

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

impl ChangeKind {
    /// `update` or `delete`, as the feed's `change_type` says it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
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
    /// The amount an update changed (its pre-image's), `None` for a delete.
    pub fn updated_from(&self) -> Option<Montant> {
        (self.kind == ChangeKind::Update).then_some(self.before)
    }

    /// The event as a line of the change feed's CSV (with its `\n`).
    pub fn write_csv<W: Write>(&self, mut out: W) -> io::Result<()> {
        write!(out, "{},{},{}", self.kind, self.seq, MouvementCsv(&self.row))
    }
}

/// Shard `index` of `shards`' part of a load's events or repeats: the list cut like rows
/// ([`crate::plan::shards`]), in order.
pub fn shard_part<T>(items: &[T], index: u32, shards: u32) -> &[T] {
    crate::plan::shards(items.len() as u64, shards)
        .get(index as usize)
        .map_or(&[][..], |plan| &items[plan.rows.start as usize..plan.rows.end as usize])
}

/// Writes a file of repeated rows: the CSV header, then the rows `rows` of the load `earlier`
/// generates (its row indices), as that load wrote them.
pub fn write_repeats_csv<W: Write>(earlier: &Generator, rows: &[u64], mut out: W) -> io::Result<()> {
    out.write_all(mouvements_schema::CSV_HEADER.as_bytes())?;
    for &row in rows {
        if let Some(mouvement) = earlier.rows(row..row + 1).next() {
            write!(out, "{}", MouvementCsv(&mouvement))?;
        }
    }
    out.flush()
}

/// The ground truth of a load's events, [`EVENTS_HEADER`] then one line per event: its late
/// rows, its repeats, its changes.
pub const EVENTS_HEADER: &str = "id_mouvement,event,load\n";

/// Writes shard `shard` of load `load`'s events ground truth: the late rows of `rows` (row
/// indices of `generator`, the load's), the rows of `repeats` (row indices of the load before,
/// whose generator comes with them), then `changes`.
pub fn write_events_csv<W: Write>(
    load: u32,
    generator: &Generator,
    rows: std::ops::Range<u64>,
    repeats: (Option<&Generator>, &[u64]),
    changes: &[Change],
    mut out: W,
) -> io::Result<u64> {
    out.write_all(EVENTS_HEADER.as_bytes())?;
    let mut count = 0;
    for row in generator.late_rows(rows) {
        writeln!(out, "{},late,{load}", MouvementId(generator.config().first_id() + row))?;
        count += 1;
    }
    if let (Some(earlier), rows) = repeats {
        for row in rows {
            writeln!(out, "{},repeat,{load}", MouvementId(earlier.config().first_id() + row))?;
            count += 1;
        }
    }
    for change in changes {
        writeln!(out, "{},{},{load}", change.row.id_mouvement, change.kind)?;
        count += 1;
    }
    out.flush()?;
    Ok(count)
}

/// Writes a change file: the header, then each event's line.
pub fn write_changes_csv<W: Write>(changes: &[Change], mut out: W) -> io::Result<()> {
    out.write_all(CHANGES_HEADER.as_bytes())?;
    for change in changes {
        change.write_csv(&mut out)?;
    }
    out.flush()
}

/// One load of a history, as its events depend on it.
#[derive(Debug, Clone, Copy)]
pub struct LoadSettings {
    /// Its rows' generator config.
    pub config: GeneratorConfig,
    /// Changes per new row it delivers (0 for the first load).
    pub change_rate: f64,
    /// Rows of the load before it delivers again, per new row (0 for the first load).
    pub duplicate_rate: f64,
}

/// The rows load `n` of `history` delivers again, as row indices of load `n - 1`, in order:
/// `round(rows × duplicate_rate)` of them (at most that load's rows), the first of a keyed
/// permutation of its rows.
pub fn load_repeats(history: &[LoadSettings], n: usize) -> Vec<u64> {
    let Some(load) = history.get(n).filter(|l| n > 0 && l.duplicate_rate > 0.0) else { return Vec::new() };
    let earlier = history[n - 1].config.rows();
    let count = ((load.config.rows() as f64 * load.duplicate_rate).round() as u64).min(earlier);
    let order = Permutation::new(earlier, mix(key(load.config.seed(), n - 1) ^ 0x7265_7065_6174_7321));
    let mut rows: Vec<u64> = (0..count).map(|i| order.at(i)).collect();
    rows.sort_unstable();
    rows
}

/// The events of every load of `history`, in load order (the first load's is empty).
pub fn history_changes(history: &[LoadSettings]) -> Vec<Vec<Change>> {
    (0..history.len()).map(|n| load_changes(history, n)).collect()
}

/// The events load `n` of `history` delivers, in `change_seq` order: the rows of the spans it
/// and the loads between aim at are read, and of the loads before only their sizes and rates
/// (to number the events after theirs).
pub fn load_changes(history: &[LoadSettings], n: usize) -> Vec<Change> {
    load_changes_in(history, n, |_| true)
}

/// The events load `n` of `history` delivers to the loads `aimed` says yes to (indices in the
/// history), in `change_seq` order: [`load_changes`] less the others, at the cost of these
/// alone.
pub fn load_changes_in(history: &[LoadSettings], n: usize, aimed: impl Fn(usize) -> bool) -> Vec<Change> {
    let Some(load) = history.get(n).filter(|l| l.change_rate > 0.0) else { return Vec::new() };
    let mut seq: u64 = (0..n).map(|j| draws(history, j).iter().map(|d| d.count).sum::<u64>()).sum();
    let mut events = Vec::new();
    for draw in draws(history, n) {
        let target = draw.target;
        if !aimed(target) {
            seq += draw.count;
            continue;
        }
        let generator = Generator::new(history[target].config);
        // The draws of the loads between the target and this one, in it.
        let earlier: Vec<(u64, Draw)> = (target + 1..n)
            .filter_map(|j| {
                let drawn = draws(history, j).into_iter().find(|d| d.target == target && d.count > 0)?;
                Some((history[j].config.seed(), drawn))
            })
            .collect();
        let order = draw.order(load.config.seed());
        for i in 0..draw.count {
            seq += 1;
            let row = draw.span.start + order.at(i);
            let Some(mut mouvement) = generator.rows(row..row + 1).next() else { continue };
            // The movement as the loads between its own and this one left it.
            let mut live = true;
            for (seed, drawn) in &earlier {
                if drawn.takes(*seed, row) {
                    match change(*seed, target, row, mouvement.montant) {
                        (ChangeKind::Delete, _) => live = false,
                        (ChangeKind::Update, corrected) => mouvement.montant = corrected,
                    }
                    if !live {
                        break;
                    }
                }
            }
            if !live {
                continue;
            }
            let before = mouvement.montant;
            let (kind, montant) = change(load.config.seed(), target, row, before);
            mouvement.montant = montant;
            events.push(Change { kind, seq, row: mouvement, before });
        }
    }
    events
}

/// What a load draws in one load before it: `count` movements among the rows `span`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Draw {
    target: usize,
    count: u64,
    span: std::ops::Range<u64>,
}

impl Draw {
    /// The order in which the load of `seed` takes the span's rows (offsets in the span).
    fn order(&self, seed: u64) -> Permutation {
        Permutation::new(self.span.end - self.span.start, key(seed, self.target))
    }

    /// Whether the load of `seed`, which made this draw, changed row `row` of the target.
    fn takes(&self, seed: u64, row: u64) -> bool {
        self.span.contains(&row) && self.order(seed).index_of(row - self.span.start) < self.count
    }
}

/// The loads load `n`'s changes aim at, nearest first: how many each takes, and where.
fn draws(history: &[LoadSettings], n: usize) -> Vec<Draw> {
    let Some(load) = history.get(n).filter(|_| n > 0) else { return Vec::new() };
    let total = (load.config.rows() as f64 * load.change_rate).round() as u64;
    let seed = load.config.seed();
    // The earlier load: two loads back with probability 1/2, three with 1/4, and so on to the
    // end of the window (which takes what is left).
    let reach = n.min(WINDOW) as u32;
    let back = (2 + mix(seed ^ mix(n as u64) ^ 0x7461_696C).trailing_zeros()).min(reach) as usize;
    let targets: Vec<(usize, f64)> = if n == 1 {
        vec![(0, 1.0)]
    } else {
        vec![(n - 1, LAST_LOAD_SHARE), (n - back, 1.0 - LAST_LOAD_SHARE)]
    };
    let (mut taken, mut cumulative) = (0u64, 0.0);
    let mut out = Vec::with_capacity(targets.len());
    for (i, (target, share)) in targets.iter().enumerate() {
        cumulative += share;
        let upto = if i + 1 == targets.len() { total } else { ((total as f64) * cumulative).round() as u64 };
        let rows = history[*target].config.rows();
        let count = (upto - taken).min(rows);
        taken = upto;
        let len = ((count as f64 / SPAN_DENSITY).ceil() as u64).clamp(count, rows);
        // The last load's span ends with it; the earlier one's lies at a keyed place.
        let start =
            if i == 0 { rows - len } else { mix(key(seed, *target) ^ 0x7370_616E) % (rows - len + 1) };
        out.push(Draw { target: *target, count, span: start..start + len });
    }
    out
}

/// What the load of `seed` does to row `row` of load `target`, of amount `current`.
fn change(seed: u64, target: usize, row: u64, current: Montant) -> (ChangeKind, Montant) {
    let draw = mix(key(seed, target) ^ mix(row ^ 0x5DEE_CE66_D1CE_4E5B));
    if unit(draw) < DELETE_SHARE {
        (ChangeKind::Delete, current)
    } else {
        (ChangeKind::Update, corrected(current, mix(draw)))
    }
}

/// The key of the draws a load (its seed) makes in load `target`.
fn key(seed: u64, target: usize) -> u64 {
    mix(seed ^ 0xC4A9_6E5B_0D1F_3A27 ^ mix(target as u64))
}

/// A keyed bijection of `0..size`: a balanced Feistel network over the smallest even number of
/// bits that holds `size`, walked until the value falls inside (at most four steps expected).
struct Permutation {
    size: u64,
    half: u32,
    key: u64,
}

impl Permutation {
    const ROUNDS: u64 = 4;

    fn new(size: u64, key: u64) -> Self {
        let bits = (64 - size.saturating_sub(1).leading_zeros()).max(2);
        Self { size, half: bits.div_ceil(2), key }
    }

    fn mask(&self) -> u64 {
        (1u64 << self.half) - 1
    }

    fn round(&self, round: u64, half: u64) -> u64 {
        mix(self.key ^ mix(round << 58 ^ half)) & self.mask()
    }

    fn forward(&self, x: u64) -> u64 {
        let (mut left, mut right) = (x >> self.half, x & self.mask());
        for round in 0..Self::ROUNDS {
            (left, right) = (right, left ^ self.round(round, right));
        }
        left << self.half | right
    }

    fn backward(&self, y: u64) -> u64 {
        let (mut left, mut right) = (y >> self.half, y & self.mask());
        for round in (0..Self::ROUNDS).rev() {
            (left, right) = (right ^ self.round(round, left), left);
        }
        left << self.half | right
    }

    /// The `i`-th value.
    fn at(&self, i: u64) -> u64 {
        let mut x = self.forward(i);
        while x >= self.size {
            x = self.forward(x);
        }
        x
    }

    /// Where `value` comes in the order: the inverse of [`Permutation::at`].
    fn index_of(&self, value: u64) -> u64 {
        let mut x = self.backward(value);
        while x >= self.size {
            x = self.backward(x);
        }
        x
    }
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

/// SplitMix64's step: a bijective mix spreading every input bit over the output.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use mouvements_schema::Period;

    use super::*;

    fn history(loads: u32, rows: u64, rate: f64) -> Vec<LoadSettings> {
        let mut first_id = 1;
        (0..loads)
            .map(|n| {
                let period = Period::month(2025 + n as i32 / 12, 1 + n % 12).unwrap();
                let config = GeneratorConfig::new(42 + u64::from(n), rows, period, first_id, 0.001).unwrap();
                first_id += rows;
                LoadSettings { config, change_rate: if n == 0 { 0.0 } else { rate }, duplicate_rate: 0.0 }
            })
            .collect()
    }

    #[test]
    fn the_permutation_is_a_bijection_and_its_inverse() {
        for size in [1, 2, 3, 10, 1000, 4097] {
            let p = Permutation::new(size, 7);
            let values: HashSet<u64> = (0..size).map(|i| p.at(i)).collect();
            assert_eq!(values.len() as u64, size);
            assert!(values.iter().all(|v| *v < size && p.at(p.index_of(*v)) == *v));
        }
    }

    #[test]
    fn events_aim_at_live_movements_of_the_loads_before_mostly_the_last() {
        let history = history(16, 5_000, 0.04);
        let loads = history_changes(&history);
        assert!(loads[0].is_empty());
        let mut cancelled = HashSet::new();
        let mut current: HashMap<u64, Montant> = HashMap::new();
        let mut seq = 0;
        let (mut last, mut all) = (0, 0);
        for (n, events) in loads.iter().enumerate().skip(1) {
            assert!(events.len() >= 170 && events.len() <= 200, "load {n}: {} events", events.len());
            let window_start = history[n.saturating_sub(WINDOW)].config.first_id();
            let mut now = HashSet::new();
            for change in events {
                assert!(change.seq > seq, "change_seq increases across the history");
                seq = change.seq;
                let id = change.row.id_mouvement.0;
                assert!(
                    (window_start..history[n].config.first_id()).contains(&id),
                    "a movement of the window"
                );
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
                if n > 1 {
                    last += u32::from(target == n - 1);
                    all += 1;
                }
            }
        }
        let share = f64::from(last) / f64::from(all);
        assert!((0.77..0.83).contains(&share), "{share} of the changes aim at the load before");
    }

    #[test]
    fn a_load_s_changes_lie_in_two_spans_the_last_load_s_at_its_end() {
        let rows = 20_000;
        let history = history(16, rows, 0.01);
        let mut backs = HashMap::new();
        for (n, events) in history_changes(&history).iter().enumerate().skip(1) {
            let mut by_target: HashMap<usize, Vec<u64>> = HashMap::new();
            for change in events {
                let id = change.row.id_mouvement.0;
                let target = history.iter().rposition(|l| l.config.first_id() <= id).unwrap();
                by_target.entry(target).or_default().push(id - history[target].config.first_id());
            }
            assert!(by_target.len() <= 2, "load {n} aims at {} loads", by_target.len());
            for (target, changed) in &by_target {
                let (lo, hi) = (changed.iter().min().unwrap(), changed.iter().max().unwrap());
                // Deletes skipped on movements cancelled before make a span's draws fewer.
                let span = (changed.len() as f64 / SPAN_DENSITY * 1.3) as u64;
                assert!(hi - lo < span, "load {n} in load {target}: rows {lo}..={hi} for {}", changed.len());
                if *target + 1 == n {
                    assert!(*lo >= rows - span, "load {n}: the span of load {target} ends with it");
                } else {
                    assert!(n - target <= WINDOW);
                    *backs.entry(n - target).or_insert(0) += 1;
                }
            }
        }
        assert!(backs.len() >= 3 && backs[&2] >= 5, "the earlier load, mostly two back: {backs:?}");
    }

    #[test]
    fn a_load_s_events_are_a_pure_function_of_the_history_up_to_it() {
        let long = history(5, 5_000, 0.05);
        let events = history_changes(&long);
        assert_eq!(history_changes(&long[..3]), events[..3], "later loads change nothing before them");
        let mut other = long.clone();
        other[4].change_rate = 0.0;
        assert_eq!(history_changes(&other)[..4], events[..4]);
        assert_eq!(load_changes(&long, 4), events[4]);
        let aimed = |target| target == 3;
        let in_3: Vec<Change> =
            events[4].iter().filter(|c| c.row.id_mouvement.0 >= long[3].config.first_id()).cloned().collect();
        assert!(!in_3.is_empty() && in_3.len() < events[4].len());
        assert_eq!(
            load_changes_in(&long, 4, aimed),
            in_3,
            "the events aimed at one load, as numbered among all"
        );
        let mut line = Vec::new();
        events[1][0].write_csv(&mut line).unwrap();
        let line = String::from_utf8(line).unwrap();
        assert!(line.starts_with(&format!("{},1,M", events[1][0].kind)), "{line}");
        assert_eq!(line.matches(',').count() + 1, CHANGES_HEADER.split(',').count());
    }

    #[test]
    fn repeats_are_distinct_rows_of_the_load_before_as_it_wrote_them() {
        let mut history = history(3, 5_000, 0.0);
        history[2].duplicate_rate = 0.01;
        assert!(load_repeats(&history, 1).is_empty());
        let rows = load_repeats(&history, 2);
        assert_eq!(rows.len(), 50);
        assert!(rows.windows(2).all(|w| w[0] < w[1]) && rows.iter().all(|r| *r < 5_000));
        let earlier = Generator::new(history[1].config);
        let mut repeated = Vec::new();
        write_repeats_csv(&earlier, &rows, &mut repeated).unwrap();
        let mut first = Vec::new();
        earlier.write_csv(0..5_000, true, &mut first).unwrap();
        let first = String::from_utf8(first).unwrap();
        let lines: Vec<&str> = first.lines().collect();
        let expected: String = std::iter::once(lines[0])
            .chain(rows.iter().map(|r| lines[*r as usize + 1]))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(String::from_utf8(repeated).unwrap(), expected, "byte for byte their first delivery");
    }
}
