//! The lake's history across its loads: a load started and never committed, the Delta
//! version of each load (at that version the table holds exactly the loads so far; an
//! appended load only adds, and removes only the files its change events rewrite), and the checkpoints against the log. The ids and dates across
//! loads are checked with the shards (`dataset::Sequence`), each load's dates against its own
//! period with its rows.

use std::collections::{BTreeMap, BTreeSet};

use mouvements_lakehouse::delta::{Table, checkpoint};
use mouvements_sink::{Lake, Layer, Manifest, SinkError, Survey, is_change_data, layout};

use crate::problems::Problems;

/// Reports a run that claimed the lake after its last committed load and never committed:
/// an append (or an overwrite) killed or still under way, with the command that completes it.
pub fn check_unfinished(lake: &Lake, manifest: &Manifest, survey: &Survey, problems: &mut Problems) {
    let latest = manifest.latest();
    let Some(claim) = survey.claim.as_ref().and_then(|seen| seen.claim.as_ref()) else { return };
    if claim.run_id == latest.run_id {
        return;
    }
    let dataset = &claim.dataset;
    let generator = dataset.generator;
    let period = generator.period();
    let period = period
        .as_month()
        .map_or_else(|| format!("--from {} --to {}", period.start, period.end), |m| format!("--month {m}"));
    let base = lake.url();
    let (what, command) = if dataset.load == latest.dataset.load + 1 {
        (
            format!("load {} ({})", dataset.load, dataset.describe()),
            format!(
                "mouvements-gen generate -o {base} --append --resume {period} -n {} -s {}{} --run-id {:?}",
                generator.rows(),
                dataset.shards,
                [
                    ("--changes", dataset.changes),
                    ("--late-rate", generator.late_rate()),
                    ("--duplicate-rate", dataset.duplicates)
                ]
                .into_iter()
                .filter(|(_, rate)| *rate > 0.0)
                .map(|(flag, rate)| format!(" {flag} {rate}"))
                .collect::<String>(),
                claim.run_id
            ),
        )
    } else {
        (
            format!("a run writing {}", dataset.describe()),
            format!(
                "mouvements-gen generate -o {base} --resume ... with that run's settings, or --overwrite"
            ),
        )
    };
    problems.add_set(
        "history.unfinished",
        layout::RAW,
        format!(
            "{what} was started by run {:?} and never committed; the committed loads are checked as they are. Complete it: {command}",
            claim.run_id
        ),
    );
}

/// The files the table holds at `version`, from what each version added and removed.
fn active_at(table: &Table, version: u64) -> BTreeSet<&str> {
    let mut active = BTreeSet::new();
    for change in table.versions.range(..=version).map(|(_, c)| c) {
        for path in &change.removed {
            active.remove(path.as_str());
        }
        active.extend(change.added.iter().map(String::as_str));
    }
    active
}

