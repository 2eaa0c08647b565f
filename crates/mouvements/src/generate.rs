//! `generate`: prepares the run with the lake's protocol, generates each shard this task owns
//! on a worker thread into the shard's outputs, and commits when every shard is recorded.
//! Wiring only: the protocol is the sink's, the rows are the generator's.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mouvements_generator::changes::{self, Change, LoadSettings};
use mouvements_generator::{Generator, ShardPlan};
use mouvements_schema::MAX_CSV_ROW_BYTES;
use mouvements_sink::{CommitOutcome, Dataset, Faults, Lake, Run, RunRequest, ShardEntry, SinkError, layout};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;

use crate::append::NextLoad;
use crate::control::{Control, Level};
use crate::delta_log::DeltaLog;
use crate::merge::Merge;
use crate::options::derived_run_id;
use crate::{GenerateOptions, JobError, Task, append, compose};

/// What a run did: the summary `generate --json` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// `committed`, `pending` (other tasks still writing) or `already-committed`.
    pub status: &'static str,
    /// The lake.
    pub base: String,
    /// The manifest's URL.
    pub manifest: String,
    /// The run this task belongs to.
    pub run_id: String,
    /// The load written: 0 for the first, then each append's number.
    pub load: u32,
    /// Rows of every load of the lake, once committed.
    pub lake_rows: Option<u64>,
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
    /// Rows of the load (the whole dataset of this run), once committed.
    pub dataset_rows: Option<u64>,
    /// Files of the load, once committed.
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

/// Opens the lake for writing, with the Delta log writer and any faults `MOUVEMENTS_FAULT`
/// injects (the fault tests' crash points).
fn open_lake(options: &GenerateOptions) -> Result<Lake, JobError> {
    let mut lake = Lake::create(&options.url, &options.store)?.with_table_log(Arc::new(DeltaLog::default()));
    if let Ok(spec) = std::env::var("MOUVEMENTS_FAULT") {
        let faults = spec.parse::<Faults>().map_err(|e| JobError::setting("MOUVEMENTS_FAULT", e))?;
        lake = lake.with_faults(faults);
    }
    Ok(lake)
}

