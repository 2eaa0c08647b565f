//! The Delta log writer the lake's protocol calls at commit: the sink's file entries turned
//! into the lakehouse's data files, and its log functions behind the sink's `TableLog`.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use mouvements_lakehouse::Partition;
use mouvements_lakehouse::delta::{self, ChangeDataFile, DataFile, Table, checkpoint};
use mouvements_sink::{FileEntry, Manifest, TableCheckpoint, TableLog, layout};

use crate::generate::TOOL;

/// The Delta log of `delta/mouvements`. A commit reads the log several times (its version,
/// the files it still refers to, the commit, the checkpoint): each read is replayed from the
/// table the last one left, applying only the versions that are new, so a commit replays a
/// long history once.
#[derive(Default)]
pub struct DeltaLog {
    replayed: Mutex<Option<Replayed>>,
}

/// A log as last read, and the table it describes.
type Replayed = (Vec<(u64, Bytes)>, Table);

impl DeltaLog {
    /// `f` of the table `log` describes (replayed on the cached table, not cloned).
    fn with_table<R>(&self, log: &[(u64, Bytes)], f: impl FnOnce(&Table) -> R) -> Result<R, String> {
        let mut replayed = self.replayed.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut table, known) = match replayed.take() {
            Some((seen, table)) if log.starts_with(&seen) => (table, seen.len()),
            _ => (Table::default(), 0),
        };
        for (version, bytes) in &log[known..] {
            table.apply_version(*version, bytes).map_err(|e| e.to_string())?;
        }
        let result = f(&table);
        *replayed = Some((log.to_vec(), table));
        Ok(result)
    }
}

/// A file's path relative to the table folder, and its partition, from its manifest entry.
fn table_path(file: &FileEntry) -> Result<(&str, Partition), String> {
    let folder = format!("{}/", layout::DELTA);
    let path = file.path.strip_prefix(&folder).ok_or_else(|| format!("{} is not in {folder}", file.path))?;
    let partition = file
        .partition
        .as_deref()
        .and_then(Partition::parse)
        .ok_or_else(|| format!("{} has no partition", file.path))?;
    Ok((path, partition))
}

/// A data file of the table, from its entry in the manifest.
fn data_file(file: &FileEntry) -> Result<DataFile, String> {
    let (path, partition) = table_path(file)?;
    let stats = file.stats.clone().ok_or_else(|| format!("{} has no statistics", file.path))?;
    Ok(DataFile { path: path.to_owned(), partition, size: file.bytes, stats })
}

/// A change data file of the table, from its entry in the manifest.
fn change_data_file(file: &FileEntry) -> Result<ChangeDataFile, String> {
    let (path, partition) = table_path(file)?;
    Ok(ChangeDataFile { path: path.to_owned(), partition, size: file.bytes })
}

impl TableLog for DeltaLog {
    fn next_commit(&self, log: &[(u64, Bytes)], manifest: &Manifest) -> Result<Option<Vec<u8>>, String> {
        let files = manifest.table_files().into_iter().map(data_file).collect::<Result<Vec<_>, _>>()?;
        let latest = manifest.latest();
        let change_data = latest.change_data_files().map(change_data_file).collect::<Result<Vec<_>, _>>()?;
        self.with_table(log, |table| {
            delta::next_commit(table, &latest.dataset.uuid(), &files, &change_data, TOOL)
        })
    }

    fn referenced(&self, log: &[(u64, Bytes)]) -> Result<BTreeSet<String>, String> {
        self.with_table(log, |table| table.referenced.clone())
    }

    fn checkpoint(&self, log: &[(u64, Bytes)]) -> Result<Option<TableCheckpoint>, String> {
        // Nine versions in ten get none: known from the latest version's number, unreplayed.
        if !log.last().is_some_and(|(version, _)| checkpoint::due(*version)) {
            return Ok(None);
        }
        let written = self.with_table(log, checkpoint::write)?.map_err(|e| e.to_string())?;
        Ok(Some(TableCheckpoint {
            version: written.version,
            data: written.parquet,
            last: written.last_checkpoint,
        }))
    }
}

#[cfg(test)]
mod tests {
    use mouvements_lakehouse::Partition;
    use mouvements_schema::{Pays, Produit};

    use super::*;

    #[test]
    fn a_log_read_again_is_replayed_from_where_the_last_read_stopped() {
        let partition = Partition { pays: Pays::Fr, produit: Produit::Auto };
        let file = |n: u64| DataFile {
            path: format!("{partition}/part-{n}.parquet"),
            partition,
            size: n,
            stats: "{\"numRecords\":1}".into(),
        };
        let mut log: Vec<(u64, Bytes)> = Vec::new();
        let mut files = Vec::new();
        for n in 0..3 {
            files.push(file(n + 1));
            let table =
                delta::replay(&log.iter().map(|(v, b)| (*v, b.as_ref())).collect::<Vec<_>>()).unwrap();
            log.push((n, Bytes::from(delta::next_commit(&table, "id", &files, &[], "test").unwrap())));
        }
        let full = delta::replay(&log.iter().map(|(v, b)| (*v, b.as_ref())).collect::<Vec<_>>()).unwrap();
        let cached = DeltaLog::default();
        let table = |log: &[(u64, Bytes)]| cached.with_table(log, Table::clone);
        assert_eq!(table(&log[..1]).unwrap().version, Some(0));
        assert_eq!(table(&log).unwrap(), full, "extended by the new versions");
        assert_eq!(table(&log).unwrap(), full, "the same log again");
        // A log that is no extension of the last one (another writer's history) is replayed whole.
        let mut other = log.clone();
        other[1].1 = Bytes::from_static(b"{not json");
        assert!(table(&other).is_err());
        assert_eq!(table(&log).unwrap(), full);
    }
}
