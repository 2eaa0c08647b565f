//! The change events of a load in `staging/`: the corrections and cancellations as delivered,
//! typed and partitioned like the staging rows (`pays=…/produit=…`), one file per shard and
//! partition. Events are few (a share of a load's rows), so they go through arrow-rs's own
//! Parquet writer rather than the data files' encoder.

use std::io::{self, Write};
use std::sync::{Arc, LazyLock};

use arrow_array::{ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use mouvements_schema::Mouvement;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{Partition, date32};

/// The columns of a staging change file: the raw feed's, less the partition columns.
pub static EVENTS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("change_type", DataType::Utf8, false),
        Field::new("change_seq", DataType::Int64, false),
        Field::new("id_mouvement", DataType::Utf8, false),
        Field::new("date_op", DataType::Date32, false),
        Field::new("type_op", DataType::Utf8, false),
        Field::new("montant", DataType::Decimal128(18, 2), false),
        Field::new("agence_id", DataType::Utf8, false),
    ]))
});

/// One event as the feed delivers it: `update` with the row after, or `delete` with the row
/// as it was.
#[derive(Debug, Clone, Copy)]
pub struct FeedEvent<'a> {
    /// `update` or `delete`.
    pub change_type: &'static str,
    /// Its place in the history's events.
    pub seq: u64,
    /// The row it carries.
    pub row: &'a Mouvement,
}

/// Writes `events`, in order, into one file per partition they fall in, each opened by `open`;
/// returns each partition with its writer and its rows, in partition order.
pub fn write_events<W, F>(events: &[FeedEvent<'_>], mut open: F) -> io::Result<Vec<(Partition, W, u64)>>
where
    W: Write + Send,
    F: FnMut(Partition) -> io::Result<W>,
{
    let properties =
        WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let mut files = Vec::new();
    for partition in Partition::all() {
        let of: Vec<&FeedEvent<'_>> = events
            .iter()
            .filter(|e| Partition { pays: e.row.pays, produit: e.row.produit } == partition)
            .collect();
        if of.is_empty() {
            continue;
        }
        let text = |f: &dyn Fn(&FeedEvent<'_>) -> String| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(of.iter().map(|e| f(e))))
        };
        let columns: Vec<ArrayRef> = vec![
            text(&|e| e.change_type.to_owned()),
            Arc::new(Int64Array::from_iter_values(of.iter().map(|e| e.seq as i64))),
            text(&|e| e.row.id_mouvement.to_string()),
            Arc::new(Date32Array::from_iter_values(of.iter().map(|e| date32(e.row.date_op)))),
            text(&|e| e.row.type_op.to_string()),
            Arc::new(
                Decimal128Array::from_iter_values(of.iter().map(|e| i128::from(e.row.montant.cents())))
                    .with_precision_and_scale(18, 2)
                    .map_err(io::Error::other)?,
            ),
            text(&|e| e.row.agence_id.to_string()),
        ];
        let batch = RecordBatch::try_new(Arc::clone(&EVENTS_SCHEMA), columns).map_err(io::Error::other)?;
        let mut writer =
            ArrowWriter::try_new(open(partition)?, Arc::clone(&EVENTS_SCHEMA), Some(properties.clone()))
                .map_err(io::Error::other)?;
        writer.write(&batch).map_err(io::Error::other)?;
        let inner = writer.into_inner().map_err(io::Error::other)?;
        files.push((partition, inner, of.len() as u64));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use mouvements_generator::{Generator, GeneratorConfig};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    #[test]
    fn each_partition_holds_its_events_in_order_with_the_feed_s_types() {
        let generator = Generator::new(GeneratorConfig::with_rows(3, 400).unwrap());
        let rows: Vec<Mouvement> = generator.rows(0..400).collect();
        let events: Vec<FeedEvent<'_>> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| FeedEvent {
                change_type: if i % 5 == 0 { "delete" } else { "update" },
                seq: i as u64 + 1,
                row,
            })
            .collect();
        let files = write_events(&events, |_| Ok(Vec::new())).unwrap();
        assert_eq!(files.iter().map(|f| f.2).sum::<u64>(), 400);
        for (partition, bytes, count) in files {
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap().build().unwrap();
            let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
            assert_eq!(batches[0].schema(), *EVENTS_SCHEMA);
            let seqs = batches[0].column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            assert_eq!(seqs.len() as u64, count);
            assert!(seqs.values().windows(2).all(|w| w[0] < w[1]), "in order");
            let first = rows[seqs.value(0) as usize - 1];
            assert_eq!(Partition { pays: first.pays, produit: first.produit }, partition);
        }
    }
}
