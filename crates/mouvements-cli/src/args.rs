//! The command line: subcommands, flags, and the parsers that turn flag text into values with
//! errors naming the accepted forms (clap prefixes them with the flag).

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use mouvements::options::{
    parse_date, parse_format, parse_layer, parse_layers, parse_month, parse_rate, parse_rows, parse_run_id,
};
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
    /// Add the next load to a committed lake: ids continue, the period defaults to the month after the last load's, the other settings are the lake's (with --resume: complete an interrupted append).
    #[arg(long, conflicts_with = "overwrite")]
    pub append: bool,
    /// With --append: change events per new row, corrections and cancellations of earlier loads' movements, written to raw/changes/ and merged into the Delta table (0 to 0.5).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub changes: f64,
    /// With --append: share of the load's new rows that are late, dated in the two months before its period (0 to 0.5).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub late_rate: f64,
    /// With --append: rows of the last load delivered again per new row, byte for byte, in raw/mouvements-loadNNNNN-repeated-*.csv (0 to 0.5).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub duplicate_rate: f64,
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
