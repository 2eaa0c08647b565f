//! The change feed of a lake's appended loads (`raw/changes/`). Its events are a pure function
//! of the history's settings (`mouvements_generator::changes`), so every file must hold, byte
//! for byte, the events the history gives its shard: that one comparison proves every event
//! names a movement live at that point of `change_seq`, that the sequence increases, that an
//! update changes the amount alone and that a delete carries the row as it was. A hand-edited
//! line, a dropped or an added event each fail it, with the line named.

use mouvements_generator::changes::{
    CHANGES_HEADER, Change, ChangeKind, LoadSettings, load_changes, shard_changes, write_changes_csv,
};
use std::collections::BTreeMap;
use std::sync::Arc;

use mouvements_generator::{Generator, plan};
use mouvements_lakehouse::PartitionedWriter;
use mouvements_schema::Mouvement;
use mouvements_sink::{
    FileEntry, Lake, Layer, Load, Manifest, Receipt, SinkError, Survey, crc32c_hex, is_change_data, layout,
};

use crate::digest::{Digest, row_hash};
use serde::Serialize;

use crate::problems::{Problem, Problems};

/// What the change feed does to the history's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    /// Corrections.
    pub updates: u64,
    /// Cancellations.
    pub deletes: u64,
    /// Movements live once every event is applied: the rows a correct MERGE of `raw/` leaves.
    pub live_rows: u64,
    /// How much the events change the sum of `montant` over the history's rows, in cents.
    pub montant_change_cents: i64,
    /// What the events do to the digest of the history's rows: the digest a merged Delta
    /// table has is the history's plus this one.
    #[serde(skip)]
    pub(crate) digest_change: Digest,
}

/// Checks every change file of the manifest against the events of the history; returns what
/// the feed does, or `None` for a history without changes.
pub async fn check(
    lake: &Lake,
    manifest: &Manifest,
    survey: &Survey,
    problems: &mut Problems,
) -> Result<Option<ChangeSummary>, SinkError> {
    let folder = format!("{}/", layout::CHANGES);
    let listed = manifest.files().any(|f| f.path.starts_with(&folder));
    if !listed && manifest.loads.iter().all(|l| l.dataset.changes == 0.0) {
        return Ok(None);
    }
    let settings: Vec<LoadSettings> = manifest
        .loads
        .iter()
        .map(|l| LoadSettings { config: l.dataset.generator, change_rate: l.dataset.changes })
        .collect();
    let settings = Arc::new(settings);
    let mut summary = ChangeSummary { live_rows: manifest.rows, ..ChangeSummary::default() };
    for (n, load) in manifest.loads.iter().enumerate() {
        let of_load = Arc::clone(&settings);
        let events = tokio::task::spawn_blocking(move || load_changes(&of_load, n)).await.map_err(|e| {
            SinkError::Write { url: lake.url().to_string(), source: std::io::Error::other(e) }
        })?;
        let events = &events;
        for change in events {
            let before = Mouvement { montant: change.before, ..change.row };
            let change_of = &mut summary.digest_change;
            change_of.sum = change_of.sum.wrapping_sub(row_hash(&before));
            match change.kind {
                ChangeKind::Update => {
                    summary.updates += 1;
                    summary.montant_change_cents += change.row.montant.cents() - change.before.cents();
                    change_of.sum = change_of.sum.wrapping_add(row_hash(&change.row));
                }
                ChangeKind::Delete => {
                    summary.deletes += 1;
                    summary.live_rows -= 1;
                    summary.montant_change_cents -= change.before.cents();
                    change_of.rows = change_of.rows.wrapping_sub(1);
                }
            }
        }
        if load.dataset.changes > 0.0 && load.dataset.layers.contains(Layer::Delta) {
            check_change_data(lake, load, events, problems).await?;
        }
        for entry in &load.shards {
            let name = layout::changes(entry.index, &load.dataset);
            for other in entry.files.iter().filter(|f| f.path.starts_with(&folder) && f.path != name) {
                problems.add_set(
                    "changes.unexpected",
                    &other.path,
                    format!(
                        "shard {} of load {} has one change file, {name}",
                        entry.index, load.dataset.load
                    ),
                );
            }
            let file = entry.files.iter().find(|f| f.path == name);
            let expected = shard_changes(events, entry.index, load.dataset.shards);
            let Some(file) = file else {
                if load.dataset.changes > 0.0 {
                    problems.add_set(
                        "changes.unlisted",
                        &name,
                        format!(
                            "the manifest lists no change file for shard {} of load {}",
                            entry.index, load.dataset.load
                        ),
                    );
                }
                continue;
            };
            if load.dataset.changes == 0.0 {
                problems.add_set(
                    "changes.unexpected",
                    &file.path,
                    format!("load {} carries no changes", load.dataset.load),
                );
                continue;
            }
            if !survey.objects.contains_key(&file.path) {
                continue; // reported as missing with the other files (set.changes_missing)
            }
            if let Some(stored) = lake.objects().get(&file.path).await? {
                check_stored(file, &stored, expected, problems);
            }
        }
    }
    Ok(Some(summary))
}

