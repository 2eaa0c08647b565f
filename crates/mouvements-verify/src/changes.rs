//! The change feed of a lake's appended loads (`raw/changes/`). Its events are a pure function
//! of the history's settings (`mouvements_generator::changes`), so every file must hold, byte
//! for byte, the events the history gives its shard: that one comparison proves every event
//! names a movement live at that point of `change_seq`, that the sequence increases, that an
//! update changes the amount alone and that a delete carries the row as it was. A hand-edited
//! line, a dropped or an added event each fail it, with the line named.
//!
//! The rows a load delivers again (`raw/mouvements-loadNNNNN-repeated-…`) and the ground truth
//! of its events (`raw/_labels/events-…`) are checked the same way: byte for byte against what
//! the history gives each shard, so a repeated row that is not its first delivery fails.

use mouvements_generator::changes::{
    CHANGES_HEADER, Change, ChangeKind, EVENTS_HEADER, LoadSettings, load_changes, load_repeats, shard_part,
    write_changes_csv, write_events_csv, write_repeats_csv,
};
use mouvements_schema::CSV_HEADER;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use mouvements_generator::{Generator, plan};
use mouvements_lakehouse::{FeedEvent, PartitionedWriter, write_events};
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
    /// New rows dated before their load's period.
    pub late_rows: u64,
    /// Rows delivered again (not in the merged book twice).
    pub repeats: u64,
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
    lake: &Arc<Lake>,
    manifest: &Manifest,
    survey: &Survey,
    problems: &mut Problems,
) -> Result<Option<ChangeSummary>, SinkError> {
    let folder = format!("{}/", layout::CHANGES);
    // Any file beside the rows but the anomaly labels: the feed's, or one to refuse.
    let anomalies = format!("{}/anomalies-", layout::LABELS);
    let listed = manifest.files().any(|f| f.layer.is_none() && !f.path.starts_with(&anomalies));
    if !listed && !manifest.loads.iter().any(|l| l.dataset.has_events()) {
        return Ok(None);
    }
    let settings: Vec<LoadSettings> = manifest
        .loads
        .iter()
        .map(|l| LoadSettings {
            config: l.dataset.generator,
            change_rate: l.dataset.changes,
            duplicate_rate: l.dataset.duplicates,
        })
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
        let repeats = load_repeats(&settings, n);
        summary.repeats += repeats.len() as u64;
        let feeds = Feeds { lake, history: manifest, survey, n, events, repeats: &repeats };
        summary.late_rows += feeds.check(problems).await?;
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
            let expected = shard_part(events, entry.index, load.dataset.shards);
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
            (Arc::clone(&generator), shard_part(events, entry.index, load.dataset.shards).to_vec());
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
/// events, as the writer encodes them beside its data files.
fn expected_change_data(
    generator: &Generator,
    shard: &plan::ShardPlan,
    events: &[Change],
    dataset: &mouvements_sink::Dataset,
) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let open = |_| Ok(Vec::new());
    let mut writer = PartitionedWriter::with_change_data(open, open)?;
    for row in generator.rows(shard.rows.clone()) {
        writer.push(&row)?;
    }
    for event in events {
        writer.push_event(&event.row, event.updated_from())?;
    }
    Ok(writer
        .finish()?
        .into_iter()
        .filter(|file| file.change_data)
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
    first_difference(name, stored, &want, CHANGES_HEADER, "changes.differs", problems);
}

/// A kind of file checked byte for byte: its header and rules.
#[derive(Clone, Copy)]
struct FeedFile {
    header: &'static str,
    differs: &'static str,
    unlisted: &'static str,
    /// Whether it is stored like a raw shard (gzip-compressed for `csv-gz`).
    raw: bool,
}

const REPEATS: FeedFile =
    FeedFile { header: CSV_HEADER, differs: "repeats.differs", unlisted: "repeats.unlisted", raw: true };
const EVENTS: FeedFile =
    FeedFile { header: EVENTS_HEADER, differs: "events.differs", unlisted: "events.unlisted", raw: false };

/// The repeated rows and the events ground truth of one load, against what the history gives
/// each of its shards.
struct Feeds<'a> {
    lake: &'a Arc<Lake>,
    history: &'a Manifest,
    survey: &'a Survey,
    /// The load's index in the history.
    n: usize,
    events: &'a [Change],
    /// The rows it delivers again (row indices of the load before).
    repeats: &'a [u64],
}

