//! The Delta log writer the lake's protocol calls at commit: the sink's file entries turned
//! into the lakehouse's data files, and its log functions behind the sink's `TableLog`.

use std::collections::BTreeSet;

use bytes::Bytes;
use mouvements_lakehouse::Partition;
use mouvements_lakehouse::delta::{self, DataFile, checkpoint};
use mouvements_sink::{Dataset, FileEntry, TableCheckpoint, TableLog, layout};

use crate::generate::TOOL;

/// The Delta log of `delta/mouvements`.
pub struct DeltaLog;

/// The log entries as the lakehouse reads them.
fn entries(log: &[(u64, Bytes)]) -> Vec<(u64, &[u8])> {
    log.iter().map(|(version, bytes)| (*version, bytes.as_ref())).collect()
}

/// A data file of the table, from its entry in the manifest.
fn data_file(file: &FileEntry) -> Result<DataFile, String> {
    let folder = format!("{}/", layout::DELTA);
    let path = file.path.strip_prefix(&folder).ok_or_else(|| format!("{} is not in {folder}", file.path))?;
    let partition = file
        .partition
        .as_deref()
        .and_then(Partition::parse)
        .ok_or_else(|| format!("{} has no partition", file.path))?;
    let stats = file.stats.clone().ok_or_else(|| format!("{} has no statistics", file.path))?;
    Ok(DataFile { path: path.to_owned(), partition, size: file.bytes, stats })
}

impl TableLog for DeltaLog {
    fn next_commit(
        &self,
        log: &[(u64, Bytes)],
        dataset: &Dataset,
        files: &[&FileEntry],
    ) -> Result<Option<Vec<u8>>, String> {
        let files = files.iter().map(|f| data_file(f)).collect::<Result<Vec<_>, _>>()?;
        delta::next_commit(&entries(log), &dataset.uuid(), &files, TOOL).map_err(|e| e.to_string())
    }

    fn referenced(&self, log: &[(u64, Bytes)]) -> Result<BTreeSet<String>, String> {
        delta::replay(&entries(log)).map(|table| table.referenced).map_err(|e| e.to_string())
    }

    fn checkpoint(&self, log: &[(u64, Bytes)]) -> Result<Option<TableCheckpoint>, String> {
        // Nine versions in ten get none: known from the latest version's number, unreplayed.
        if !log.last().is_some_and(|(version, _)| checkpoint::due(*version)) {
            return Ok(None);
        }
        let table = delta::replay(&entries(log)).map_err(|e| e.to_string())?;
        let written = checkpoint::write(&table).map_err(|e| e.to_string())?;
        Ok(Some(TableCheckpoint {
            version: written.version,
            data: written.parquet,
            last: written.last_checkpoint,
        }))
    }
}
