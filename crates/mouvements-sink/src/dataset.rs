//! `Dataset`: the one typed description of what a run writes, shared by `generate`, the
//! manifest and `verify`. Two runs with equal datasets write the same bytes. It is validated
//! when built and again when read back from a manifest or a record (untrusted input).

use std::fmt;
use std::str::FromStr;

use mouvements_schema::{DATA_VERSION, GeneratorConfig, MAX_CHANGE_RATE, Period, SCHEMA_VERSION};
use sha2::{Digest, Sha256};

/// Most shards a dataset may have: measured to commit within twice the time of 5 shards
/// (`cargo xtask bench`), and small enough for every name to keep 5 digits.
pub const MAX_SHARDS: u32 = 10_000;

/// How raw shards are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
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

impl FromStr for ShardFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(ShardFormat::Csv),
            "csv-gz" => Ok(ShardFormat::CsvGz),
            _ => Err(format!("unknown format {s:?}: expected csv or csv-gz")),
        }
    }
}

/// One layer of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// CSV shards in `raw/`.
    Raw,
    /// Parquet partitioned by pays and produit in `staging/mouvements/`.
    Staging,
    /// A Delta table in `delta/mouvements/`.
    Delta,
}

impl Layer {
    /// Every layer, in lake order.
    pub const ALL: [Layer; 3] = [Layer::Raw, Layer::Staging, Layer::Delta];

