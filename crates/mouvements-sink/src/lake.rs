//! `Lake`: the lake behind one URL, and its commit protocol. Shards are written first (each
//! whole or not at all), each followed by its record in `raw/_shards/`; the task that finds
//! every shard recorded removes what a previous dataset left, writes `raw/_manifest.json`
//! with a create-if-absent put (so two tasks cannot both commit) and then `raw/_SUCCESS`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use tokio::runtime::Handle;

use crate::layout::{self, LABELS, MANIFEST, RAW, RECORDS, SUCCESS, ShardFormat};
use crate::manifest::{Dataset, MANIFEST_VERSION, Manifest, ShardEntry, ShardRecord, crc32c_hex};
use crate::writer::UploadShape;
use crate::{LakeUrl, ShardReader, ShardWriter, SinkError, StoreOptions, store};

/// What to do when the destination already holds data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Refuse a committed dataset or another dataset's objects.
    #[default]
    Fresh,
    /// Replace whatever is there.
    Overwrite,
    /// Keep the shards that match their record and checksum; write the rest.
    Resume,
}

/// What lies in `raw/`.
#[derive(Debug, Default)]
pub struct Survey {
    /// Whether `_SUCCESS` exists.
    pub success: bool,
    /// The manifest, or why it could not be read.
    pub manifest: Option<Result<Manifest, String>>,
    /// Readable shard records.
    pub records: Vec<ShardRecord>,
    /// Shard objects (by name) and their sizes.
    pub shards: BTreeMap<String, u64>,
    /// Anomaly label objects (names relative to `raw/`).
    pub labels: Vec<String>,
    /// Anything else under `raw/` (names relative to it), besides bookkeeping.
    pub strays: Vec<String>,
}

impl Survey {
    /// The recorded entries of `dataset`'s shards, by shard number.
    fn recorded(&self, dataset: &Dataset) -> BTreeMap<u32, ShardEntry> {
        self.records
            .iter()
            .filter(|r| r.dataset == *dataset)
            .map(|r| (r.entry.index, r.entry.clone()))
            .collect()
    }
}

/// Result of a commit attempt.
#[derive(Debug)]
pub enum CommitOutcome {
    /// The dataset is committed (by this call or by another task).
    Committed(Manifest),
    /// Shards still missing: another task will commit.
    Pending {
        /// Shard numbers without a record.
        missing: Vec<u32>,
    },
}

/// A lake: a store and the folder it starts at.
pub struct Lake {
    url: LakeUrl,
    store: Arc<dyn ObjectStore>,
    root: String,
    shape: UploadShape,
}

/// Parts for local disks: no minimum size there, and small parts keep memory low (with 4 MiB
/// parts a 10 M-row run peaked at 72 MiB RSS, the allocator keeping freed parts; see the bench).
const LOCAL_SHAPE: UploadShape = UploadShape { part_size: 1 << 20, parts_in_flight: 2 };
/// Parts for object stores: 16 MiB parts, 4 in flight, keep a shard's upload busy on a fast
/// link while bounding memory to ~80 MiB per shard being written.
const CLOUD_SHAPE: UploadShape = UploadShape { part_size: 16 << 20, parts_in_flight: 4 };

impl Lake {
    /// Opens the lake at `url`; a local folder is created and checked writable.
    pub fn open(url: &LakeUrl, options: &StoreOptions) -> Result<Self, SinkError> {
        let (store, root) = store::open_store(url, options)?;
        let shape = if matches!(url, LakeUrl::Local(_)) { LOCAL_SHAPE } else { CLOUD_SHAPE };
        Ok(Self { url: url.clone(), store, root, shape })
    }

    /// A lake over a given store, e.g. a wrapped one in tests.
    pub fn with_store(url: LakeUrl, store: Arc<dyn ObjectStore>, root: &str, shape: UploadShape) -> Self {
        Self { url, store, root: root.to_owned(), shape }
    }

    /// The same lake with another upload part size and concurrency.
    #[must_use]
    pub fn with_upload_shape(mut self, shape: UploadShape) -> Self {
        self.shape = shape;
        self
    }

