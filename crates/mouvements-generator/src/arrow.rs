//! Rows as Arrow record batches (feature `arrow`): the seven columns with their types —
//! `id_mouvement` a string, `date_op` a `Date32`, `montant` a `Decimal128(18, 2)`, and
//! `produit`, `type_op`, `agence_id`, `pays` dictionary-encoded strings (`Int8` keys into the
//! labels of their table) — so a Rust program, Python or Spark gets generated rows without CSV.
//!
//! The columns are written straight from the generator's draws, as the CSV encoder writes its
//! lines: the id incremented in place, the date converted once per day, the labels as keys.
//! Dictionaries because they are cheaper to make and to hold (one byte a row instead of 2 to
//! 11 bytes and a 4-byte offset: the stream of 10 M rows went from 5 to over 20 M rows a second
//! on one core, and the table from 691 to ~350 MiB) and every Arrow consumer reads them as the
//! strings they are (pyarrow, polars as categoricals, DuckDB; a cast gives plain strings).

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use arrow_array::types::Int8Type;
use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, DictionaryArray, Int8Array, RecordBatch, StringArray,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use mouvements_schema::{AgenceId, Pays, Produit, TypeOp};

use crate::Generator;
use crate::cursor::Cursor;
use crate::encoder::IdCounter;

/// The type of a dictionary-encoded column: `Int8` keys, `Utf8` values.
fn dictionary() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
}

/// The Arrow schema of the rows: the CSV's seven columns, none nullable.
pub static ARROW_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let label = |name| Field::new(name, dictionary(), false);
    Arc::new(Schema::new(vec![
        Field::new("id_mouvement", DataType::Utf8, false),
        Field::new("date_op", DataType::Date32, false),
        label("produit"),
        label("type_op"),
        Field::new("montant", DataType::Decimal128(18, 2), false),
        label("agence_id"),
        label("pays"),
    ]))
});

/// Days from 0001-01-01 to 1970-01-01, the origin of `Date32`.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The dictionaries: every label of each column, in the order of the values' `index()`.
struct Dictionaries {
    produit: ArrayRef,
    type_op: ArrayRef,
    agence: ArrayRef,
    pays: ArrayRef,
}

static DICTIONARIES: LazyLock<Dictionaries> = LazyLock::new(|| {
    let of = |labels: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(labels)) };
    Dictionaries {
        produit: of(Produit::ALL.iter().map(|p| p.label().to_owned()).collect()),
        type_op: of(TypeOp::ALL.iter().map(|t| t.label().to_owned()).collect()),
        agence: of(AgenceId::all().map(|a| a.to_string()).collect()),
        pays: of(Pays::ALL.iter().map(|p| p.label().to_owned()).collect()),
    }
});

/// A dictionary column of `keys` into `values`.
fn labels(keys: Vec<i8>, values: &ArrayRef) -> ArrayRef {
    let column = DictionaryArray::<Int8Type>::try_new(Int8Array::from(keys), Arc::clone(values))
        .expect("every key indexes its table's labels");
    Arc::new(column)
}

/// The rows of a range as record batches of at most `batch_rows` rows: see
/// [`Generator::record_batches`].
pub struct RecordBatches<'g> {
    generator: &'g Generator,
    next: u64,
    end: u64,
    batch_rows: u64,
}

