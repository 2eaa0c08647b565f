//! The lake layout: `tmp/`, `raw/`, `staging/`, `delta/`, and every object name inside them.
//! Raw shards use Beam's `-SSSSS-of-NNNNN` naming; Parquet files add the configuration hash;
//! bookkeeping objects start with `_`, so Spark's `mouvements-*.csv` glob, its hidden-file
//! rule and Delta readers never see them.
//!
//! Every name is relative to the lake base, `/`-separated.

use crate::{Dataset, Layer, ShardFormat};

/// The four stages of the lake, in order.
pub const STAGES: [&str; 4] = ["tmp", "raw", "staging", "delta"];

/// Folder of the generated CSV, and of the dataset's bookkeeping.
pub const RAW: &str = "raw";
/// Folder of the staging Parquet dataset.
pub const STAGING: &str = "staging/mouvements";
/// Folder of the staging change events: the appended loads' corrections and cancellations,
/// typed and partitioned like the staging rows.
pub const STAGING_CHANGES: &str = "staging/changes";
/// Folder of the Delta table.
pub const DELTA: &str = "delta/mouvements";
/// The Delta log, inside [`DELTA`].
pub const DELTA_LOG: &str = "delta/mouvements/_delta_log";
/// The manifest, written once every shard is stored.
pub const MANIFEST: &str = "raw/_manifest.json";
/// The dataset's commit marker, written last.
pub const SUCCESS: &str = "raw/_SUCCESS";
/// Spark's marker of a complete staging dataset.
pub const STAGING_SUCCESS: &str = "staging/mouvements/_SUCCESS";
/// Folder of the per-shard records, one subfolder per run.
pub const RECORDS: &str = "raw/_shards";
/// Folder of the claims: which run owns the destination.
pub const CLAIMS: &str = "raw/_claims";
/// Folder of the anomaly ground truth.
pub const LABELS: &str = "raw/_labels";
/// Folder of the change feed: the corrections and cancellations appended loads deliver.
pub const CHANGES: &str = "raw/changes";
/// Stem of every raw shard name.
pub const SHARD_STEM: &str = "mouvements";

/// The folder of a layer.
pub const fn layer_folder(layer: Layer) -> &'static str {
    match layer {
        Layer::Raw => RAW,
        Layer::Staging => STAGING,
        Layer::Delta => DELTA,
    }
}

/// Whether a reader of a layer skips this name (Spark's and Delta's hidden-file rule): any
/// path segment starting with `_` or `.`.
pub fn hidden(relative: &str) -> bool {
    relative.split('/').any(|part| part.starts_with('_') || part.starts_with('.'))
}

/// `load00003-` for an appended load, nothing for the first: what sets a load's file names
/// apart from every other load's.
fn load_tag(load: u32) -> String {
    if load == 0 { String::new() } else { format!("load{load:05}-") }
}

/// `mouvements-00002-of-00005.csv`, the file name of a raw shard of the first load;
/// `mouvements-load00003-00002-of-00005.csv` of load 3. Spark's `mouvements-*.csv` glob reads
/// every load's, and no load reuses another's names.
pub fn shard_file(load: u32, index: u32, count: u32, format: ShardFormat) -> String {
    format!("{SHARD_STEM}-{}{index:05}-of-{count:05}.{}", load_tag(load), format.extension())
}

/// `raw/mouvements-00002-of-00005.csv`.
pub fn raw_shard(index: u32, dataset: &Dataset) -> String {
    format!("{RAW}/{}", shard_file(dataset.load, index, dataset.shards, dataset.format))
}

/// A raw shard's file name read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardName {
    /// The load it belongs to.
    pub load: u32,
    /// The shard number.
    pub index: u32,
    /// The load's shard count.
    pub count: u32,
    /// How it is stored.
    pub format: ShardFormat,
}

/// The load, shard number, count and format of a raw shard file name, or `None` for any
/// other name.
pub fn parse_shard_file(name: &str) -> Option<ShardName> {
    let rest = name.strip_prefix(SHARD_STEM)?.strip_prefix('-')?;
    let (load, rest) = match rest.strip_prefix("load") {
        Some(tagged) => {
            let (digits, rest) = tagged.split_once('-')?;
            (digits.parse::<u32>().ok().filter(|n| *n > 0)?, rest)
        }
        None => (0, rest),
    };
    let (numbers, format) = if let Some(n) = rest.strip_suffix(".csv.gz") {
        (n, ShardFormat::CsvGz)
    } else {
        (rest.strip_suffix(".csv")?, ShardFormat::Csv)
    };
    let (index, count) = numbers.split_once("-of-")?;
    let digits = |s: &str| (5..=9).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(index) || !digits(count) {
        return None;
    }
    let (index, count) = (index.parse().ok()?, count.parse().ok()?);
    (index < count && name == shard_file(load, index, count, format)).then_some(ShardName {
        load,
        index,
        count,
        format,
    })
}

