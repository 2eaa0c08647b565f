//! The lake: where a mouvements dataset lives and how it gets there safely.
//!
//! It moves bytes and knows nothing of rows. It parses lake URLs ([`LakeUrl`]: local path,
//! `file://`, `gs://`, `s3://`, `az://`, `memory://`), opens the store behind them through
//! object_store with credentials from the environment, streams shards as multipart uploads
//! ([`ShardWriter`]) and reads them back ([`ShardReader`]), and runs the commit protocol
//! ([`Lake::prepare`], [`Lake::record_shard`], [`Lake::try_commit`]): shards, then
//! `raw/_manifest.json`, then `raw/_SUCCESS`, so a reader that waits for `_SUCCESS` never
//! sees a partial dataset.

mod error;
mod lake;
pub mod layout;
mod manifest;
mod reader;
mod store;
mod url;
mod writer;

pub use error::SinkError;
pub use lake::{CommitOutcome, Lake, Survey, WriteMode};
pub use layout::ShardFormat;
pub use manifest::{Dataset, MANIFEST_VERSION, Manifest, ShardEntry, ShardRecord, crc32c_hex};
pub use reader::ShardReader;
pub use store::{StoreOptions, open_store};
pub use url::{ACCEPTED_FORMS, LakeUrl, UrlError};
pub use writer::{ShardReceipt, ShardWriter, UploadShape};
