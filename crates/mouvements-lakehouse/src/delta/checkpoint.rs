//! Checkpoints (PROTOCOL.md, "Checkpoints"): the table's state at a version in one Parquet
//! file, `NNNNNNNNNNNNNNNNNNNN.checkpoint.parquet`, one action per row (`protocol`,
//! `metaData`, then one `add` per live file), and `_last_checkpoint` naming it, as Delta Spark
//! writes them every [`INTERVAL`] versions: a reader of a long history starts there instead of
//! replaying every commit. The bytes are a pure function of the table.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int64Array, MapArray, RecordBatch, StructArray};
use arrow_schema::{Field, Fields, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use super::{ActiveFile, LogError, MODIFICATION_TIME, READER_VERSION, Table, WRITER_VERSION, encode};

/// Versions between checkpoints: Delta Spark's `checkpointInterval` default.
pub const INTERVAL: u64 = 10;

/// Whether `version` gets a checkpoint: every [`INTERVAL`]th, as Delta Spark writes them.
pub fn due(version: u64) -> bool {
    version > 0 && version.is_multiple_of(INTERVAL)
}

/// A checkpoint, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The version whose state it holds.
    pub version: u64,
    /// The `NNNNNNNNNNNNNNNNNNNN.checkpoint.parquet` bytes.
    pub parquet: Vec<u8>,
    /// The `_last_checkpoint` JSON.
    pub last_checkpoint: Vec<u8>,
}

/// Names of a map's parts as Spark and delta-kernel write them.
fn map_names() -> MapFieldNames {
    MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() }
}

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(Some(map_names()), StringBuilder::new(), StringBuilder::new())
}

/// A nullable struct column of `children`, valid on the rows of `valid`.
fn struct_column(children: Vec<(&str, ArrayRef)>, valid: Vec<bool>) -> Result<ArrayRef, LogError> {
    let fields: Fields =
        children.iter().map(|(name, array)| Field::new(*name, array.data_type().clone(), true)).collect();
    let arrays = children.into_iter().map(|(_, array)| array).collect();
    StructArray::try_new(fields, arrays, Some(valid.into()))
        .map(|array| Arc::new(array) as ArrayRef)
        .map_err(|e| LogError(format!("the checkpoint does not build: {e}")))
}

