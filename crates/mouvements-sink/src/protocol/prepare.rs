//! Step 1, prepare: decide from the survey whether this run claims the destination, joins its
//! own claim, finds its work already done, or is refused; clear an older dataset's commit
//! markers; find the shards to keep on `--resume`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::survey::{ClaimSeen, Survey, by_shard};
use super::{Lake, Step};
use crate::manifest::{Claim, Manifest, ShardEntry, ShardRecord};
use crate::{Dataset, Layer, SinkError, UploadShape, crc32c_hex, layout};

/// What to do when the destination already holds data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Refuse a committed dataset, another configuration's objects, or another run's claim.
    #[default]
    Fresh,
    /// Replace whatever is there.
    Overwrite,
    /// Keep the shards whose files match their record or the manifest; write the rest.
    Resume,
}

impl WriteMode {
    /// The mode's name, as in `--overwrite`.
    pub const fn name(self) -> &'static str {
        match self {
            WriteMode::Fresh => "fresh",
            WriteMode::Overwrite => "overwrite",
            WriteMode::Resume => "resume",
        }
    }
}

/// What a task asks for.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The dataset to write.
    pub dataset: Dataset,
    /// What to do with existing data.
    pub mode: WriteMode,
    /// The run this task belongs to: tasks with the same id cooperate.
    pub run_id: String,
    /// The shards this task writes.
    pub shards: Vec<u32>,
    /// An upper bound of a raw shard's size, to size upload parts (and refuse what cannot fit).
    pub max_shard_bytes: u64,
}

/// What the survey means for a run.
enum Decision {
    /// The dataset is already committed.
    Done(Box<Manifest>),
    /// The run owns the destination through the claim of this number.
    Own(u64),
}

/// Where a prepared run stands.
#[derive(Debug)]
enum State {
    /// It owns the destination through the claim of this number.
    Owner(u64),
    /// The dataset is already committed: by this run, or (resume) an identical one.
    Done(Box<Manifest>),
}

/// A prepared run: the shards this task must write, then the commit.
pub struct Run {
    pub(super) lake: Arc<Lake>,
    pub(super) dataset: Dataset,
    pub(super) id: String,
    pub(super) key: String,
    pub(super) shape: UploadShape,
    pub(super) parquet_shape: UploadShape,
    todo: Vec<u32>,
    kept: Vec<u32>,
    state: State,
    /// When ownership was last confirmed, to check it at most every [`OWNER_CHECK_INTERVAL`]
    /// between shards.
    pub(super) owner_checked: Mutex<Option<Instant>>,
}

/// How long a confirmed ownership is trusted between shards: with thousands of small shards, a
/// check (a listing and a read) before each one cost more than the shard itself. The commit
/// always checks afresh.
pub(super) const OWNER_CHECK_INTERVAL: Duration = Duration::from_millis(100);

impl Run {
    /// The dataset being written.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.id
    }

    /// Shards this task must write.
    pub fn todo(&self) -> &[u32] {
        &self.todo
    }

    /// Shards of this task kept from before (`--resume`).
    pub fn kept(&self) -> &[u32] {
        &self.kept
    }

    /// The manifest when the dataset was already committed and nothing is left to write.
    pub fn already_committed(&self) -> Option<&Manifest> {
        match &self.state {
            State::Done(manifest) => Some(manifest),
            State::Owner(_) => None,
        }
    }

    /// The claim this run owns the destination through.
    pub(super) fn claim(&self) -> Option<u64> {
        match self.state {
            State::Owner(seq) => Some(seq),
            State::Done(_) => None,
        }
    }

    /// The raw folder's URL, for messages.
    pub(super) fn raw_url(&self) -> String {
        self.lake.objects.url_of(layout::RAW)
    }

    /// Fails if another run has taken the destination over since this one claimed it, unless
    /// that was confirmed less than [`OWNER_CHECK_INTERVAL`] ago.
    pub(super) async fn check_owner_recently(&self) -> Result<(), SinkError> {
        let fresh = |checked: &Option<Instant>| checked.is_some_and(|at| at.elapsed() < OWNER_CHECK_INTERVAL);
        if fresh(&self.owner_checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) {
            return Ok(());
        }
        self.check_owner().await?;
        *self.owner_checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        Ok(())
    }

    /// Fails if another run has taken the destination over since this one claimed it.
    pub(super) async fn check_owner(&self) -> Result<(), SinkError> {
        let Some(ours) = self.claim() else { return Ok(()) };
        match self.lake.newest_claim().await? {
            Some(seen) if seen.seq > ours => Err(SinkError::TakenOver {
                url: self.raw_url(),
                run: seen.claim.map_or_else(|| "(unreadable claim)".into(), |c| c.run_id),
            }),
            _ => Ok(()),
        }
    }
}

