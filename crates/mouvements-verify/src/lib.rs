//! The verifier: proves a mouvements dataset whole and correct, and describes it. It never
//! writes to the lake.
//!
//! It checks by level, each in its module: every line against the data contract (`line`:
//! each field, the rules tying columns together), every shard as it streams back (`shard`:
//! header, framing, id and date order, against its manifest entry), the dataset (`dataset`:
//! the commit markers, every listed file present with its size and checksum, no file a reader
//! would pick up that the manifest does not list, ids and dates across shards), the labels
//! (`labels`), and optionally a sample and statistics, including the anomalies a robust rule
//! finds and, with labels, its precision and recall.
//!
//! A dataset that breaks rules gives a [`Report`] that names, per rule, the shard, line,
//! column and value; only an unreachable lake or a missing dataset is an `Err`.

mod changes;
mod dataset;
mod digest;
mod history;
mod labels;
mod layers;
mod line;
mod lines;
mod problems;
mod report;
mod shard;
mod stats;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use mouvements_sink::{FileEntry, Lake, Layer, Load, Manifest, Receipt, SinkError, Survey, layout};
use tokio::sync::Semaphore;

pub use changes::ChangeSummary;
pub use line::{LineError, parse_line};
pub use lines::MAX_LINE_BYTES;
pub use problems::{EXAMPLES_PER_RULE, Problem, ProblemGroup, Problems};
pub use report::{DatasetSummary, LoadSummary, Report, ShardSummary};
pub use stats::{
    AmountStats, AnomalyReport, BusinessRatio, Count, Evaluation, FlaggedRow, MAX_CANDIDATES, Stats,
    THRESHOLD,
};

/// What to do besides checking.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Rows to sample evenly across the dataset.
    pub sample: Option<usize>,
    /// Whether to collect statistics.
    pub stats: bool,
    /// The layer statistics are read from; `None`: raw if the dataset has it, else staging,
    /// else delta.
    pub stats_layer: Option<Layer>,
    /// Shards checked at once.
    pub threads: usize,
}

/// Why a dataset could not be verified at all (as opposed to failing verification).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The lake could not be read.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// Nothing in the lake's layer folders.
    #[error("no dataset at {url}: nothing under raw/, staging/ or delta/")]
    NoDataset {
        /// The lake base.
        url: String,
    },
}

