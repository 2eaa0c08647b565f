//! The verifier: proves a mouvements dataset whole and correct, and describes it.
//!
//! It streams every shard back through the sink (shards in parallel, bounded memory each),
//! checks the set against the manifest (names, sizes, row counts, CRC32C), every line against
//! the data contract (header, framing, each field, cross-column rules, id contiguity, date
//! order and period), and optionally collects a sample and statistics, including the
//! anomalies a robust rule finds and, with labels, its precision and recall.
//!
//! A dataset that breaks rules gives a [`Report`] that names, per rule, the shard, line,
//! column and value; only an unreachable lake or a missing dataset is an `Err`.

mod line;
mod problems;
mod report;
mod shard;
mod stats;

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use mouvements_sink::{Lake, Manifest, ShardReceipt, SinkError, Survey, layout};
use tokio::sync::Semaphore;

pub use line::{LineError, parse_line};
pub use problems::{EXAMPLES_PER_RULE, Problem, ProblemGroup, Problems};
pub use report::{DatasetSummary, Report, ShardSummary};
pub use shard::MAX_LINE_BYTES;
pub use stats::{AmountStats, AnomalyReport, Count, Evaluation, FlaggedRow, ROBUST_Z_THRESHOLD, Stats};

/// What to do besides checking.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Rows to sample evenly across the dataset.
    pub sample: Option<usize>,
    /// Whether to collect statistics.
    pub stats: bool,
    /// Shards checked at once.
    pub threads: usize,
}

/// Why a dataset could not be verified at all (as opposed to failing verification).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The lake could not be read.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// Nothing under `raw/`.
    #[error("no dataset at {url}: generate one with `mouvements-gen generate -o {base}`")]
    NoDataset {
        /// The raw folder.
        url: String,
        /// The lake base.
        base: String,
    },
}