/// A file-system and URL safe key for a run id: its records live under this folder name.
fn run_key(run_id: &str) -> String {
    Sha256::digest(run_id.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Lake {
    /// Prepares a run: claims the destination, joins this run's claim, or refuses; see the
    /// protocol's docs for each case.
    pub async fn prepare(self: &Arc<Self>, request: RunRequest) -> Result<Run, SinkError> {
        let RunRequest { dataset, mode, run_id, shards, max_shard_bytes } = request;
        if dataset.layers.contains(Layer::Delta) && self.table_log.is_none() {
            return Err(SinkError::Write {
                url: self.objects.url_of(layout::DELTA),
                source: std::io::Error::other("the delta layer needs a Delta log writer, and none was given"),
            });
        }
        let shape = self.shape.for_expected_size(max_shard_bytes).ok_or(SinkError::ShardTooBig {
            bytes: max_shard_bytes,
            limit: crate::writer::MAX_PART_SIZE * crate::writer::MAX_PARTS,
        })?;
        let survey = self.survey().await?;
        let mut run = Run {
            lake: Arc::clone(self),
            dataset,
            key: run_key(&run_id),
            id: run_id,
            shape,
            // A local file has no part limit: its parts stay small whatever the shard's size.
            parquet_shape: if self.objects.is_local() {
                self.parquet_shape
            } else {
                self.parquet_shape.for_expected_size(max_shard_bytes).unwrap_or(shape)
            },
            todo: Vec::new(),
            kept: Vec::new(),
            state: State::Owner(0),
            owner_checked: Mutex::new(None),
        };
        let seq = match self.decide(&run, &survey, mode).await? {
            Decision::Done(manifest) => {
                run.kept = shards;
                run.state = State::Done(manifest);
                return Ok(run);
            }
            Decision::Own(seq) => seq,
        };
        run.state = State::Owner(seq);
        self.faults.after(Step::Claimed)?;

        self.clear_markers(&run).await?;
        self.faults.after(Step::Cleared)?;

        if mode == WriteMode::Resume {
            run.kept = self.keep_for_resume(&run, &survey, &shards).await?;
        }
        run.todo = shards.into_iter().filter(|s| !run.kept.contains(s)).collect();
        Ok(run)
    }

    /// What the survey means for this run: its dataset is already committed, or it owns the
    /// destination through a claim (joined, or taken now); else a refusal.
    async fn decide(&self, run: &Run, survey: &Survey, mode: WriteMode) -> Result<Decision, SinkError> {
        let dataset = run.dataset;
        let raw_url = run.raw_url();
        let mismatch = |theirs: &Dataset| SinkError::Mismatch {
            url: raw_url.clone(),
            theirs: theirs.describe(),
            ours: dataset.describe(),
        };

        // This run committed already (a retried or late task): nothing to write.
        if let Some(manifest) = survey.valid_manifest()
            && let Some(load) = manifest.loads.iter().find(|l| l.run_id == run.id)
        {
            if load.dataset != dataset {
                return Err(mismatch(&load.dataset));
            }
            return Ok(Decision::Done(Box::new(manifest.clone())));
        }
        let committed = survey.valid_manifest().filter(|_| survey.success);
        if dataset.load > 0 {
            return self.decide_append(run, survey, committed, mode).await;
        }
        if let Some(manifest) = committed {
            let first = &manifest.loads[0];
            match mode {
                WriteMode::Fresh => {
                    return Err(SinkError::Exists {
                        url: raw_url,
                        what: "a committed dataset: _SUCCESS".into(),
                    });
                }
                WriteMode::Resume if first.dataset == dataset => {
                    return Ok(Decision::Done(Box::new(manifest.clone())));
                }
                WriteMode::Resume => return Err(mismatch(&first.dataset)),
                WriteMode::Overwrite => {}
            }
        }

        let seq = match &survey.claim {
            Some(ClaimSeen { seq, claim: Some(claim) }) if claim.run_id == run.id => {
                if claim.dataset != dataset {
                    return Err(mismatch(&claim.dataset));
                }
                *seq
            }
            Some(seen) => {
                if committed.is_none() {
                    let theirs = seen.claim.as_ref().map(|c| &c.dataset);
                    match mode {
                        WriteMode::Fresh => return Err(claimed(&raw_url, seen)),
                        WriteMode::Resume if theirs != Some(&dataset) => {
                            return Err(theirs.map_or_else(|| claimed(&raw_url, seen), mismatch));
                        }
                        WriteMode::Resume | WriteMode::Overwrite => {}
                    }
                }
                self.take_claim(run, seen.seq + 1).await?
            }
            None => {
                if mode == WriteMode::Fresh
                    && let Some(what) = foreign(survey, &dataset)
                {
                    return Err(SinkError::Exists { url: raw_url, what });
                }
                if mode == WriteMode::Resume
                    && let Some(Err(reason)) = &survey.manifest
                {
                    return Err(SinkError::Corrupt {
                        url: self.objects.url_of(layout::MANIFEST),
                        what: "manifest",
                        reason: reason.clone(),
                    });
                }
                self.take_claim(run, 0).await?
            }
        };
        Ok(Decision::Own(seq))
    }

    /// The decision for an appended load: the lake's committed history must end with the load
    /// before it. The claim of the run that committed that load is taken over; another run's
    /// newer claim is an append under way (or stopped): refused, or with `--resume` taken over
    /// when it writes this same load.
    async fn decide_append(
        &self,
        run: &Run,
        survey: &Survey,
        committed: Option<&Manifest>,
        mode: WriteMode,
    ) -> Result<Decision, SinkError> {
        let dataset = run.dataset;
        let raw_url = run.raw_url();
        if mode == WriteMode::Overwrite {
            return Err(SinkError::Write {
                url: raw_url,
                source: std::io::Error::other("an appended load cannot overwrite the lake"),
            });
        }
        let Some(history) = committed else {
            return Err(SinkError::no_history(raw_url, survey.valid_manifest().is_some()));
        };
        let latest = history.latest();
        if latest.dataset.load + 1 != dataset.load {
            return Err(SinkError::Appended {
                url: raw_url,
                load: latest.dataset.load,
                run: latest.run_id.clone(),
            });
        }
        latest.dataset.check_next(&dataset).map_err(|reason| SinkError::Mismatch {
            url: raw_url.clone(),
            theirs: latest.dataset.describe(),
            ours: format!("{} ({reason})", dataset.describe()),
        })?;
        let seq = match &survey.claim {
            Some(ClaimSeen { seq, claim: Some(claim) }) if claim.run_id == run.id => {
                if claim.dataset != dataset {
                    return Err(SinkError::Mismatch {
                        url: raw_url,
                        theirs: claim.dataset.describe(),
                        ours: dataset.describe(),
                    });
                }
                *seq
            }
            Some(ClaimSeen { seq, claim: Some(claim) }) if claim.run_id == latest.run_id => {
                self.take_claim(run, seq + 1).await?
            }
            Some(seen) => {
                let theirs = seen.claim.as_ref().map(|c| &c.dataset);
                if mode != WriteMode::Resume || theirs != Some(&dataset) {
                    return Err(claimed(&raw_url, seen));
                }
                self.take_claim(run, seen.seq + 1).await?
            }
            None => self.take_claim(run, 0).await?,
        };
        Ok(Decision::Own(seq))
    }

    /// Creates claim `seq` for the run; if another claim got that number first, joins it when
    /// it is this run's, else refuses.
    async fn take_claim(&self, run: &Run, seq: u64) -> Result<u64, SinkError> {
        let claim = Claim { run_id: run.id.clone(), dataset: run.dataset };
        let json = serde_json::to_vec_pretty(&claim).expect("a claim serialises");
        let name = layout::claim(seq);
        if self.objects.create(&name, Bytes::from(json)).await? {
            return Ok(seq);
        }
        let theirs = self.objects.get(&name).await?.and_then(|b| serde_json::from_slice::<Claim>(&b).ok());
        match theirs {
            Some(theirs) if theirs.run_id == run.id && theirs.dataset == run.dataset => Ok(seq),
            theirs => Err(claimed(&run.raw_url(), &ClaimSeen { seq, claim: theirs })),
        }
    }

    /// Removes another run's commit markers: both `_SUCCESS` while its manifest still exists
    /// (so this run, which cannot create a manifest over it, never loses its own), then the
    /// manifest. A `_SUCCESS` without a valid manifest is removed too.
    async fn clear_markers(&self, run: &Run) -> Result<(), SinkError> {
        if run.dataset.load > 0 {
            // An append keeps the lake's history committed while it writes.
            return Ok(());
        }
        let manifest = self.objects.get(layout::MANIFEST).await?.map(|b| Manifest::parse(&b));
        if let Some(Ok(manifest)) = &manifest
            && manifest.latest().run_id == run.id
        {
            return Ok(());
        }
        self.objects.delete(layout::SUCCESS).await?;
        self.objects.delete(layout::STAGING_SUCCESS).await?;
        if manifest.is_some() {
            self.objects.delete(layout::MANIFEST).await?;
        }
        Ok(())
    }

    /// The shards among `owned` whose every file is stored with the size and CRC32C of a
    /// record (of any run) or of the manifest, for this dataset. Each kept shard is recorded
    /// again under this run, so its commit counts it.
    async fn keep_for_resume(
        &self,
        run: &Run,
        survey: &Survey,
        owned: &[u32],
    ) -> Result<Vec<u32>, SinkError> {
        let mut candidates = by_shard(
            self.read_records(survey, layout::RECORDS)
                .await?
                .into_iter()
                .filter(|r| r.dataset == run.dataset)
                .collect(),
        );
        let listed = survey.valid_manifest().and_then(|m| m.loads.iter().find(|l| l.dataset == run.dataset));
        if let Some(load) = listed {
            for entry in &load.shards {
                candidates.entry(entry.index).or_insert_with(|| ShardRecord {
                    run_id: load.run_id.clone(),
                    dataset: run.dataset,
                    entry: entry.clone(),
                });
            }
        }
        let mut kept = Vec::new();
        for &index in owned {
            let Some(record) = candidates.get(&index) else { continue };
            if self.stored_whole(survey, &record.entry).await? {
                let record = ShardRecord { run_id: run.id.clone(), ..record.clone() };
                self.put_record(run, &record).await?;
                kept.push(index);
            }
        }
        Ok(kept)
    }

    /// Whether every file of a shard entry is stored with its size and CRC32C.
    async fn stored_whole(&self, survey: &Survey, entry: &ShardEntry) -> Result<bool, SinkError> {
        let names: Vec<&str> = entry.files.iter().map(|f| f.path.as_str()).collect();
        let sizes = self.stored_sizes(survey, &names).await?;
        if entry.files.iter().zip(&sizes).any(|(file, size)| *size != Some(file.bytes)) {
            return Ok(false);
        }
        for file in &entry.files {
            match self.objects.receipt(&file.path).await? {
                Some(receipt) if crc32c_hex(receipt.crc32c) == file.crc32c => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Stores a shard's record under its run.
    pub(super) async fn put_record(&self, run: &Run, record: &ShardRecord) -> Result<(), SinkError> {
        let (name, json) = record_object(run, record);
        self.objects.put(&name, Bytes::from(json)).await
    }
}

/// A shard's record as an object: its name under its run, and its JSON.
pub(super) fn record_object(run: &Run, record: &ShardRecord) -> (String, Vec<u8>) {
    let name = layout::record(&run.key, record.entry.index, run.dataset.shards);
    (name, serde_json::to_vec_pretty(record).expect("records serialise"))
}

/// The refusal for another run's claim.
fn claimed(raw_url: &str, seen: &ClaimSeen) -> SinkError {
    let (run, theirs) = seen.claim.as_ref().map_or_else(
        || ("(unreadable claim)".to_owned(), "an unknown dataset".to_owned()),
        |c| (c.run_id.clone(), c.dataset.describe()),
    );
    SinkError::Claimed { url: raw_url.to_owned(), run, theirs }
}

/// What in an unclaimed destination belongs to another dataset, if anything: a committed
/// dataset, an unreadable or different manifest, or raw shards and Parquet files of another
/// configuration.
fn foreign(survey: &Survey, dataset: &Dataset) -> Option<String> {
    if survey.success {
        return Some("a committed dataset: _SUCCESS".into());
    }
    match &survey.manifest {
        Some(Ok(m)) if m.latest().dataset != *dataset => {
            return Some(format!("a manifest of {}", m.latest().dataset.describe()));
        }
        Some(Err(_)) => return Some("an unreadable manifest".into()),
        _ => {}
    }
    let ours = |name: &str| {
        let file = name.rsplit('/').next().unwrap_or(name);
        match layout::parse_shard_file(file) {
            Some(shard) => {
                (shard.load, shard.count, shard.format) == (dataset.load, dataset.shards, dataset.format)
            }
            None => file.contains(&dataset.config_hash()),
        }
    };
    let others = survey.objects.keys().filter(|name| !layout::hidden(name) && !ours(name)).count();
    (others > 0).then(|| format!("{others} file(s) of another configuration"))
}