/// Verifies the dataset of `lake`.
pub async fn verify(lake: Arc<Lake>, options: &VerifyOptions) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let mut survey = lake.survey().await?;
    lake.read_sizes(&mut survey).await?;
    let mut problems = Problems::default();
    if survey.objects.is_empty() && survey.leftovers.is_empty() {
        return Err(VerifyError::NoDataset { url: lake.url().to_string() });
    }
    if !survey.success {
        problems.add_set(
            "set.success_missing",
            "dataset",
            "_SUCCESS is missing: the dataset was never committed".into(),
        );
    }
    let manifest = match survey.manifest.clone() {
        Some(Ok(manifest)) => manifest,
        Some(Err(reason)) => {
            problems.add_set("set.manifest_invalid", layout::MANIFEST, reason);
            return Ok(Report::new(&lake, None, Vec::new(), problems, None, None, started));
        }
        None => {
            problems.add_set("set.manifest_missing", layout::MANIFEST, "_manifest.json is missing".into());
            return Ok(Report::new(&lake, None, Vec::new(), problems, None, None, started));
        }
    };
    let layers = manifest.latest().dataset.layers;
    history::check_unfinished(&lake, &manifest, &survey, &mut problems);
    let table = if layers.contains(Layer::Delta) { layers::read_table(&lake).await? } else { None };
    let keep = match &table {
        Some(Ok(table)) => layers::referenced_files(table),
        _ => BTreeSet::new(),
    };
    dataset::check_files(&manifest, &survey, &keep, &mut problems);
    if layers.contains(Layer::Delta) {
        match &table {
            None => {
                problems.add_set("delta.log_missing", layout::DELTA_LOG, "the Delta table has no log".into());
            }
            Some(Err(reason)) => problems.add_set("delta.log", layout::DELTA_LOG, reason.clone()),
            Some(Ok(table)) => {
                layers::check_table(table, &manifest, &mut problems);
                history::check_versions(table, &manifest, &mut problems);
                history::check_checkpoint(&lake, table, &mut problems).await?;
            }
        }
    }
    let stats_layer = options.stats.then(|| {
        options
            .stats_layer
            .filter(|l| layers.contains(*l))
            .unwrap_or_else(|| layers.iter().next().unwrap_or(Layer::Raw))
    });

    // Sample rows evenly spread over the dataset, the same ones every time.
    let total_rows = manifest.rows;
    let sample_rows: Vec<u64> = match options.sample {
        Some(n) if n > 0 && total_rows > 0 => {
            let n = (n as u64).min(total_rows);
            (0..n).map(|i| i * total_rows / n).collect()
        }
        _ => Vec::new(),
    };
    let raw_stats = stats_layer == Some(Layer::Raw);
    let checks = spawn_checks(&lake, &manifest, &survey, &sample_rows, options.threads, raw_stats);
    let mut stats = raw_stats.then(stats::StatsBuilder::new);
    let mut sample = Vec::new();
    let mut raw = vec![digest::Digest::default(); manifest.loads.len()];
    let shards = collect(checks, &mut problems, &mut sample, stats.as_mut(), &mut raw).await;
    let parquet_stats = stats_layer.filter(|l| *l != Layer::Raw);
    let merged = check_parquet_layers(
        &lake,
        &manifest,
        &raw,
        options.threads,
        parquet_stats,
        &mut stats,
        &mut problems,
    )
    .await?;

    let detector = stats.as_ref().map(stats::StatsBuilder::detector);
    let tally = check_labels(&lake, &manifest, &survey, detector.as_ref(), &mut problems).await?;
    let changes = changes::check(&lake, &manifest, &survey, &mut problems).await?;
    if let Some((delivered, table)) = merged {
        let change = changes.as_ref().map(|c| c.digest_change).unwrap_or_default();
        compare_merged(delivered, change, table, &mut problems);
    }
    let stats = stats.map(|builder| {
        let per_shard = shards.iter().map(|s| (s.name.clone(), s.rows)).collect();
        builder.finish(tally, per_shard)
    });
    let sample = options.sample.map(|_| sample.into_iter().map(|(_, row)| row).collect());
    let report = Report::new(&lake, Some(&manifest), shards, problems, sample, stats, started);
    Ok(Report { changes, ..report })
}

/// Each Parquet layer of a load against the load's rows and its raw digest (or, without
/// raw, staging against delta).
fn compare_layers(
    load: &Load,
    raw: digest::Digest,
    digests: &std::collections::BTreeMap<Layer, digest::Digest>,
    problems: &mut Problems,
) {
    let reference = if load.dataset.layers.contains(Layer::Raw) {
        Some((Layer::Raw, raw))
    } else {
        digests.iter().next().map(|(l, d)| (*l, *d))
    };
    for (layer, digest) in digests {
        let folder = layout::layer_folder(*layer);
        if digest.rows != load.rows {
            problems.add_set(
                "layer.rows",
                folder,
                format!("{} rows, the manifest says {}", digest.rows, load.rows),
            );
        } else if let Some((other, expected)) =
            reference.filter(|(other, d)| other != layer && d.rows == load.rows)
            && expected.sum != digest.sum
        {
            problems.add_set("layer.checksum", folder, format!("its rows are not the rows of {other}"));
        }
    }
}

