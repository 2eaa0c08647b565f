//! `Survey`: what the destination holds, read in one pass of listings (raw/, staging/, delta/)
//! plus the few bookkeeping objects that matter (the manifest, the newest claim). Records are
//! read on demand, concurrently. Objects that vanish between a listing and a read (another
//! task removed them) are read as absent.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};

use super::{Lake, ManifestRead};
use crate::manifest::{Claim, Manifest, ShardRecord};
use crate::{SinkError, layout};

/// Records read at once: enough to hide a store's latency, few enough to stay polite.
const CONCURRENT_READS: usize = 32;

/// The newest claim on the destination.
#[derive(Debug, Clone)]
pub struct ClaimSeen {
    /// Its sequence number.
    pub seq: u64,
    /// Its content, or `None` when it could not be read or parsed.
    pub claim: Option<Claim>,
}

/// What lies in the lake's layer folders.
#[derive(Debug, Default)]
pub struct Survey {
    /// Whether `raw/_SUCCESS` exists.
    pub success: bool,
    /// The manifest, or why it is not a valid one.
    pub manifest: Option<ManifestRead>,
    /// The newest claim.
    pub claim: Option<ClaimSeen>,
    /// Sequence numbers of every claim.
    pub claims: Vec<u64>,
    /// Every object under `raw/`, `staging/mouvements/`, `staging/changes/` and `delta/mouvements/`, by name
    /// (relative to the base), with its size when the listing read it (a store's does; a local
    /// walk reads names only, and the protocol reads the sizes it checks on demand).
    pub objects: BTreeMap<String, Option<u64>>,
    /// Unfinished local uploads (`name#N` files) in those folders.
    pub leftovers: Vec<String>,
}

impl Survey {
    /// The valid manifest, if any.
    pub fn valid_manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref().and_then(|m| m.as_deref().ok())
    }

    /// The objects under a folder (`raw`, `staging/mouvements`…), by name.
    pub fn under<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        let start = format!("{folder}/");
        self.objects.range(start.clone()..).map(|(n, _)| n).take_while(move |n| n.starts_with(&start))
    }
}

impl Lake {
    /// Lists the layer folders (and the staging change events) and reads the manifest and the newest claim.
    pub async fn survey(&self) -> Result<Survey, SinkError> {
        let objects = &self.objects;
        let (raw, staging, staged_changes, delta) = futures::try_join!(
            objects.list(layout::RAW),
            objects.list(layout::STAGING),
            objects.list(layout::STAGING_CHANGES),
            objects.list(layout::DELTA),
        )?;
        let mut survey = Survey::default();
        for listed in raw.into_iter().chain(staging).chain(staged_changes).chain(delta) {
            if listed.leftover {
                survey.leftovers.push(listed.name);
            } else {
                if let Some(seq) =
                    listed.name.strip_prefix(&format!("{}/", layout::CLAIMS)).and_then(layout::parse_claim)
                {
                    survey.claims.push(seq);
                }
                survey.objects.insert(listed.name, listed.size);
            }
        }
        survey.success = survey.objects.contains_key(layout::SUCCESS);
        if survey.objects.contains_key(layout::MANIFEST) {
            survey.manifest = self.read_manifest().await?;
        }
        survey.claims.sort_unstable();
        if let Some(&seq) = survey.claims.last() {
            let claim = objects.get(&layout::claim(seq)).await?;
            survey.claim =
                Some(ClaimSeen { seq, claim: claim.and_then(|bytes| serde_json::from_slice(&bytes).ok()) });
        }
        Ok(survey)
    }

    /// The size of each of `names` as stored (`None` for one the survey did not list): the
    /// survey's when its listing read it (a store's does), else read now, together (a local
    /// walk lists names only: a long history's files are never stat'ed).
    pub(crate) async fn stored_sizes(
        &self,
        survey: &Survey,
        names: &[&str],
    ) -> Result<Vec<Option<u64>>, SinkError> {
        let unread: Vec<&str> =
            names.iter().copied().filter(|n| matches!(survey.objects.get(*n), Some(None))).collect();
        let mut read = self.objects.sizes(&unread).await?.into_iter();
        Ok(names
            .iter()
            .map(|name| match survey.objects.get(*name) {
                Some(Some(size)) => Some(*size),
                Some(None) => read.next().flatten(),
                None => None,
            })
            .collect())
    }

    /// Reads every size the survey's listing did not (a local walk's), together; an object
    /// gone since the listing leaves the survey.
    pub async fn read_sizes(&self, survey: &mut Survey) -> Result<(), SinkError> {
        let unread: Vec<String> =
            survey.objects.iter().filter(|(_, size)| size.is_none()).map(|(name, _)| name.clone()).collect();
        let names: Vec<&str> = unread.iter().map(String::as_str).collect();
        for (name, size) in unread.iter().zip(self.objects.sizes(&names).await?) {
            match size {
                Some(size) => survey.objects.insert(name.clone(), Some(size)),
                None => survey.objects.remove(name),
            };
        }
        Ok(())
    }

    /// Reads the records the survey listed under a folder (one run's, or all runs'),
    /// concurrently; unreadable, invalid or vanished ones are skipped: a shard without a good
    /// record is rewritten.
    pub(crate) async fn read_records(
        &self,
        survey: &Survey,
        folder: &str,
    ) -> Result<Vec<ShardRecord>, SinkError> {
        let is_record = |name: &&String| name.rsplit('/').next().and_then(layout::parse_record).is_some();
        futures::stream::iter(survey.under(folder).filter(is_record))
            .map(|name| async move {
                let bytes = self.objects.get(name).await?;
                Ok::<_, SinkError>(bytes.and_then(|b| serde_json::from_slice::<ShardRecord>(&b).ok()))
            })
            .buffer_unordered(CONCURRENT_READS)
            .try_filter_map(|record| async move { Ok(record) })
            .try_collect()
            .await
    }

    /// The newest claim, read afresh.
    pub(crate) async fn newest_claim(&self) -> Result<Option<ClaimSeen>, SinkError> {
        let listed = self.objects.list(layout::CLAIMS).await?;
        let newest = listed
            .iter()
            .filter_map(|l| {
                l.name.strip_prefix(&format!("{}/", layout::CLAIMS)).and_then(layout::parse_claim)
            })
            .max();
        let Some(seq) = newest else { return Ok(None) };
        let claim = self.objects.get(&layout::claim(seq)).await?;
        Ok(Some(ClaimSeen { seq, claim: claim.and_then(|bytes| serde_json::from_slice(&bytes).ok()) }))
    }
}

/// Records by shard number, keeping for each shard the first good one.
pub(crate) fn by_shard(records: Vec<ShardRecord>) -> BTreeMap<u32, ShardRecord> {
    let mut map = BTreeMap::new();
    for record in records {
        map.entry(record.entry.index).or_insert(record);
    }
    map
}