/// Writes the dataset of `options`, this task's shards of it, and commits it when every
/// shard is in place: the whole `generate` job. Runs on the caller's tokio runtime (see
/// [`crate::runtime`]); `control` stops it and reports its progress.
pub async fn generate(options: &GenerateOptions, control: &Arc<Control>) -> Result<Summary, JobError> {
    let started = Instant::now();
    let lake = Arc::new(open_lake(options)?);
    let NextLoad { dataset, history } = resolve_dataset(options, &lake, control).await?;
    let run_id = options.run_id.clone().unwrap_or_else(|| derived_run_id(&dataset));
    // The generator's tables take 20 ms of one core to compile, and a load's changes are
    // drawn from the history before it: done while the lake is prepared.
    let compiling = std::thread::spawn(move || Load::new(&history, dataset));
    let plans = mouvements_generator::plan::shards(dataset.generator.rows(), dataset.shards);
    let owned: Vec<u32> = plans.iter().map(|s| s.index).filter(|s| options.task.owns(*s)).collect();
    let request = RunRequest {
        dataset,
        mode: options.mode,
        run_id: run_id.clone(),
        shards: owned,
        max_shard_bytes: plans.iter().map(|s| s.rows.end - s.rows.start).max().unwrap_or(0)
            * MAX_CSV_ROW_BYTES,
    };
    // Preparing can wait on a slow store's retries: Ctrl-C stops it too (nothing written yet
    // that a rerun does not take over).
    let run = tokio::select! {
        prepared = lake.prepare(request) => Arc::new(prepared?),
        () = control.cancelled() => return Err(JobError::Interrupted),
    };
    let load = Arc::new(
        compiling
            .join()
            .map_err(|_| JobError::Runtime("the generator's tables could not be compiled".into()))?,
    );
    let todo: Vec<ShardPlan> = plans.into_iter().filter(|s| run.todo().contains(&s.index)).collect();
    let rows: u64 = todo.iter().map(|s| s.rows.end - s.rows.start).sum();
    control.set_total(rows);
    control.emit(
        Level::Info,
        "generating",
        vec![
            ("base", json!(options.url.to_string())),
            ("run_id", json!(run_id)),
            ("load", json!(dataset.load)),
            ("rows", json!(rows)),
            ("shards", json!(todo.iter().map(|s| s.index).collect::<Vec<_>>())),
            ("kept", json!(run.kept())),
            ("task_index", json!(options.task.index)),
            ("task_count", json!(options.task.count)),
        ],
    );

    let mut written = write_shards(&run, &load, todo, options.threads, control).await?;
    written.sort_unstable_by_key(|(index, _)| *index);

    let outcome = run.commit(TOOL).await?;
    if let (CommitOutcome::Pending { missing }, 1) = (&outcome, options.task.count) {
        // A lone task wrote every shard: a shard the commit cannot see is a lake fault.
        return Err(JobError::Unseen { missing: missing.clone(), url: lake.objects().url_of(layout::RAW) });
    }
    let seconds = started.elapsed().as_secs_f64();
    let bytes: u64 = written.iter().map(|(_, b)| b).sum();
    let (status, missing, committed) = match &outcome {
        CommitOutcome::Committed(m) if run.already_committed().is_some() => {
            ("already-committed", Vec::new(), Some(m))
        }
        CommitOutcome::Committed(m) => ("committed", Vec::new(), Some(m)),
        CommitOutcome::Pending { missing } => ("pending", missing.clone(), None),
    };
    let load = committed.and_then(|m| m.loads.iter().find(|l| l.dataset == dataset));
    let (dataset_rows, dataset_files) = (load.map(|l| l.rows), load.map(|l| l.files().count()));
    let lake_rows = committed.map(|m| m.rows);
    let shards_written: Vec<u32> = written.iter().map(|(i, _)| *i).collect();
    control.emit(
        Level::Progress,
        match status {
            "committed" => "dataset committed",
            "already-committed" => "dataset already committed, nothing to write",
            _ => "task done, dataset pending",
        },
        vec![
            ("rows", json!(rows)),
            ("bytes", json!(bytes)),
            ("seconds", json!(seconds)),
            ("shards_written", json!(shards_written)),
            ("shards_missing", json!(missing)),
        ],
    );
    Ok(Summary {
        status,
        base: options.url.to_string(),
        manifest: lake.objects().url_of(layout::MANIFEST),
        run_id,
        task: options.task,
        load: dataset.load,
        lake_rows,
        layers: dataset.layers.to_string(),
        shards_written,
        shards_kept: run.kept().to_vec(),
        shards_missing: missing,
        rows,
        bytes,
        csv_bytes: control.progress().csv_bytes,
        dataset_rows,
        dataset_files,
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
        mb_per_second: bytes as f64 / 1e6 / seconds.max(1e-9),
    })
}

/// The dataset this run writes: the options', or for an append the lake's next load (read
/// from its history; Ctrl-C stops the reading).
async fn resolve_dataset(
    options: &GenerateOptions,
    lake: &Lake,
    control: &Control,
) -> Result<NextLoad, JobError> {
    let Some(append) = &options.append else {
        return Ok(NextLoad { dataset: options.dataset, history: Vec::new() });
    };
    let rows = options.dataset.generator.rows();
    let next = append::next_load(lake, rows, options.dataset.shards, append, options.run_id.as_deref());
    tokio::select! {
        next = next => next,
        () = control.cancelled() => Err(JobError::Interrupted),
    }
}

