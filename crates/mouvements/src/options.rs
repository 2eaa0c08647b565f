//! What a job is asked to do, validated: the options of `generate` and `verify`, the text
//! forms every front end accepts (`10M` rows, `2025-06`, `raw,staging`), and the defaults
//! that depend on the lake (threads, the run id).

use chrono::NaiveDate;
use mouvements_generator::{GeneratorConfig, Period};
use mouvements_sink::{Dataset, LakeUrl, Layer, Layers, ShardFormat, StoreOptions, WriteMode};
use serde::Serialize;

use crate::JobError;
use crate::append::AppendOptions;

/// A distributed run's view: this task's number and the task count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Task {
    /// This task, `0..count`.
    pub index: u32,
    /// Number of tasks.
    pub count: u32,
}

impl Task {
    /// The only task of a run.
    pub const ALONE: Task = Task { index: 0, count: 1 };

    /// Task `index` of `count`; the index must be below the count.
    pub fn new(index: u32, count: u32) -> Result<Self, JobError> {
        if count == 0 {
            return Err(JobError::setting("task_count", "task count 0 must be at least 1"));
        }
        if index >= count {
            return Err(JobError::setting(
                "task_index",
                format!("task index {index} must be below the task count {count}: tasks are numbered from 0"),
            ));
        }
        Ok(Self { index, count })
    }

    /// Whether this task writes `shard`: tasks take shards round-robin.
    pub fn owns(self, shard: u32) -> bool {
        mouvements_generator::plan::task_owns(self.index, self.count, shard)
    }
}

/// Everything `generate` needs, validated.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Where to write.
    pub url: LakeUrl,
    /// What to write. With `append`, only its rows and shards are taken: the rest comes
    /// from the lake.
    pub dataset: Dataset,
    /// Whether this run appends the next load to a committed lake, and what it asks of it.
    pub append: Option<AppendOptions>,
    /// What to do with existing data.
    pub mode: WriteMode,
    /// The run this task belongs to: tasks with the same id write one dataset together.
    /// `None`: derived from the dataset written ([`derived_run_id`]).
    pub run_id: Option<String>,
    /// This task in a distributed run.
    pub task: Task,
    /// Shards generated at once.
    pub threads: usize,
    /// How the store client behaves, and its settings (credentials, endpoints).
    pub store: StoreOptions,
}

impl GenerateOptions {
    /// `dataset` into `url`, with the defaults: a fresh dataset, one task, the run id derived
    /// from the dataset, [`default_threads`], the store configured from the environment.
    pub fn new(url: LakeUrl, dataset: Dataset) -> Self {
        let threads = default_threads(&url, dataset.layers, dataset.shards);
        Self {
            run_id: None,
            url,
            dataset,
            append: None,
            mode: WriteMode::Fresh,
            task: Task::ALONE,
            threads,
            store: StoreOptions::from_env(),
        }
    }
}

/// What the rows are and how the dataset is laid out, before validation: the settings every
/// front end takes, with the CLI's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSettings {
    /// Rows in the dataset.
    pub rows: u64,
    /// Raw CSV shards.
    pub shards: u32,
    /// Seed of every random stream.
    pub seed: u64,
    /// Period of `date_op`.
    pub period: Period,
    /// Number of the first row's id.
    pub first_id: u64,
    /// Share of rows given an exceptional amount.
    pub anomaly_rate: f64,
    /// Raw shard format.
    pub format: ShardFormat,
    /// Layers written.
    pub layers: Layers,
    /// Whether the anomaly ground truth is written.
    pub labels: bool,
}

impl Default for DatasetSettings {
    fn default() -> Self {
        Self {
            rows: 10_000_000,
            shards: 5,
            seed: 42,
            period: Period::default(),
            first_id: 1,
            anomaly_rate: 0.001,
            format: ShardFormat::Csv,
            layers: Layers::ALL,
            labels: false,
        }
    }
}

impl DatasetSettings {
    /// The generator's configuration of these settings, validated.
    pub fn generator(&self) -> Result<GeneratorConfig, JobError> {
        Ok(GeneratorConfig::new(self.seed, self.rows, self.period, self.first_id, self.anomaly_rate)?)
    }

    /// The dataset of these settings, validated.
    pub fn dataset(&self) -> Result<Dataset, JobError> {
        Dataset::new(self.generator()?, self.shards, self.format, self.layers, self.labels)
            .map_err(|e| JobError::Sink(e.into()))
    }
}

/// Shards generated at once by default. Raw only on a local lake: every shard at once (up to
/// 4 per core), so one shard's final fsync overlaps the others' generation (measured: 0.36 s
/// instead of 0.45 s for 10 M rows on 2 cores); each costs ~3 MiB. With Parquet layers, or on
/// object stores: one shard per core, since a shard then holds ~75 MiB (a Parquet writer per
/// partition, or 80 MiB of upload parts) and its work is CPU-bound (with a Parquet layer, each
/// shard runs its CSV and two Parquet encoders on three threads: see `compose`).
pub fn default_threads(url: &LakeUrl, layers: Layers, shards: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    match url {
        LakeUrl::Local(_) if !layers.has_parquet() => (shards as usize).min(4 * cores).max(1),
        _ => cores,
    }
}

