//! The Delta log writer the lake's protocol calls at commit: the sink's file entries turned
//! into the lakehouse's data files, and its log functions behind the sink's `TableLog`.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use mouvements_lakehouse::Partition;
use mouvements_lakehouse::delta::{self, ChangeDataFile, DataFile, Table, checkpoint};
use mouvements_sink::{FileEntry, LogEntries, Manifest, TableCheckpoint, TableLog, layout};

use crate::generate::TOOL;

/// The Delta log of `delta/mouvements`. A commit reads the log several times (its version,
/// the files it still refers to, the commit, the checkpoint): each read is replayed from the
/// table the last one left, applying only the versions that are new; a log read from a
/// checkpoint starts from the table it holds. (A commit that must also read the log whole,
/// to judge a file the tail does not name, replays the tail once more after it.)
#[derive(Default)]
pub struct DeltaLog {
    replayed: Mutex<Option<Replayed>>,
}

/// A log as last read, and the table it describes.
type Replayed = (LogEntries, Table);

impl DeltaLog {
    /// `f` of the table `log` describes (replayed on the cached table, not cloned).
    fn with_table<R>(&self, log: &LogEntries, f: impl FnOnce(&Table) -> R) -> Result<R, String> {
        let mut replayed = self.replayed.lock().unwrap_or_else(PoisonError::into_inner);
        let cached = replayed.take().filter(|(seen, _)| {
            seen.checkpoint == log.checkpoint && log.versions.starts_with(&seen.versions)
        });
        let (mut table, known) = match (cached, &log.checkpoint) {
            (Some((seen, table)), _) => (table, seen.versions.len()),
            (None, Some((version, bytes))) => {
                (checkpoint::read_table(*version, bytes.clone()).map_err(|e| e.to_string())?, 0)
            }
            (None, None) => (Table::default(), 0),
        };
        for (version, bytes) in &log.versions[known..] {
            table.apply_version(*version, bytes).map_err(|e| e.to_string())?;
        }
        let result = f(&table);
        *replayed = Some((log.clone(), table));
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
    fn next_commit(&self, log: &LogEntries, manifest: &Manifest) -> Result<Option<Vec<u8>>, String> {
        let files = manifest.table_files().into_iter().map(data_file).collect::<Result<Vec<_>, _>>()?;
        let latest = manifest.latest();
        let change_data = latest.change_data_files().map(change_data_file).collect::<Result<Vec<_>, _>>()?;
        self.with_table(log, |table| {
            delta::next_commit(table, &latest.dataset.uuid(), &files, &change_data, TOOL)
        })
    }

    fn replay(&self, log: &LogEntries) -> Result<(), String> {
        self.with_table(log, |_| ())
    }

    fn referenced(&self, log: &LogEntries) -> Result<BTreeSet<String>, String> {
        self.with_table(log, |table| table.referenced.clone())
    }

    fn checkpoint(&self, log: &LogEntries) -> Result<Option<TableCheckpoint>, String> {
        // Nine versions in ten get none: known from the latest version's number, unreplayed.
        if !log.versions.last().is_some_and(|(version, _)| checkpoint::due(*version)) {
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
    use bytes::Bytes;
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
        let whole = |versions: &[(u64, Bytes)]| LogEntries { checkpoint: None, versions: versions.to_vec() };
        let table = |log: &LogEntries| cached.with_table(log, Table::clone);
        assert_eq!(table(&whole(&log[..1])).unwrap().version, Some(0));
        assert_eq!(table(&whole(&log)).unwrap(), full, "extended by the new versions");
        assert_eq!(table(&whole(&log)).unwrap(), full, "the same log again");
        // A log that is no extension of the last one (another writer's history) is replayed whole.
        let mut other = log.clone();
        other[1].1 = Bytes::from_static(b"{not json");
        assert!(table(&whole(&other)).is_err());
        assert_eq!(table(&whole(&log)).unwrap(), full);
        // Read from a checkpoint of version 1: the same latest table, knowing only the files
        // from there, and the same checkpoint when one is due.
        let at_one =
            delta::replay(&log[..2].iter().map(|(v, b)| (*v, b.as_ref())).collect::<Vec<_>>()).unwrap();
        let written = checkpoint::write(&at_one).unwrap();
        let tail =
            LogEntries { checkpoint: Some((1, Bytes::from(written.parquet))), versions: log[2..].to_vec() };
        let from_checkpoint = table(&tail).unwrap();
        assert_eq!(from_checkpoint.active, full.active);
        assert_eq!(from_checkpoint.version, Some(2));
        assert_eq!(checkpoint::write(&from_checkpoint).unwrap(), checkpoint::write(&full).unwrap());
        let broken = LogEntries { checkpoint: Some((1, Bytes::from_static(b"PAR1"))), ..tail };
        assert!(cached.replay(&broken).is_err(), "a checkpoint that does not read is an error");
    }
}
