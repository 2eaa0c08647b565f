//! `generate`: prepares the run with the lake's protocol, generates each shard this task owns
//! on a blocking thread into the shard's outputs, and commits when every shard is recorded.
//! Wiring only: the protocol is the sink's, the rows are the generator's.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mouvements_generator::{Generator, ShardPlan};
use mouvements_schema::MAX_CSV_ROW_BYTES;
use mouvements_sink::{
    CommitOutcome, Faults, Lake, Run, RunRequest, ShardEntry, SinkError, StoreOptions, layout,
};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use crate::args::OutputArgs;
use crate::delta_log::DeltaLog;
use crate::log::Log;
use crate::progress::Progress;
use crate::settings::{GenerateSettings, Task};
use crate::{Failure, compose};

/// What a run did, for the summary.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    /// `committed`, `pending` (other tasks still writing) or `already-committed`.
    pub status: &'static str,
    /// The lake.
    pub base: String,
    /// The manifest's URL.
    pub manifest: String,
    /// The run this task belongs to.
    pub run_id: String,
    /// This task.
    pub task: Task,
    /// The layers written.
    pub layers: String,
    /// Shards this run wrote.
    pub shards_written: Vec<u32>,
    /// Shards kept from before (`--resume`).
    pub shards_kept: Vec<u32>,
    /// Shards still missing (another task will write them).
    pub shards_missing: Vec<u32>,
    /// Rows this run wrote.
    pub rows: u64,
    /// Bytes this run stored, in every layer (compressed where the format is).
    pub bytes: u64,
    /// Bytes of CSV this run generated, before any compression.
    pub csv_bytes: u64,
    /// Rows in the whole dataset, once committed.
    pub dataset_rows: Option<u64>,
    /// Files of the whole dataset, once committed.
    pub dataset_files: Option<usize>,
    /// Wall time.
    pub seconds: f64,
    /// Rows written per second.
    pub rows_per_second: f64,
    /// Stored megabytes (10^6) per second.
    pub mb_per_second: f64,
}

/// The tool and version written into manifests.
pub const TOOL: &str = concat!("mouvements-gen ", env!("CARGO_PKG_VERSION"));

/// Runs `generate` and prints its summary.
pub fn run(settings: &GenerateSettings, log: Log, output: OutputArgs) -> Result<(), Failure> {
    let summary =
        crate::runtime(settings.threads)?.block_on(generate(settings, log, !output.quiet && !output.json))?;
    if output.json {
        crate::print_json(&summary);
    } else if !output.quiet {
        let _ = write!(std::io::stdout(), "{}", render(&summary));
    }
    Ok(())
}

/// Opens the lake for writing, with the Delta log writer and any test faults.
fn open_lake(settings: &GenerateSettings) -> Result<Lake, Failure> {
    let mut lake = Lake::create(&settings.url, &StoreOptions::from_env())?.with_table_log(Arc::new(DeltaLog));
    if let Ok(spec) = std::env::var("MOUVEMENTS_FAULT") {
        let faults: Faults = spec.parse().map_err(|e| Failure::Usage(format!("MOUVEMENTS_FAULT: {e}")))?;
        lake = lake.with_faults(faults);
    }
    Ok(lake)
}