/// `raw/_labels/anomalies-00002-of-00005.csv` (`anomalies-load00003-00002-of-00005.csv` for
/// load 3).
pub fn labels(index: u32, dataset: &Dataset) -> String {
    format!("{LABELS}/anomalies-{}{index:05}-of-{:05}.csv", load_tag(dataset.load), dataset.shards)
}

/// `raw/_labels/events-load00003-00002-of-00005.csv`: the ground truth of shard 2's part of
/// load 3's events (late rows, repeats, changes).
pub fn event_labels(index: u32, dataset: &Dataset) -> String {
    format!("{LABELS}/events-{}{index:05}-of-{:05}.csv", load_tag(dataset.load), dataset.shards)
}

/// `raw/mouvements-load00003-repeated-00002-of-00005.csv`: shard 2's part of the rows load 3
/// delivers again. In the `raw/mouvements-*.csv` glob with the load's new rows (a repeated
/// delivery lands where deliveries land), and never a [`ShardName`].
pub fn repeats(index: u32, dataset: &Dataset) -> String {
    format!(
        "{RAW}/{SHARD_STEM}-{}repeated-{index:05}-of-{:05}.{}",
        load_tag(dataset.load),
        dataset.shards,
        dataset.format.extension()
    )
}

/// `raw/changes/changes-load00003-00002-of-00005.csv`: shard 2's part of load 3's change
/// feed. Out of the `raw/mouvements-*.csv` glob, and no load reuses another's names (Auto
/// Loader on `raw/changes/` sees each file once).
pub fn changes(index: u32, dataset: &Dataset) -> String {
    format!("{CHANGES}/changes-{}{index:05}-of-{:05}.csv", load_tag(dataset.load), dataset.shards)
}

/// `staging/changes/pays=FR/produit=santé/changes-load00003-00002-of-00005.zstd.parquet`: shard
/// 2's change events of load 3 in a partition, as delivered (no load reuses another's names).
pub fn staging_changes(partition: &str, index: u32, dataset: &Dataset) -> String {
    format!(
        "{STAGING_CHANGES}/{partition}/changes-{}{index:05}-of-{:05}.zstd.parquet",
        load_tag(dataset.load),
        dataset.shards
    )
}

/// `part-00002-of-00005-<cfg>.zstd.parquet`: a Parquet file name, unique per configuration.
pub fn parquet_file(index: u32, dataset: &Dataset) -> String {
    format!("part-{index:05}-of-{:05}-{}.zstd.parquet", dataset.shards, dataset.config_hash())
}

/// `staging/mouvements/pays=FR/produit=santé/part-…parquet`, or its twin under `delta/`:
/// one shard's file of one partition (its folder, `pays=FR/produit=santé`).
pub fn partition_file(layer: Layer, partition: &str, index: u32, dataset: &Dataset) -> String {
    format!("{}/{partition}/{}", layer_folder(layer), parquet_file(index, dataset))
}

/// `delta/mouvements/pays=FR/produit=santé/part-00002-of-00005-<cfg>-changed-load00007.zstd.parquet`:
/// shard 2 of `origin`'s file of a partition, as load `load`'s change events left it.
pub fn rewritten_file(partition: &str, index: u32, origin: &Dataset, load: u32) -> String {
    let name = parquet_file(index, origin);
    let stem = name.strip_suffix(".zstd.parquet").unwrap_or(&name);
    format!("{DELTA}/{partition}/{stem}-changed-load{load:05}.zstd.parquet")
}

/// Folder of the Delta table's change data files (its Change Data Feed).
pub const CHANGE_DATA: &str = "delta/mouvements/_change_data";

/// `delta/mouvements/_change_data/cdc-00002-of-00005-<cfg>-pays=FR-produit=sant_e9.zstd.parquet`:
/// shard 2's change data of a partition, for a load with change events. The name is ASCII
/// without `%`, so that the log's path is the file's name as it is: delta-rs's `load_cdf` does
/// not decode the path of a change data file (a `produit=santé` folder, percent-encoded in the
/// log as the protocol wants, is not found). Readers take a change data file's partition from
/// its `cdc` action, not from a folder.
pub fn change_data_file(partition: &str, index: u32, dataset: &Dataset) -> String {
    let mut tag = String::with_capacity(partition.len() + 8);
    for c in partition.chars() {
        match c {
            '/' => tag.push('-'),
            c if c.is_ascii_alphanumeric() || c == '=' => tag.push(c),
            c => tag.push_str(&format!("_{:x}", u32::from(c))),
        }
    }
    format!(
        "{CHANGE_DATA}/cdc-{index:05}-of-{:05}-{}-{tag}.zstd.parquet",
        dataset.shards,
        dataset.config_hash()
    )
}

/// `delta/mouvements/_delta_log/00000000000000000003.json`.
pub fn delta_commit(version: u64) -> String {
    format!("{DELTA_LOG}/{version:020}.json")
}

/// `delta/mouvements/_delta_log/00000000000000000010.checkpoint.parquet`.
pub fn delta_checkpoint(version: u64) -> String {
    format!("{DELTA_LOG}/{version:020}.checkpoint.parquet")
}

/// The pointer to the newest Delta checkpoint.
pub const LAST_CHECKPOINT: &str = "delta/mouvements/_delta_log/_last_checkpoint";

