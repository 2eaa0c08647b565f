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

mod calendar;
mod config;
mod detmath;
mod draw_tables;
mod encoder;
pub mod plan;
mod stream;

use std::io::{self, Write};
use std::ops::Range;

use mouvements_schema::{CSV_HEADER, Montant, Mouvement, MouvementId, Produit, TypeOp};

pub use config::{ConfigError, GeneratorConfig, MAX_PERIOD_DAYS, MAX_ROWS, Period};
pub use encoder::CHUNK_BYTES;
pub use plan::ShardPlan;
pub use stream::BLOCK_ROWS;

use calendar::Calendar;
use draw_tables::DrawTables;
use encoder::Labels;
use stream::{Cursor, Draw};

/// A ready generator: the config plus the tables compiled from it. Cheap to share across
/// threads (`&Generator` is `Sync`); build it once.
pub struct Generator {
    config: GeneratorConfig,
    calendar: Calendar,
    tables: DrawTables,
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
    /// `montant / usual_montant`.
    pub factor: u32,
}

impl Anomaly {
    /// Header of the labels CSV written beside a dataset.
    pub const CSV_HEADER: &'static str = "id_mouvement,type_op,produit,montant,usual_montant,factor\n";

    /// This anomaly as a labels CSV line.
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{}\n",
            self.id_mouvement, self.type_op, self.produit, self.montant, self.usual_montant, self.factor
        )
    }
}

impl Generator {
    /// Compiles the tables for `config`.
    pub fn new(config: GeneratorConfig) -> Self {
        Self {
            calendar: Calendar::new(config.period(), config.rows()),
            tables: DrawTables::new(),
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
    pub fn rows(&self, range: Range<u64>) -> impl Iterator<Item = Mouvement> + '_ {
        let mut cursor = Cursor::new(self, range.start, range.end);
        std::iter::from_fn(move || cursor.next_draw()).map(|d| self.mouvement(&d))
    }

    /// The anomalous rows of `range`, with why each is anomalous.
    pub fn anomalies(&self, range: Range<u64>) -> impl Iterator<Item = Anomaly> + '_ {
        let mut cursor = Cursor::new(self, range.start, range.end);
        std::iter::from_fn(move || cursor.next_draw()).filter(|d| d.anomaly_factor > 0).map(|d| Anomaly {
            id_mouvement: self.id(d.row),
            type_op: d.type_op,
            produit: d.produit,
            montant: Montant::from_cents(d.cents),
            usual_montant: Montant::from_cents(d.usual_cents),
            factor: d.anomaly_factor,
        })
    }

    /// Writes the rows of `range` as CSV to `out`, after the header line if `header`.
    /// Writes go out in chunks of about [`CHUNK_BYTES`]; wrap slow writers accordingly.
    pub fn write_csv<W: Write>(&self, range: Range<u64>, header: bool, mut out: W) -> io::Result<()> {
        if header {
            out.write_all(CSV_HEADER.as_bytes())?;
        }
        encoder::write_rows(self, range.start, range.end, out)
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
