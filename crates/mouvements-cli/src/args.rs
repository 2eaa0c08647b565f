//! The command line: subcommands, flags, and the parsers that turn flag text into values with
//! errors naming the accepted forms (clap prefixes them with the flag).

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use mouvements_sink::{Layer, Layers, MAX_SHARDS, ShardFormat};

/// Generate, verify and describe a lake of synthetic insurance financial movements.
#[derive(Debug, Parser)]
#[command(name = "mouvements-gen", version, about, max_term_width = 100)]
pub struct Cli {
    /// How log lines on stderr look: text for people, json for Cloud Logging.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `mouvements-gen: message`.
    Text,
    /// One JSON object per line with severity and message (Cloud Logging's structured logs).
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a dataset into the lake: raw CSV, staging Parquet and a Delta table.
    Generate(GenerateArgs),
    /// Check a dataset, every layer of it, against every rule of the data contract.
    Verify(VerifyArgs),
    /// Print the Databricks guide with this lake's paths filled in.
    Guide(GuideArgs),
    /// Print every resolved setting, its value and where it came from.
    Config(GenerateArgs),
}

/// How results are printed, shared by every subcommand.
#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArgs {
    /// Print one JSON document on stdout instead of the human output.
    #[arg(long)]
    pub json: bool,
    /// No progress and no human output; errors only (the exit code tells the outcome).
    #[arg(short, long)]
    pub quiet: bool,
}

/// The lake location, shared by every subcommand.
#[derive(Debug, Args)]
pub struct BaseArg {
    /// Lake base: a local path, file://, gs://bucket/prefix, s3://bucket/prefix or az://container/prefix.
    #[arg(
        short = 'o',
        long = "output",
        env = "GCS_BUCKET_BASE",
        default_value = "./datalake",
        value_name = "BASE"
    )]
    pub base: String,
}

/// Flags of `generate` (and `config`).
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each is an independent on/off flag
pub struct GenerateArgs {
    #[command(flatten)]
    pub base: BaseArg,
    /// Number of rows: 10000000, 10_000_000, 10M or 250k.
    #[arg(short = 'n', long, default_value = "10M", value_parser = parse_rows)]
    pub rows: u64,
    /// Number of shards (raw CSV files; each writes one Parquet file per partition it has rows for).
    #[arg(short = 's', long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SHARDS)))]
    pub shards: u32,
    /// Seed of every random stream: same seed, same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Month of the operations, YYYY-MM (default 2025-06).
    #[arg(long, value_parser = parse_month, conflicts_with_all = ["from", "to"])]
    pub month: Option<(i32, u32)>,
    /// First day of the operations, YYYY-MM-DD (with --to).
    #[arg(long, value_parser = parse_date, requires = "to")]
    pub from: Option<NaiveDate>,
    /// Last day of the operations, YYYY-MM-DD, inclusive (with --from).
    #[arg(long, value_parser = parse_date, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Number of the first row's id (M0000001 is 1).
    #[arg(long, default_value_t = 1)]
    pub first_id: u64,
    /// Format of the raw CSV shards (the raw layer only: Parquet is always zstd).
    #[arg(long, default_value = "csv", value_parser = parse_format)]
    pub format: ShardFormat,
    /// Layers to write: a comma-separated, non-empty subset of raw, staging, delta.
    #[arg(long, default_value = "raw,staging,delta", value_parser = parse_layers)]
    pub layers: Layers,
    /// Share of rows given an exceptional amount, in [0, 1].
    #[arg(long, default_value_t = 0.001, value_parser = parse_rate)]
    pub anomaly_rate: f64,
    /// Also write the anomaly ground truth to raw/_labels/.
    #[arg(long)]
    pub labels: bool,
    /// Replace an existing dataset (a new Delta version; stale files removed at commit).
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Complete an interrupted dataset: keep the shards whose checksums match, write the rest.
    #[arg(long)]
    pub resume: bool,
    /// Identity of this execution: tasks with the same run id write one dataset together (also CLOUD_RUN_EXECUTION, BATCH_JOB_UID; default: derived from the settings).
    #[arg(long, value_parser = parse_run_id)]
    pub run_id: Option<String>,
    /// This task's number in a distributed run (also CLOUD_RUN_TASK_INDEX, BATCH_TASK_INDEX, JOB_COMPLETION_INDEX).
    #[arg(long)]
    pub task_index: Option<u32>,
    /// Number of tasks in a distributed run (also CLOUD_RUN_TASK_COUNT, BATCH_TASK_COUNT, JOB_COMPLETIONS).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub task_count: Option<u32>,
    /// Shards generated at once (default: every shard on a local disk, up to 4 per core; one per core on object stores).
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `guide`.
#[derive(Debug, Args)]
pub struct GuideArgs {
    #[command(flatten)]
    pub base: BaseArg,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `verify`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("statistics").args(["stats", "html"]).multiple(true)))]
pub struct VerifyArgs {
    #[command(flatten)]
    pub base: BaseArg,
    /// Show N rows drawn evenly across the dataset (default 10, at most 100000).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sample: Option<u32>,
    /// Show statistics: shares, amounts per type, rows per day, detected anomalies.
    #[arg(long)]
    pub stats: bool,
    /// The layer statistics are read from (default: raw, else staging, else delta).
    #[arg(long, value_name = "LAYER", value_parser = parse_layer, requires = "statistics")]
    pub stats_layer: Option<Layer>,
    /// Also write the report as one self-contained HTML page with charts (implies --stats);
    /// written even when verification fails.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Shards checked at once (default: the number of cores).
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    #[command(flatten)]
    pub output: OutputArgs,
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