impl Iterator for RecordBatches<'_> {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        if self.next >= self.end {
            return None;
        }
        let stop = self.end.min(self.next.saturating_add(self.batch_rows));
        let batch = self.generator.record_batch(self.next..stop);
        self.next = stop;
        Some(batch)
    }
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
        let end = range.end.min(self.config.rows());
        RecordBatches {
            generator: self,
            next: range.start.min(end),
            end,
            batch_rows: batch_rows.max(1) as u64,
        }
    }

    /// The rows of `range` (clamped to the dataset) as one record batch: what a stream that
    /// owns its generator (a Python stream, a Spark partition) asks for, a batch at a time.
    pub fn record_batch(&self, range: Range<u64>) -> RecordBatch {
        let end = range.end.min(self.config.rows());
        let start = range.start.min(end);
        let n = (end - start) as usize;
        let mut id = IdCounter::new(self.config.first_id() + start);
        let mut id_bytes = Vec::with_capacity(n * (id.text().len() + 1));
        let mut id_offsets = Vec::with_capacity(n + 1);
        id_offsets.push(0i32);
        let mut dates = Vec::with_capacity(n);
        let (mut produits, mut types, mut agences, mut pays) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut montants = Vec::with_capacity(n);
        let mut day = (usize::MAX, 0i32);
        let mut cursor = Cursor::new(self, start, end);
        while let Some(draw) = cursor.next_draw() {
            id_bytes.extend_from_slice(id.text());
            id_offsets.push(id_bytes.len() as i32);
            id.increment();
            if draw.day != day.0 {
                let date = self.calendar.day(draw.day).date;
                day = (draw.day, chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_FROM_CE);
            }
            dates.push(day.1);
            produits.push(draw.produit.index() as i8);
            types.push(draw.type_op.index() as i8);
            montants.push(i128::from(draw.cents));
            agences.push(draw.agence.index() as i8);
            pays.push(draw.agence.pays().index() as i8);
        }
        let ids = StringArray::try_new(OffsetBuffer::new(id_offsets.into()), id_bytes.into(), None)
            .expect("ids are ASCII and their offsets grow");
        let montants = Decimal128Array::from(montants)
            .with_precision_and_scale(18, 2)
            .expect("18, 2 is a valid decimal");
        let d = &*DICTIONARIES;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ids),
            Arc::new(Date32Array::from(dates)),
            labels(produits, &d.produit),
            labels(types, &d.type_op),
            Arc::new(montants),
            labels(agences, &d.agence),
            labels(pays, &d.pays),
        ];
        RecordBatch::try_new(Arc::clone(&ARROW_SCHEMA), columns).expect("the columns match the schema")
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type};

    use super::*;
    use crate::{GeneratorConfig, Period};

    /// The value at `i` of a dictionary column, as text.
    fn label(column: &ArrayRef, i: usize) -> String {
        let dictionary = column.as_dictionary::<Int8Type>();
        let key = dictionary.keys().value(i) as usize;
        dictionary.values().as_string::<i32>().value(key).to_owned()
    }

    #[test]
    fn batches_hold_the_typed_rows_for_any_range() {
        // The ids cross from 7 to 8 digits inside the dataset.
        let period = Period::month(2025, 6).unwrap();
        let config = GeneratorConfig::new(5, 30_000, period, 9_990_001, 0.01).unwrap();
        let generator = Generator::new(config);
        for range in [0..1, 0..30_000, 9_998..10_003, 29_999..30_000, 12_345..12_345, 29_000..40_000] {
            let expected: Vec<_> = generator.rows(range.clone()).collect();
            let batches: Vec<_> = generator.record_batches(range.clone(), 777).collect();
            assert!(batches.iter().all(|b| b.num_rows() <= 777 && b.schema() == *ARROW_SCHEMA));
            let rows: Vec<_> = batches.iter().flat_map(|b| (0..b.num_rows()).map(move |i| (b, i))).collect();
            assert_eq!(rows.len(), expected.len(), "{range:?}");
            for ((batch, i), row) in rows.into_iter().zip(&expected) {
                let c = batch.columns();
                assert_eq!(c[0].as_string::<i32>().value(i), row.id_mouvement.to_string());
                let days = c[1].as_primitive::<Date32Type>().value(i);
                assert_eq!(days, chrono::Datelike::num_days_from_ce(&row.date_op) - UNIX_EPOCH_DAYS_FROM_CE);
                assert_eq!(label(&c[2], i), row.produit.label());
                assert_eq!(label(&c[3], i), row.type_op.label());
                assert_eq!(c[4].as_primitive::<Decimal128Type>().value(i), i128::from(row.montant.cents()));
                assert_eq!(label(&c[5], i), row.agence_id.to_string());
                assert_eq!(label(&c[6], i), row.pays.label());
                assert!(c.iter().all(|column| column.null_count() == 0));
            }
        }
    }
}
