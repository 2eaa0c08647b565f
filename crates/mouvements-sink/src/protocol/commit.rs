//! Step 3, commit: once every shard is recorded by the run, remove what older datasets left,
//! create the manifest, then the staging `_SUCCESS`, the Delta commit and `raw/_SUCCESS`.
//! Every step is idempotent: any task of the run may repeat the commit, and a retried task
//! finishes one that crashed half-way.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use super::survey::{Survey, by_shard, parse_manifest};
use super::{Run, Step};
use crate::manifest::{FileEntry, MANIFEST_VERSION, Manifest, ShardEntry};
use crate::{Dataset, Layer, SinkError, layout};

/// Deletes at once: enough to hide a store's latency.
const CONCURRENT_DELETES: usize = 32;

/// The writer of a table log (Delta's): the protocol reads the log and stores what this
/// returns; it knows the format. Log entries are untrusted input.
pub trait TableLog: Send + Sync {
    /// The next commit, given the log's entries `(version, bytes)` in version order and the
    /// dataset's data files in the table, or `None` when the table's latest version already
    /// holds exactly these files.
    fn next_commit(
        &self,
        log: &[(u64, Bytes)],
        dataset: &Dataset,
        files: &[&FileEntry],
    ) -> Result<Option<Vec<u8>>, String>;

