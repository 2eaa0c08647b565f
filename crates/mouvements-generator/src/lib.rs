//! The deterministic generator of synthetic insurance financial movements.
//!
//! Rows are a pure function of a [`GeneratorConfig`] (seed, row count, period, first id,
//! anomaly rate) and their index: any range of rows can be produced on its own, in any order,
//! on any machine, and gives the same bytes. That is what makes shards, threads and
//! distributed tasks free: each just asks for its range.
//!
//! # Embedding
//!
//! ```
//! use mouvements_generator::{Generator, GeneratorConfig, Period};
//!
//! let config = GeneratorConfig::new(42, 1_000, Period::month(2025, 6)?, 1, 0.001)?;
//! let generator = Generator::new(config);
//!
//! // Typed rows, for your own processing.
//! let first = generator.rows(0..1).next().unwrap();
//! assert_eq!(first.id_mouvement.to_string(), "M0000001");
//!
//! // Or CSV bytes, into any `io::Write`: a file, a socket, a hasher.
//! let mut csv = Vec::new();
//! generator.write_csv(0..1_000, true, &mut csv)?;
//! assert!(csv.starts_with(b"id_mouvement,date_op,produit,type_op,montant,agence_id,pays\nM0000001,2025-06-"));
//!
//! // Any range alone gives the same bytes as the whole.
//! let mut tail = Vec::new();
//! generator.write_csv(500..1_000, false, &mut tail)?;
//! assert!(csv.ends_with(&tail));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "arrow")]
mod arrow;
mod calendar;
pub mod changes;
mod compiled_tables;
mod cursor;
mod encoder;
pub mod plan;

use std::io::{self, Write};
use std::ops::Range;

use mouvements_schema::{CSV_HEADER, Montant, Mouvement, MouvementId, Produit, TypeOp};

#[cfg(feature = "arrow")]
pub use arrow::{ARROW_SCHEMA, RecordBatches};
pub use cursor::BLOCK_ROWS;
pub use encoder::{CHUNK_BYTES, MouvementCsv};
pub use mouvements_schema::{ConfigError, GeneratorConfig, MAX_PERIOD_DAYS, MAX_ROWS, Period};
pub use plan::ShardPlan;

use calendar::Calendar;
use compiled_tables::{TABLES, TypePicks};
use cursor::{Cursor, Draw};
use encoder::Labels;

/// A ready generator: the config plus the calendar and labels compiled from it (the business
/// tables are compiled once per process). Cheap to share across threads (`&Generator` is
/// `Sync`); build it once.
pub struct Generator {
    config: GeneratorConfig,
    calendar: Calendar,
    /// Type picks per `[month * 2 + month_start]`, balanced for this calendar.
    type_picks: Vec<TypePicks>,
    labels: Labels,
    /// A row is an anomaly when 32 random bits fall below this.
    anomaly_threshold: u64,
}

/// The ground truth of one anomalous row: which row, and why it is exceptional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anomaly {
    /// Id of the row.
    pub id_mouvement: MouvementId,
    /// Its type.
    pub type_op: TypeOp,
    /// Its product.
    pub produit: Produit,
    /// The amount written.
    pub montant: Montant,
    /// The amount the row would have had.
    pub usual_montant: Montant,
}

impl Anomaly {
    /// Header of the labels CSV written beside a dataset.
    pub const CSV_HEADER: &'static str = "id_mouvement,type_op,produit,montant,usual_montant,ratio\n";

    /// `montant / usual_montant`, in hundredths.
    pub fn ratio_hundredths(&self) -> i64 {
        let usual = self.usual_montant.cents().abs().max(1);
        (i128::from(self.montant.cents().abs()) * 100 / i128::from(usual)) as i64
    }

    /// Writes this anomaly as a labels CSV line.
    pub fn write_csv<W: Write>(&self, mut out: W) -> io::Result<()> {
        let ratio = Montant::from_cents(self.ratio_hundredths());
        writeln!(
            out,
            "{},{},{},{},{},{}",
            self.id_mouvement, self.type_op, self.produit, self.montant, self.usual_montant, ratio
        )
    }
}

/// The rows of a range, in order: see [`Generator::rows`].
pub struct Rows<'g> {
    generator: &'g Generator,
    cursor: Cursor<'g>,
}

impl Iterator for Rows<'_> {
    type Item = Mouvement;

    fn next(&mut self) -> Option<Mouvement> {
        self.cursor.next_draw().map(|d| self.generator.mouvement(&d))
    }
}

/// The anomalous rows of a range, in order: see [`Generator::anomalies`].
pub struct Anomalies<'g> {
    generator: &'g Generator,
    cursor: Cursor<'g>,
}