/// Checks the Parquet files of every load and each layer against the load's rows (`raw`: each
/// load's raw digest); rows of `stats_layer` feed `stats`. A Delta table that merged change
/// events holds the history with them applied: it is checked whole once the events are known,
/// from the digests returned, of the rows delivered and of the table.
async fn check_parquet_layers(
    lake: &Arc<Lake>,
    manifest: &Manifest,
    raw: &[digest::Digest],
    threads: usize,
    stats_layer: Option<Layer>,
    stats: &mut Option<stats::StatsBuilder>,
    problems: &mut Problems,
) -> Result<Option<(digest::Digest, digest::Digest)>, SinkError> {
    let layers = manifest.latest().dataset.layers;
    let (origins, counted) = (layers::origins(manifest), layers::counted(manifest));
    let merged = layers.contains(Layer::Delta) && manifest.loads.iter().any(|l| l.dataset.changes > 0.0);
    let (mut delivered, mut table) = (digest::Digest::default(), digest::Digest::default());
    for (load, raw) in manifest.loads.iter().zip(raw) {
        let files = (&origins, &counted);
        let (mut digests, parquet_builder) =
            layers::check_files(lake, manifest, load, files, threads, stats_layer, problems).await?;
        match (stats.as_mut(), parquet_builder) {
            (Some(all), Some(part)) => all.merge(part),
            (None, part) => *stats = part,
            (Some(_), None) => {}
        }
        if merged {
            table.merge(digests.remove(&Layer::Delta).unwrap_or_default());
            let reference =
                if layers.contains(Layer::Raw) { Some(*raw) } else { digests.get(&Layer::Staging).copied() };
            delivered.merge(reference.unwrap_or_default());
        }
        compare_layers(load, *raw, &digests, problems);
    }
    Ok(merged.then_some((delivered, table)))
}

/// The merged Delta table against the rows delivered with every change event applied.
fn compare_merged(
    delivered: digest::Digest,
    change: digest::Digest,
    table: digest::Digest,
    problems: &mut Problems,
) {
    let rows = delivered.rows.wrapping_add(change.rows);
    if table.rows != rows {
        let value = format!("{} rows, the history with its change events applied has {rows}", table.rows);
        problems.add_set("layer.rows", layout::DELTA, value);
    } else if table.sum != delivered.sum.wrapping_add(change.sum) {
        let value = "its rows are not the history's with its change events applied".to_owned();
        problems.add_set("layer.checksum", layout::DELTA, value);
    }
}

/// A shard check running on a blocking thread; `None` for a shard absent from the lake.
type Check = Option<
    tokio::task::JoinHandle<Result<Result<(shard::Outcome, Receipt), SinkError>, tokio::task::JoinError>>,
>;

/// A raw shard being checked: its load (index in the manifest), name, rows and CRC32C listed.
type ShardCheck = (usize, String, u64, String, Check);

/// A raw shard of the history: its load's index and load, its entry and file, and its first
/// row's number in the whole history and in its load.
type RawShard<'a> = (usize, &'a Load, &'a mouvements_sink::ShardEntry, &'a FileEntry, u64, u64);

/// Every raw shard of the history, in order.
fn raw_files(manifest: &Manifest) -> Vec<RawShard<'_>> {
    let mut files = Vec::new();
    let mut history_row = 0;
    for (index, load) in manifest.loads.iter().enumerate() {
        let mut load_row = 0;
        for entry in &load.shards {
            if let Some(file) = entry.files.iter().find(|f| f.layer == Some(Layer::Raw)) {
                files.push((index, load, entry, file, history_row, load_row));
            }
            history_row += entry.rows;
            load_row += entry.rows;
        }
    }
    files
}

/// Starts checking every raw shard of the history, `options.threads` at a time.
fn spawn_checks(
    lake: &Arc<Lake>,
    manifest: &Manifest,
    survey: &Survey,
    sample_rows: &[u64],
    threads: usize,
    stats: bool,
) -> Vec<ShardCheck> {
    let permits = Arc::new(Semaphore::new(threads.max(1)));
    let mut checks = Vec::new();
    for (index, load, entry, file, first_row, load_row) in raw_files(manifest) {
        let generator = load.dataset.generator;
        let gzip = load.dataset.format == mouvements_sink::ShardFormat::CsvGz;
        let expected = shard::Expected {
            name: file.path.clone(),
            first_id: generator.first_id() + load_row,
            period: (generator.dated_within().start, generator.period().end),
            ordered_from: generator.period().start,
            first_row,
            sample_rows: sample_rows
                .iter()
                .copied()
                .filter(|r| (first_row..first_row + entry.rows).contains(r))
                .collect(),
            stats,
        };
        let check = survey.objects.contains_key(&file.path).then(|| {
            let (lake, permits) = (Arc::clone(lake), Arc::clone(&permits));
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                tokio::task::spawn_blocking(move || {
                    let handle = tokio::runtime::Handle::current();
                    let mut reader = lake.objects().reader(&expected.name, gzip, &handle)?;
                    let outcome = shard::check(&mut reader, &expected);
                    Ok((outcome, reader.stored()))
                })
                .await
            })
        });
        checks.push((index, file.path.clone(), file.rows, file.crc32c.clone(), check));
    }
    checks
}