    /// The data files any version of the log refers to, relative to the table's folder.
    fn referenced(&self, log: &[(u64, Bytes)]) -> Result<BTreeSet<String>, String>;
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
            if manifest.run_id == self.id {
                self.finish(manifest).await?;
            }
            return Ok(CommitOutcome::Committed(Box::new(manifest.clone())));
        }
        self.check_owner().await?;
        let lake = &self.lake;
        let survey = lake.survey().await?;
        let records = lake.read_records(&survey, &layout::records_of(&self.key)).await?;
        let mut entries: BTreeMap<u32, ShardEntry> = BTreeMap::new();
        for (index, record) in by_shard(
            records.into_iter().filter(|r| r.run_id == self.id && r.dataset == self.dataset).collect(),
        ) {
            if record.entry.files.iter().all(|f| survey.objects.get(&f.path) == Some(&f.bytes)) {
                entries.insert(index, record.entry);
            }
        }
        let missing: Vec<u32> = (0..self.dataset.shards).filter(|i| !entries.contains_key(i)).collect();
        if !missing.is_empty() {
            return Ok(CommitOutcome::Pending { missing });
        }
        let shards: Vec<ShardEntry> = entries.into_values().collect();
        let files: BTreeSet<&str> = shards.iter().flat_map(|s| &s.files).map(|f| f.path.as_str()).collect();

        let (log, delta_version) = if self.dataset.layers.contains(Layer::Delta) {
            let log = self.read_log().await?;
            let delta_files: Vec<&FileEntry> =
                shards.iter().flat_map(|s| &s.files).filter(|f| f.layer == Some(Layer::Delta)).collect();
            let latest = log.last().map(|(v, _)| *v);
            let next = self
                .table_log()?
                .next_commit(&log, &self.dataset, &delta_files)
                .map_err(|r| self.log_error(r))?;
            let version = match (next, latest) {
                (None, Some(latest)) => latest,
                (Some(_), Some(latest)) => latest + 1,
                (_, None) => 0,
            };
            (Some(log), Some(version))
        } else {
            (None, None)
        };
        self.remove_stale(&survey, &files, log.as_deref()).await?;
        lake.faults.after(Step::StaleRemoved)?;

        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            tool: tool.to_owned(),
            run_id: self.id.clone(),
            dataset: self.dataset,
            rows: shards.iter().map(|s| s.rows).sum(),
            bytes: shards.iter().flat_map(|s| &s.files).map(|f| f.bytes).sum(),
            delta_version,
            shards,
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifests serialise");
        // Every shard file and record, of every task, is durable before the manifest names it.
        lake.objects.make_durable().await?;
        if !lake.objects.create(layout::MANIFEST, Bytes::from(json)).await? {
            // Another task committed first: it must be of this run, for this dataset.
            let existing = lake.objects.get(layout::MANIFEST).await?.map(|b| parse_manifest(&b));
            match existing {
                Some(Ok(existing)) if existing.run_id == self.id && existing.dataset == self.dataset => {}
                Some(Ok(existing)) => {
                    return Err(SinkError::TakenOver { url: self.raw_url(), run: existing.run_id });
                }
                _ => return Err(SinkError::TakenOver { url: self.raw_url(), run: "(unknown)".into() }),
            }
        }
        lake.faults.after(Step::ManifestWritten)?;
        self.finish(&manifest).await?;
        Ok(CommitOutcome::Committed(Box::new(manifest)))
    }

    /// The steps after the manifest, each idempotent: the staging `_SUCCESS`, the Delta
    /// commit, and `raw/_SUCCESS` last.
    async fn finish(&self, manifest: &Manifest) -> Result<(), SinkError> {
        let lake = &self.lake;
        if self.dataset.layers.contains(Layer::Staging) {
            lake.objects.put(layout::STAGING_SUCCESS, Bytes::new()).await?;
            lake.faults.after(Step::StagingMarked)?;
        }
        if self.dataset.layers.contains(Layer::Delta) {
            let files: Vec<&FileEntry> = manifest.layer_files(Layer::Delta).collect();
            self.commit_table(&files).await?;
            lake.faults.after(Step::DeltaCommitted)?;
        }
        // The manifest and the markers before `raw/_SUCCESS`, which is durable on return.
        lake.objects.make_durable().await?;
        lake.objects.put(layout::SUCCESS, Bytes::new()).await?;
        lake.objects.make_durable().await
    }

    fn table_log(&self) -> Result<&dyn TableLog, SinkError> {
        self.lake.table_log.as_deref().ok_or_else(|| self.log_error("no Delta log writer was given".into()))
    }

    fn log_error(&self, reason: String) -> SinkError {
        SinkError::Corrupt { url: self.lake.objects.url_of(layout::DELTA_LOG), what: "Delta log", reason }
    }

    /// The Delta log's entries, in version order.
    async fn read_log(&self) -> Result<Vec<(u64, Bytes)>, SinkError> {
        let objects = &self.lake.objects;
        let listed = objects.list(layout::DELTA_LOG).await?;
        let mut versions: Vec<u64> = listed
            .iter()
            .filter(|l| !l.leftover)
            .filter_map(|l| l.name.rsplit('/').next().and_then(layout::parse_delta_commit))
            .collect();
        versions.sort_unstable();
        let mut log = Vec::with_capacity(versions.len());
        for version in versions {
            if let Some(bytes) = objects.get(&layout::delta_commit(version)).await? {
                log.push((version, bytes));
            }
        }
        Ok(log)
    }

    /// Creates the next Delta commit unless the table already holds exactly `files`. If
    /// another writer created that version first, the log is read again: it must now hold
    /// this dataset (another task of the run committed it).
    async fn commit_table(&self, files: &[&FileEntry]) -> Result<(), SinkError> {
        let table_log = self.table_log()?;
        for attempt in 0..2 {
            let log = self.read_log().await?;
            let next = table_log.next_commit(&log, &self.dataset, files).map_err(|r| self.log_error(r))?;
            let Some(bytes) = next else { return Ok(()) };
            let version = log.last().map_or(0, |(v, _)| v + 1);
            if self.lake.objects.create(&layout::delta_commit(version), Bytes::from(bytes)).await? {
                return Ok(());
            }
            if attempt == 1 {
                return Err(self.log_error(format!("version {version} was written by another writer")));
            }
        }
        Ok(())
    }

    /// Deletes what older datasets left: every file a reader of raw/ or staging/ would pick
    /// up that is not this dataset's, other runs' records, older claims, stale labels and
    /// local leftovers of data files; in delta/, only data files no log version refers to.
    async fn remove_stale(
        &self,
        survey: &Survey,
        ours: &BTreeSet<&str>,
        log: Option<&[(u64, Bytes)]>,
    ) -> Result<(), SinkError> {
        let own_records = format!("{}/", layout::records_of(&self.key));
        let claim = self.claim().unwrap_or(0);
        let referenced: BTreeSet<String> = match log {
            Some(log) => self.table_log()?.referenced(log).map_err(|r| self.log_error(r))?,
            None => BTreeSet::new(),
        };
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
            if let Some(rest) = name.strip_prefix(&format!("{}/", layout::DELTA)) {
                return log.is_some() && !layout::hidden(rest) && !referenced.contains(rest);
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
