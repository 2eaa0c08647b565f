//! Step 3, commit: once every shard is recorded by the run, remove what older datasets left,
//! create the manifest, then the staging `_SUCCESS`, the Delta commit and `raw/_SUCCESS`.
//! Every step is idempotent: any task of the run may repeat the commit, and a retried task
//! finishes one that crashed half-way.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use super::survey::{Survey, by_shard};
use super::{Run, Step};
use crate::manifest::{Load, Manifest, ShardEntry};
use crate::{Layer, SinkError, layout};

/// Deletes at once: enough to hide a store's latency.
const CONCURRENT_DELETES: usize = 32;

/// A table log as a commit reads it: from its newest checkpoint before the latest version
/// (a long history is not read whole), or whole, from version 0. Untrusted bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogEntries {
    /// The checkpoint `(version, bytes)` the entries follow; `None` for a log read whole.
    pub checkpoint: Option<(u64, Bytes)>,
    /// The entries `(version, bytes)` after it, in version order.
    pub versions: Vec<(u64, Bytes)>,
}

impl LogEntries {
    /// The latest version, if the log has one.
    pub fn latest(&self) -> Option<u64> {
        self.versions.last().map(|(v, _)| *v).or(self.checkpoint.as_ref().map(|(v, _)| *v))
    }
}

/// The writer of a table log (Delta's): the protocol reads the log and stores what this
/// returns; it knows the format. Log entries are untrusted input.
pub trait TableLog: Send + Sync {
    /// The next commit, given the log and the manifest whose latest load it commits (the
    /// table must hold the manifest's [`table_files`](Manifest::table_files), and a merge
    /// records the load's change data files), or `None` when the table's latest version
    /// already holds exactly these files.
    fn next_commit(&self, log: &LogEntries, manifest: &Manifest) -> Result<Option<Vec<u8>>, String>;

    /// Reads the table the log describes (later calls on the same log start from it); an
    /// error when it does not read.
    fn replay(&self, log: &LogEntries) -> Result<(), String>;

    /// The data files the log refers to, relative to the table's folder: from any version
    /// for a log read whole, from the checkpoint's on for one read from a checkpoint.
    fn referenced(&self, log: &LogEntries) -> Result<BTreeSet<String>, String>;

    /// The checkpoint of the log's latest version when that version gets one.
    fn checkpoint(&self, log: &LogEntries) -> Result<Option<TableCheckpoint>, String>;
}

/// A checkpoint of the table log, ready to store.
#[derive(Debug, Clone)]
pub struct TableCheckpoint {
    /// The version it holds.
    pub version: u64,
    /// The checkpoint file's bytes.
    pub data: Vec<u8>,
    /// The `_last_checkpoint` pointer's bytes.
    pub last: Vec<u8>,
}

/// Result of a commit attempt.
#[derive(Debug)]
pub enum CommitOutcome {
    /// The dataset is committed (by this call or by another task of the run).
    Committed(Box<Manifest>),
    /// Shards still missing: another task of the run will commit.
    Pending {
        /// Shard numbers without a record of this run.
        missing: Vec<u32>,
    },
}

impl Run {
    /// Commits the dataset if every shard is recorded by this run; see the module docs.
    pub async fn commit(&self, tool: &str) -> Result<CommitOutcome, SinkError> {
        if let Some(manifest) = self.already_committed() {
            if manifest.latest().run_id == self.id {
                self.finish(manifest, None).await?;
            }
            return Ok(CommitOutcome::Committed(Box::new(manifest.clone())));
        }
        // A manifest of a run that lost the lake to this one may land after this run cleared
        // the markers (an append committing as an overwrite takes the lake): cleared again,
        // and the commit starts over.
        for _ in 0..3 {
            if let Some(outcome) = self.try_commit(tool).await? {
                return Ok(outcome);
            }
        }
        Err(SinkError::TakenOver { url: self.raw_url(), run: "(another run, again and again)".into() })
    }