/// Waits for the checks in shard order and merges them: per-shard problems, the checks
/// against the manifest, and the id and date order across shard boundaries.
async fn collect(
    checks: Vec<ShardCheck>,
    problems: &mut Problems,
    sample: &mut Vec<(u64, mouvements_schema::Mouvement)>,
    mut stats: Option<&mut stats::StatsBuilder>,
    raw: &mut [digest::Digest],
) -> Vec<ShardSummary> {
    let mut shards = Vec::new();
    // Ids and dates continue across shards and across loads.
    let mut sequence = dataset::Sequence::default();
    for (load, name, rows, crc32c, check) in checks {
        let Some(check) = check else {
            shards.push(ShardSummary::missing(&name));
            continue;
        };
        let (outcome, stored) = match check.await {
            Ok(Ok(Ok(done))) => done,
            Ok(Ok(Err(e))) => {
                problems.add_set("shard.read_error", &name, e.to_string());
                continue;
            }
            Ok(Err(e)) | Err(e) => {
                problems.add_set("shard.read_error", &name, e.to_string());
                continue;
            }
        };
        let crc = mouvements_sink::crc32c_hex(stored.crc32c);
        let complete = !outcome.problems.has("shard.read_error");
        if complete && crc != crc32c {
            problems.add_set("shard.checksum", &name, format!("CRC32C {crc}, the manifest says {crc32c}"));
        }
        if complete && outcome.rows != rows {
            problems.add_set("shard.rows", &name, format!("{} rows, the manifest says {rows}", outcome.rows));
        }
        sequence.follow(&name, outcome.ids, outcome.dates, problems);
        let clean = outcome.problems.is_empty() && crc == crc32c && outcome.rows == rows;
        shards.push(ShardSummary::checked(&name, outcome.rows, stored.bytes, &crc, clean));
        problems.merge(outcome.problems);
        raw[load].merge(outcome.digest);
        sample.extend(outcome.sample);
        if let (Some(all), Some(part)) = (stats.as_deref_mut(), outcome.stats) {
            all.merge(part);
        }
    }
    shards
}

/// Streams every labels file of the manifest: checksums and form always, and with a
/// detector the tally of labelled rows it flags (`None` when some file could not be read).
async fn check_labels(
    lake: &Arc<Lake>,
    manifest: &Manifest,
    survey: &Survey,
    detector: Option<&stats::Detector>,
    problems: &mut Problems,
) -> Result<Option<stats::LabelTally>, SinkError> {
    let mut total = stats::LabelTally::default();
    let mut complete = true;
    let anomalies = format!("{}/anomalies-", layout::LABELS);
    let files: Vec<FileEntry> =
        manifest.files().filter(|f| f.layer.is_none() && f.path.starts_with(&anomalies)).cloned().collect();
    for file in files {
        if !survey.objects.contains_key(&file.path) {
            complete = false;
            continue;
        }
        let (reading, detector) = (Arc::clone(lake), detector.cloned());
        let (tally, found) = tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            let mut found = Problems::default();
            let mut reader = reading.objects().reader(&file.path, false, &handle)?;
            let (tally, rows) = labels::check(&mut reader, &file, detector.as_ref(), &mut found);
            labels::check_stored(&file, reader.stored(), rows, &mut found);
            Ok::<_, SinkError>((tally, found))
        })
        .await
        .map_err(|e| SinkError::Write { url: lake.url().to_string(), source: std::io::Error::other(e) })??;
        total.labelled += tally.labelled;
        total.flagged += tally.flagged;
        complete &= found.is_empty();
        problems.merge(found);
    }
    Ok((manifest.latest().dataset.labels && complete && detector.is_some()).then_some(total))
}