impl Feeds<'_> {
    /// Checks every shard's files; returns the load's late rows.
    async fn check(&self, problems: &mut Problems) -> Result<u64, SinkError> {
        let load = &self.history.loads[self.n];
        let dataset = load.dataset;
        let generator = Arc::new(Generator::new(dataset.generator));
        let earlier =
            self.n.checked_sub(1).map(|e| Arc::new(Generator::new(self.history.loads[e].dataset.generator)));
        let plans = plan::shards(dataset.generator.rows(), dataset.shards);
        let staged = dataset.changes > 0.0 && dataset.layers.contains(Layer::Staging);
        let mut late = 0;
        for (entry, shard) in load.shards.iter().zip(plans) {
            Self::check_known(entry, &dataset, problems);
            let repeats = shard_part(self.repeats, entry.index, dataset.shards).to_vec();
            let events = shard_part(self.events, entry.index, dataset.shards).to_vec();
            self.check_staged(entry, &dataset, if staged { &events } else { &[] }, problems).await?;
            let (generator, earlier) = (Arc::clone(&generator), earlier.clone());
            let (expected, late_rows) = self
                .blocking(move || {
                    let mut repeated = Vec::new();
                    if let Some(earlier) = earlier.as_deref() {
                        write_repeats_csv(earlier, &repeats, &mut repeated)?;
                    }
                    let mut labels = Vec::new();
                    let count = write_events_csv(
                        dataset.load,
                        &generator,
                        shard.rows.clone(),
                        (earlier.as_deref(), &repeats),
                        &events,
                        &mut labels,
                    )?;
                    // The first load, the only one without a load before, repeats nothing.
                    let late = count - repeats.len() as u64 - events.len() as u64;
                    Ok(((repeated, labels), late))
                })
                .await?;
            late += late_rows;
            let (repeated, labels) = expected;
            let has_raw = dataset.layers.contains(Layer::Raw);
            let files = [
                (
                    layout::repeats(entry.index, &dataset),
                    dataset.duplicates > 0.0 && has_raw,
                    repeated,
                    REPEATS,
                ),
                (
                    layout::event_labels(entry.index, &dataset),
                    dataset.labels && dataset.has_events(),
                    labels,
                    EVENTS,
                ),
            ];
            for (name, wanted, want, kind) in files {
                match entry.files.iter().find(|f| f.path == name) {
                    None if wanted => problems.add_set(
                        kind.unlisted,
                        &name,
                        format!(
                            "the manifest lists no such file for shard {} of load {}",
                            entry.index, dataset.load
                        ),
                    ),
                    None => {}
                    Some(file) if !wanted => problems.add_set(
                        kind.differs,
                        &file.path,
                        format!("load {} delivers no such file", dataset.load),
                    ),
                    Some(file) if !self.survey.objects.contains_key(&file.path) => {} // reported as missing
                    Some(file) => {
                        let gzip = kind.raw && dataset.format == mouvements_sink::ShardFormat::CsvGz;
                        self.compare_stored(file, gzip, &want, kind, problems).await?;
                    }
                }
            }
        }
        Ok(late)
    }

    /// Every file of a shard beside its rows is one the load writes: a file of another name
    /// (`changes.unexpected`) would be read by no check.
    fn check_known(
        entry: &mouvements_sink::ShardEntry,
        dataset: &mouvements_sink::Dataset,
        problems: &mut Problems,
    ) {
        let index = entry.index;
        let known = [
            layout::labels(index, dataset),
            layout::changes(index, dataset),
            layout::repeats(index, dataset),
            layout::event_labels(index, dataset),
        ];
        let (feed, staged) = (format!("{}/", layout::CHANGES), format!("{}/", layout::STAGING_CHANGES));
        for file in entry.files.iter().filter(|f| f.layer.is_none()) {
            // The feed's and the staged events' other names have their own rules.
            if known.contains(&file.path) || file.path.starts_with(&feed) || file.path.starts_with(&staged) {
                continue;
            }
            let value = format!("shard {index} of load {} writes no such file", dataset.load);
            problems.add_set("changes.unexpected", &file.path, value);
        }
    }

    /// A shard's staging change files against the events `events` of the shard, byte for byte.
    async fn check_staged(
        &self,
        entry: &mouvements_sink::ShardEntry,
        dataset: &mouvements_sink::Dataset,
        events: &[Change],
        problems: &mut Problems,
    ) -> Result<(), SinkError> {
        let feed: Vec<FeedEvent<'_>> = events
            .iter()
            .map(|c| FeedEvent { change_type: c.kind.label(), seq: c.seq, row: &c.row })
            .collect();
        let written = write_events(&feed, |_| Ok(Vec::new()))
            .map_err(|source| SinkError::Write { url: self.lake.url().to_string(), source })?;
        let expected: BTreeMap<String, Vec<u8>> = written
            .into_iter()
            .map(|(partition, bytes, _)| {
                (layout::staging_changes(&partition.folder(), entry.index, dataset), bytes)
            })
            .collect();
        let folder = format!("{}/", layout::STAGING_CHANGES);
        let listed: BTreeMap<&str, &FileEntry> = entry
            .files
            .iter()
            .filter(|f| f.path.starts_with(&folder))
            .map(|f| (f.path.as_str(), f))
            .collect();
        for (path, bytes) in &expected {
            if !listed.contains_key(path.as_str()) {
                let value =
                    format!("the manifest lists no staging change file of shard {} here", entry.index);
                problems.add_set("changes.staging", path, value);
                continue;
            }
            let Some(stored) = self.lake.objects().get(path).await? else { continue }; // reported as missing
            let file = listed[path.as_str()];
            let as_listed =
                stored.len() as u64 == file.bytes && crc32c_hex(crc32c::crc32c(&stored)) == file.crc32c;
            if !as_listed {
                problems.add_set(
                    "changes.staging",
                    path,
                    "its bytes are not the ones the manifest lists".into(),
                );
            } else if stored.as_ref() != bytes.as_slice() {
                let value =
                    format!("its events are not the ones the history gives shard {} here", entry.index);
                problems.add_set("changes.staging", path, value);
            }
        }
        for path in listed.keys().filter(|p| !expected.contains_key(**p)) {
            problems.add_set("changes.staging", path, "no event of the load's shard belongs in it".into());
        }
        Ok(())
    }

    /// One stored file against the manifest's size and CRC32C and the bytes `want`.
    async fn compare_stored(
        &self,
        file: &FileEntry,
        gzip: bool,
        want: &[u8],
        kind: FeedFile,
        problems: &mut Problems,
    ) -> Result<(), SinkError> {
        let (lake, path) = (Arc::clone(self.lake), file.path.clone());
        let read = self
            .blocking(move || {
                let handle = tokio::runtime::Handle::current();
                let mut reader =
                    lake.objects().reader(&path, gzip, &handle).map_err(std::io::Error::other)?;
                let mut bytes = Vec::new();
                let read = reader.read_to_end(&mut bytes).map(|_| bytes);
                Ok((read, reader.stored()))
            })
            .await;
        let rule = kind.differs;
        let (bytes, receipt) = match read {
            Ok((Ok(bytes), receipt)) => (bytes, receipt),
            Ok((Err(e), _)) | Err(SinkError::Write { source: e, .. }) => {
                problems.add_set(rule, &file.path, format!("it cannot be read back: {e}"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if receipt.bytes != file.bytes || crc32c_hex(receipt.crc32c) != file.crc32c {
            let value = format!(
                "{} bytes, CRC32C {}; the manifest says {} bytes, {}",
                receipt.bytes,
                crc32c_hex(receipt.crc32c),
                file.bytes,
                file.crc32c
            );
            problems.add_set(rule, &file.path, value);
        }
        first_difference(&file.path, &bytes, want, kind.header, rule, problems);
        Ok(())
    }

    /// Runs `work` on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, SinkError> {
        let url = self.lake.url().to_string();
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| SinkError::Write { url: url.clone(), source: std::io::Error::other(e) })?
            .map_err(|source| SinkError::Write { url, source })
    }
}

/// The first line where `stored` differs from `want` (whose header is `header`), as a problem
/// of `rule`.
fn first_difference(
    name: &str,
    stored: &[u8],
    want: &[u8],
    header: &str,
    rule: &'static str,
    problems: &mut Problems,
) {
    if stored == want {
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
            format!("the header is {}, expected {}", show(f), header.trim_end())
        } else {
            format!("{} where the history gives {}", show(f), show(g))
        };
        problems.add(rule, Problem { shard: name.to_owned(), line, column: None, value });
        return;
    }
}
