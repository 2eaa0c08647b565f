//! `FileStats`: what a Delta `add` action says of its data file (row count, per-column minimum
//! and maximum, null counts), gathered while the file is written and recomputed by `verify`
//! when it reads the file back.

use mouvements_schema::{AgenceId, Mouvement, MouvementId, TypeOp};
use parquet::file::statistics::Statistics;
use serde_json::{Value, json};

use crate::parquet_files::{date_of_days, date32};

/// The columns a data file holds, in file order.
pub const FILE_COLUMNS: [&str; 5] = ["id_mouvement", "date_op", "type_op", "montant", "agence_id"];

/// Digit counts an id can have: 7 to 19.
const ID_LENGTHS: usize = 13;

/// Statistics of one data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStats {
    /// Rows.
    pub rows: u64,
    /// Smallest and largest id number per digit count (7 to 19 digits; `(u64::MAX, 0)` for a
    /// count not seen): ids of one length sort as strings the way their numbers do, so the
    /// string order's extremes are among these, without a string comparison per row.
    ids: [(u64, u64); ID_LENGTHS],
    /// The earliest and latest date, in days since 1970 as Parquet's DATE holds them
    /// (`i32::MAX` and `i32::MIN` before the first row).
    date_min: i32,
    date_max: i32,
    /// Types seen, one bit per [`TypeOp::index`].
    types: u32,
    /// The smallest and largest amount (`i64::MAX` and `i64::MIN` before the first row).
    montant_min: i64,
    montant_max: i64,
    /// Agencies seen, one bit per [`AgenceId::index`].
    agences: u64,
}

impl Default for FileStats {
    /// No rows: every extreme at the value any row replaces, so that rows and files are
    /// counted in with a minimum and a maximum, without a first-row case.
    fn default() -> Self {
        Self {
            rows: 0,
            ids: [(u64::MAX, 0); ID_LENGTHS],
            date_min: i32::MAX,
            date_max: i32::MIN,
            types: 0,
            montant_min: i64::MAX,
            montant_max: i64::MIN,
            agences: 0,
        }
    }
}

impl FileStats {
    /// Counts one row.
    pub fn add(&mut self, row: &Mouvement) {
        self.add_id_and_amount(row.id_mouvement.0, row.montant.cents());
        self.add_labels([date32(row.date_op)], [row.type_op.index() as i32], [row.agence_id.index() as i32]);
    }

    /// Counts one row by its id and amount only; its date, type and agency are counted with
    /// [`add_labels`](Self::add_labels) (a Parquet writer takes them from its dictionaries
    /// once per row group).
    pub(crate) fn add_id_and_amount(&mut self, id: u64, cents: i64) {
        // Ids of 7 to 9 digits, the usual ones, without a logarithm (17 instructions).
        let length = match id {
            0..10_000_000 => 7,
            10_000_000..100_000_000 => 8,
            100_000_000..1_000_000_000 => 9,
            _ => id.ilog10() as usize + 1,
        };
        let (lo, hi) = &mut self.ids[length - 7];
        (*lo, *hi) = ((*lo).min(id), (*hi).max(id));
        self.montant_min = self.montant_min.min(cents);
        self.montant_max = self.montant_max.max(cents);
        self.rows += 1;
    }

    /// Counts dates (days since 1970), types and agencies (their indices) seen in the rows,
    /// each once or more.
    pub(crate) fn add_labels(
        &mut self,
        days: impl IntoIterator<Item = i32>,
        types: impl IntoIterator<Item = i32>,
        agences: impl IntoIterator<Item = i32>,
    ) {
        for day in days {
            self.date_min = self.date_min.min(day);
            self.date_max = self.date_max.max(day);
        }
        self.types |= types.into_iter().fold(0, |seen, index| seen | 1 << index);
        self.agences |= agences.into_iter().fold(0, |seen, index| seen | 1 << index);
    }

    /// Adds the rows counted in `other` (a row group's, to its file's).
    pub(crate) fn merge(&mut self, other: &FileStats) {
        for ((lo, hi), (their_lo, their_hi)) in self.ids.iter_mut().zip(&other.ids) {
            (*lo, *hi) = ((*lo).min(*their_lo), (*hi).max(*their_hi));
        }
        self.montant_min = self.montant_min.min(other.montant_min);
        self.montant_max = self.montant_max.max(other.montant_max);
        self.rows += other.rows;
        self.date_min = self.date_min.min(other.date_min);
        self.date_max = self.date_max.max(other.date_max);
        self.types |= other.types;
        self.agences |= other.agences;
    }

    /// The Parquet statistics of each column, in file order: the smallest and largest value
    /// (strings in byte order) and no nulls; `None` without rows.
    pub(crate) fn parquet_statistics(&self) -> Option<[Statistics; 5]> {
        let (id_min, id_max) = self.id_range()?;
        let (type_min, type_max) = self.type_range()?;
        let (agence_min, agence_max) = self.agence_range()?;
        let (date_min, date_max) = self.day_range()?;
        let text = |lo: &str, hi: &str| {
            Statistics::byte_array(Some(lo.into()), Some(hi.into()), None, Some(0), false)
        };
        Some([
            text(&id_min, &id_max),
            Statistics::int32(Some(date_min), Some(date_max), None, Some(0), false),
            text(type_min, type_max),
            Statistics::int64(Some(self.montant_min), Some(self.montant_max), None, Some(0), false),
            text(&agence_min.to_string(), &agence_max.to_string()),
        ])
    }

