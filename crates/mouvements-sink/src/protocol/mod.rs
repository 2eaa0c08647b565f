//! The dataset protocol: every step of writing a dataset, in one place.
//!
//! # Steps
//!
//! 1. **Prepare** ([`Lake::prepare`]): survey the destination, then claim it for this run
//!    (`raw/_claims/N.json`, created with put-if-absent: the highest number owns the
//!    destination), or join the claim of this run, or refuse. A run that takes over an older
//!    dataset (`--overwrite`) removes its commit markers (`raw/_SUCCESS`,
//!    `staging/mouvements/_SUCCESS`, then `raw/_manifest.json`) before any shard is written.
//!    With `--resume`, shards whose files are all stored with the size and CRC32C of a record
//!    or of the manifest are kept.
//! 2. **Write a shard** ([`Run::write_shard`]): the caller generates the rows once and writes
//!    them into the shard's outputs (its raw CSV, its labels, one Parquet file per partition,
//!    stored in staging/ and delta/ at once); each output is a streaming upload that appears
//!    whole or not at all. When every output is stored, the shard's record (every file with
//!    its rows, size and CRC32C) goes to `raw/_shards/<run>/`.
//! 3. **Commit** ([`Run::commit`]): the task that finds every shard recorded by its run checks
//!    that its run still owns the destination, removes what older datasets left (raw shards,
//!    labels, staging files, records, claims, unfinished local uploads; Delta data files only
//!    when no log version refers to them), creates `raw/_manifest.json` (put-if-absent), then
//!    `staging/mouvements/_SUCCESS`, the next Delta commit (put-if-absent) and `raw/_SUCCESS`
//!    last. Every commit step is idempotent, so any task of the run may repeat them.
//!
//! # Appended loads
//!
//! A dataset whose `load` is above 0 is the next load of a committed history. Prepare
//! refuses it unless the manifest (with `raw/_SUCCESS`) ends with the load before it, and it
//! takes over the claim of the run that committed that load; a newer claim of another run is
//! an append under way (or stopped), refused unless `--resume` and the same load. Nothing is
//! cleared: the history stays committed while the append writes. Its commit keeps every file
//! the history lists, writes the staging marker and the Delta version that only adds the
//! load's files (and the checkpoint it is due) first, then replaces the manifest (one put, after
//! checking again that this run owns the lake) and puts `raw/_SUCCESS` again. Killed before
//! the manifest, the history reads as before and `--append --resume` completes the load
//! (a Delta version already written is found holding exactly its files, not written twice).
//!
//! # Crash points: what a task killed after each step leaves
//!
//! | killed after… | left behind | what makes it whole |
//! | --- | --- | --- |
//! | the claim | a claim, no data; an older dataset is still committed | a retry of the run joins its claim; `--resume` or `--overwrite` by another run takes over |
//! | clearing markers | an older dataset's files without `_SUCCESS` (readers wait) | the same |
//! | part of a shard | aborted uploads (GCS, S3, Azure) or a `name#N` local upload file | commit removes leftovers; the shard has no record, so it is rewritten |
//! | a shard's files, before its record | whole files without a record | rewritten by a retry (same bytes); not counted by a commit |
//! | stale removal | only this run's files and bookkeeping | any task of the run repeats the commit |
//! | the manifest | a manifest without `_SUCCESS` | a retry of the run finds its own manifest and finishes the commit |
//! | the staging marker or the Delta commit | the same; the Delta commit is keyed by its version and compared, not rewritten | the same |
//!
//! No step before `raw/_SUCCESS` makes a dataset look committed, and `raw/_SUCCESS` is
//! written only after every file, the manifest and the Delta commit.
//!
//! # Durability
//!
//! Object stores acknowledge durable writes. On a local lake under Linux, small files are not
//! fsynced one by one (files of [`crate::FLUSH_EACH_BYTES`] or more are, as they complete):
//! the commit flushes the lake's file system once (`syncfs`) before the manifest, again
//! before `raw/_SUCCESS` and after it, so a committed dataset is on disk whatever task wrote
//! its shards. A power loss before the commit can leave records whose
//! files did not reach the disk; a retry rewrites every shard, and `--resume` keeps only files
//! whose size and CRC32C match.
//!
//! # Races
//!
//! - *Tasks of one run* (same run id: `CLOUD_RUN_EXECUTION`, `BATCH_JOB_UID`, `--run-id`, or
//!   derived from the dataset): they join one claim, write disjoint shards, and any of them
//!   may commit; concurrent commits repeat idempotent steps. A task never deletes what its own
//!   run wrote (records live in a folder per run; markers are removed only when another run's).
//! - *Two runs at once*: both try to create the same claim number; one wins, the other is
//!   refused before writing anything ([`SinkError::Claimed`]).
//! - *A later run taking over* (`--overwrite`, `--resume`) while an older one still writes:
//!   the older run's tasks find the newer claim before a shard (looking at most every
//!   0.1 s, as thousands of small shards would otherwise spend more time looking than writing)
//!   and before committing, and stop ([`SinkError::TakenOver`]). An upload of the older run already under way when the
//!   newer run takes over may still land over a file of the newer run; the newer run's commit
//!   reads every record back and `verify` checks every CRC32C, so it cannot pass unnoticed.
//! - *Objects vanishing between a listing and a read* (another task removed them): read as
//!   absent.

