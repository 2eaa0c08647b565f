//! The change feed of a lake's appended loads (`raw/changes/`). Its events are a pure function
//! of the history's settings (`mouvements_generator::changes`), so every file must hold, byte
//! for byte, the events the history gives its shard: that one comparison proves every event
//! names a movement live at that point of `change_seq`, that the sequence increases, that an
//! update changes the amount alone and that a delete carries the row as it was. A hand-edited
//! line, a dropped or an added event each fail it, with the line named.

use mouvements_generator::changes::{
    CHANGES_HEADER, Change, ChangeKind, LoadSettings, load_changes, shard_changes, write_changes_csv,
};
use mouvements_sink::{FileEntry, Lake, Manifest, Receipt, SinkError, Survey, crc32c_hex, layout};
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
    let settings = std::sync::Arc::new(settings);
    let mut summary = ChangeSummary { live_rows: manifest.rows, ..ChangeSummary::default() };
    for (n, load) in manifest.loads.iter().enumerate() {
        let of_load = std::sync::Arc::clone(&settings);
        let events = tokio::task::spawn_blocking(move || load_changes(&of_load, n)).await.map_err(|e| {
            SinkError::Write { url: lake.url().to_string(), source: std::io::Error::other(e) }
        })?;
        let events = &events;
        for change in events {
            match change.kind {
                ChangeKind::Update => {
                    summary.updates += 1;
                    summary.montant_change_cents += change.row.montant.cents() - change.before.cents();
                }
                ChangeKind::Delete => {
                    summary.deletes += 1;
                    summary.live_rows -= 1;
                    summary.montant_change_cents -= change.before.cents();
                }
            }
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