    /// The earliest and latest date in days since 1970; `None` without rows.
    fn day_range(&self) -> Option<(i32, i32)> {
        (self.date_min <= self.date_max).then_some((self.date_min, self.date_max))
    }

    /// The smallest and largest id in string order (`M10000000` sorts before `M9999999`).
    fn id_range(&self) -> Option<(String, String)> {
        let mut texts = self
            .ids
            .iter()
            .filter(|(lo, hi)| lo <= hi)
            .map(|(lo, hi)| (MouvementId(*lo).to_string(), MouvementId(*hi).to_string()));
        let first = texts.next()?;
        Some(texts.fold(first, |(lo, hi), (l, h)| (lo.min(l), hi.max(h))))
    }

    /// The smallest and largest type label seen, in string order.
    fn type_range(&self) -> Option<(&'static str, &'static str)> {
        let mut seen = TypeOp::ALL.iter().filter(|t| self.types & (1 << t.index()) != 0).map(|t| t.label());
        let first = seen.next()?;
        Some(seen.fold((first, first), |(lo, hi), l| (lo.min(l), hi.max(l))))
    }

    /// The smallest and largest agency seen (their labels sort as their numbers).
    fn agence_range(&self) -> Option<(AgenceId, AgenceId)> {
        let mut seen = AgenceId::all().filter(|a| self.agences & (1 << a.index()) != 0);
        let first = seen.next()?;
        Some((first, seen.last().unwrap_or(first)))
    }

    /// The `stats` JSON of a Delta `add` action: `numRecords`, `minValues`, `maxValues` and
    /// `nullCount` of every data column (decimals as JSON numbers, dates as `YYYY-MM-DD`).
    pub fn delta_json(&self) -> String {
        let euros = |cents: i64| Value::from(cents as f64 / 100.0);
        let nulls: serde_json::Map<String, Value> =
            FILE_COLUMNS.iter().map(|c| ((*c).to_owned(), json!(0))).collect();
        let mut stats = json!({ "numRecords": self.rows, "nullCount": nulls });
        if let (
            Some((id_min, id_max)),
            Some((type_min, type_max)),
            Some((agence_min, agence_max)),
            Some((date_min, date_max)),
        ) = (self.id_range(), self.type_range(), self.agence_range(), self.day_range())
        {
            stats["minValues"] = json!({
                "id_mouvement": id_min,
                "date_op": date_text(date_min),
                "type_op": type_min,
                "montant": euros(self.montant_min),
                "agence_id": agence_min.to_string(),
            });
            stats["maxValues"] = json!({
                "id_mouvement": id_max,
                "date_op": date_text(date_max),
                "type_op": type_max,
                "montant": euros(self.montant_max),
                "agence_id": agence_max.to_string(),
            });
        }
        stats.to_string()
    }
}

/// A date given in days since 1970, as `YYYY-MM-DD`.
fn date_text(days: i32) -> String {
    date_of_days(days).expect("the days of a NaiveDate make a NaiveDate").format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use mouvements_schema::{Montant, Pays, Produit};

    use super::*;

    fn row(id: u64, day: u32, type_op: TypeOp, cents: i64, agence: u16) -> Mouvement {
        let agence_id = AgenceId::from_number(agence).unwrap();
        Mouvement {
            id_mouvement: MouvementId(id),
            date_op: NaiveDate::from_ymd_opt(2025, 6, day).unwrap(),
            produit: Produit::Auto,
            type_op,
            montant: Montant::from_cents(cents),
            agence_id,
            pays: agence_id.pays(),
        }
    }

    #[test]
    fn stats_hold_string_order_for_strings_and_value_order_for_the_rest() {
        let mut stats = FileStats::default();
        stats.add(&row(9_999_999, 3, TypeOp::Rachat, -150, 7));
        stats.add(&row(10_000_000, 2, TypeOp::Cotisation, 2_500, 3));
        let json: Value = serde_json::from_str(&stats.delta_json()).unwrap();
        assert_eq!(json["numRecords"], 2);
        // "M10000000" sorts before "M9999999" as a string.
        assert_eq!(json["minValues"]["id_mouvement"], "M10000000");
        assert_eq!(json["maxValues"]["id_mouvement"], "M9999999");
        assert_eq!(json["minValues"]["date_op"], "2025-06-02");
        assert_eq!(json["minValues"]["type_op"], "cotisation");
        assert_eq!(json["maxValues"]["type_op"], "rachat");
        assert_eq!(json["minValues"]["montant"], -1.5);
        assert_eq!(json["maxValues"]["agence_id"], "AG_007");
        assert_eq!(json["nullCount"]["montant"], 0);
        assert_eq!(Pays::ALL.len(), 5);
    }
}
