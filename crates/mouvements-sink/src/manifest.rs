//! The bookkeeping of a dataset, as stored: the claim a run makes on the destination, the
//! record of each finished shard (every file it wrote, in every layer), and the manifest: the
//! lake's history of loads, rewritten as each load commits. All of it is read back as
//! untrusted input: parsing validates the dataset descriptions and [`Manifest::check`] the
//! manifest's own arithmetic and history.

use std::collections::BTreeSet;

use crate::{Dataset, Layer, MAX_SHARDS, layout};

/// One stored file of a shard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path relative to the lake base, e.g. `raw/mouvements-00000-of-00005.csv`.
    pub path: String,
    /// The layer it belongs to; `None` for the anomaly labels and the change feed.
    pub layer: Option<Layer>,
    /// The partition folder (`pays=FR/produit=santé`) of a Parquet file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Data rows it holds.
    pub rows: u64,
    /// Stored bytes.
    pub bytes: u64,
    /// CRC32C of the stored bytes, 8 hex digits (the checksum GCS itself keeps).
    pub crc32c: String,
    /// Column statistics of a Delta data file, as the JSON string its `add` action carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    /// The Delta data file this one rewrites (path relative to the lake base): a file of an
    /// earlier load whose rows this load's change events changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

impl serde::Serialize for Layer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Layer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Layer::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown layer {name:?}")))
    }
}

/// One stored shard: its rows and every file it wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardEntry {
    /// Shard number.
    pub index: u32,
    /// Data rows.
    pub rows: u64,
    /// Id of the first row.
    pub first_id: String,
    /// Id of the last row.
    pub last_id: String,
    /// Every file of the shard: its raw CSV, its labels, its Parquet files.
    pub files: Vec<FileEntry>,
}

/// A shard's entry, stored in `raw/_shards/<run>/` as soon as the shard is, so that any task
/// of the run (or a later `--resume`) knows it is done.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardRecord {
    /// The run that wrote it.
    pub run_id: String,
    /// The dataset the shard belongs to.
    pub dataset: Dataset,
    /// The shard.
    pub entry: ShardEntry,
}

/// `raw/_claims/NNN.json`: a run's claim on the destination. The claim with the highest
/// number owns it; a later run takes over by creating the next number (create-if-absent, so
/// two runs can never both take over).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Claim {
    /// The run.
    pub run_id: String,
    /// What it writes.
    pub dataset: Dataset,
}

/// Version of the manifest layout: 3 lists the loads of the lake's history, 4 may give a load
/// a change rate (a build that reads 3 would drop it, and append a history whose change feed
/// no longer follows), 5 draws change events in spans (`mouvements_generator::changes`). Version
/// 4 is read as it is when no load has changes (its events cannot be drawn again), version 3
/// as it is, version 2 (one dataset, written before appends existed) as a history of one load.
pub const MANIFEST_VERSION: u32 = 5;

/// One load of the lake's history: what a run committed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Load {
    /// The run that committed it.
    pub run_id: String,
    /// The load's dataset: its settings, period, ids, shards; `dataset.load` is its number.
    pub dataset: Dataset,
    /// Data rows over its shards.
    pub rows: u64,
    /// Stored bytes of every file it lists.
    pub bytes: u64,
    /// The Delta table version that added its files, when the lake has the delta layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_version: Option<u64>,
    /// Every shard, in order.
    pub shards: Vec<ShardEntry>,
}

impl Load {
    /// Every file of the load.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.shards.iter().flat_map(|s| s.files.iter())
    }

    /// The files of one layer.
    pub fn layer_files(&self, layer: Layer) -> impl Iterator<Item = &FileEntry> {
        self.files().filter(move |f| f.layer == Some(layer))
    }

    /// The load's change data files: its part of the Delta table's Change Data Feed.
    pub fn change_data_files(&self) -> impl Iterator<Item = &FileEntry> {
        self.layer_files(Layer::Delta).filter(|f| is_change_data(f))
    }

    /// The load's own arithmetic: one entry per shard in order, totals equal to the entries,
    /// rows equal to the dataset's. Returns what is wrong.
    fn check(&self) -> Result<(), String> {
        let count = self.dataset.shards;
        debug_assert!(count <= MAX_SHARDS, "a parsed dataset is validated");
        if self.shards.len() != count as usize || self.shards.iter().zip(0..).any(|(s, i)| s.index != i) {
            return Err(format!("the shard list is not shards 0 to {} in order", count - 1));
        }
        let rows: u64 = self.shards.iter().map(|s| s.rows).sum();
        let bytes = self.files().try_fold(0u64, |total, f| total.checked_add(f.bytes));
        if rows != self.rows || rows != self.dataset.generator.rows() {
            return Err(format!(
                "shards hold {rows} rows, the total says {} and the dataset {}",
                self.rows,
                self.dataset.generator.rows()
            ));
        }
        if bytes != Some(self.bytes) {
            return Err(format!("the files' sizes do not add up to the total {}", self.bytes));
        }
        Ok(())
    }
}

/// `raw/_manifest.json`: the lake's history, every load committed, rewritten by each load's
/// commit (after its last shard, before `_SUCCESS`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Layout version of this document.
    pub manifest_version: u32,
    /// The tool and version that wrote it.
    pub tool: String,
    /// Data rows over all loads.
    pub rows: u64,
    /// Stored bytes of every file listed.
    pub bytes: u64,
    /// Every load, in order: load 0 first.
    pub loads: Vec<Load>,
}