impl Iterator for Anomalies<'_> {
    type Item = Anomaly;

    fn next(&mut self) -> Option<Anomaly> {
        loop {
            let d = self.cursor.next_draw()?;
            if d.anomalous {
                return Some(Anomaly {
                    id_mouvement: self.generator.id(d.row),
                    type_op: d.type_op,
                    produit: d.produit,
                    montant: Montant::from_cents(d.cents),
                    usual_montant: Montant::from_cents(d.usual_cents),
                });
            }
        }
    }
}

impl Generator {
    /// Compiles the tables for `config`.
    pub fn new(config: GeneratorConfig) -> Self {
        let calendar = Calendar::new(&config);
        Self {
            type_picks: TABLES.type_picks(&calendar.month_start_shares()),
            calendar,
            labels: Labels::new(),
            anomaly_threshold: (config.anomaly_rate() * f64::from(1u32 << 31) * 2.0).round() as u64,
            config,
        }
    }

    /// The config the rows are a function of.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The rows of `range` (clamped to the dataset), as typed values.
    pub fn rows(&self, range: Range<u64>) -> Rows<'_> {
        Rows { generator: self, cursor: Cursor::new(self, range.start, range.end) }
    }

    /// The anomalous rows of `range` (clamped to the dataset), with why each is anomalous.
    pub fn anomalies(&self, range: Range<u64>) -> Anomalies<'_> {
        Anomalies { generator: self, cursor: Cursor::new(self, range.start, range.end) }
    }

    /// Writes the anomalies of `range` as the labels CSV to `out`, header first, streamed
    /// (wrap an unbuffered writer in a `BufWriter`); returns how many were written.
    pub fn write_labels_csv<W: Write>(&self, range: Range<u64>, mut out: W) -> io::Result<u64> {
        out.write_all(Anomaly::CSV_HEADER.as_bytes())?;
        let mut count = 0;
        for anomaly in self.anomalies(range) {
            anomaly.write_csv(&mut out)?;
            count += 1;
        }
        out.flush()?;
        Ok(count)
    }

    /// Writes the rows of `range` as CSV to `out`, after the header line if `header`.
    /// Writes go out in chunks of about [`CHUNK_BYTES`]; wrap slow writers accordingly.
    pub fn write_csv<W: Write>(&self, range: Range<u64>, header: bool, out: W) -> io::Result<()> {
        self.write_csv_with(range, header, out, |_| Ok(()))
    }

    /// Writes the rows of `range` as CSV to `out` like [`Self::write_csv`], and hands each
    /// row to `each` as a typed value too, in order: one walk of the rows feeds both, for the
    /// cost of building the typed row. Stops at the first error of `each` or `out`.
    pub fn write_csv_and_rows<W: Write>(
        &self,
        range: Range<u64>,
        header: bool,
        out: W,
        mut each: impl FnMut(Mouvement) -> io::Result<()>,
    ) -> io::Result<()> {
        self.write_csv_with(range, header, out, |draw| each(self.mouvement(draw)))
    }

    /// The header line if `header`, then the rows of `range` as CSV, each row's draw handed
    /// to `each` (a plain CSV builds no typed row).
    fn write_csv_with<W: Write>(
        &self,
        range: Range<u64>,
        header: bool,
        mut out: W,
        each: impl FnMut(&Draw) -> io::Result<()>,
    ) -> io::Result<()> {
        if header {
            out.write_all(CSV_HEADER.as_bytes())?;
        }
        encoder::write_rows(self, range.start, range.end, out, each)
    }

    /// The late rows of `range` (clamped to the dataset), as row indices: those dated before
    /// the period (see [`GeneratorConfig::with_late_rate`]).
    pub fn late_rows(&self, range: Range<u64>) -> impl Iterator<Item = u64> + '_ {
        let end = if self.calendar.has_late_rows() { range.end.min(self.config.rows()) } else { 0 };
        (range.start.min(end)..end).filter(|row| self.calendar.late_day(*row).is_some())
    }

    /// The shards of this dataset when cut in `count`.
    pub fn shards(&self, count: u32) -> Vec<ShardPlan> {
        plan::shards(self.config.rows(), count)
    }

    fn id(&self, row: u64) -> MouvementId {
        MouvementId(self.config.first_id() + row)
    }

    fn mouvement(&self, d: &Draw) -> Mouvement {
        Mouvement {
            id_mouvement: self.id(d.row),
            date_op: self.calendar.day(d.day).date,
            produit: d.produit,
            type_op: d.type_op,
            montant: Montant::from_cents(d.cents),
            agence_id: d.agence,
            pays: d.agence.pays(),
        }
    }
}