async fn generate(settings: &GenerateSettings, log: Log, show_progress: bool) -> Result<Summary, Failure> {
    let started = Instant::now();
    let dataset = settings.dataset;
    let lake = Arc::new(open_lake(settings)?);
    // The generator's tables take 20 ms of one core to compile: done while the lake is
    // prepared.
    let compiling = std::thread::spawn(move || Generator::new(dataset.generator));
    let plans = mouvements_generator::plan::shards(dataset.generator.rows(), dataset.shards);
    let owned: Vec<u32> = plans.iter().map(|s| s.index).filter(|s| settings.task.owns(*s)).collect();
    let request = RunRequest {
        dataset,
        mode: settings.mode,
        run_id: settings.run_id.clone(),
        shards: owned,
        max_shard_bytes: plans.iter().map(|s| s.rows.end - s.rows.start).max().unwrap_or(0)
            * MAX_CSV_ROW_BYTES,
    };
    let run = Arc::new(lake.prepare(request).await?);
    let generator = Arc::new(
        compiling
            .join()
            .map_err(|_| Failure::Access("the generator's tables could not be compiled".into()))?,
    );
    let todo: Vec<ShardPlan> = plans.into_iter().filter(|s| run.todo().contains(&s.index)).collect();
    let rows: u64 = todo.iter().map(|s| s.rows.end - s.rows.start).sum();
    log.info(
        "generating",
        &[
            ("base", json!(settings.url.to_string())),
            ("run_id", json!(settings.run_id)),
            ("rows", json!(rows)),
            ("shards", json!(todo.iter().map(|s| s.index).collect::<Vec<_>>())),
            ("kept", json!(run.kept())),
            ("task_index", json!(settings.task.index)),
            ("task_count", json!(settings.task.count)),
        ],
    );

    let progress = Arc::new(Progress::new(rows, show_progress));
    let mut written = write_shards(&run, &generator, todo, settings.threads, &progress, log).await?;
    written.sort_unstable_by_key(|(index, _)| *index);

    let outcome = run.commit(TOOL).await?;
    if let (CommitOutcome::Pending { missing }, 1) = (&outcome, settings.task.count) {
        // A lone task wrote every shard: a shard the commit cannot see is a lake fault.
        return Err(Failure::Access(format!(
            "every shard was written but the commit does not see shard(s) {missing:?} in {}; no _SUCCESS was written, rerun with --resume",
            lake.objects().url_of(layout::RAW)
        )));
    }
    let seconds = started.elapsed().as_secs_f64();
    let bytes: u64 = written.iter().map(|(_, b)| b).sum();
    let (status, missing, dataset_rows, dataset_files) = match &outcome {
        CommitOutcome::Committed(m) if run.already_committed().is_some() => {
            ("already-committed", Vec::new(), Some(m.rows), Some(m.files().count()))
        }
        CommitOutcome::Committed(m) => ("committed", Vec::new(), Some(m.rows), Some(m.files().count())),
        CommitOutcome::Pending { missing } => ("pending", missing.clone(), None, None),
    };
    let shards_written: Vec<u32> = written.iter().map(|(i, _)| *i).collect();
    log.progress(
        match status {
            "committed" => "dataset committed",
            "already-committed" => "dataset already committed, nothing to write",
            _ => "task done, dataset pending",
        },
        &[
            ("rows", json!(rows)),
            ("bytes", json!(bytes)),
            ("seconds", json!(seconds)),
            ("shards_written", json!(shards_written)),
            ("shards_missing", json!(missing)),
        ],
    );
    Ok(Summary {
        status,
        base: settings.url.to_string(),
        manifest: lake.objects().url_of(layout::MANIFEST),
        run_id: settings.run_id.clone(),
        task: settings.task,
        layers: dataset.layers.to_string(),
        shards_written,
        shards_kept: run.kept().to_vec(),
        shards_missing: missing,
        rows,
        bytes,
        csv_bytes: progress.bytes(),
        dataset_rows,
        dataset_files,
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
        mb_per_second: bytes as f64 / 1e6 / seconds.max(1e-9),
    })
}

