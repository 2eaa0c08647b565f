//! Step 2, write a shard: the caller generates the rows once and writes them into the
//! shard's outputs, which this module names and stores; then the shard's record.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::runtime::Handle;

use super::prepare::record_object;
use super::{Run, Step};
use crate::manifest::{FileEntry, ShardEntry, ShardRecord};
use crate::{Layer, ObjectWriter, SinkError, crc32c_hex, layout};

/// What the caller's rows came to: the shard's rows, first and last ids, and its files.
#[derive(Debug, Clone, Default)]
pub struct Produced {
    /// Data rows.
    pub rows: u64,
    /// Id of the first row.
    pub first_id: String,
    /// Id of the last row.
    pub last_id: String,
    /// Every file written, from [`Output::finish`].
    pub files: Vec<FileEntry>,
}

/// The outputs of one shard, opened on demand.
pub struct ShardOutputs<'a> {
    run: &'a Run,
    index: u32,
    handle: Handle,
    cancel: Arc<AtomicBool>,
}

/// One output of a shard (a file, or twin files in staging/ and delta/): an `io::Write` that
/// streams to the store. Dropped unfinished, it aborts its uploads.
pub struct Output {
    writer: ObjectWriter,
    files: Vec<(String, Option<Layer>)>,
    partition: Option<String>,
    replaces: Option<String>,
}

