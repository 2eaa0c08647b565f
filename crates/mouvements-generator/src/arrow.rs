//! Rows as Arrow record batches (feature `arrow`): the seven columns with their types —
//! `date_op` a `Date32`, `montant` a `Decimal128(18, 2)`, strings for the rest — so a Rust
//! program can hand generated rows to DataFusion, Polars or any Arrow consumer without CSV.

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use arrow_array::builder::{Date32Builder, Decimal128Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use mouvements_schema::Mouvement;

use crate::{Generator, Rows};

/// The Arrow schema of the rows: the CSV's seven columns, none nullable.
pub static ARROW_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let text = |name| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("id_mouvement"),
        Field::new("date_op", DataType::Date32, false),
        text("produit"),
        text("type_op"),
        Field::new("montant", DataType::Decimal128(18, 2), false),
        text("agence_id"),
        text("pays"),
    ]))
});

/// Days from 0001-01-01 to 1970-01-01, the origin of `Date32`.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The rows of a range as record batches of at most `batch_rows` rows: see
/// [`Generator::record_batches`].
pub struct RecordBatches<'g> {
    rows: Rows<'g>,
    batch_rows: usize,
}

impl Iterator for RecordBatches<'_> {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        let batch = columns(self.rows.by_ref().take(self.batch_rows), self.batch_rows);
        (batch.num_rows() > 0).then_some(batch)
    }
}

/// The record batch of `rows`, whose count is about `capacity`.
fn columns(rows: impl Iterator<Item = Mouvement>, capacity: usize) -> RecordBatch {
    let n = capacity;
    let text = |bytes| StringBuilder::with_capacity(n, n * bytes);
    let (mut ids, mut produits, mut types, mut agences, mut pays) =
        (text(8), text(5), text(11), text(6), text(2));
    let mut dates = Date32Builder::with_capacity(n);
    let mut montants = Decimal128Builder::with_capacity(n)
        .with_precision_and_scale(18, 2)
        .expect("18, 2 is a valid decimal");
    let mut id_text = [0u8; 20];
    for row in rows {
        ids.append_value(row.id_mouvement.text(&mut id_text));
        dates.append_value(chrono::Datelike::num_days_from_ce(&row.date_op) - UNIX_EPOCH_DAYS_FROM_CE);
        produits.append_value(row.produit.label());
        types.append_value(row.type_op.label());
        montants.append_value(i128::from(row.montant.cents()));
        let agence = row.agence_id.label_bytes();
        agences.append_value(std::str::from_utf8(&agence).expect("an agency id is ASCII"));
        pays.append_value(row.pays.label());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ids.finish()),
        Arc::new(dates.finish()),
        Arc::new(produits.finish()),
        Arc::new(types.finish()),
        Arc::new(montants.finish()),
        Arc::new(agences.finish()),
        Arc::new(pays.finish()),
    ];
    RecordBatch::try_new(Arc::clone(&ARROW_SCHEMA), columns).expect("the columns match the schema")
}

impl Generator {
    /// The rows of `range` (clamped to the dataset) as Arrow record batches of at most
    /// `batch_rows` rows each, in order.
    ///
    /// ```
    /// use mouvements_generator::{ARROW_SCHEMA, Generator, GeneratorConfig};
    ///
    /// let generator = Generator::new(GeneratorConfig::with_rows(42, 10_000)?);
    /// let batches: Vec<_> = generator.record_batches(0..10_000, 4096).collect();
    /// assert_eq!(batches.len(), 3);
    /// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 10_000);
    /// assert_eq!(batches[0].schema(), *ARROW_SCHEMA);
    /// // Hand them to DataFusion (`MemTable::try_new(ARROW_SCHEMA.clone(), vec![batches])`),
    /// // Polars, or an Arrow IPC or Parquet writer.
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_batches(&self, range: Range<u64>, batch_rows: usize) -> RecordBatches<'_> {
        RecordBatches { rows: self.rows(range), batch_rows: batch_rows.max(1) }
    }

    /// The rows of `range` (clamped to the dataset) as one record batch: what a stream that
    /// owns its generator (a Python stream, a Spark partition) asks for, a batch at a time.
    pub fn record_batch(&self, range: Range<u64>) -> RecordBatch {
        let capacity = range.end.saturating_sub(range.start).min(1 << 20) as usize;
        columns(self.rows(range), capacity)
    }
}