/// The checkpoint of `table` at its latest version.
pub fn write(table: &Table) -> Result<Checkpoint, LogError> {
    let version = table.version.ok_or_else(|| LogError("an empty log has no checkpoint".into()))?;
    let rows = 2 + table.active.len();
    let protocol = protocol_column(table.writer_version.unwrap_or(WRITER_VERSION), rows)?;
    let meta_data = meta_data_column(table, version, rows)?;
    let add = add_column(table, rows)?;
    let columns = [("protocol", protocol), ("metaData", meta_data), ("add", add)];
    let schema = Arc::new(Schema::new(
        columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns.into_iter().map(|(_, a)| a).collect())
        .map_err(|e| LogError(format!("the checkpoint does not build: {e}")))?;
    let mut parquet = Vec::new();
    let mut file = ArrowWriter::try_new(&mut parquet, schema, None).map_err(|e| LogError(e.to_string()))?;
    file.write(&batch).map_err(|e| LogError(e.to_string()))?;
    file.close().map_err(|e| LogError(e.to_string()))?;
    let last = json!({
        "version": version,
        "size": rows,
        "sizeInBytes": parquet.len(),
        "numOfAddFiles": table.active.len(),
    });
    Ok(Checkpoint { version, parquet, last_checkpoint: last.to_string().into_bytes() })
}

/// Whether each of `rows` rows is row `row`.
fn only(rows: usize, row: usize) -> Vec<bool> {
    (0..rows).map(|r| r == row).collect()
}

/// The `protocol` column: row 0.
fn protocol_column(writer_version: u64, rows: usize) -> Result<ArrayRef, LogError> {
    let (mut reader, mut writer) = (Int32Builder::new(), Int32Builder::new());
    reader.append_value(READER_VERSION as i32);
    writer.append_value(writer_version as i32);
    for _ in 1..rows {
        reader.append_null();
        writer.append_null();
    }
    struct_column(
        vec![
            ("minReaderVersion", Arc::new(reader.finish())),
            ("minWriterVersion", Arc::new(writer.finish())),
        ],
        only(rows, 0),
    )
}

/// The `metaData` column: row 1.
fn meta_data_column(table: &Table, version: u64, rows: usize) -> Result<ArrayRef, LogError> {
    let (Some(id), Some(schema)) = (&table.id, &table.schema) else {
        return Err(LogError(format!("version {version} has no metaData to checkpoint")));
    };
    let text = |first: Option<&str>, at: usize| {
        let mut b = StringBuilder::new();
        for row in 0..rows {
            b.append_option(first.filter(|_| row == at));
        }
        Arc::new(b.finish()) as ArrayRef
    };
    let mut provider = StringBuilder::new();
    let mut options = map_builder();
    let mut configuration = map_builder();
    let mut partition_columns = ListBuilder::new(StringBuilder::new());
    for row in 0..rows {
        if row == 1 {
            provider.append_value("parquet");
            options.append(true).map_err(|e| LogError(e.to_string()))?;
            for (key, value) in &table.configuration {
                configuration.keys().append_value(key);
                configuration.values().append_value(value);
            }
            configuration.append(true).map_err(|e| LogError(e.to_string()))?;
            for column in &table.partition_columns {
                partition_columns.values().append_value(column);
            }
            partition_columns.append(true);
        } else {
            provider.append_null();
            options.append(false).map_err(|e| LogError(e.to_string()))?;
            configuration.append(false).map_err(|e| LogError(e.to_string()))?;
            partition_columns.append(false);
        }
    }
    let format = struct_column(
        vec![("provider", Arc::new(provider.finish())), ("options", Arc::new(options.finish()))],
        only(rows, 1),
    )?;
    struct_column(
        vec![
            ("id", text(Some(id), 1)),
            ("name", text(None, 1)),
            ("description", text(None, 1)),
            ("format", format),
            ("schemaString", text(Some(schema), 1)),
            ("partitionColumns", Arc::new(partition_columns.finish())),
            ("configuration", Arc::new(configuration.finish())),
            ("createdTime", Arc::new(Int64Array::new_null(rows))),
        ],
        only(rows, 1),
    )
}

/// The `add` column: one row per live file, from row 2.
fn add_column(table: &Table, rows: usize) -> Result<ArrayRef, LogError> {
    let mut path = StringBuilder::new();
    let mut values = map_builder();
    let mut size = Int64Builder::new();
    let mut modification = Int64Builder::new();
    let mut data_change = BooleanBuilder::new();
    let mut stats = StringBuilder::new();
    for _ in 0..2 {
        path.append_null();
        values.append(false).map_err(|e| LogError(e.to_string()))?;
        size.append_null();
        modification.append_null();
        data_change.append_null();
        stats.append_null();
    }
    for (file_path, file) in &table.active {
        path.append_value(encode(file_path));
        for (key, value) in &file.partition_values {
            values.keys().append_value(key);
            values.values().append_value(value);
        }
        values.append(true).map_err(|e| LogError(e.to_string()))?;
        size.append_value(i64::try_from(file.size).map_err(|_| LogError(format!("{file_path} is too big")))?);
        modification.append_value(MODIFICATION_TIME);
        data_change.append_value(false);
        stats.append_option(file.stats.as_deref());
    }
    struct_column(
        vec![
            ("path", Arc::new(path.finish())),
            ("partitionValues", Arc::new(values.finish())),
            ("size", Arc::new(size.finish())),
            ("modificationTime", Arc::new(modification.finish())),
            ("dataChange", Arc::new(data_change.finish())),
            ("stats", Arc::new(stats.finish())),
        ],
        (0..rows).map(|r| r >= 2).collect(),
    )
}

/// The version `_last_checkpoint` names (untrusted bytes).
pub fn parse_last(bytes: &[u8]) -> Result<u64, LogError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| LogError(format!("_last_checkpoint: {e}")))?;
    value["version"].as_u64().ok_or_else(|| LogError("_last_checkpoint has no version".into()))
}