/// The facts of the description `mouvements-gen` writes in the manifest.
#[derive(Debug, Clone, serde::Deserialize)]
struct Facts {
    generator: GeneratorFacts,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct GeneratorFacts {
    rows: u64,
    first_id: u64,
    period: PeriodFacts,
    anomaly_rate: f64,
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
struct PeriodFacts {
    start: NaiveDate,
    end: NaiveDate,
}

/// Verifies the dataset of `lake`.
pub async fn verify(lake: Arc<Lake>, options: &VerifyOptions) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let survey = lake.survey().await?;
    let mut problems = Problems::default();
    if !survey.success && survey.manifest.is_none() && survey.shards.is_empty() && survey.records.is_empty() {
        return Err(VerifyError::NoDataset {
            url: lake.url().join(layout::RAW),
            base: lake.url().to_string(),
        });
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
    let facts: Facts = match serde_json::from_value(manifest.dataset.description.clone()) {
        Ok(facts) => facts,
        Err(e) => {
            problems.add_set("set.manifest_invalid", layout::MANIFEST, format!("description: {e}"));
            return Ok(Report::new(&lake, Some(&manifest), Vec::new(), problems, None, None, started));
        }
    };
    check_set(&manifest, &facts, &survey, &mut problems);

    // Sample rows evenly spread over the dataset, the same ones every time.
    let total_rows = facts.generator.rows;
    let sample_rows: Vec<u64> = match options.sample {
        Some(n) if n > 0 && total_rows > 0 => {
            let n = (n as u64).min(total_rows);
            (0..n).map(|i| i * total_rows / n).collect()
        }
        _ => Vec::new(),
    };
    let candidate_share = candidate_share(&facts);
    let checks = spawn_checks(&lake, &manifest, &facts, &survey, &sample_rows, options, candidate_share);
    let mut stats = options.stats.then(|| stats::StatsBuilder::new(candidate_share));
    let mut sample = Vec::new();
    let shards = collect(&manifest, checks, &mut problems, &mut sample, stats.as_mut()).await?;

    let stats = match stats {
        Some(builder) => {
            let labels =
                if manifest.dataset.labels { read_labels(&lake, &manifest, &survey).await? } else { None };
            let per_shard = shards.iter().map(|s| (s.name.clone(), s.rows)).collect();
            Some(builder.finish(labels.as_deref(), per_shard))
        }
        None => None,
    };
    let sample = options.sample.map(|_| sample.into_iter().map(|(_, row)| row).collect());
    Ok(Report::new(&lake, Some(&manifest), shards, problems, sample, stats, started))
}

/// A shard check running on a blocking thread; `None` for a shard absent from the lake.
type Check = Option<
    tokio::task::JoinHandle<
        Result<Result<(shard::Outcome, ShardReceipt), SinkError>, tokio::task::JoinError>,
    >,
>;

/// Starts checking every shard of the manifest, `options.threads` at a time.
fn spawn_checks(
    lake: &Arc<Lake>,
    manifest: &Manifest,
    facts: &Facts,
    survey: &Survey,
    sample_rows: &[u64],
    options: &VerifyOptions,
    candidate_share: f64,
) -> Vec<Check> {
    let permits = Arc::new(Semaphore::new(options.threads.max(1)));
    let mut first_row = 0;
    let mut checks = Vec::new();
    for entry in &manifest.shards {
        let expected = shard::Expected {
            name: entry.name.clone(),
            first_id: facts.generator.first_id + first_row,
            period: (facts.generator.period.start, facts.generator.period.end),
            first_row,
            sample_rows: sample_rows
                .iter()
                .copied()
                .filter(|r| (first_row..first_row + entry.rows).contains(r))
                .collect(),
            stats: options.stats.then_some(candidate_share),
        };
        first_row += entry.rows;
        if !survey.shards.contains_key(&entry.name) {
            checks.push(None);
            continue;
        }
        let (lake, permits, format) = (Arc::clone(lake), Arc::clone(&permits), manifest.dataset.format);
        checks.push(Some(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
            tokio::task::spawn_blocking(move || {
                let handle = tokio::runtime::Handle::current();
                let mut reader = lake.open_shard(&expected.name, format, &handle)?;
                let outcome = shard::check(&mut reader, &expected);
                Ok((outcome, reader.stored()))
            })
            .await
        })));
    }
    checks
}

/// Waits for the checks in shard order and merges them: per-shard problems, the checks
/// against the manifest, and the id and date order across shard boundaries.
async fn collect(
    manifest: &Manifest,
    checks: Vec<Check>,
    problems: &mut Problems,
    sample: &mut Vec<(u64, mouvements_schema::Mouvement)>,
    mut stats: Option<&mut stats::StatsBuilder>,
) -> Result<Vec<ShardSummary>, SinkError> {
    let mut shards = Vec::new();
    let mut previous_last: Option<(u64, NaiveDate)> = None;
    for (entry, check) in manifest.shards.iter().zip(checks) {
        let Some(check) = check else {
            shards.push(ShardSummary::missing(entry));
            continue;
        };
        let (outcome, stored) = match check.await {
            Ok(Ok(Ok(done))) => done,
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(e)) | Err(e) => {
                problems.add_set("shard.read_error", &entry.name, e.to_string());
                continue;
            }
        };
        let crc = mouvements_sink::crc32c_hex(stored.crc32c);
        let complete = !outcome.problems.has("shard.read_error");
        if complete && crc != entry.crc32c {
            problems.add_set(
                "shard.checksum",
                &entry.name,
                format!("CRC32C {crc}, the manifest says {}", entry.crc32c),
            );
        }
        if complete && outcome.rows != entry.rows {
            problems.add_set(
                "shard.rows",
                &entry.name,
                format!("{} rows, the manifest says {}", outcome.rows, entry.rows),
            );
        }
        if let (Some((last_id, last_date)), Some((first_id, first_date))) = (previous_last, outcome.first) {
            if first_id != last_id + 1 {
                problems.add_set(
                    "id.sequence",
                    &entry.name,
                    format!("starts at M{first_id:07} after M{last_id:07}"),
                );
            }
            if first_date < last_date {
                problems.add_set(
                    "date.order",
                    &entry.name,
                    format!("starts on {first_date} after {last_date}"),
                );
            }
        }
        previous_last = outcome.last.or(previous_last);
        shards.push(ShardSummary::checked(
            entry,
            outcome.rows,
            stored.bytes,
            &crc,
            outcome.problems.is_empty(),
        ));
        problems.merge(outcome.problems);
        sample.extend(outcome.sample);
        if let (Some(all), Some(part)) = (stats.as_deref_mut(), outcome.stats) {
            all.merge(part);
        }
    }
    Ok(shards)
}

