//! The lake layout: `tmp/`, `raw/`, `staging/`, `delta/`, and the names inside `raw/`.
//! Shards use Beam's `-SSSSS-of-NNNNN` naming; bookkeeping objects start with `_`, so Spark's
//! `mouvements-*.csv` glob and its hidden-file rule never see them.

/// The four stages of the lake, in order.
pub const STAGES: [&str; 4] = ["tmp", "raw", "staging", "delta"];

/// Folder of the generated CSV.
pub const RAW: &str = "raw";
/// The manifest, written after every shard.
pub const MANIFEST: &str = "_manifest.json";
/// The commit marker, written last.
pub const SUCCESS: &str = "_SUCCESS";
/// Folder of the per-shard records (one small JSON per finished shard).
pub const RECORDS: &str = "_shards";
/// Folder of the anomaly ground truth.
pub const LABELS: &str = "_labels";
/// Stem of every shard name.
pub const SHARD_STEM: &str = "mouvements";

/// How shard bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShardFormat {
    /// Plain CSV.
    #[default]
    Csv,
    /// Gzip-compressed CSV (Spark reads it as is; one task per file).
    CsvGz,
}

impl ShardFormat {
    /// File name extension, without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            ShardFormat::Csv => "csv",
            ShardFormat::CsvGz => "csv.gz",
        }
    }

    /// The name given on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            ShardFormat::Csv => "csv",
            ShardFormat::CsvGz => "csv-gz",
        }
    }
}

impl std::str::FromStr for ShardFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(ShardFormat::Csv),
            "csv-gz" => Ok(ShardFormat::CsvGz),
            _ => Err(format!("unknown format {s:?}: expected csv or csv-gz")),
        }
    }
}

/// `mouvements-00002-of-00005.csv`.
pub fn shard_name(index: u32, count: u32, format: ShardFormat) -> String {
    format!("{SHARD_STEM}-{index:05}-of-{count:05}.{}", format.extension())
}

/// The shard number, count and format of a shard name, or `None` for any other name.
pub fn parse_shard_name(name: &str) -> Option<(u32, u32, ShardFormat)> {
    let rest = name.strip_prefix(SHARD_STEM)?.strip_prefix('-')?;
    let (numbers, format) = if let Some(n) = rest.strip_suffix(".csv.gz") {
        (n, ShardFormat::CsvGz)
    } else {
        (rest.strip_suffix(".csv")?, ShardFormat::Csv)
    };
    let (index, count) = numbers.split_once("-of-")?;
    let digits = |s: &str| s.len() >= 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(index) || !digits(count) {
        return None;
    }
    let (index, count) = (index.parse().ok()?, count.parse().ok()?);
    (index < count && name == shard_name(index, count, format)).then_some((index, count, format))
}

/// `anomalies-00002-of-00005.csv`, inside [`LABELS`].
pub fn labels_name(index: u32, count: u32) -> String {
    format!("anomalies-{index:05}-of-{count:05}.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_follow_beam_and_parse_back() {
        assert_eq!(shard_name(0, 5, ShardFormat::Csv), "mouvements-00000-of-00005.csv");
        for (i, n, f) in
            [(0, 5, ShardFormat::Csv), (4, 5, ShardFormat::CsvGz), (99_999, 100_000, ShardFormat::Csv)]
        {
            assert_eq!(parse_shard_name(&shard_name(i, n, f)), Some((i, n, f)));
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
            "other-00000-of-00005.csv",
        ] {
            assert_eq!(parse_shard_name(name), None, "{name}");
        }
    }
}