/// Each load's Delta version: at it the table holds exactly the files of the loads up to
/// that one (a file a load rewrote replaced by its rewrite), an appended load's version
/// removes only the files it rewrites, its change data files are the load's, and no version
/// follows the last load's.
pub fn check_versions(table: &Table, manifest: &Manifest, problems: &mut Problems) {
    let folder = format!("{}/", layout::DELTA);
    let relative = |path: &'_ str| path.strip_prefix(&folder).map(str::to_owned);
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for load in &manifest.loads {
        let data = load.layer_files(Layer::Delta).filter(|f| !is_change_data(f));
        let replaced: BTreeSet<String> =
            load.files().filter_map(|f| f.replaces.as_deref()).filter_map(relative).collect();
        for path in &replaced {
            expected.remove(path);
        }
        expected.extend(data.filter_map(|f| relative(&f.path)));
        let name = format!("load {}", load.dataset.load);
        let Some(version) = load.delta_version else {
            problems.add_set(
                "history.delta_version",
                layout::MANIFEST,
                format!("{name} has no Delta version"),
            );
            continue;
        };
        let Some(change) = table.versions.get(&version) else {
            problems.add_set(
                "history.delta_version",
                &layout::delta_commit(version),
                format!("{name} was committed as Delta version {version}, which the log does not have"),
            );
            continue;
        };
        if active_at(table, version) != expected.iter().map(String::as_str).collect() {
            problems.add_set(
                "history.delta_version",
                &layout::delta_commit(version),
                format!(
                    "at version {version} the table does not hold exactly the files of loads 0 to {}",
                    load.dataset.load
                ),
            );
        }
        if load.dataset.load > 0 && change.removed != replaced {
            let unreplaced = change.removed.difference(&replaced).count();
            problems.add_set(
                "history.delta_version",
                &layout::delta_commit(version),
                format!(
                    "{name} was appended, yet its version removes {unreplaced} file(s) it does not rewrite, and keeps {} it does",
                    replaced.difference(&change.removed).count()
                ),
            );
        }
        let change_data: BTreeMap<String, u64> =
            load.change_data_files().filter_map(|f| Some((relative(&f.path)?, f.bytes))).collect();
        if change.change_data != change_data {
            problems.add_set(
                "delta.change_data",
                &layout::delta_commit(version),
                format!(
                    "{name}'s version announces {} change data file(s), the manifest lists {} for it",
                    change.change_data.len(),
                    change_data.len()
                ),
            );
        }
    }
    if let (Some(last), Some(latest)) = (manifest.latest().delta_version, table.version)
        && latest > last
    {
        problems.add_set(
            "history.delta_version",
            &layout::delta_commit(latest),
            format!("the log goes on to version {latest} after the last load's version {last}"),
        );
    }
}

/// Every checkpoint the log is due (each tenth version) is there and holds the table's files
/// at its version, and `_last_checkpoint` names the newest.
pub async fn check_checkpoint(lake: &Lake, table: &Table, problems: &mut Problems) -> Result<(), SinkError> {
    let Some(latest) = table.version else { return Ok(()) };
    let due: Vec<u64> = (1..=latest / checkpoint::INTERVAL).map(|n| n * checkpoint::INTERVAL).collect();
    let objects = lake.objects();
    for &version in &due {
        let name = layout::delta_checkpoint(version);
        let Some(bytes) = objects.get(&name).await? else {
            problems.add_set("delta.checkpoint", &name, format!("version {version} has no checkpoint"));
            continue;
        };
        match checkpoint::read_files(bytes) {
            Err(e) => problems.add_set("delta.checkpoint", &name, e.to_string()),
            Ok(files) => {
                let paths: BTreeSet<&str> = files.keys().map(String::as_str).collect();
                let sizes_agree = files
                    .iter()
                    .all(|(path, size)| table.active.get(path).is_none_or(|active| active.size == *size));
                if paths != active_at(table, version) || !sizes_agree {
                    problems.add_set(
                        "delta.checkpoint",
                        &name,
                        format!("the checkpoint does not hold the table's files at version {version}"),
                    );
                }
            }
        }
    }
    let pointer = objects.get(layout::LAST_CHECKPOINT).await?;
    let named = pointer.as_deref().map(checkpoint::parse_last);
    match (due.last(), named) {
        (None, None) => {}
        (Some(newest), Some(Ok(version))) if version == *newest => {}
        (newest, named) => {
            let found = match named {
                None => "missing".to_owned(),
                Some(Ok(version)) => format!("names version {version}"),
                Some(Err(e)) => e.to_string(),
            };
            let wanted =
                newest.map_or_else(|| "no checkpoint is due".to_owned(), |v| format!("the newest is {v}"));
            problems.add_set(
                "delta.checkpoint",
                layout::LAST_CHECKPOINT,
                format!("_last_checkpoint is {found}; {wanted}"),
            );
        }
    }
    Ok(())
}
