//! The bookkeeping of a dataset: what identifies it (`Dataset`), what each finished shard
//! holds (`ShardEntry`, recorded as a `ShardRecord` as soon as the shard is stored), and the
//! `Manifest` written once every shard is there.

use crate::ShardFormat;

/// What identifies a dataset: two runs with equal `Dataset`s write the same bytes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dataset {
    /// The producer's description of the rows (schema version, seed, rows, period…).
    pub description: serde_json::Value,
    /// Number of shards.
    pub shard_count: u32,
    /// How shards are stored.
    pub format: ShardFormat,
    /// Whether the anomaly ground truth is written beside the data.
    pub labels: bool,
}

/// One stored shard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardEntry {
    /// Shard number.
    pub index: u32,
    /// Object name inside `raw/`.
    pub name: String,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Stored bytes.
    pub bytes: u64,
    /// Id of the first row.
    pub first_id: String,
    /// Id of the last row.
    pub last_id: String,
    /// CRC32C of the stored bytes, 8 hex digits.
    pub crc32c: String,
}

/// A shard's entry, stored in `raw/_shards/` as soon as the shard is, so that any task of a
/// distributed run (or a later `--resume`) knows it is done.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardRecord {
    /// The dataset the shard belongs to.
    pub dataset: Dataset,
    /// The shard.
    pub entry: ShardEntry,
}

/// Version of the manifest layout.
pub const MANIFEST_VERSION: u32 = 1;

/// `raw/_manifest.json`: the whole dataset, written after its last shard and before
/// `_SUCCESS`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Layout version of this document.
    pub manifest_version: u32,
    /// The tool and version that wrote it.
    pub tool: String,
    /// The dataset.
    pub dataset: Dataset,
    /// Data rows over all shards.
    pub rows: u64,
    /// Stored bytes over all shards.
    pub bytes: u64,
    /// Every shard, in order.
    pub shards: Vec<ShardEntry>,
}

/// The 8-hex-digit text of a CRC32C.
pub fn crc32c_hex(crc: u32) -> String {
    format!("{crc:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_survives_a_json_round_trip_exactly() {
        // Records are matched to their dataset by equality after a JSON round trip, so floats
        // must come back bit for bit (serde_json's float_roundtrip).
        for rate in [0.200_353_179_369_267_78, 0.1 + 0.2, 1e-300, 0.001] {
            let dataset = Dataset {
                description: serde_json::json!({ "anomaly_rate": rate }),
                shard_count: 3,
                format: ShardFormat::CsvGz,
                labels: true,
            };
            let text = serde_json::to_string(&dataset).unwrap();
            assert_eq!(serde_json::from_str::<Dataset>(&text).unwrap(), dataset, "{rate}");
        }
    }
}
