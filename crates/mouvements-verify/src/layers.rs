//! The Parquet layers, staging and delta: every data file read back (size, CRC32C, schema,
//! every row against the data contract, partition values against the rows, ids and dates in
//! order), each layer's rows against the raw rows (count and an order-independent digest),
//! and the Delta log: it parses, its latest version adds exactly the manifest's files, and its
//! statistics are those of the files. Twin files (the same bytes in staging/ and delta/) are
//! decoded once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use mouvements_lakehouse::delta::{self, Table};
use mouvements_lakehouse::{FileStats, Partition, read_rows};
use mouvements_sink::{
    FileEntry, Lake, Layer, Load, Manifest, SinkError, crc32c_hex, is_change_data, layout,
};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::digest::Digest;
use crate::line::check_row;
use crate::problems::{Problem, Problems};
use crate::stats::StatsBuilder;

/// What one data file turned out to hold.
#[derive(Clone)]
struct FileOutcome {
    rows: u64,
    digest: Digest,
    stats: FileStats,
    builder: Option<StatsBuilder>,
    problems: Problems,
}

/// What the rows of a data file must satisfy.
#[derive(Clone, Copy)]
struct Bounds {
    /// Days the dates must fall in (late rows' included).
    period: (NaiveDate, NaiveDate),
    /// The period's first day: rows dated from it on never go back in time.
    ordered_from: NaiveDate,
    ids: (u64, u64),
}

/// Reads the Delta log of the lake; `Ok(None)` when it is missing, `Err` text when it does
/// not parse.
pub async fn read_table(lake: &Lake) -> Result<Option<Result<Table, String>>, SinkError> {
    let objects = lake.objects();
    let mut versions: Vec<u64> = objects
        .list(layout::DELTA_LOG)
        .await?
        .iter()
        .filter(|l| !l.leftover)
        .filter_map(|l| l.name.rsplit('/').next().and_then(layout::parse_delta_commit))
        .collect();
    if versions.is_empty() {
        return Ok(None);
    }
    versions.sort_unstable();
    let mut entries = Vec::with_capacity(versions.len());
    for version in versions {
        if let Some(bytes) = objects.get(&layout::delta_commit(version)).await? {
            entries.push((version, bytes));
        }
    }
    let log: Vec<(u64, &[u8])> = entries.iter().map(|(v, b)| (*v, b.as_ref())).collect();
    Ok(Some(delta::replay(&log).map_err(|e| e.to_string())))
}

/// The Delta data files older versions refer to, relative to the base: readers of those
/// versions find them legitimately.
pub fn referenced_files(table: &Table) -> BTreeSet<String> {
    table.referenced.iter().map(|p| format!("{}/{p}", layout::DELTA)).collect()
}

/// Checks the log's latest version against the manifest's Delta files.
pub fn check_table(table: &Table, manifest: &Manifest, problems: &mut Problems) {
    let folder = format!("{}/", layout::DELTA);
    let ours: BTreeMap<&str, &FileEntry> =
        manifest.table_files().into_iter().filter_map(|f| Some((f.path.strip_prefix(&folder)?, f))).collect();
    for (path, file) in &ours {
        match table.active.get(*path) {
            None => problems.add_set(
                "delta.files",
                &file.path,
                "in the manifest, not in the log's latest version".into(),
            ),
            Some(active) if active.size != file.bytes => problems.add_set(
                "delta.files",
                &file.path,
                format!("the log says {} bytes, the manifest {}", active.size, file.bytes),
            ),
            Some(active) => {
                let parsed = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
                if parsed(active.stats.as_deref()) != parsed(file.stats.as_deref()) {
                    problems.add_set(
                        "delta.stats",
                        &file.path,
                        "the log's statistics are not the manifest's".into(),
                    );
                }
            }
        }
    }
    for path in table.active.keys().filter(|p| !ours.contains_key(p.as_str())) {
        problems.add_set(
            "delta.files",
            &format!("{folder}{path}"),
            "in the log's latest version, not in the manifest".into(),
        );
    }
}

/// The load each Delta data file's rows come from (its index in the manifest): the load that
/// lists it, or for a file a change event rewrote, the load of the file it replaces.
pub fn origins(manifest: &Manifest) -> BTreeMap<&str, usize> {
    let mut origins = BTreeMap::new();
    for (index, load) in manifest.loads.iter().enumerate() {
        for file in load.layer_files(Layer::Delta).filter(|f| !is_change_data(f)) {
            let origin = file.replaces.as_deref().and_then(|r| origins.get(r).copied()).unwrap_or(index);
            origins.insert(file.path.as_str(), origin);
        }
    }
    origins
}

/// The files the layers' digests count: the staging files, and the Delta files the table's
/// latest version holds.
pub fn counted(manifest: &Manifest) -> BTreeSet<&str> {
    let staging = manifest.layer_files(Layer::Staging);
    staging.chain(manifest.table_files()).map(|f| f.path.as_str()).collect()
}

