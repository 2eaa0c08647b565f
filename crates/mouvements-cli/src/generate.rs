//! `generate`: plans the shards this task owns, generates each on a blocking thread straight
//! into the lake's shard writer, records it, and commits when every shard is there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use mouvements_generator::{Anomaly, Generator, ShardPlan, plan};
use mouvements_schema::MouvementId;
use mouvements_sink::{
    CommitOutcome, Dataset, Lake, ShardEntry, ShardRecord, SinkError, StoreOptions, crc32c_hex, layout,
};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Failure;
use crate::log::Log;
use crate::progress::Progress;
use crate::settings::GenerateSettings;

/// What a run did, for the summary.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    /// `committed` or `pending` (other tasks still writing).
    pub status: &'static str,
    /// The lake.
    pub base: String,
    /// The manifest's URL.
    pub manifest: String,
    /// This task.
    pub task: crate::settings::Task,
    /// Shards this run wrote.
    pub shards_written: Vec<u32>,
    /// Shards kept from before (`--resume`).
    pub shards_kept: Vec<u32>,
    /// Shards still missing (another task will write them).
    pub shards_missing: Vec<u32>,
    /// Rows this run wrote.
    pub rows: u64,
    /// Bytes this run stored.
    pub bytes: u64,
    /// Rows in the whole dataset, once committed.
    pub dataset_rows: Option<u64>,
    /// Files of the whole dataset, once committed.
    pub dataset_files: Option<usize>,
    /// Wall time.
    pub seconds: f64,
    /// Rows written per second.
    pub rows_per_second: f64,
    /// Megabytes (10^6) written per second.
    pub mb_per_second: f64,
}

/// The tool and version written into manifests.
pub const TOOL: &str = concat!("mouvements-gen ", env!("CARGO_PKG_VERSION"));

/// Runs `generate`.
pub fn run(settings: &GenerateSettings, log: Log, show_progress: bool) -> Result<Summary, Failure> {
    crate::runtime(settings.threads)?.block_on(generate(settings, log, show_progress))
}

async fn generate(settings: &GenerateSettings, log: Log, show_progress: bool) -> Result<Summary, Failure> {
    let started = Instant::now();
    let lake = Arc::new(Lake::open(&settings.url, &StoreOptions::from_env()).map_err(Failure::from)?);
    let dataset = settings.dataset();
    let generator = Arc::new(Generator::new(settings.config));
    let owned: Vec<u32> = (0..settings.shards)
        .filter(|s| plan::task_owns(settings.task.index, settings.task.count, *s))
        .collect();
    let kept = lake.prepare(&dataset, settings.mode, &owned).await.map_err(Failure::from)?;
    let todo: Vec<ShardPlan> = generator
        .shards(settings.shards)
        .into_iter()
        .filter(|s| owned.contains(&s.index) && !kept.contains(&s.index))
        .collect();
    let rows: u64 = todo.iter().map(|s| s.rows.end - s.rows.start).sum();
    log.info(
        "generating",
        &[
            ("base", json!(settings.url.to_string())),
            ("rows", json!(rows)),
            ("shards", json!(todo.iter().map(|s| s.index).collect::<Vec<_>>())),
            ("kept", json!(kept)),
            ("task_index", json!(settings.task.index)),
            ("task_count", json!(settings.task.count)),
        ],
    );

    let progress = Arc::new(Progress::new(rows + todo.len() as u64, show_progress));
    let cancel = Arc::new(AtomicBool::new(false));
    let permits = Arc::new(Semaphore::new(settings.threads));
    let mut tasks = JoinSet::new();
    for shard in todo {
        let job = ShardJob {
            lake: Arc::clone(&lake),
            generator: Arc::clone(&generator),
            dataset: dataset.clone(),
            progress: Arc::clone(&progress),
            cancel: Arc::clone(&cancel),
            labels: settings.labels,
            log,
        };
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
            job.write(shard).await
        });
    }

    let (mut written, failure) = wait_for_shards(tasks, &cancel).await;
    progress.finish();
    if let Some(failure) = failure {
        return Err(match failure {
            Failure::Access(message) => Failure::Access(format!(
                "{message}\nno _SUCCESS was written; fix the cause and rerun with --resume to keep the finished shards"
            )),
            other => other,
        });
    }
    written.sort_unstable();

    let outcome = lake.try_commit(&dataset, TOOL).await.map_err(Failure::from)?;
    if let (CommitOutcome::Pending { missing }, 1) = (&outcome, settings.task.count) {
        // A lone task wrote every shard: a shard the commit cannot see is a lake fault.
        return Err(Failure::Access(format!(
            "every shard was written but the commit does not see shard(s) {missing:?} in {}; no _SUCCESS was written, rerun with --resume",
            lake.raw_url("")
        )));
    }
    let seconds = started.elapsed().as_secs_f64();
    let bytes = progress.bytes();
    let (status, missing, dataset_rows, dataset_files) = match &outcome {
        CommitOutcome::Committed(m) => ("committed", Vec::new(), Some(m.rows), Some(m.shards.len())),
        CommitOutcome::Pending { missing } => ("pending", missing.clone(), None, None),
    };
    if log.wants_progress() {
        log.info(
            if status == "committed" { "dataset committed" } else { "task done, dataset pending" },
            &[
                ("rows", json!(rows)),
                ("bytes", json!(bytes)),
                ("seconds", json!(seconds)),
                ("shards_written", json!(written)),
                ("shards_missing", json!(missing)),
            ],
        );
    }
    Ok(Summary {
        status,
        base: settings.url.to_string(),
        manifest: lake.raw_url(layout::MANIFEST),
        task: settings.task,
        shards_written: written,
        shards_kept: kept,
        shards_missing: missing,
        rows,
        bytes,
        dataset_rows,
        dataset_files,
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
        mb_per_second: bytes as f64 / 1e6 / seconds.max(1e-9),
    })
}