    /// The name used on the command line and in the manifest.
    pub const fn name(self) -> &'static str {
        match self {
            Layer::Raw => "raw",
            Layer::Staging => "staging",
            Layer::Delta => "delta",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A non-empty set of layers, written `raw,staging,delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layers(u8);

impl Layers {
    /// The three layers: the default.
    pub const ALL: Layers = Layers(0b111);

    /// Only `raw/`.
    pub const RAW: Layers = Layers(0b001);

    /// Whether `layer` is in the set.
    pub const fn contains(self, layer: Layer) -> bool {
        self.0 & (1 << layer as u8) != 0
    }

    /// The layers in the set, in lake order.
    pub fn iter(self) -> impl Iterator<Item = Layer> {
        Layer::ALL.into_iter().filter(move |l| self.contains(*l))
    }

    /// Whether a Parquet layer (staging or delta) is in the set.
    pub const fn has_parquet(self) -> bool {
        self.contains(Layer::Staging) || self.contains(Layer::Delta)
    }
}

impl Default for Layers {
    fn default() -> Self {
        Layers::ALL
    }
}

impl fmt::Display for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Layer::name).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Layers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let valid = "expected a comma-separated, non-empty subset of raw, staging, delta";
        let mut bits = 0u8;
        for name in s.split(',').map(str::trim) {
            let layer = Layer::ALL
                .into_iter()
                .find(|l| l.name() == name)
                .ok_or_else(|| format!("unknown layer {name:?}: {valid}"))?;
            bits |= 1 << layer as u8;
        }
        if bits == 0 { Err(format!("no layer given: {valid}")) } else { Ok(Layers(bits)) }
    }
}

impl serde::Serialize for Layers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Layer::name))
    }
}

impl<'de> serde::Deserialize<'de> for Layers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names.join(",").parse().map_err(serde::de::Error::custom)
    }
}

/// A dataset description the lake refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    /// No shard, or more than [`MAX_SHARDS`].
    #[error("{shards} shards: a dataset has 1 to {MAX_SHARDS} shards")]
    ShardCount {
        /// The count given.
        shards: u32,
    },
    /// More shards than rows: some would be empty.
    #[error("{shards} shards for {rows} rows: every shard needs at least one row")]
    MoreShardsThanRows {
        /// The count given.
        shards: u32,
        /// The dataset's rows.
        rows: u64,
    },
    /// An appended load whose period does not start after the last load's end.
    #[error(
        "the load's period starts on {start}, but the lake's last load ends on {last}: an appended load starts after the last one (or give no period: the month after it)"
    )]
    PeriodOverlap {
        /// First day asked for.
        start: String,
        /// Last day of the lake's last load.
        last: String,
    },
    /// The generator refuses the load's configuration (ids past the largest, …).
    #[error("{0}")]
    Config(String),
    /// An event rate (`changes`, `late_rate`, `duplicate_rate`) the load cannot carry.
    #[error("{setting}: {reason}")]
    Events {
        /// The setting, as the options name it.
        setting: &'static str,
        /// Why the load cannot carry it.
        reason: String,
    },
    /// A history of more loads than a load number holds.
    #[error("the lake holds the most loads a lake can hold")]
    TooManyLoads,
    /// A description written by another version of the data or schema.
    #[error(
        "schema version {schema}, data version {data}: this build writes and reads schema {SCHEMA_VERSION}, data {DATA_VERSION}"
    )]
    Version {
        /// Schema version found.
        schema: u32,
        /// Data version found.
        data: u32,
    },
}

/// What identifies a dataset: the schema and data versions, the generator config, how it is
/// cut and stored. Two runs with equal `Dataset`s write the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawDataset")]
pub struct Dataset {
    /// Version of the columns and their rules.
    pub schema_version: u32,
    /// Version of the business tables the rows are drawn from.
    pub data_version: u32,
    /// The generator config the rows are a pure function of.
    pub generator: GeneratorConfig,
    /// Number of shards.
    pub shards: u32,
    /// How raw shards are stored.
    pub format: ShardFormat,
    /// The layers written.
    pub layers: Layers,
    /// Whether the anomaly ground truth is written beside the data.
    pub labels: bool,
    /// The load of the lake's history this dataset is: 0 for the first, then each
    /// `generate --append` the next (see [`Dataset::next_load`]). Absent from the JSON of a
    /// first load, so that lakes written before appends existed read the same.
    #[serde(default, skip_serializing_if = "is_first_load")]
    pub load: u32,
    /// Change events (corrections and cancellations of earlier loads' movements) per new row
    /// this load delivers, `0` for none (see `mouvements_generator::changes`). Absent from the
    /// JSON when 0.
    #[serde(default, skip_serializing_if = "is_no_change")]
    pub changes: f64,
    /// Rows of the load before it delivered again with this one, byte for byte, per new row
    /// (`mouvements_generator::changes::load_repeats`), `0` for none. Absent from the JSON
    /// when 0.
    #[serde(default, skip_serializing_if = "is_no_change")]
    pub duplicates: f64,
}

/// Whether a load carries no change: serde's test for leaving the field out.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_no_change(rate: &f64) -> bool {
    *rate == 0.0
}

/// Whether `load` is the first: serde's test for leaving the field out.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_first_load(load: &u32) -> bool {
    *load == 0
}

/// The seed of the load after one drawn from `seed`: SplitMix64's step, so that every load
/// of a lake draws its own rows, and the lake's history is a pure function of its first seed.
pub fn next_load_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A dataset as read from JSON, before validation.
#[derive(serde::Deserialize)]
struct RawDataset {
    schema_version: u32,
    data_version: u32,
    generator: GeneratorConfig,
    shards: u32,
    format: ShardFormat,
    layers: Layers,
    labels: bool,
    #[serde(default)]
    load: u32,
    #[serde(default)]
    changes: f64,
    #[serde(default)]
    duplicates: f64,
}

impl TryFrom<RawDataset> for Dataset {
    type Error = DatasetError;

    fn try_from(raw: RawDataset) -> Result<Self, DatasetError> {
        if (raw.schema_version, raw.data_version) != (SCHEMA_VERSION, DATA_VERSION) {
            return Err(DatasetError::Version { schema: raw.schema_version, data: raw.data_version });
        }
        let dataset = Dataset::new(raw.generator, raw.shards, raw.format, raw.layers, raw.labels)?;
        let late_rate = dataset.generator.late_rate();
        Dataset { load: raw.load, ..dataset }
            .with_changes(raw.changes)?
            .with_late_rows(late_rate)?
            .with_duplicates(raw.duplicates)
    }
}

impl Dataset {
    /// A validated dataset of this build's schema and data versions.
    pub fn new(
        generator: GeneratorConfig,
        shards: u32,
        format: ShardFormat,
        layers: Layers,
        labels: bool,
    ) -> Result<Self, DatasetError> {
        if shards == 0 || shards > MAX_SHARDS {
            return Err(DatasetError::ShardCount { shards });
        }
        if u64::from(shards) > generator.rows() {
            return Err(DatasetError::MoreShardsThanRows { shards, rows: generator.rows() });
        }
        Ok(Self {
            schema_version: SCHEMA_VERSION,
            data_version: DATA_VERSION,
            generator,
            shards,
            format,
            layers,
            labels,
            load: 0,
            changes: 0.0,
            duplicates: 0.0,
        })
    }

    /// The same load carrying `rate` change events per new row. Only an appended load
    /// changes earlier movements.
    pub fn with_changes(self, rate: f64) -> Result<Self, DatasetError> {
        let changes = self.event_rate("changes", rate, "change earlier movements")?;
        Ok(Self { changes, ..self })
    }

    /// The same load with a share `rate` of its rows late (dated before its period, see
    /// [`GeneratorConfig::with_late_rate`]). Only an appended load has an earlier period.
    pub fn with_late_rows(self, rate: f64) -> Result<Self, DatasetError> {
        let rate = self.event_rate("late_rate", rate, "date rows in an earlier load's period")?;
        let generator =
            self.generator.with_late_rate(rate).map_err(|e| DatasetError::Config(e.to_string()))?;
        Ok(Self { generator, ..self })
    }

    /// The same load delivering `rate` rows of the load before it again per new row. Only an
    /// appended load has an earlier load.
    pub fn with_duplicates(self, rate: f64) -> Result<Self, DatasetError> {
        let duplicates = self.event_rate("duplicate_rate", rate, "deliver earlier rows again")?;
        if duplicates > 0.0 && !self.layers.contains(Layer::Raw) {
            return Err(DatasetError::Events {
                setting: "duplicate_rate",
                reason: "rows delivered again land in raw/: the lake has no raw layer".into(),
            });
        }
        Ok(Self { duplicates, ..self })
    }

    /// `rate` when this load can carry it: 0 to [`MAX_CHANGE_RATE`], and not 0 for an
    /// appended load only (`what` says what the first load could not do).
    fn event_rate(&self, setting: &'static str, rate: f64, what: &str) -> Result<f64, DatasetError> {
        if rate == 0.0 {
            return Ok(0.0);
        }
        if !(0.0..=MAX_CHANGE_RATE).contains(&rate) {
            return Err(DatasetError::Events {
                setting,
                reason: format!("{rate} is not in 0 to {MAX_CHANGE_RATE}"),
            });
        }
        if self.load == 0 {
            return Err(DatasetError::Events {
                setting,
                reason: format!("the first load has no earlier load to {what}: give it to an appended load"),
            });
        }
        Ok(rate)
    }

    /// Whether the load carries change events, late rows or repeated rows.
    pub fn has_events(&self) -> bool {
        self.changes > 0.0 || self.duplicates > 0.0 || self.generator.late_rate() > 0.0
    }

    /// The next load of a lake whose last load is `self`: `rows` rows in `shards` shards over
    /// `period`, with the lake's format, layers, labels and anomaly rate; ids continue after
    /// this load's last id, and the seed is [`next_load_seed`] of this load's. The period
    /// must start after this load's end.
    pub fn next_load(&self, rows: u64, shards: u32, period: Period) -> Result<Self, DatasetError> {
        let last = self.generator.period().end;
        if period.start <= last {
            return Err(DatasetError::PeriodOverlap {
                start: period.start.to_string(),
                last: last.to_string(),
            });
        }
        let first_id = self.generator.first_id() + self.generator.rows();
        let generator = GeneratorConfig::new(
            next_load_seed(self.generator.seed()),
            rows,
            period,
            first_id,
            self.generator.anomaly_rate(),
        )
        .map_err(|e| DatasetError::Config(e.to_string()))?;
        let load = self.load.checked_add(1).ok_or(DatasetError::TooManyLoads)?;
        Ok(Dataset { load, ..Dataset::new(generator, shards, self.format, self.layers, self.labels)? })
    }

    /// Whether `next` may follow `self` in a lake's history: the next number, the next ids, a
    /// later period, the chained seed and the same lake settings. Returns what breaks the rule.
    pub fn check_next(&self, next: &Dataset) -> Result<(), String> {
        let (a, b) = (&self.generator, &next.generator);
        if next.load != self.load + 1 {
            return Err(format!("load {} follows load {}", next.load, self.load));
        }
        if b.first_id() != a.first_id() + a.rows() {
            return Err(format!(
                "load {} starts at id {}, the ids of load {} end at {}",
                next.load,
                b.first_id(),
                self.load,
                a.first_id() + a.rows() - 1
            ));
        }
        if b.period().start <= a.period().end {
            return Err(format!(
                "load {} starts on {}, load {} ends on {}",
                next.load,
                b.period().start,
                self.load,
                a.period().end
            ));
        }
        if b.seed() != next_load_seed(a.seed())
            || b.anomaly_rate().to_bits() != a.anomaly_rate().to_bits()
            || (next.format, next.layers, next.labels) != (self.format, self.layers, self.labels)
        {
            return Err(format!(
                "load {} has other lake settings than load {} (seed, anomaly rate, format, layers or labels)",
                next.load, self.load
            ));
        }
        Ok(())
    }

    /// SHA-256 of the description's JSON: what configuration-named objects are keyed by.
    fn digest(&self) -> [u8; 32] {
        let json = serde_json::to_vec(self).expect("a dataset serialises");
        Sha256::digest(json).into()
    }

    /// 8 hex digits of the configuration hash, put in Parquet file names so that two
    /// configurations never share a file name (Delta forbids rewriting a data file).
    pub fn config_hash(&self) -> String {
        self.digest()[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A UUID-shaped id derived from the configuration (the Delta table id: stable, no randomness).
    pub fn uuid(&self) -> String {
        let hex: String = self.digest()[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }

    /// `, change rate 0.01, late rate 0.001, duplicate rate 0.001`: the event rates not 0.
    fn describe_events(&self) -> String {
        [("change", self.changes), ("late", self.generator.late_rate()), ("duplicate", self.duplicates)]
            .into_iter()
            .filter(|(_, rate)| *rate > 0.0)
            .map(|(name, rate)| format!(", {name} rate {rate}"))
            .collect()
    }

    /// A one-line description for messages.
    pub fn describe(&self) -> String {
        let g = &self.generator;
        format!(
            "{}{} rows (seed {}, {} to {}, first id {}, anomaly rate {}{}) in {} {} shard(s), layers {}{}",
            if self.load > 0 { format!("load {}: ", self.load) } else { String::new() },
            g.rows(),
            g.seed(),
            g.period().start,
            g.period().end,
            g.first_id(),
            g.anomaly_rate(),
            self.describe_events(),
            self.shards,
            self.format.name(),
            self.layers,
            if self.labels { ", with labels" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(shards: u32) -> Result<Dataset, DatasetError> {
        Dataset::new(
            GeneratorConfig::with_rows(1, 100).unwrap(),
            shards,
            ShardFormat::Csv,
            Layers::ALL,
            false,
        )
    }

    #[test]
    fn layers_parse_print_and_refuse_unknown_names() {
        assert_eq!("raw,delta".parse::<Layers>().unwrap().to_string(), "raw,delta");
        assert_eq!("delta, raw".parse::<Layers>().unwrap().to_string(), "raw,delta");
        assert_eq!(Layers::ALL.to_string(), "raw,staging,delta");
        for bad in ["", "raw,", "parquet", "raw,gold"] {
            let err = bad.parse::<Layers>().unwrap_err();
            assert!(err.contains("raw, staging, delta"), "{bad}: {err}");
        }
    }

    #[test]
    fn shard_counts_are_bounded_by_the_maximum_and_the_rows() {
        assert!(dataset(1).is_ok() && dataset(100).is_ok());
        assert_eq!(dataset(0), Err(DatasetError::ShardCount { shards: 0 }));
        assert_eq!(dataset(101), Err(DatasetError::MoreShardsThanRows { shards: 101, rows: 100 }));
    }

    #[test]
    fn a_dataset_survives_a_json_round_trip_exactly_and_is_validated_on_the_way_back() {
        // Records are matched to their dataset by equality after a JSON round trip, so floats
        // must come back bit for bit (serde_json's float_roundtrip).
        for rate in [0.200_353_179_369_267_78, 0.1 + 0.2, 1e-300, 0.001] {
            let generator = GeneratorConfig::new(3, 1000, Period::default(), 1, rate).unwrap();
            let d = Dataset::new(generator, 3, ShardFormat::CsvGz, Layers::RAW, true).unwrap();
            let text = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<Dataset>(&text).unwrap(), d, "{rate}");
            let hostile = text.replace("\"shards\":3", "\"shards\":4000000000");
            assert!(serde_json::from_str::<Dataset>(&hostile).is_err());
        }
    }

    #[test]
    fn the_config_hash_tells_configurations_apart() {
        let a = dataset(2).unwrap();
        let b = dataset(3).unwrap();
        assert_eq!(a.config_hash().len(), 8);
        assert_eq!(a.config_hash(), dataset(2).unwrap().config_hash());
        assert_ne!(a.config_hash(), b.config_hash());
        assert_eq!(a.uuid().len(), 36);
    }
}