    /// Where the lake lives.
    pub fn url(&self) -> &LakeUrl {
        &self.url
    }

    /// Upload part size and concurrency per shard.
    pub fn upload_shape(&self) -> UploadShape {
        self.shape
    }

    /// The full URL of an object under `raw/`.
    pub fn raw_url(&self, name: &str) -> String {
        self.url.join(&format!("{RAW}/{name}"))
    }

    fn raw_path(&self, name: &str) -> Path {
        if self.root.is_empty() {
            Path::from(format!("{RAW}/{name}"))
        } else {
            Path::from(format!("{}/{RAW}/{name}", self.root))
        }
    }

    fn store_error(&self, operation: &'static str, name: &str) -> impl Fn(object_store::Error) -> SinkError {
        let url = self.raw_url(name);
        move |source| SinkError::Store { operation, url: url.clone(), source }
    }

    /// Lists `raw/` and reads its bookkeeping.
    pub async fn survey(&self) -> Result<Survey, SinkError> {
        let prefix = self.raw_path("");
        let objects: Vec<_> =
            self.store.list(Some(&prefix)).try_collect().await.map_err(self.store_error("list", ""))?;
        let mut survey = Survey::default();
        for meta in objects {
            let Some(name) = meta
                .location
                .prefix_match(&prefix)
                .map(|parts| parts.map(|p| p.as_ref().to_owned()).collect::<Vec<_>>().join("/"))
            else {
                continue;
            };
            if name == SUCCESS {
                survey.success = true;
            } else if name == MANIFEST {
                let read = self.get(MANIFEST).await?;
                survey.manifest = Some(serde_json::from_slice(&read).map_err(|e| e.to_string()));
            } else if name.starts_with(&format!("{RECORDS}/")) {
                let read = self.get(&name).await?;
                if let Ok(record) = serde_json::from_slice(&read) {
                    survey.records.push(record);
                }
            } else if layout::parse_shard_name(&name).is_some() {
                survey.shards.insert(name, meta.size);
            } else if name.starts_with(&format!("{LABELS}/")) {
                survey.labels.push(name);
            } else {
                survey.strays.push(name);
            }
        }
        Ok(survey)
    }

    /// Reads a small object under `raw/` whole.
    pub async fn get(&self, name: &str) -> Result<Bytes, SinkError> {
        let path = self.raw_path(name);
        let result = self.store.get(&path).await.map_err(self.store_error("read", name))?;
        result.bytes().await.map_err(self.store_error("read", name))
    }

    async fn put(&self, name: &str, bytes: Bytes, mode: PutMode) -> Result<(), object_store::Error> {
        let options = PutOptions { mode, ..PutOptions::default() };
        self.store.put_opts(&self.raw_path(name), PutPayload::from_bytes(bytes), options).await.map(|_| ())
    }