/// Waits for every shard task; on the first failure or on Ctrl-C, tells the others to stop
/// (their uploads abort) and still waits for them, so nothing is left half-written.
async fn wait_for_shards(
    mut tasks: JoinSet<Result<u32, SinkError>>,
    cancel: &AtomicBool,
) -> (Vec<u32>, Option<Failure>) {
    let mut written = Vec::new();
    let mut failure: Option<Failure> = None;
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            next = tasks.join_next() => match next {
                None => break,
                Some(Ok(Ok(index))) => written.push(index),
                Some(Ok(Err(e))) => {
                    cancel.store(true, Ordering::Relaxed);
                    failure.get_or_insert(Failure::from(e));
                }
                Some(Err(join)) => {
                    cancel.store(true, Ordering::Relaxed);
                    failure.get_or_insert(Failure::Access(format!("a shard task failed: {join}")));
                }
            },
            _ = &mut interrupt, if !cancel.load(Ordering::Relaxed) => {
                cancel.store(true, Ordering::Relaxed);
                failure = Some(Failure::Interrupted(
                    "interrupted: unfinished uploads were aborted and no _SUCCESS was written; rerun with --resume to finish".into(),
                ));
            }
        }
    }
    (written, failure)
}

/// Everything one shard needs.
struct ShardJob {
    lake: Arc<Lake>,
    generator: Arc<Generator>,
    dataset: Dataset,
    progress: Arc<Progress>,
    cancel: Arc<AtomicBool>,
    labels: bool,
    log: Log,
}

impl ShardJob {
    /// Generates, stores and records one shard; returns its number.
    async fn write(self, shard: ShardPlan) -> Result<u32, SinkError> {
        let (lake, generator, dataset, progress, cancel) = (
            Arc::clone(&self.lake),
            Arc::clone(&self.generator),
            self.dataset.clone(),
            Arc::clone(&self.progress),
            Arc::clone(&self.cancel),
        );
        let rows = shard.rows.clone();
        let index = shard.index;
        if cancel.load(Ordering::Relaxed) {
            let url = self.lake.raw_url(&layout::shard_name(index, shard.count, self.dataset.format));
            return Err(SinkError::Write {
                url,
                source: std::io::Error::other("not started: the run was stopped"),
            });
        }
        let receipt = tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            let mut writer = lake.create_shard(index, &dataset, &handle, cancel)?;
            let name = layout::shard_name(index, dataset.shard_count, dataset.format);
            match generator.write_csv(rows, true, progress.counting(&mut writer)) {
                Ok(()) => writer.finish(),
                // Dropping the writer aborts its upload.
                Err(source) => Err(SinkError::Write { url: lake.raw_url(&name), source }),
            }
        })
        .await
        .map_err(|e| SinkError::Write {
            url: format!("shard {index}"),
            source: std::io::Error::other(e),
        })??;

        if self.labels {
            let mut csv = String::from(Anomaly::CSV_HEADER);
            for anomaly in self.generator.anomalies(shard.rows.clone()) {
                csv.push_str(&anomaly.csv_line());
            }
            self.lake.put_labels(index, shard.count, csv.into()).await?;
        }
        let first_id = self.generator.config().first_id();
        // An empty shard (fewer rows than shards) has no ids.
        let id = |row: u64| {
            if shard.rows.is_empty() { String::new() } else { MouvementId(first_id + row).to_string() }
        };
        let entry = ShardEntry {
            index,
            name: layout::shard_name(index, shard.count, self.dataset.format),
            rows: shard.rows.end - shard.rows.start,
            bytes: receipt.bytes,
            first_id: id(shard.rows.start),
            last_id: id(shard.rows.end.saturating_sub(1)),
            crc32c: crc32c_hex(receipt.crc32c),
        };
        self.lake.record_shard(&ShardRecord { dataset: self.dataset.clone(), entry: entry.clone() }).await?;
        if self.log.wants_progress() {
            self.log.info(
                "shard written",
                &[
                    ("shard", json!(index)),
                    ("name", json!(entry.name)),
                    ("rows", json!(entry.rows)),
                    ("bytes", json!(entry.bytes)),
                    ("crc32c", json!(entry.crc32c)),
                ],
            );
        }
        Ok(index)
    }
}