/// A version 2 manifest: one dataset.
#[derive(serde::Deserialize)]
struct ManifestV2 {
    tool: String,
    run_id: String,
    dataset: Dataset,
    rows: u64,
    bytes: u64,
    #[serde(default)]
    delta_version: Option<u64>,
    shards: Vec<ShardEntry>,
}

impl Manifest {
    /// The manifest of a history of one load.
    pub fn first(tool: &str, load: Load) -> Self {
        Self {
            manifest_version: MANIFEST_VERSION,
            tool: tool.to_owned(),
            rows: 0,
            bytes: 0,
            loads: Vec::new(),
        }
        .with_load(tool, load)
    }

    /// This history with `load` after its loads (and any later load dropped), totals updated.
    #[must_use]
    pub fn with_load(mut self, tool: &str, load: Load) -> Self {
        self.loads.truncate(load.dataset.load as usize);
        self.loads.push(load);
        tool.clone_into(&mut self.tool);
        self.rows = self.loads.iter().map(|l| l.rows).sum();
        self.bytes = self.loads.iter().map(|l| l.bytes).sum();
        self
    }

    /// Parses a manifest (version 2 to 5) and checks its arithmetic and history.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Version {
            manifest_version: u32,
        }
        // This build's version parses in one pass (a long history's manifest is megabytes);
        // the version is read on its own only for an older shape or an error.
        if let Ok(manifest) = serde_json::from_slice::<Manifest>(bytes)
            && manifest.manifest_version == MANIFEST_VERSION
        {
            manifest.check()?;
            return Ok(manifest);
        }
        let version: Version = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let manifest = match version.manifest_version {
            2 => {
                let v2: ManifestV2 = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                let load = Load {
                    run_id: v2.run_id,
                    dataset: v2.dataset,
                    rows: v2.rows,
                    bytes: v2.bytes,
                    delta_version: v2.delta_version,
                    shards: v2.shards,
                };
                Manifest {
                    manifest_version: MANIFEST_VERSION,
                    tool: v2.tool,
                    rows: v2.rows,
                    bytes: v2.bytes,
                    loads: vec![load],
                }
            }
            3 | 4 | MANIFEST_VERSION => {
                let read: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                if read.manifest_version == 4
                    && let Some(load) = read.loads.iter().find(|l| l.dataset.changes > 0.0)
                {
                    return Err(format!(
                        "manifest version 4 with change events (load {}): an earlier build drew them in a way this one does not reproduce; write the lake again with --overwrite",
                        load.dataset.load
                    ));
                }
                Manifest { manifest_version: MANIFEST_VERSION, ..read }
            }
            other => {
                return Err(format!(
                    "manifest version {other}, this build reads versions 2 to {MANIFEST_VERSION}"
                ));
            }
        };
        manifest.check()?;
        Ok(manifest)
    }

    /// The last load committed.
    pub fn latest(&self) -> &Load {
        self.loads.last().expect("a checked manifest lists a load")
    }

    /// Every file of every load.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.loads.iter().flat_map(Load::files)
    }

    /// The files of one layer, in every load.
    pub fn layer_files(&self, layer: Layer) -> impl Iterator<Item = &FileEntry> {
        self.files().filter(move |f| f.layer == Some(layer))
    }

    /// The Delta data files the table's latest version holds: every Delta file listed but
    /// the change data files and the files a later load rewrote.
    pub fn table_files(&self) -> Vec<&FileEntry> {
        let replaced: BTreeSet<&str> = self.files().filter_map(|f| f.replaces.as_deref()).collect();
        self.layer_files(Layer::Delta)
            .filter(|f| !is_change_data(f) && !replaced.contains(f.path.as_str()))
            .collect()
    }

    /// The manifest's own arithmetic and history: the version, loads 0 to n in order, each
    /// whole, each following the one before (ids, period, settings), totals equal to the
    /// loads. Returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.manifest_version != MANIFEST_VERSION {
            return Err(format!(
                "manifest version {}, this build reads version {MANIFEST_VERSION}",
                self.manifest_version
            ));
        }
        let Some(first) = self.loads.first() else { return Err("the manifest lists no load".into()) };
        if first.dataset.load != 0 {
            return Err(format!("the first load listed is load {}", first.dataset.load));
        }
        for load in &self.loads {
            load.check().map_err(|e| format!("load {}: {e}", load.dataset.load))?;
        }
        for pair in self.loads.windows(2) {
            pair[0].dataset.check_next(&pair[1].dataset)?;
            if let (Some(a), Some(b)) = (pair[0].delta_version, pair[1].delta_version)
                && b <= a
            {
                return Err(format!(
                    "load {} is Delta version {b}, after load {}'s version {a}",
                    pair[1].dataset.load, pair[0].dataset.load
                ));
            }
        }
        let rows = self.loads.iter().try_fold(0u64, |total, l| total.checked_add(l.rows));
        let bytes = self.loads.iter().try_fold(0u64, |total, l| total.checked_add(l.bytes));
        if rows != Some(self.rows) || bytes != Some(self.bytes) {
            return Err("the loads do not add up to the totals".into());
        }
        Ok(())
    }
}

/// The 8-hex-digit text of a CRC32C.
pub fn crc32c_hex(crc: u32) -> String {
    format!("{crc:08x}")
}

/// Whether a file is a change data file of the Delta table (under `_change_data/`).
pub fn is_change_data(file: &FileEntry) -> bool {
    file.path.strip_prefix(layout::CHANGE_DATA).is_some_and(|rest| rest.starts_with('/'))
}
