//! The lake: where a mouvements dataset lives and how it gets there safely.
//!
//! It moves bytes and knows nothing of rows. It parses lake URLs ([`LakeUrl`]: local path,
//! `file://`, `gs://`, `s3://`, `az://`, `memory://`), opens the store behind them through
//! object_store with credentials from the environment ([`Objects`]: object I/O on the base
//! folder), streams objects as multipart uploads ([`ObjectWriter`]) and reads them back
//! ([`ObjectReader`]), and owns the whole dataset protocol ([`Lake::prepare`],
//! [`Run::write_shard`], [`Run::commit`]): claim, shards and their records, then the manifest,
//! the layers' markers and `raw/_SUCCESS` last, so a reader that waits for `_SUCCESS` never
//! sees a partial dataset, whatever the tasks, retries and crashes.
//!
//! ```
//! # async fn demo() -> Result<(), mouvements_sink::SinkError> {
//! use std::sync::Arc;
//! use mouvements_sink::{Dataset, Lake, Layers, RunRequest, ShardFormat, StoreOptions, WriteMode};
//!
//! let lake = Arc::new(Lake::create(&"memory://demo".parse()?, &StoreOptions::default())?);
//! let config = mouvements_schema::GeneratorConfig::with_rows(42, 10).unwrap();
//! let dataset = Dataset::new(config, 1, ShardFormat::Csv, Layers::RAW, false)?;
//! let request = RunRequest {
//!     dataset,
//!     mode: WriteMode::Fresh,
//!     run_id: "demo".into(),
//!     shards: vec![0],
//!     max_shard_bytes: 1 << 20,
//! };
//! let run = lake.prepare(request).await?;
//! assert_eq!(run.todo(), [0]);
//! # Ok(())
//! # }
//! ```

mod dataset;
mod error;
pub mod layout;
mod manifest;
mod objects;
mod protocol;
mod reader;
mod store;
mod url;
mod writer;

pub use dataset::{Dataset, DatasetError, Layer, Layers, MAX_SHARDS, ShardFormat, next_load_seed};
pub use error::SinkError;
pub use manifest::{
    Claim, FileEntry, Load, MANIFEST_VERSION, Manifest, ShardEntry, ShardRecord, crc32c_hex, is_change_data,
};
pub use objects::{Listed, Objects};
pub use protocol::{
    CLOUD_PARQUET_SHAPE, CLOUD_SHAPE, CommitOutcome, Faults, LOCAL_PARQUET_SHAPE, LOCAL_SHAPE, Lake,
    LogEntries, ManifestRead, Output, Produced, Run, RunRequest, ShardOutputs, Step, Survey, TableCheckpoint,
    TableLog, WriteMode,
};
pub use reader::ObjectReader;
pub use store::{StoreOptions, StoreSettings, prepare_local};
pub use url::{ACCEPTED_FORMS, LakeUrl, UrlError};
pub use writer::{FLUSH_EACH_BYTES, MAX_PART_SIZE, MAX_PARTS, ObjectWriter, Receipt, UploadShape};