/// Writes the shards on `threads` worker threads of their own, each taking the next shard
/// when it is done with one; returns each shard written with its stored bytes. The workers
/// are long-lived threads rather than tasks on the runtime's blocking pool: a shard's
/// allocations then stay in its worker's allocator arena instead of spreading over every
/// pool thread (the default run peaked at 2x its live memory with the pool).
async fn write_shards(
    run: &Arc<Run>,
    generator: &Arc<Generator>,
    todo: Vec<ShardPlan>,
    threads: usize,
    progress: &Arc<Progress>,
    log: Log,
) -> Result<Vec<(u32, u64)>, Failure> {
    let cancel = Arc::new(AtomicBool::new(false));
    let queue = Arc::new(Mutex::new(VecDeque::from(todo)));
    let (results, mut done) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::runtime::Handle::current();
    let mut workers = Vec::new();
    for _ in 0..threads {
        let worker = ShardWorker {
            run: Arc::clone(run),
            generator: Arc::clone(generator),
            progress: Arc::clone(progress),
            cancel: Arc::clone(&cancel),
            queue: Arc::clone(&queue),
            handle: handle.clone(),
            split_layers: threads > 1,
        };
        let results = results.clone();
        let spawned = std::thread::Builder::new().name("shard".into()).spawn(move || worker.work(&results));
        workers.push(spawned.map_err(|e| Failure::Access(format!("cannot start a shard thread: {e}")))?);
    }
    drop(results);

    let mut written = Vec::new();
    let mut failure: Option<Failure> = None;
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            next = done.recv() => match next {
                None => break,
                Some(Ok((index, entry))) => {
                    let bytes = entry.files.iter().map(|f| f.bytes).sum();
                    log.progress(
                        "shard written",
                        &[
                            ("shard", json!(index)),
                            ("rows", json!(entry.rows)),
                            ("bytes", json!(bytes)),
                            ("files", json!(entry.files.len())),
                        ],
                    );
                    written.push((index, bytes));
                }
                Some(Err(e)) => {
                    cancel.store(true, Ordering::Relaxed);
                    failure.get_or_insert(Failure::from(e));
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
    for worker in workers {
        if worker.join().is_err() {
            failure.get_or_insert(Failure::Access("a shard thread panicked".into()));
        }
    }
    progress.finish();
    match failure {
        Some(Failure::Access(message)) => Err(Failure::Access(format!(
            "{message}\nno _SUCCESS was written; fix the cause and rerun with --resume to keep the finished shards"
        ))),
        Some(other) => Err(other),
        None => Ok(written),
    }
}

/// A worker thread: takes shards from the queue until it is empty or the run is stopped (a
/// shard failed, or Ctrl-C: the shard in progress aborts its uploads).
struct ShardWorker {
    run: Arc<Run>,
    generator: Arc<Generator>,
    progress: Arc<Progress>,
    cancel: Arc<AtomicBool>,
    queue: Arc<Mutex<VecDeque<ShardPlan>>>,
    handle: tokio::runtime::Handle,
    /// Whether a shard taken when no other is waiting encodes its Parquet files on two more
    /// threads while it writes its CSV: from then on fewer shards than workers remain, and the
    /// split keeps the cores busy. Other shards encode on their own thread, which spares the
    /// rows' hand-off between threads (3–8 % less CPU for the default lake).
    split_layers: bool,
}

impl ShardWorker {
    fn work(&self, results: &UnboundedSender<Result<(u32, ShardEntry), SinkError>>) {
        // The uploads spawn their part requests on the runtime.
        let _runtime = self.handle.enter();
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return;
            }
            let (next, last) = {
                let mut queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                (queue.pop_front(), queue.is_empty())
            };
            let Some(shard) = next else { return };
            let index = shard.index;
            let split = self.split_layers && last;
            let written = self.run.write_shard(index, &self.handle, &self.cancel, |outputs| {
                compose::write_shard(&self.generator, &shard, outputs, &self.progress, split)
            });
            if results.send(written.map(|entry| (index, entry))).is_err() {
                return;
            }
        }
    }
}

/// The summary for people.
fn render(s: &Summary) -> String {
    let mut out = match s.status {
        "committed" | "already-committed" => format!(
            "{} {}: {} rows in {} files (layers {})\n",
            if s.status == "committed" { "committed" } else { "already committed, nothing to write:" },
            s.base.trim_end_matches('/'),
            s.dataset_rows.unwrap_or(0),
            s.dataset_files.unwrap_or(0),
            s.layers
        ),
        _ => format!(
            "task {} of {} done; waiting for shard(s) {:?} from other tasks of run {} (the last one to finish commits)\n",
            s.task.index, s.task.count, s.shards_missing, s.run_id
        ),
    };
    out.push_str(&format!(
        "this run: {} rows, {:.1} MB stored ({:.1} MB of CSV generated) in {} shard(s) in {:.2} s ({:.2} M rows/s, {:.0} MB/s)",
        s.rows,
        s.bytes as f64 / 1e6,
        s.csv_bytes as f64 / 1e6,
        s.shards_written.len(),
        s.seconds,
        s.rows_per_second / 1e6,
        s.mb_per_second
    ));
    if !s.shards_kept.is_empty() {
        out.push_str(&format!("; kept {} shard(s) from before", s.shards_kept.len()));
    }
    out.push_str(&format!("\nmanifest: {}\n", s.manifest));
    out
}
