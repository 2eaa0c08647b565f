//! The bookkeeping of a dataset, as stored: the claim a run makes on the destination, the
//! record of each finished shard (every file it wrote, in every layer), and the manifest
//! written once every shard is there. All of it is read back as untrusted input: parsing
//! validates the dataset description and [`Manifest::check`] the manifest's own arithmetic.

use crate::{Dataset, Layer, MAX_SHARDS};

/// One stored file of a shard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path relative to the lake base, e.g. `raw/mouvements-00000-of-00005.csv`.
    pub path: String,
    /// The layer it belongs to; `None` for the anomaly labels.
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

/// Version of the manifest layout.
pub const MANIFEST_VERSION: u32 = 2;

/// `raw/_manifest.json`: the whole dataset, written after its last shard and before
/// `_SUCCESS`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Layout version of this document.
    pub manifest_version: u32,
    /// The tool and version that wrote it.
    pub tool: String,
    /// The run that committed it.
    pub run_id: String,
    /// The dataset.
    pub dataset: Dataset,
    /// Data rows over all shards.
    pub rows: u64,
    /// Stored bytes of every file listed.
    pub bytes: u64,
    /// The Delta table version this dataset committed, when it has the delta layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_version: Option<u64>,
    /// Every shard, in order.
    pub shards: Vec<ShardEntry>,
}

impl Manifest {
    /// Every file of the dataset.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.shards.iter().flat_map(|s| s.files.iter())
    }

    /// The files of one layer.
    pub fn layer_files(&self, layer: Layer) -> impl Iterator<Item = &FileEntry> {
        self.files().filter(move |f| f.layer == Some(layer))
    }

    /// The manifest's own arithmetic: the version, one entry per shard in order, totals
    /// equal to the entries, rows equal to the dataset's. Returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.manifest_version != MANIFEST_VERSION {
            return Err(format!(
                "manifest version {}, this build reads version {MANIFEST_VERSION}",
                self.manifest_version
            ));
        }
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

/// The 8-hex-digit text of a CRC32C.
pub fn crc32c_hex(crc: u32) -> String {
    format!("{crc:08x}")
}