/// Writes the shards on `threads` worker threads of their own, each taking the next shard
/// when it is done with one; returns each shard written with its stored bytes. The workers
/// are long-lived threads rather than tasks on the runtime's blocking pool: a shard's
/// allocations then stay in its worker's allocator arena instead of spreading over every
/// pool thread (the default run peaked at 2x its live memory with the pool).
async fn write_shards(
    run: &Arc<Run>,
    load: &Arc<Load>,
    todo: Vec<ShardPlan>,
    threads: usize,
    control: &Arc<Control>,
) -> Result<Vec<(u32, u64)>, JobError> {
    let cancel = Arc::new(AtomicBool::new(false));
    let queue = Arc::new(Mutex::new(VecDeque::from(todo)));
    let (results, mut done) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::runtime::Handle::current();
    let mut workers = Vec::new();
    for _ in 0..threads {
        let worker = ShardWorker {
            run: Arc::clone(run),
            load: Arc::clone(load),
            control: Arc::clone(control),
            cancel: Arc::clone(&cancel),
            queue: Arc::clone(&queue),
            handle: handle.clone(),
            split_layers: threads > 1,
        };
        let results = results.clone();
        let spawned = std::thread::Builder::new().name("shard".into()).spawn(move || worker.work(&results));
        match spawned {
            Ok(worker) => workers.push(worker),
            Err(e) => {
                cancel.store(true, Ordering::Relaxed);
                for worker in workers {
                    let _ = worker.join();
                }
                return Err(JobError::Runtime(format!("cannot start a shard thread: {e}")));
            }
        }
    }
    drop(results);

    let mut written = Vec::new();
    let mut failure: Option<JobError> = None;
    let mut interrupt = std::pin::pin!(control.cancelled());
    loop {
        tokio::select! {
            next = done.recv() => match next {
                None => break,
                Some(Ok((index, entry))) => {
                    let bytes = entry.files.iter().map(|f| f.bytes).sum();
                    control.emit(
                        Level::Progress,
                        "shard written",
                        vec![
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
                    failure.get_or_insert(JobError::Write(e));
                }
            },
            () = &mut interrupt, if !cancel.load(Ordering::Relaxed) => {
                cancel.store(true, Ordering::Relaxed);
                failure = Some(JobError::Interrupted);
            }
        }
    }
    for worker in workers {
        if worker.join().is_err() {
            failure.get_or_insert(JobError::Runtime("a shard thread panicked".into()));
        }
    }
    match failure {
        Some(failure) => Err(failure),
        None => Ok(written),
    }
}

/// What every shard of the load is written from.
pub(crate) struct Load {
    pub(crate) generator: Generator,
    /// The load's change events, every shard's.
    pub(crate) changes: Vec<Change>,
    /// The rows of the load before it delivers again (its row indices), every shard's.
    pub(crate) repeats: Vec<u64>,
    /// The load before's generator, when it repeats some of its rows.
    pub(crate) earlier: Option<Generator>,
    /// The Delta files of earlier loads those events change.
    pub(crate) merge: Merge,
}

impl Load {
    /// The load `dataset` after the loads of `history`: its generator, the change events it
    /// delivers (drawn from the loads of the window before it; none for a load without
    /// changes), the rows it delivers again and the rewrites its events make.
    fn new(history: &[Dataset], dataset: Dataset) -> Load {
        let loads: Vec<Dataset> = history.iter().copied().chain(std::iter::once(dataset)).collect();
        let settings: Vec<LoadSettings> = loads
            .iter()
            .map(|d| LoadSettings {
                config: d.generator,
                change_rate: d.changes,
                duplicate_rate: d.duplicates,
            })
            .collect();
        let changes = changes::load_changes(&settings, history.len());
        let repeats = changes::load_repeats(&settings, history.len());
        let earlier =
            history.last().filter(|_| dataset.duplicates > 0.0).map(|d| Generator::new(d.generator));
        let merge = Merge::plan(&loads, &settings, &changes);
        Load { generator: Generator::new(dataset.generator), changes, repeats, earlier, merge }
    }
}

/// A worker thread: takes shards from the queue until it is empty or the run is stopped (a
/// shard failed, or Ctrl-C: the shard in progress aborts its uploads).
struct ShardWorker {
    run: Arc<Run>,
    load: Arc<Load>,
    control: Arc<Control>,
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
                compose::write_shard(&self.load, &shard, outputs, &self.control, split)
            });
            if results.send(written.map(|entry| (index, entry))).is_err() {
                return;
            }
        }
    }
}