mod commit;
mod faults;
mod prepare;
mod shard;
mod survey;

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
pub use commit::{CommitOutcome, LogEntries, TableCheckpoint, TableLog};
pub use faults::{Faults, Step};
pub use prepare::{Run, RunRequest, WriteMode};
pub use shard::{Output, Produced, ShardOutputs};
pub use survey::Survey;

use crate::manifest::Manifest;
use crate::store::prepare_local;
use crate::{LakeUrl, Objects, SinkError, StoreOptions, UploadShape, layout};

/// Parts for local disks: no minimum size there, and small parts keep memory low (with 4 MiB
/// parts a 10 M-row run peaked at 72 MiB RSS, the allocator keeping freed parts; see the bench).
pub const LOCAL_SHAPE: UploadShape = UploadShape { part_size: 1 << 20, parts_in_flight: 2 };
/// Parts for object stores: 16 MiB parts, 4 in flight, keep an upload busy on a fast link
/// while bounding memory to ~80 MiB per object being written (grown for very large shards).
pub const CLOUD_SHAPE: UploadShape = UploadShape { part_size: 16 << 20, parts_in_flight: 4 };

/// Parts of Parquet files on local disks: a shard holds one open file per partition, so small
/// parts keep its memory low (with 1 MiB parts a 50 M-row run held ~75 MiB more per shard),
/// and a local part is one `write` (writes as big as a part skip the buffer).
pub const LOCAL_PARQUET_SHAPE: UploadShape = UploadShape { part_size: 64 << 10, parts_in_flight: 2 };
/// Parts of Parquet files on object stores: the smallest part S3 and GCS accept.
pub const CLOUD_PARQUET_SHAPE: UploadShape = UploadShape { part_size: 5 << 20, parts_in_flight: 2 };

/// A manifest as read: shared (a long history's is megabytes), or why it is not a valid one.
pub type ManifestRead = Result<Arc<Manifest>, String>;

/// A lake and its dataset protocol.
pub struct Lake {
    objects: Objects,
    shape: UploadShape,
    parquet_shape: UploadShape,
    table_log: Option<Arc<dyn TableLog>>,
    faults: Faults,
    /// The manifest last read, and what it parsed to: a run reads it three times or more
    /// (a history of years is megabytes), and it seldom changes in between.
    manifest_read: Mutex<Option<(Bytes, ManifestRead)>>,
}

impl Lake {
    /// Opens the lake at `url` to read it; never writes.
    pub fn open(url: &LakeUrl, options: &StoreOptions) -> Result<Self, SinkError> {
        let (shape, parquet) = if matches!(url, LakeUrl::Local(_)) {
            (LOCAL_SHAPE, LOCAL_PARQUET_SHAPE)
        } else {
            (CLOUD_SHAPE, CLOUD_PARQUET_SHAPE)
        };
        Ok(Self { parquet_shape: parquet, ..Self::with_objects(Objects::open(url, options)?, shape) })
    }

    /// Opens the lake at `url` to write it: a local folder is created and checked writable.
    pub fn create(url: &LakeUrl, options: &StoreOptions) -> Result<Self, SinkError> {
        if let LakeUrl::Local(path) = url {
            prepare_local(path)?;
        }
        Self::open(url, options)
    }

    /// A lake over given objects, with one upload shape for every object (e.g. a wrapped
    /// store in tests).
    pub fn with_objects(objects: Objects, shape: UploadShape) -> Self {
        Self {
            objects,
            shape,
            parquet_shape: shape,
            table_log: None,
            faults: Faults::none(),
            manifest_read: Mutex::new(None),
        }
    }

    /// The same lake, writing the Delta log with `log`.
    #[must_use]
    pub fn with_table_log(mut self, log: Arc<dyn TableLog>) -> Self {
        self.table_log = Some(log);
        self
    }

    /// The same lake, with faults injected at protocol steps (tests).
    #[must_use]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// The objects of the lake.
    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    /// Where the lake lives.
    pub fn url(&self) -> &LakeUrl {
        self.objects.url()
    }

    /// Upload part size and concurrency per object.
    pub fn upload_shape(&self) -> UploadShape {
        self.shape
    }

    /// Reads the manifest afresh: `None` when there is none, else the manifest or why it is
    /// not a valid one. The same bytes as the last read are not parsed again.
    pub async fn read_manifest(&self) -> Result<Option<ManifestRead>, SinkError> {
        let Some(bytes) = self.objects.get(layout::MANIFEST).await? else { return Ok(None) };
        let mut read = self.manifest_read.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, parsed)) = read.as_ref()
            && *seen == bytes
        {
            return Ok(Some(parsed.clone()));
        }
        let parsed = Manifest::parse(&bytes).map(Arc::new);
        *read = Some((bytes, parsed.clone()));
        Ok(Some(parsed))
    }
}