/// The live files a checkpoint holds, by decoded path, with their sizes (untrusted bytes).
pub fn read_files(bytes: Bytes) -> Result<BTreeMap<String, u64>, LogError> {
    read_table(0, bytes).map(|table| table.active.into_iter().map(|(path, file)| (path, file.size)).collect())
}

/// The table a checkpoint of `version` holds (untrusted bytes: a panic of the decoder is an
/// error like any other): its protocol, metadata and live files, which a log replayed from
/// there extends. The files older versions removed are not in it: [`Table::referenced`] names
/// the live files only, and [`Table::versions`] starts empty.
pub fn read_table(version: u64, bytes: Bytes) -> Result<Table, LogError> {
    match catch_unwind(AssertUnwindSafe(|| read(version, bytes))) {
        Ok(result) => result,
        Err(_) => Err(LogError("the Parquet decoder failed on the checkpoint".into())),
    }
}

/// The string entries of row `row` of a map column.
fn map_entries(map: &MapArray, row: usize) -> Result<BTreeMap<String, String>, LogError> {
    let entries = map.value(row);
    let (Some(keys), Some(values)) =
        (entries.column(0).as_string_opt::<i32>(), entries.column(1).as_string_opt::<i32>())
    else {
        return Err(LogError("the checkpoint has a map that is not of strings".into()));
    };
    (0..entries.len())
        .map(|i| {
            if keys.is_null(i) || values.is_null(i) {
                return Err(LogError("the checkpoint has a null map entry".into()));
            }
            Ok((keys.value(i).to_owned(), values.value(i).to_owned()))
        })
        .collect()
}

/// A child column of a struct column, of the type `cast` picks.
fn child<'a, T: ?Sized>(
    parent: &'a StructArray,
    name: &str,
    cast: impl FnOnce(&'a ArrayRef) -> Option<&'a T>,
) -> Result<&'a T, LogError> {
    parent
        .column_by_name(name)
        .and_then(cast)
        .ok_or_else(|| LogError(format!("the checkpoint has no readable {name}")))
}