    /// One commit attempt; `None` when a lost run's manifest was found and cleared.
    async fn try_commit(&self, tool: &str) -> Result<Option<CommitOutcome>, SinkError> {
        self.check_owner().await?;
        let lake = &self.lake;
        let survey = lake.survey().await?;
        // Another task of this run committed since this one was prepared.
        if let Some(manifest) = survey.valid_manifest()
            && manifest.loads.iter().any(|l| l.run_id == self.id && l.dataset == self.dataset)
        {
            if manifest.latest().run_id == self.id {
                self.finish(manifest, None).await?;
            }
            return Ok(Some(CommitOutcome::Committed(Box::new(manifest.clone()))));
        }
        let records = lake.read_records(&survey, &layout::records_of(&self.key)).await?;
        let recorded = by_shard(
            records.into_iter().filter(|r| r.run_id == self.id && r.dataset == self.dataset).collect(),
        );
        let files: Vec<&str> =
            recorded.values().flat_map(|r| &r.entry.files).map(|f| f.path.as_str()).collect();
        let mut sizes = lake.stored_sizes(&survey, &files).await?.into_iter();
        let mut entries: BTreeMap<u32, ShardEntry> = BTreeMap::new();
        for (index, record) in recorded {
            // Every size is taken, in order, whatever the shard's fate.
            let stored: Vec<Option<u64>> = sizes.by_ref().take(record.entry.files.len()).collect();
            if record.entry.files.iter().zip(&stored).all(|(f, size)| *size == Some(f.bytes)) {
                entries.insert(index, record.entry);
            }
        }
        let missing: Vec<u32> = (0..self.dataset.shards).filter(|i| !entries.contains_key(i)).collect();
        if !missing.is_empty() {
            return Ok(Some(CommitOutcome::Pending { missing }));
        }
        let history = self.history(&survey)?;
        let shards: Vec<ShardEntry> = entries.into_values().collect();
        let load = Load {
            run_id: self.id.clone(),
            dataset: self.dataset,
            rows: shards.iter().map(|s| s.rows).sum(),
            bytes: shards.iter().flat_map(|s| &s.files).map(|f| f.bytes).sum(),
            delta_version: None,
            shards,
        };
        let mut manifest = match history {
            Some(history) => history.clone().with_load(tool, load),
            None => Manifest::first(tool, load),
        };
        let log = if self.dataset.layers.contains(Layer::Delta) {
            let log = self.read_log().await?;
            let latest = log.latest();
            let next = self.table_log()?.next_commit(&log, &manifest).map_err(|r| self.log_error(r))?;
            let version = match (next, latest) {
                (None, Some(latest)) => latest,
                (Some(_), Some(latest)) => latest + 1,
                (_, None) => 0,
            };
            manifest.loads.last_mut().expect("the manifest has this load").delta_version = Some(version);
            Some(log)
        } else {
            None
        };
        let files: BTreeSet<&str> = manifest.files().map(|f| f.path.as_str()).collect();
        self.remove_stale(&survey, &files, log.as_ref()).await?;
        lake.faults.after(Step::StaleRemoved)?;

        let json = serde_json::to_vec_pretty(&manifest).expect("manifests serialise");
        // Every shard file and record, of every task, is durable before the manifest names it.
        lake.objects.make_durable().await?;
        if self.dataset.load > 0 {
            // The history grows while it stays committed: every layer takes the load first
            // (the Delta version only adds its files), then the manifest is replaced whole
            // (one put, atomic on every store) by the run that owns the lake, checked again
            // just before. `raw/_SUCCESS` stays: every load the manifest lists is whole.
            self.check_owner().await?;
            self.finish_layers(&manifest, log).await?;
            self.check_owner().await?;
            lake.objects.put(layout::MANIFEST, Bytes::from(json)).await?;
            lake.faults.after(Step::ManifestWritten)?;
            self.mark_committed().await?;
            return Ok(Some(CommitOutcome::Committed(Box::new(manifest))));
        } else if !lake.objects.create(layout::MANIFEST, Bytes::from(json)).await? {
            // Another task committed first: it must be of this run, for this dataset.
            let existing = lake.objects.get(layout::MANIFEST).await?.map(|b| Manifest::parse(&b));
            match existing {
                Some(Ok(existing))
                    if existing.latest().run_id == self.id && existing.latest().dataset == self.dataset => {}
                _ => {
                    // A run this one took the lake from committed late: this run still owns
                    // the lake (or stops here), so that manifest goes and the commit is tried again.
                    self.check_owner().await?;
                    self.lake.objects.delete(layout::SUCCESS).await?;
                    self.lake.objects.delete(layout::STAGING_SUCCESS).await?;
                    self.lake.objects.delete(layout::MANIFEST).await?;
                    return Ok(None);
                }
            }
        }
        lake.faults.after(Step::ManifestWritten)?;
        self.finish(&manifest, log).await?;
        Ok(Some(CommitOutcome::Committed(Box::new(manifest))))
    }