/// The Delta change data files of a load with events, each against the file the load's rows
/// and events give its shard and partition (the new rows as inserts, then the events), byte
/// for byte: a row edited, dropped or added fails it.
async fn check_change_data(
    lake: &Lake,
    load: &Load,
    events: &[Change],
    problems: &mut Problems,
) -> Result<(), SinkError> {
    let generator = Arc::new(Generator::new(load.dataset.generator));
    let plans = plan::shards(load.dataset.generator.rows(), load.dataset.shards);
    for (entry, shard) in load.shards.iter().zip(plans) {
        let listed: BTreeMap<&str, &FileEntry> =
            entry.files.iter().filter(|f| is_change_data(f)).map(|f| (f.path.as_str(), f)).collect();
        let (generator, shard_events) =
            (Arc::clone(&generator), shard_changes(events, entry.index, load.dataset.shards).to_vec());
        let dataset = load.dataset;
        let expected = tokio::task::spawn_blocking(move || {
            expected_change_data(&generator, &shard, &shard_events, &dataset)
        })
        .await
        .map_err(|e| SinkError::Write { url: lake.url().to_string(), source: std::io::Error::other(e) })?
        .map_err(|e| SinkError::Write { url: lake.url().to_string(), source: e })?;
        for (path, bytes) in &expected {
            let Some(file) = listed.get(path.as_str()) else {
                let value = format!("the manifest lists no change data file of shard {} here", entry.index);
                problems.add_set("delta.change_data", path, value);
                continue;
            };
            let Some(stored) = lake.objects().get(path).await? else { continue }; // reported as missing
            if stored.as_ref() != bytes.as_slice() {
                let value = if stored.len() as u64 != file.bytes
                    || crc32c_hex(crc32c::crc32c(&stored)) != file.crc32c
                {
                    "its bytes are not the ones the manifest lists".to_owned()
                } else {
                    "its rows are not the load's new rows and change events".to_owned()
                };
                problems.add_set("delta.change_data", path, value);
            }
        }
        for path in listed.keys().filter(|p| !expected.contains_key(**p)) {
            problems.add_set("delta.change_data", path, "no row of the load's shard belongs in it".into());
        }
    }
    Ok(())
}

/// The change data files of one shard of a load, by path: its rows as inserts, then its
/// events, as the writer encodes them.
fn expected_change_data(
    generator: &Generator,
    shard: &plan::ShardPlan,
    events: &[Change],
    dataset: &mouvements_sink::Dataset,
) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut writer = PartitionedWriter::change_data(|_| Ok(Vec::new()))?;
    for row in generator.rows(shard.rows.clone()) {
        writer.push(&row)?;
    }
    for event in events {
        writer.push_event(&event.row, event.updated_from())?;
    }
    Ok(writer
        .finish()?
        .into_iter()
        .map(|file| (layout::change_data_file(&file.partition.folder(), shard.index, dataset), file.inner))
        .collect())
}

/// One stored change file against the manifest and the events the history gives its shard.
fn check_stored(file: &FileEntry, stored: &[u8], expected: &[Change], problems: &mut Problems) {
    let mut receipt = Receipt::default();
    receipt.add(stored);
    let crc = crc32c_hex(receipt.crc32c);
    if stored.len() as u64 != file.bytes || crc != file.crc32c {
        problems.add_set(
            "changes.checksum",
            &file.path,
            format!(
                "{} bytes, CRC32C {crc}; the manifest says {} bytes, {}",
                stored.len(),
                file.bytes,
                file.crc32c
            ),
        );
    }
    if file.rows != expected.len() as u64 {
        problems.add_set(
            "changes.rows",
            &file.path,
            format!(
                "the manifest says {} events, the history gives this shard {}",
                file.rows,
                expected.len()
            ),
        );
    }
    compare(&file.path, stored, expected, problems);
}

/// The file's lines against the events' lines: the first difference is the problem.
fn compare(name: &str, stored: &[u8], expected: &[Change], problems: &mut Problems) {
    let mut want = Vec::with_capacity(CHANGES_HEADER.len() + expected.len() * 80);
    write_changes_csv(expected, &mut want).expect("writing to memory does not fail");
    if stored == want.as_slice() {
        return;
    }
    let (mut found, mut given) = (stored.split(|b| *b == b'\n'), want.split(|b| *b == b'\n'));
    for line in 1u64.. {
        let (f, g) = (found.next(), given.next());
        if f == g {
            if f.is_none() {
                return;
            }
            continue;
        }
        let show = |l: Option<&[u8]>| {
            l.map_or_else(
                || "(the end)".to_owned(),
                |l| String::from_utf8_lossy(l).chars().take(100).collect(),
            )
        };
        let value = if line == 1 {
            format!("the header is {}, expected {}", show(f), CHANGES_HEADER.trim_end())
        } else {
            format!("{} where the history gives {}", show(f), show(g))
        };
        problems.add("changes.differs", Problem { shard: name.to_owned(), line, column: None, value });
        return;
    }
}