fn read(version: u64, bytes: Bytes) -> Result<Table, LogError> {
    let err = |e: &dyn std::fmt::Display| LogError(format!("the checkpoint does not read: {e}"));
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| err(&e))?.build().map_err(|e| err(&e))?;
    let mut table = Table { version: Some(version), ..Table::default() };
    for batch in reader {
        let batch = batch.map_err(|e| err(&e))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_struct_opt())
                .ok_or_else(|| LogError(format!("the checkpoint has no {name} column")))
        };
        let protocol = column("protocol")?;
        let reader = child(protocol, "minReaderVersion", |c| c.as_primitive_opt::<Int32Type>())?;
        let writer = child(protocol, "minWriterVersion", |c| c.as_primitive_opt::<Int32Type>())?;
        for row in (0..protocol.len()).filter(|r| protocol.is_valid(*r)) {
            let version = |v: &arrow_array::Int32Array| {
                v.is_valid(row).then(|| u64::try_from(v.value(row)).ok()).flatten()
            };
            let (Some(reader), Some(writer)) = (version(reader), version(writer)) else {
                return Err(LogError(format!("the checkpoint's protocol of row {row} has no versions")));
            };
            table.writer_version = Some(super::supported_protocol(reader, writer).map_err(LogError)?);
        }
        let meta = column("metaData")?;
        let id = child(meta, "id", |c| c.as_string_opt::<i32>())?;
        let schema = child(meta, "schemaString", |c| c.as_string_opt::<i32>())?;
        let partition_columns = child(meta, "partitionColumns", |c| c.as_list_opt::<i32>())?;
        let configuration = child(meta, "configuration", |c| c.as_map_opt())?;
        for row in (0..meta.len()).filter(|r| meta.is_valid(*r)) {
            if id.is_null(row) || schema.is_null(row) {
                return Err(LogError(format!("the checkpoint's metaData of row {row} has no id or schema")));
            }
            table.id = Some(id.value(row).to_owned());
            table.schema = Some(schema.value(row).to_owned());
            let columns = partition_columns.value(row);
            let columns = columns
                .as_string_opt::<i32>()
                .ok_or_else(|| LogError("the checkpoint's partitionColumns are not strings".into()))?;
            table.partition_columns = columns.iter().map(|c| c.unwrap_or_default().to_owned()).collect();
            table.configuration =
                if configuration.is_null(row) { BTreeMap::new() } else { map_entries(configuration, row)? };
        }
        let add = column("add")?;
        let path = child(add, "path", |c| c.as_string_opt::<i32>())?;
        let size = child(add, "size", |c| c.as_primitive_opt::<Int64Type>())?;
        let values = child(add, "partitionValues", |c| c.as_map_opt())?;
        // Statistics are optional (Delta Spark's `writeStatsAsJson=false` leaves them out).
        let stats = add.column_by_name("stats").and_then(|c| c.as_string_opt::<i32>());
        for row in (0..add.len()).filter(|r| add.is_valid(*r)) {
            if path.is_null(row) || size.is_null(row) || values.is_null(row) {
                return Err(LogError(format!(
                    "the checkpoint's add of row {row} has no path, size or partition values"
                )));
            }
            let decoded = super::decode(path.value(row)).map_err(LogError)?;
            let bytes = u64::try_from(size.value(row))
                .map_err(|_| LogError(format!("{decoded} has a negative size")))?;
            let file = ActiveFile {
                size: bytes,
                partition_values: map_entries(values, row)?,
                stats: stats.filter(|s| s.is_valid(row)).map(|s| s.value(row).to_owned()),
            };
            table.referenced.insert(decoded.clone());
            table.active.insert(decoded, file);
        }
    }
    if table.id.is_none() || table.writer_version.is_none() {
        return Err(LogError("the checkpoint has no protocol or no metaData".into()));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Partition;
    use crate::delta::{DataFile, next_commit, replay};
    use mouvements_schema::{Pays, Produit};

    #[test]
    fn a_checkpoint_holds_the_live_files_and_reads_back() {
        let partition = Partition { pays: Pays::Fr, produit: Produit::Sante };
        let file = |name: &str, size| DataFile {
            path: format!("{partition}/{name}"),
            partition,
            size,
            stats: "{\"numRecords\":1}".into(),
        };
        let v0 = next_commit(&Table::default(), "id", &[file("a.parquet", 10)], &[], "test").unwrap();
        let log = [(0, v0.as_slice())];
        let v1 = next_commit(
            &replay(&log).unwrap(),
            "id",
            &[file("a.parquet", 10), file("b.parquet", 20)],
            &[],
            "test",
        )
        .unwrap();
        assert!(String::from_utf8_lossy(&v1).contains("\"mode\":\"Append\""));
        let table = replay(&[(0, v0.as_slice()), (1, v1.as_slice())]).unwrap();
        let checkpoint = write(&table).unwrap();
        assert_eq!(checkpoint, write(&table).unwrap(), "the same table, the same bytes");
        assert_eq!(parse_last(&checkpoint.last_checkpoint).unwrap(), 1);
        let files = read_files(checkpoint.parquet.clone().into()).unwrap();
        let expected: BTreeMap<String, u64> = table.active.iter().map(|(p, f)| (p.clone(), f.size)).collect();
        assert_eq!(files, expected);
        // A table read back from its checkpoint is the table (but the history before it), and
        // checkpoints again to the same bytes.
        let read = read_table(1, checkpoint.parquet.clone().into()).unwrap();
        let latest = Table {
            referenced: table.active.keys().cloned().collect(),
            versions: BTreeMap::new(),
            ..table.clone()
        };
        assert_eq!(read, latest);
        assert_eq!(write(&read).unwrap(), checkpoint);
        assert!(read_files(Bytes::from_static(b"PAR1 not a checkpoint")).is_err());
        assert!(read_table(1, Bytes::from_static(b"PAR1 not a checkpoint")).is_err());
        // A table another writer upgraded past what this tool writes is refused, as in a replay.
        let newer = Table { writer_version: Some(7), ..table.clone() };
        let refused = read_table(1, write(&newer).unwrap().parquet.into()).unwrap_err();
        assert!(refused.to_string().contains("protocol 1/7"), "{refused}");
        assert!(due(10) && due(20) && !due(0) && !due(11));
    }
}