/// The run id of tasks given no id: derived from the dataset, so that tasks given the same
/// settings still write one dataset together.
pub fn derived_run_id(dataset: &Dataset) -> String {
    format!("auto-{}", dataset.config_hash())
}

/// The job runners' variables that name an execution, in the order they are looked up.
pub const RUN_ID_VARIABLES: [&str; 2] = ["CLOUD_RUN_EXECUTION", "BATCH_JOB_UID"];

/// The run id from the job runners' execution variables, if one is set (and not empty).
pub fn run_id_from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<(String, &'static str)> {
    RUN_ID_VARIABLES.iter().find_map(|var| env(var).map(|id| (id, *var)))
}

/// `10000000`, `10_000_000`, `10M`, `250k`, `1.5M`, `2G`: a row count of at least 1.
pub fn parse_rows(text: &str) -> Result<u64, String> {
    let bad = || format!("expected a row count such as 10000000, 10_000_000, 10M or 250k, got {text:?}");
    let clean: String = text.trim().chars().filter(|c| *c != '_').collect();
    let (number, multiplier) = match clean.chars().last() {
        Some('k' | 'K') => (&clean[..clean.len() - 1], 1_000u64),
        Some('m' | 'M') => (&clean[..clean.len() - 1], 1_000_000),
        Some('g' | 'G' | 'b' | 'B') => (&clean[..clean.len() - 1], 1_000_000_000),
        _ => (clean.as_str(), 1),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let scale = 10u64.checked_pow(fraction.len() as u32).ok_or_else(bad)?;
    let digits: u64 = format!("{whole}{fraction}").parse().map_err(|_| bad())?;
    let scaled = digits.checked_mul(multiplier).ok_or_else(bad)?;
    if scaled % scale != 0 {
        return Err(format!("{text:?} is not a whole number of rows"));
    }
    match scaled / scale {
        0 => Err("the row count must be at least 1".into()),
        rows if rows > mouvements_generator::MAX_ROWS => {
            Err(format!("{text:?} is too many rows: at most {}", mouvements_generator::MAX_ROWS))
        }
        rows => Ok(rows),
    }
}

/// `YYYY-MM`.
pub fn parse_month(text: &str) -> Result<(i32, u32), String> {
    let bad = || format!("expected a month as YYYY-MM, e.g. 2025-06, got {text:?}");
    let (year, month) = text.split_once('-').ok_or_else(bad)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(bad());
    }
    let (year, month) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&month) {
        return Err(bad());
    }
    Ok((year, month))
}

/// `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("expected a date as YYYY-MM-DD, e.g. 2025-06-01, got {text:?}"))
}

/// A probability in [0, 1].
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("expected a share in [0, 1], e.g. 0.001, got {text:?}")),
    }
}

/// `csv` or `csv-gz`.
pub fn parse_format(text: &str) -> Result<ShardFormat, String> {
    text.parse()
}

/// `raw,staging,delta` or a subset.
pub fn parse_layers(text: &str) -> Result<Layers, String> {
    text.parse()
}

/// One of raw, staging, delta.
pub fn parse_layer(text: &str) -> Result<Layer, String> {
    let layers: Layers = text.parse()?;
    let mut all = layers.iter();
    match (all.next(), all.next()) {
        (Some(layer), None) => Ok(layer),
        _ => Err(format!("expected one layer of raw, staging, delta, got {text:?}")),
    }
}

/// A run id: 1 to 200 printable characters.
pub fn parse_run_id(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > 200 || trimmed.chars().any(char::is_control) {
        return Err(format!("expected 1 to 200 printable characters, e.g. $(JOB_NAME), got {text:?}"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_counts_accept_the_usual_spellings() {
        for (text, rows) in [
            ("10000000", 10_000_000),
            ("10_000_000", 10_000_000),
            ("10M", 10_000_000),
            ("250k", 250_000),
            ("1.5M", 1_500_000),
            ("2G", 2_000_000_000),
        ] {
            assert_eq!(parse_rows(text), Ok(rows), "{text}");
        }
    }

    #[test]
    fn bad_row_counts_say_what_is_expected() {
        for text in ["0", "abc", "-5", "1.5", "10MM", "", "k", "1e6", "99999999999999999999"] {
            assert!(parse_rows(text).is_err(), "{text}");
        }
    }

    #[test]
    fn months_and_dates_are_strict() {
        assert_eq!(parse_month("2025-06"), Ok((2025, 6)));
        for bad in ["2025-13", "2025-6", "06-2025", "2025/06", "2025-00"] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2025-02-30").is_err());
        assert!(parse_rate("1.5").is_err() && parse_rate("NaN").is_err() && parse_rate("0.5").is_ok());
    }
}
