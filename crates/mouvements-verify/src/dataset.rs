//! Dataset-level rules: the commit markers, every file the manifest lists present with its
//! size, no file a reader of a layer would pick up that the manifest does not list, and the
//! id and date order across shard boundaries.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use mouvements_sink::{Layer, Manifest, Survey, layout};

use crate::problems::Problems;

/// The rule broken by a missing file, by what the file is.
fn missing_rule(path: &str, layer: Option<Layer>) -> &'static str {
    match layer {
        None if path.starts_with(&format!("{}/", layout::CHANGES)) => "set.changes_missing",
        None if path.starts_with(&format!("{}/", layout::LABELS)) => "set.labels_missing",
        None if path.starts_with(&format!("{}/", layout::STAGING_CHANGES)) => "set.changes_missing",
        // A raw shard, or a load's rows delivered again.
        Some(Layer::Raw) | None => "set.shard_missing",
        Some(Layer::Staging | Layer::Delta) => "set.file_missing",
    }
}

/// Checks the markers and the files of the manifest against what the lake lists. `keep`
/// are other files a reader legitimately finds (data files of older Delta versions).
pub fn check_files(manifest: &Manifest, survey: &Survey, keep: &BTreeSet<String>, problems: &mut Problems) {
    let layers = manifest.latest().dataset.layers;
    if layers.contains(Layer::Staging) && !survey.objects.contains_key(layout::STAGING_SUCCESS) {
        problems.add_set(
            "set.staging_success_missing",
            layout::STAGING_SUCCESS,
            "the staging layer has no _SUCCESS: Spark readers would wait for it".into(),
        );
    }
    let mut listed = BTreeSet::new();
    for file in manifest.files() {
        listed.insert(file.path.as_str());
        match survey.objects.get(&file.path) {
            None | Some(None) => problems.add_set(
                missing_rule(&file.path, file.layer),
                &file.path,
                "listed in the manifest, absent from the lake".into(),
            ),
            Some(Some(size)) if *size != file.bytes => problems.add_set(
                if file.layer == Some(Layer::Raw) { "shard.size" } else { "file.size" },
                &file.path,
                format!("{size} bytes, the manifest says {}", file.bytes),
            ),
            Some(_) => {}
        }
    }
    let folders = [Layer::Raw, Layer::Staging, Layer::Delta].map(|l| (l, layout::layer_folder(l)));
    for (layer, folder) in folders.into_iter().chain([(Layer::Staging, layout::STAGING_CHANGES)]) {
        for name in survey.under(folder) {
            let inside = &name[folder.len() + 1..];
            if layout::hidden(inside) || listed.contains(name.as_str()) || keep.contains(name) {
                continue;
            }
            problems.add_set(
                "set.stray",
                name,
                format!("a file readers of {layer} would pick up, absent from the manifest"),
            );
        }
    }
    for name in survey.leftovers.iter().filter(|n| !layout::hidden(n)) {
        problems.add_set("set.stray", name, "an unfinished upload left by a stopped process".into());
    }
}

/// The id and date order across shard boundaries, checked shard after shard.
#[derive(Default)]
pub struct Sequence {
    last_id: Option<u64>,
    last_date: Option<NaiveDate>,
}

impl Sequence {
    /// Checks that shard `name`, whose first and last well-formed rows' ids and first and last
    /// dates in the period are given, follows the shards before it.
    pub fn follow(
        &mut self,
        name: &str,
        ids: Option<(u64, u64)>,
        dates: Option<(NaiveDate, NaiveDate)>,
        problems: &mut Problems,
    ) {
        if let (Some(last_id), Some((first_id, _))) = (self.last_id, ids)
            && Some(first_id) != last_id.checked_add(1)
        {
            problems.add_set("id.sequence", name, format!("starts at M{first_id:07} after M{last_id:07}"));
        }
        if let (Some(last_date), Some((first_date, _))) = (self.last_date, dates)
            && first_date < last_date
        {
            problems.add_set("date.order", name, format!("starts on {first_date} after {last_date}"));
        }
        self.last_id = ids.map(|(_, last)| last).or(self.last_id);
        self.last_date = dates.map(|(_, last)| last).or(self.last_date);
    }
}