/// Checks every Parquet data file a load lists (change data files are checked with the
/// change feed); returns each layer's digest of the files in `counted`. A file's rows must
/// be of the load `origins` gives it. Rows of the `stats_layer` feed `stats`.
pub async fn check_files(
    lake: &Arc<Lake>,
    manifest: &Manifest,
    load: &Load,
    (origins, counted): (&BTreeMap<&str, usize>, &BTreeSet<&str>),
    threads: usize,
    stats_layer: Option<Layer>,
    problems: &mut Problems,
) -> Result<(BTreeMap<Layer, Digest>, Option<StatsBuilder>), SinkError> {
    let bounds_of = |file: &FileEntry| {
        let origin = origins.get(file.path.as_str()).and_then(|i| manifest.loads.get(*i)).unwrap_or(load);
        let generator = origin.dataset.generator;
        Bounds {
            period: (generator.dated_within().start, generator.period().end),
            ordered_from: generator.period().start,
            ids: (generator.first_id(), generator.first_id() + generator.rows()),
        }
    };
    let permits = Arc::new(Semaphore::new(threads.max(1)));
    let mut jobs = Vec::new();
    // Staging first, so that a delta twin finds its staging copy decoded.
    let files: Vec<FileEntry> = [Layer::Staging, Layer::Delta]
        .into_iter()
        .flat_map(|layer| load.layer_files(layer).filter(|f| !is_change_data(f)).cloned().collect::<Vec<_>>())
        .collect();
    for file in files {
        let (lake, permits) = (Arc::clone(lake), Arc::clone(&permits));
        let bounds = bounds_of(&file);
        let with_stats = file.layer == stats_layer && counted.contains(file.path.as_str());
        let job = file.clone();
        jobs.push((
            file,
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                let Some(bytes) = lake.objects().get(&job.path).await? else {
                    return Ok(None); // missing: the dataset check reports it
                };
                let crc = crc32c_hex(crc32c::crc32c(&bytes));
                let size = bytes.len() as u64;
                let decoded = tokio::task::spawn_blocking(move || decode(&job, bytes, bounds, with_stats))
                    .await
                    .map_err(|e| SinkError::Write { url: String::new(), source: std::io::Error::other(e) })?;
                Ok::<_, SinkError>(Some((crc, size, decoded)))
            }),
        ));
    }
    let mut digests: BTreeMap<Layer, Digest> = BTreeMap::new();
    let mut builder = stats_layer.map(|_| StatsBuilder::new());
    for (file, job) in jobs {
        let joined = job
            .await
            .map_err(|e| SinkError::Write { url: file.path.clone(), source: std::io::Error::other(e) })?;
        let Some((crc, size, outcome)) = joined? else { continue };
        if crc != file.crc32c || size != file.bytes {
            problems.add_set(
                "file.checksum",
                &file.path,
                format!(
                    "{size} bytes, CRC32C {crc}; the manifest says {} bytes, {}",
                    file.bytes, file.crc32c
                ),
            );
        }
        if outcome.rows != file.rows {
            problems.add_set(
                "file.rows",
                &file.path,
                format!("{} rows, the manifest says {}", outcome.rows, file.rows),
            );
        }
        if file.layer == Some(Layer::Delta) {
            let parsed = |s: &str| serde_json::from_str::<Value>(s).ok();
            let true_stats = parsed(&outcome.stats.delta_json());
            if file.stats.as_deref().and_then(parsed) != true_stats {
                problems.add_set(
                    "delta.stats",
                    &file.path,
                    "the recorded statistics are not the file's".into(),
                );
            }
        }
        if let (Some(all), Some(part)) = (builder.as_mut(), outcome.builder) {
            all.merge(part);
        }
        if let Some(layer) = file.layer.filter(|_| counted.contains(file.path.as_str())) {
            digests.entry(layer).or_default().merge(outcome.digest);
        }
        problems.merge(outcome.problems);
    }
    Ok((digests, builder))
}

/// Decodes one data file and checks its rows.
fn decode(file: &FileEntry, bytes: Bytes, bounds: Bounds, with_stats: bool) -> FileOutcome {
    let mut outcome = FileOutcome {
        rows: 0,
        digest: Digest::default(),
        stats: FileStats::default(),
        builder: with_stats.then(StatsBuilder::new),
        problems: Problems::default(),
    };
    let problem =
        |line: u64, column, value: String| Problem { shard: file.path.clone(), line, column, value };
    let folder = file.path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or_default();
    let partition = file.partition.as_deref().and_then(Partition::parse);
    let Some(partition) = partition.filter(|p| folder.ends_with(&format!("/{p}"))) else {
        outcome
            .problems
            .add("file.partition", problem(0, None, format!("{folder} is not the file's partition folder")));
        return outcome;
    };
    let mut previous: Option<u64> = None;
    let mut last_ordered: Option<NaiveDate> = None;
    let result = read_rows(bytes, partition, &mut |row| {
        outcome.rows += 1;
        let line = outcome.rows;
        if let Err(e) = check_row(&row) {
            let rule = if e.rule == "pays.agence" { "partition.pays" } else { e.rule };
            outcome.problems.add(rule, problem(line, e.column, e.value));
        }
        let (id, date) = (row.id_mouvement.0, row.date_op);
        if !(bounds.ids.0..bounds.ids.1).contains(&id) {
            outcome.problems.add(
                "id.sequence",
                problem(line, Some("id_mouvement"), format!("{} outside the dataset", row.id_mouvement)),
            );
        }
        if date < bounds.period.0 || date > bounds.period.1 {
            let value = format!("{date} outside {} to {}", bounds.period.0, bounds.period.1);
            outcome.problems.add("date.period", problem(line, Some("date_op"), value));
        }
        if let Some(previous_id) = previous.filter(|previous_id| id <= *previous_id) {
            let value = format!("{} after M{previous_id:07}", row.id_mouvement);
            outcome.problems.add("id.order", problem(line, Some("id_mouvement"), value));
        }
        if date >= bounds.ordered_from {
            if let Some(previous) = last_ordered.filter(|previous| date < *previous) {
                let value = format!("{date} after {previous}");
                outcome.problems.add("date.order", problem(line, Some("date_op"), value));
            }
            last_ordered = Some(date);
        }
        previous = Some(id);
        outcome.stats.add(&row);
        outcome.digest.add(&row);
        if let Some(builder) = outcome.builder.as_mut() {
            builder.add(&row);
        }
    });
    if let Err(e) = result {
        outcome.problems.add("file.parquet", problem(0, None, e.to_string()));
    }
    outcome
}