impl Output {
    /// Completes the upload(s) and describes the stored file(s). `stats` is the Delta
    /// statistics JSON of a Parquet file, kept for its `add` action.
    pub fn finish(self, rows: u64, stats: Option<&str>) -> io::Result<Vec<FileEntry>> {
        let receipt = self.writer.finish()?;
        let crc32c = crc32c_hex(receipt.crc32c);
        Ok(self
            .files
            .into_iter()
            .map(|(path, layer)| FileEntry {
                path,
                layer,
                partition: self.partition.clone(),
                rows,
                bytes: receipt.bytes,
                crc32c: crc32c.clone(),
                stats: stats.filter(|_| layer == Some(Layer::Delta)).map(str::to_owned),
                replaces: self.replaces.clone(),
            })
            .collect())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl ShardOutputs<'_> {
    fn open(
        &self,
        files: Vec<(String, Option<Layer>)>,
        gzip: bool,
        partition: Option<String>,
    ) -> io::Result<Output> {
        let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
        let objects = &self.run.lake.objects;
        let shape = if partition.is_some() { self.run.parquet_shape } else { self.run.shape };
        let writer = objects
            .writer(&names, gzip, shape, &self.handle, Arc::clone(&self.cancel))
            .map_err(io::Error::other)?;
        Ok(Output { writer, files, partition, replaces: None })
    }

    /// The raw CSV shard (gzip-compressed for `csv-gz`), when the dataset has the raw layer.
    pub fn raw(&self) -> io::Result<Option<Output>> {
        let dataset = &self.run.dataset;
        if !dataset.layers.contains(Layer::Raw) {
            return Ok(None);
        }
        let name = layout::raw_shard(self.index, dataset);
        self.open(vec![(name, Some(Layer::Raw))], dataset.format.gzip(), None).map(Some)
    }

    /// The shard's anomaly labels, when the dataset has them.
    pub fn labels(&self) -> io::Result<Option<Output>> {
        let dataset = &self.run.dataset;
        if !dataset.labels {
            return Ok(None);
        }
        self.open(vec![(layout::labels(self.index, dataset), None)], false, None).map(Some)
    }

    /// The shard's part of the load's change feed, when the load carries changes.
    pub fn changes(&self) -> io::Result<Option<Output>> {
        let dataset = &self.run.dataset;
        if dataset.changes == 0.0 {
            return Ok(None);
        }
        self.open(vec![(layout::changes(self.index, dataset), None)], false, None).map(Some)
    }

    /// The shard's part of the rows the load delivers again, when it repeats some and has the
    /// raw layer (gzip-compressed like the raw shards).
    pub fn repeats(&self) -> io::Result<Option<Output>> {
        let dataset = &self.run.dataset;
        if dataset.duplicates == 0.0 || !dataset.layers.contains(Layer::Raw) {
            return Ok(None);
        }
        // Not the layer's shard: the load's rows are the raw shards'.
        let name = layout::repeats(self.index, dataset);
        self.open(vec![(name, None)], dataset.format.gzip(), None).map(Some)
    }

    /// The ground truth of the shard's part of the load's events, when the dataset has labels
    /// and the load events.
    pub fn event_labels(&self) -> io::Result<Option<Output>> {
        let dataset = &self.run.dataset;
        if !dataset.labels || !dataset.has_events() {
            return Ok(None);
        }
        self.open(vec![(layout::event_labels(self.index, dataset), None)], false, None).map(Some)
    }

    /// Whether the load's change events go into `staging/` too: it carries some, and the
    /// dataset has the staging layer.
    pub fn stages_changes(&self) -> bool {
        let dataset = &self.run.dataset;
        dataset.changes > 0.0 && dataset.layers.contains(Layer::Staging)
    }

    /// The shard's change events of one partition in `staging/` (as delivered), when the load
    /// [`stages_changes`](Self::stages_changes).
    pub fn staging_changes(&self, partition: &str) -> io::Result<Option<Output>> {
        let dataset = &self.run.dataset;
        if !self.stages_changes() {
            return Ok(None);
        }
        let name = layout::staging_changes(partition, self.index, dataset);
        // Not rows of the layer: its rows are the staging data files'.
        self.open(vec![(name, None)], false, Some(partition.to_owned())).map(Some)
    }

    /// Whether the load's change events go into the Delta table: it carries some, and the
    /// dataset has the delta layer.
    pub fn merges(&self) -> bool {
        let dataset = &self.run.dataset;
        dataset.changes > 0.0 && dataset.layers.contains(Layer::Delta)
    }

    /// The shard's change data file of one partition (the Delta table's Change Data Feed), when
    /// the load [`merges`](Self::merges).
    pub fn change_data(&self, partition: &str) -> io::Result<Option<Output>> {
        if !self.merges() {
            return Ok(None);
        }
        let name = layout::change_data_file(partition, self.index, &self.run.dataset);
        self.open(vec![(name, Some(Layer::Delta))], false, Some(partition.to_owned())).map(Some)
    }

    /// A Delta data file of an earlier load rewritten with this load's change events: `path`
    /// (from [`layout::rewritten_file`]) in `partition`, replacing the file `replaces`.
    pub fn rewrite(&self, path: String, partition: &str, replaces: String) -> io::Result<Output> {
        let output = self.open(vec![(path, Some(Layer::Delta))], false, Some(partition.to_owned()))?;
        Ok(Output { replaces: Some(replaces), ..output })
    }

    /// Whether the dataset has a Parquet layer (staging or delta).
    pub fn has_parquet(&self) -> bool {
        self.run.dataset.layers.has_parquet()
    }

    /// The shard's Parquet file of one partition (`pays=FR/produit=santé`), stored in every
    /// Parquet layer of the dataset at once; `None` when it has none.
    pub fn partition(&self, partition: &str) -> io::Result<Option<Output>> {
        let dataset = &self.run.dataset;
        let files: Vec<(String, Option<Layer>)> = [Layer::Staging, Layer::Delta]
            .into_iter()
            .filter(|l| dataset.layers.contains(*l))
            .map(|l| (layout::partition_file(l, partition, self.index, dataset), Some(l)))
            .collect();
        if files.is_empty() {
            return Ok(None);
        }
        self.open(files, false, Some(partition.to_owned())).map(Some)
    }
}

impl Run {
    /// Writes shard `index`: `produce` generates its rows into the outputs it opens and
    /// returns what it wrote; once every output is stored, the shard's record is. Blocking:
    /// call from a blocking thread. Any failure aborts the outputs still open; outputs already
    /// stored stay, unrecorded, and are rewritten by a retry.
    pub fn write_shard<F>(
        &self,
        index: u32,
        handle: &Handle,
        cancel: &Arc<AtomicBool>,
        produce: F,
    ) -> Result<ShardEntry, SinkError>
    where
        F: FnOnce(&ShardOutputs<'_>) -> io::Result<Produced>,
    {
        handle.block_on(self.check_owner_recently())?;
        let outputs = ShardOutputs { run: self, index, handle: handle.clone(), cancel: Arc::clone(cancel) };
        let shard = format!("{} (shard {index})", self.raw_url());
        let produced = produce(&outputs).map_err(|source| SinkError::Write { url: shard, source })?;
        self.lake.faults.after(Step::ShardStored)?;
        let entry = ShardEntry {
            index,
            rows: produced.rows,
            first_id: produced.first_id,
            last_id: produced.last_id,
            files: produced.files,
        };
        let record = ShardRecord { run_id: self.id.clone(), dataset: self.dataset, entry };
        // Written like the shard's outputs, from this thread (on a local lake, in place).
        let (name, json) = record_object(self, &record);
        let mut writer = self.lake.objects.writer(
            std::slice::from_ref(&name),
            false,
            self.shape,
            handle,
            Arc::clone(cancel),
        )?;
        writer
            .write_all(&json)
            .and_then(|()| writer.finish())
            .map_err(|source| SinkError::Write { url: self.lake.objects.url_of(&name), source })?;
        self.lake.faults.after(Step::ShardRecorded)?;
        Ok(record.entry)
    }
}