    /// The committed history an appended load follows, read from the survey: its last load
    /// must be the one before this run's. `None` for a first load.
    fn history<'a>(&self, survey: &'a Survey) -> Result<Option<&'a Manifest>, SinkError> {
        if self.dataset.load == 0 {
            return Ok(None);
        }
        let history =
            survey.valid_manifest().filter(|_| survey.success).ok_or_else(|| SinkError::TakenOver {
                url: self.raw_url(),
                run: "(a run that removed the lake's history)".into(),
            })?;
        let latest = history.latest();
        if latest.dataset.check_next(&self.dataset).is_err() {
            return Err(SinkError::Appended {
                url: self.raw_url(),
                load: latest.dataset.load,
                run: latest.run_id.clone(),
            });
        }
        Ok(Some(history))
    }

    /// The steps after the manifest, each idempotent: the layers' ([`Run::finish_layers`]),
    /// then `raw/_SUCCESS` last.
    async fn finish(&self, manifest: &Manifest, log: Option<LogEntries>) -> Result<(), SinkError> {
        self.finish_layers(manifest, log).await?;
        self.mark_committed().await
    }

    /// `raw/_SUCCESS`, after the manifest and the markers are durable, and durable on return.
    async fn mark_committed(&self) -> Result<(), SinkError> {
        let objects = &self.lake.objects;
        objects.make_durable().await?;
        objects.put(layout::SUCCESS, Bytes::new()).await?;
        objects.make_durable().await
    }

    /// The staging `_SUCCESS`, the Delta commit of the manifest's files and the checkpoint it
    /// is due, each idempotent; `log` is the Delta log as this commit last read it, if it did.
    async fn finish_layers(&self, manifest: &Manifest, log: Option<LogEntries>) -> Result<(), SinkError> {
        let lake = &self.lake;
        if self.dataset.layers.contains(Layer::Staging) {
            lake.objects.put(layout::STAGING_SUCCESS, Bytes::new()).await?;
            lake.faults.after(Step::StagingMarked)?;
        }
        if self.dataset.layers.contains(Layer::Delta) {
            let log = self.commit_table(manifest, log).await?;
            lake.faults.after(Step::DeltaCommitted)?;
            self.checkpoint_table(&log).await?;
        }
        Ok(())
    }

    fn table_log(&self) -> Result<&dyn TableLog, SinkError> {
        self.lake.table_log.as_deref().ok_or_else(|| self.log_error("no Delta log writer was given".into()))
    }

    fn log_error(&self, reason: String) -> SinkError {
        SinkError::Corrupt { url: self.lake.objects.url_of(layout::DELTA_LOG), what: "Delta log", reason }
    }

    /// The Delta log, from its newest checkpoint before the latest version; read whole when
    /// it has none, or when the table it describes does not read from there.
    async fn read_log(&self) -> Result<LogEntries, SinkError> {
        let log = self.read_log_from(true).await?;
        if log.checkpoint.is_some() && self.table_log()?.replay(&log).is_err() {
            return self.read_log_from(false).await;
        }
        Ok(log)
    }

    /// The Delta log, from its newest checkpoint (when `checkpointed`) or from version 0.
    async fn read_log_from(&self, checkpointed: bool) -> Result<LogEntries, SinkError> {
        let objects = &self.lake.objects;
        let listed = objects.list(layout::DELTA_LOG).await?;
        let names = || listed.iter().filter(|l| !l.leftover).filter_map(|l| l.name.rsplit('/').next());
        let mut versions: Vec<u64> = names().filter_map(layout::parse_delta_commit).collect();
        versions.sort_unstable();
        let latest = versions.last().copied();
        let newest_checkpoint = names()
            .filter_map(layout::parse_delta_checkpoint)
            .filter(|c| checkpointed && latest.is_some_and(|latest| *c < latest))
            .max();
        let mut log = LogEntries::default();
        if let Some(version) = newest_checkpoint
            && let Some(bytes) = objects.get(&layout::delta_checkpoint(version)).await?
        {
            log.checkpoint = Some((version, bytes));
        }
        let after = log.checkpoint.as_ref().map(|(v, _)| *v);
        for version in versions.into_iter().filter(|v| after.is_none_or(|after| *v > after)) {
            if let Some(bytes) = objects.get(&layout::delta_commit(version)).await? {
                log.versions.push((version, bytes));
            }
        }
        Ok(log)
    }

    /// Writes the checkpoint of `log`'s latest version when it gets one (idempotent: the same
    /// log, the same bytes), the checkpoint before the pointer to it.
    async fn checkpoint_table(&self, log: &LogEntries) -> Result<(), SinkError> {
        let Some(checkpoint) = self.table_log()?.checkpoint(log).map_err(|r| self.log_error(r))? else {
            return Ok(());
        };
        let objects = &self.lake.objects;
        objects.put(&layout::delta_checkpoint(checkpoint.version), Bytes::from(checkpoint.data)).await?;
        objects.put(layout::LAST_CHECKPOINT, Bytes::from(checkpoint.last)).await
    }

    /// Creates the next Delta commit unless the table already holds the manifest's files; returns
    /// the log with it. `known` is the log as last read (read again when absent): if another
    /// writer created the next version since, the log is read again, and must then hold this
    /// dataset (another task of the run committed it).
    async fn commit_table(
        &self,
        manifest: &Manifest,
        mut known: Option<LogEntries>,
    ) -> Result<LogEntries, SinkError> {
        let table_log = self.table_log()?;
        let mut retried = false;
        loop {
            let mut log = match known.take() {
                Some(log) => log,
                None => self.read_log().await?,
            };
            let next = table_log.next_commit(&log, manifest).map_err(|r| self.log_error(r))?;
            let Some(bytes) = next else { return Ok(log) };
            let version = log.latest().map_or(0, |v| v + 1);
            let bytes = Bytes::from(bytes);
            if self.lake.objects.create(&layout::delta_commit(version), bytes.clone()).await? {
                log.versions.push((version, bytes));
                return Ok(log);
            }
            if retried {
                return Err(self.log_error(format!("version {version} was written by another writer")));
            }
            retried = true;
        }
    }

    /// Deletes what older datasets left: every file a reader of raw/ or staging/ would pick
    /// up that is not this dataset's, other runs' records, older claims, stale labels and
    /// local leftovers of data files; in delta/, only data files no log version refers to.
    async fn remove_stale(
        &self,
        survey: &Survey,
        ours: &BTreeSet<&str>,
        log: Option<&LogEntries>,
    ) -> Result<(), SinkError> {
        let own_records = format!("{}/", layout::records_of(&self.key));
        let claim = self.claim().unwrap_or(0);
        let mut referenced: BTreeSet<String> = match log {
            Some(log) => self.table_log()?.referenced(log).map_err(|r| self.log_error(r))?,
            None => BTreeSet::new(),
        };
        // A log read from a checkpoint does not name the files older versions removed: the
        // Delta files it leaves unnamed (kept for time travel, or left by a stopped run) are
        // judged on the whole log, read only then.
        let delta = format!("{}/", layout::DELTA);
        let unnamed = |name: &str, referenced: &BTreeSet<String>| {
            name.strip_prefix(&delta).is_some_and(|rest| {
                !layout::hidden(rest) && !referenced.contains(rest) && !ours.contains(name)
            })
        };
        if log.is_some_and(|log| log.checkpoint.is_some())
            && survey.objects.keys().any(|name| unnamed(name, &referenced))
        {
            let whole = self.read_log_from(false).await?;
            referenced = self.table_log()?.referenced(&whole).map_err(|r| self.log_error(r))?;
        }
        let stale = |name: &str| {
            if ours.contains(name) {
                return false;
            }
            if let Some(rest) = name.strip_prefix(&format!("{}/", layout::CLAIMS)) {
                return layout::parse_claim(rest).is_some_and(|seq| seq < claim);
            }
            if name.starts_with(&format!("{}/", layout::RECORDS)) {
                return !name.starts_with(&own_records);
            }
            if name.starts_with(&format!("{}/", layout::LABELS)) {
                return true;
            }
            if name.starts_with(&delta) {
                return log.is_some() && unnamed(name, &referenced);
            }
            !layout::hidden(name)
        };
        // Leftovers of bookkeeping (`_manifest.json#1`) may be a concurrent task's put in
        // flight, and no reader sees them: only data leftovers go.
        let leftovers = survey.leftovers.iter().filter(|n| !layout::hidden(n));
        let doomed: Vec<&String> = survey.objects.keys().filter(|n| stale(n)).chain(leftovers).collect();
        futures::stream::iter(doomed)
            .map(|name| self.lake.objects.delete(name))
            .buffer_unordered(CONCURRENT_DELETES)
            .try_collect::<()>()
            .await
    }
}