/// The version of a Delta checkpoint file name (`00000000000000000010.checkpoint.parquet`),
/// or `None`.
pub fn parse_delta_checkpoint(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".checkpoint.parquet")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// The version of a Delta commit file name (`00000000000000000003.json`), or `None`.
pub fn parse_delta_commit(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// `raw/_claims/00000000000000000003.json`: the claim of sequence number `seq`.
pub fn claim(seq: u64) -> String {
    format!("{CLAIMS}/{seq:020}.json")
}

/// The sequence number of a claim file name, or `None`.
pub fn parse_claim(name: &str) -> Option<u64> {
    parse_delta_commit(name)
}

/// `raw/_shards/<run key>/`: the records of one run.
pub fn records_of(run_key: &str) -> String {
    format!("{RECORDS}/{run_key}")
}

/// `raw/_shards/<run key>/shard-00002-of-00005.json`.
pub fn record(run_key: &str, index: u32, count: u32) -> String {
    format!("{RECORDS}/{run_key}/shard-{index:05}-of-{count:05}.json")
}

/// The shard number of a record file name, or `None`.
pub fn parse_record(name: &str) -> Option<u32> {
    let numbers = name.strip_prefix("shard-")?.strip_suffix(".json")?;
    numbers.split_once("-of-")?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use mouvements_schema::GeneratorConfig;

    use super::*;
    use crate::Layers;

    #[test]
    fn shard_names_follow_beam_and_parse_back() {
        assert_eq!(shard_file(0, 0, 5, ShardFormat::Csv), "mouvements-00000-of-00005.csv");
        assert_eq!(shard_file(3, 0, 5, ShardFormat::Csv), "mouvements-load00003-00000-of-00005.csv");
        for (load, index, count, format) in [
            (0, 0, 5, ShardFormat::Csv),
            (0, 4, 5, ShardFormat::CsvGz),
            (0, 99_999, 100_000, ShardFormat::Csv),
            (12, 1, 2, ShardFormat::Csv),
            (100_000, 0, 1, ShardFormat::CsvGz),
        ] {
            let name = shard_file(load, index, count, format);
            assert_eq!(parse_shard_file(&name), Some(ShardName { load, index, count, format }), "{name}");
        }
    }

    #[test]
    fn other_names_are_not_shards() {
        for name in [
            "_SUCCESS",
            "mouvements-00005-of-00005.csv",
            "mouvements-0-of-5.csv",
            "mouvements-00000-of-00005.csv#1",
            "mouvements-00000-of-00005.parquet",
            "mouvements-extra.csv",
            "other-00000-of-00005.csv",
            "mouvements-load00000-00000-of-00005.csv",
            "mouvements-load3-00000-of-00005.csv",
            "mouvements-loadx-00000-of-00005.csv",
            "mouvements-load00003-repeated-00000-of-00005.csv",
        ] {
            assert_eq!(parse_shard_file(name), None, "{name}");
        }
    }

    #[test]
    fn parquet_names_carry_the_configuration_and_keep_accents_raw() {
        let config = GeneratorConfig::with_rows(1, 100).unwrap();
        let d = Dataset::new(config, 5, ShardFormat::Csv, Layers::ALL, false).unwrap();
        let name = partition_file(Layer::Staging, "pays=FR/produit=santé", 2, &d);
        assert!(name.starts_with("staging/mouvements/pays=FR/produit=santé/part-00002-of-00005-"), "{name}");
        assert!(name.ends_with(".zstd.parquet") && name.contains(&d.config_hash()));
    }

    #[test]
    fn change_data_names_are_flat_ascii_without_percent() {
        let config = GeneratorConfig::with_rows(1, 100).unwrap();
        let d = Dataset::new(config, 5, ShardFormat::Csv, Layers::ALL, false).unwrap();
        let name = change_data_file("pays=FR/produit=santé", 2, &d);
        let expected = format!(
            "delta/mouvements/_change_data/cdc-00002-of-00005-{}-pays=FR-produit=sant_e9.zstd.parquet",
            d.config_hash()
        );
        assert_eq!(name, expected);
        assert_ne!(change_data_file("pays=FR/produit=auto", 2, &d), name);
    }

    #[test]
    fn bookkeeping_is_hidden_from_readers_and_data_is_not() {
        for name in ["raw/_SUCCESS", "delta/mouvements/_delta_log/00000000000000000000.json", "raw/.x"] {
            assert!(hidden(name), "{name}");
        }
        assert!(!hidden("staging/mouvements/pays=FR/produit=auto/part-00000-of-00001-0a.zstd.parquet"));
        assert_eq!(parse_delta_commit("00000000000000000012.json"), Some(12));
        assert_eq!(parse_delta_commit("12.json"), None);
        assert_eq!(parse_delta_checkpoint("00000000000000000010.checkpoint.parquet"), Some(10));
        assert_eq!(parse_delta_checkpoint("00000000000000000010.json"), None);
        assert_eq!(parse_record("shard-00003-of-00007.json"), Some(3));
    }
}