/// Set-level checks: shard names, sizes and the manifest's own arithmetic.
fn check_set(manifest: &Manifest, facts: &Facts, survey: &Survey, problems: &mut Problems) {
    let count = manifest.dataset.shard_count;
    let names: Vec<String> =
        (0..count).map(|i| layout::shard_name(i, count, manifest.dataset.format)).collect();
    if manifest.shards.iter().map(|s| &s.name).ne(names.iter()) {
        problems.add_set(
            "set.manifest_invalid",
            layout::MANIFEST,
            format!("shard list is not the {count} expected names"),
        );
    }
    for name in &names {
        match survey.shards.get(name) {
            None => {
                problems.add_set(
                    "set.shard_missing",
                    name,
                    "listed in the manifest, absent from raw/".into(),
                );
            }
            Some(size) => {
                let entry = manifest.shards.iter().find(|s| s.name == *name);
                if let Some(entry) = entry.filter(|e| e.bytes != *size) {
                    problems.add_set(
                        "shard.size",
                        name,
                        format!("{size} bytes, the manifest says {}", entry.bytes),
                    );
                }
            }
        }
    }
    for name in survey.shards.keys().filter(|n| !names.contains(n)) {
        problems.add_set("set.shard_stray", name, "a shard name the manifest does not list".into());
    }
    if manifest.dataset.labels {
        for i in 0..count {
            let name = format!("{}/{}", layout::LABELS, layout::labels_name(i, count));
            if !survey.labels.contains(&name) {
                problems.add_set("set.labels_missing", &name, "the manifest says labels were written".into());
            }
        }
    }
    let rows: u64 = manifest.shards.iter().map(|s| s.rows).sum();
    if rows != facts.generator.rows || rows != manifest.rows {
        problems.add_set(
            "set.rows",
            layout::MANIFEST,
            format!(
                "shards hold {rows} rows, the dataset has {} (manifest total {})",
                facts.generator.rows, manifest.rows
            ),
        );
    }
}

/// Share of rows kept as anomaly candidates: three times what the rule should flag (the
/// anomalies, plus the ~0.05 % of ordinary rows beyond the threshold), at most all of them.
fn candidate_share(facts: &Facts) -> f64 {
    (3.0 * (facts.generator.anomaly_rate + 0.0005)).min(1.0)
}

/// The ground-truth anomaly ids from `raw/_labels/`, or `None` when a labels file is missing
/// (the set check reports it) and the rule cannot be scored.
async fn read_labels(
    lake: &Lake,
    manifest: &Manifest,
    survey: &Survey,
) -> Result<Option<Vec<u64>>, SinkError> {
    let mut ids = Vec::new();
    let count = manifest.dataset.shard_count;
    for i in 0..count {
        let name = format!("{}/{}", layout::LABELS, layout::labels_name(i, count));
        if !survey.labels.contains(&name) {
            return Ok(None);
        }
        for line in String::from_utf8_lossy(&lake.get(&name).await?).lines().skip(1) {
            if let Some(id) =
                line.split(',').next().and_then(|id| id.strip_prefix('M')).and_then(|d| d.parse().ok())
            {
                ids.push(id);
            }
        }
    }
    Ok(Some(ids))
}
