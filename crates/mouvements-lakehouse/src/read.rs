//! Reading a data file back, for `verify`: its bytes are untrusted. The schema must be the
//! one this crate writes; every row comes back as a [`Mouvement`] of the file's partition, or
//! the first thing wrong is named. A panic inside the Parquet decoder on hostile bytes is
//! caught and reported like any other error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type};
use arrow_array::{Array, RecordBatch};
use bytes::Bytes;
use mouvements_schema::{AgenceId, Montant, Mouvement, MouvementId, TypeOp};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::Partition;
use crate::parquet_files::{FILE_SCHEMA, date_of_days};

/// Why a data file cannot be read back as rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// Reads every row of a data file of `partition`, in file order, into `each`; returns the
/// row count. Stops at the first value that is not one of the data contract's.
pub fn read_rows(
    bytes: Bytes,
    partition: Partition,
    each: &mut dyn FnMut(Mouvement),
) -> Result<u64, ReadError> {
    match catch_unwind(AssertUnwindSafe(|| read(bytes, partition, each))) {
        Ok(result) => result,
        Err(_) => Err(ReadError("the Parquet decoder failed on these bytes".into())),
    }
}

fn read(bytes: Bytes, partition: Partition, each: &mut dyn FnMut(Mouvement)) -> Result<u64, ReadError> {
    let err = |e: &dyn std::fmt::Display| ReadError(e.to_string());
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| err(&e))?;
    let found =
        builder.schema().fields().iter().map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()));
    let wanted =
        FILE_SCHEMA.fields().iter().map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()));
    if !found.eq(wanted) {
        return Err(ReadError(format!(
            "schema {:?}, expected {:?}",
            builder.schema().fields(),
            FILE_SCHEMA.fields()
        )));
    }
    let reader = builder.with_batch_size(8192).build().map_err(|e| err(&e))?;
    let mut rows = 0;
    for batch in reader {
        let batch = batch.map_err(|e| err(&e))?;
        rows += rows_of(&batch, partition, each)?;
    }
    Ok(rows)
}

/// The rows of one batch.
fn rows_of(
    batch: &RecordBatch,
    partition: Partition,
    each: &mut dyn FnMut(Mouvement),
) -> Result<u64, ReadError> {
    let (ids, dates, types, montants, agences) = (
        batch.column(0).as_string::<i32>(),
        batch.column(1).as_primitive::<Date32Type>(),
        batch.column(2).as_string::<i32>(),
        batch.column(3).as_primitive::<Decimal128Type>(),
        batch.column(4).as_string::<i32>(),
    );
    if batch.columns().iter().any(|c| c.null_count() > 0) {
        return Err(ReadError("a value is null".into()));
    }
    for i in 0..batch.num_rows() {
        let bad = |column: &str, value: String| ReadError(format!("row {i} of a batch: {column} {value:?}"));
        let id: MouvementId =
            ids.value(i).parse().map_err(|_| bad("id_mouvement", ids.value(i).to_owned()))?;
        let days = dates.value(i);
        let date_op = date_of_days(days).ok_or_else(|| bad("date_op", days.to_string()))?;
        let type_op: TypeOp =
            types.value(i).parse().map_err(|_| bad("type_op", types.value(i).to_owned()))?;
        let cents =
            i64::try_from(montants.value(i)).map_err(|_| bad("montant", montants.value(i).to_string()))?;
        let agence_id: AgenceId =
            agences.value(i).parse().map_err(|_| bad("agence_id", agences.value(i).to_owned()))?;
        each(Mouvement {
            id_mouvement: id,
            date_op,
            produit: partition.produit,
            type_op,
            montant: Montant::from_cents(cents),
            agence_id,
            pays: partition.pays,
        });
    }
    Ok(batch.num_rows() as u64)
}