    async fn delete(&self, name: &str) -> Result<(), SinkError> {
        match self.store.delete(&self.raw_path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.store_error("delete", name)(e)),
        }
    }

    /// Checks what the destination holds against `mode` and prepares it for `dataset`:
    /// refuses to overwrite, clears the commit markers, or finds the shards to keep. Returns
    /// the shard numbers among `owned` that are already stored whole (resume only).
    pub async fn prepare(
        &self,
        dataset: &Dataset,
        mode: WriteMode,
        owned: &[u32],
    ) -> Result<Vec<u32>, SinkError> {
        let survey = self.survey().await?;
        let ours: Vec<String> = (0..dataset.shard_count)
            .map(|i| layout::shard_name(i, dataset.shard_count, dataset.format))
            .collect();
        let foreign_manifest = match &survey.manifest {
            Some(Ok(m)) => m.dataset != *dataset,
            Some(Err(_)) => true,
            None => false,
        };
        let foreign_shards = survey.shards.keys().filter(|n| !ours.contains(n)).count();
        let foreign_records = survey.records.iter().filter(|r| r.dataset != *dataset).count();
        match mode {
            WriteMode::Fresh => {
                let mut found = Vec::new();
                if survey.success {
                    found.push("a committed dataset: _SUCCESS".to_owned());
                }
                if foreign_manifest || foreign_shards + foreign_records > 0 {
                    found.push(format!(
                        "{} shard(s) of another configuration",
                        foreign_shards.max(foreign_records).max(1)
                    ));
                }
                if !found.is_empty() {
                    return Err(SinkError::Exists { url: self.url.join(RAW), what: found.join(", ") });
                }
                Ok(Vec::new())
            }
            WriteMode::Overwrite => {
                self.delete(SUCCESS).await?;
                self.delete(MANIFEST).await?;
                for &i in owned {
                    self.delete(&record_name(&ours[i as usize])).await?;
                }
                Ok(Vec::new())
            }
            WriteMode::Resume => {
                match &survey.manifest {
                    Some(Ok(m)) if m.dataset != *dataset => {
                        return Err(SinkError::ResumeMismatch {
                            url: self.url.join(RAW),
                            theirs: describe(&m.dataset),
                            ours: describe(dataset),
                        });
                    }
                    Some(Err(reason)) => {
                        return Err(SinkError::Corrupt {
                            url: self.raw_url(MANIFEST),
                            what: "manifest",
                            reason: reason.clone(),
                        });
                    }
                    _ => {}
                }
                let mut entries: BTreeMap<u32, ShardEntry> = BTreeMap::new();
                if let Some(Ok(m)) = &survey.manifest {
                    entries.extend(m.shards.iter().map(|e| (e.index, e.clone())));
                }
                entries.extend(survey.recorded(dataset));
                let mut keep = Vec::new();
                for &i in owned {
                    let Some(entry) = entries.get(&i) else { continue };
                    if survey.shards.get(&entry.name) == Some(&entry.bytes)
                        && self.stored_crc32c(&entry.name).await? == entry.crc32c
                    {
                        // Re-record it: the record may be missing when only the manifest had it.
                        self.record_shard(&ShardRecord { dataset: dataset.clone(), entry: entry.clone() })
                            .await?;
                        keep.push(i);
                    }
                }
                Ok(keep)
            }
        }
    }

    /// CRC32C of a stored object, streamed.
    pub async fn stored_crc32c(&self, name: &str) -> Result<String, SinkError> {
        let result = self.store.get(&self.raw_path(name)).await.map_err(self.store_error("read", name))?;
        let mut stream = result.into_stream();
        let mut crc = 0;
        while let Some(chunk) = stream.try_next().await.map_err(self.store_error("read", name))? {
            crc = crc32c::crc32c_append(crc, &chunk);
        }
        Ok(crc32c_hex(crc))
    }

    /// Starts writing shard `index` of `dataset`. Blocking: call from a blocking thread.
    pub fn create_shard(
        &self,
        index: u32,
        dataset: &Dataset,
        handle: &Handle,
        cancel: Arc<AtomicBool>,
    ) -> Result<ShardWriter, SinkError> {
        let name = layout::shard_name(index, dataset.shard_count, dataset.format);
        let upload = handle
            .block_on(self.store.put_multipart(&self.raw_path(&name)))
            .map_err(self.store_error("write", &name))?;
        let upload = WriteMultipart::new_with_chunk_size(upload, self.shape.part_size);
        Ok(ShardWriter::new(self.raw_url(&name), upload, dataset.format, self.shape, handle.clone(), cancel))
    }

    /// Opens a stored shard for reading. Blocking: call from a blocking thread.
    pub fn open_shard(
        &self,
        name: &str,
        format: ShardFormat,
        handle: &Handle,
    ) -> Result<ShardReader, SinkError> {
        let result =
            handle.block_on(self.store.get(&self.raw_path(name))).map_err(self.store_error("read", name))?;
        Ok(ShardReader::new(result.into_stream(), format, handle.clone()))
    }

    /// Stores a finished shard's record.
    pub async fn record_shard(&self, record: &ShardRecord) -> Result<(), SinkError> {
        let name = record_name(&record.entry.name);
        let json = serde_json::to_vec_pretty(record).expect("records serialise");
        self.put(&name, json.into(), PutMode::Overwrite).await.map_err(self.store_error("write", &name))
    }

    /// Stores the anomaly labels of a shard.
    pub async fn put_labels(&self, index: u32, count: u32, csv: Bytes) -> Result<(), SinkError> {
        let name = format!("{LABELS}/{}", layout::labels_name(index, count));
        self.put(&name, csv, PutMode::Overwrite).await.map_err(self.store_error("write", &name))
    }

    /// Commits `dataset` if every shard is recorded: removes what other datasets left in
    /// `raw/`, writes the manifest (create-if-absent) and then `_SUCCESS`.
    pub async fn try_commit(&self, dataset: &Dataset, tool: &str) -> Result<CommitOutcome, SinkError> {
        let survey = self.survey().await?;
        let mut entries = survey.recorded(dataset);
        entries.retain(|_, e| survey.shards.get(&e.name) == Some(&e.bytes));
        let missing: Vec<u32> = (0..dataset.shard_count).filter(|i| !entries.contains_key(i)).collect();
        if !missing.is_empty() {
            return Ok(CommitOutcome::Pending { missing });
        }
        let shards: Vec<ShardEntry> = entries.into_values().collect();
        self.remove_stale(&survey, dataset, &shards).await?;
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            tool: tool.to_owned(),
            dataset: dataset.clone(),
            rows: shards.iter().map(|s| s.rows).sum(),
            bytes: shards.iter().map(|s| s.bytes).sum(),
            shards,
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifests serialise");
        match self.put(MANIFEST, json.into(), PutMode::Create).await {
            Ok(()) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                // Another task committed first; it must have committed the same dataset.
                let existing: Manifest =
                    serde_json::from_slice(&self.get(MANIFEST).await?).map_err(|e| SinkError::Corrupt {
                        url: self.raw_url(MANIFEST),
                        what: "manifest",
                        reason: e.to_string(),
                    })?;
                if existing.dataset != manifest.dataset || existing.shards != manifest.shards {
                    return Err(SinkError::ResumeMismatch {
                        url: self.url.join(RAW),
                        theirs: describe(&existing.dataset),
                        ours: describe(dataset),
                    });
                }
            }
            Err(e) => return Err(self.store_error("write", MANIFEST)(e)),
        }
        self.put(SUCCESS, Bytes::new(), PutMode::Overwrite)
            .await
            .map_err(self.store_error("write", SUCCESS))?;
        Ok(CommitOutcome::Committed(manifest))
    }

    /// Deletes shards, records and labels under `raw/` that do not belong to `dataset`.
    async fn remove_stale(
        &self,
        survey: &Survey,
        dataset: &Dataset,
        shards: &[ShardEntry],
    ) -> Result<(), SinkError> {
        let keep = |name: &String| shards.iter().any(|s| s.name == *name);
        for name in survey.shards.keys().filter(|n| !keep(n)) {
            self.delete(name).await?;
        }
        for record in survey.records.iter().filter(|r| r.dataset != *dataset) {
            if !keep(&record.entry.name) {
                self.delete(&record_name(&record.entry.name)).await?;
            }
        }
        let prefix = self.raw_path(LABELS);
        let labels: Vec<_> =
            self.store.list(Some(&prefix)).try_collect().await.map_err(self.store_error("list", LABELS))?;
        for meta in labels {
            let name = meta.location.filename().unwrap_or_default().to_owned();
            let wanted = dataset.labels
                && (0..dataset.shard_count).any(|i| layout::labels_name(i, dataset.shard_count) == name);
            if !wanted {
                self.delete(&format!("{LABELS}/{name}")).await?;
            }
        }
        Ok(())
    }
}

fn record_name(shard: &str) -> String {
    format!("{RECORDS}/{shard}.json")
}

/// A one-line description of a dataset for messages.
fn describe(dataset: &Dataset) -> String {
    format!(
        "{} in {} {} shard(s){}",
        dataset.description,
        dataset.shard_count,
        dataset.format.name(),
        if dataset.labels { " with labels" } else { "" }
    )
}
