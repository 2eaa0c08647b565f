//! The mouvements job as a library: generate a lake of synthetic insurance financial
//! movements, verify it, and describe how Databricks reads it. The `mouvements-gen` binary and
//! the Python package are thin front ends over these functions; a Rust tool embeds them the
//! same way.
//!
//! It composes the crates that do the work, once: the generator's rows
//! (`mouvements-generator`) into the raw CSV and, through the lakehouse's Parquet writer
//! (`mouvements-lakehouse`), into the staging and Delta layers, all through the lake's dataset
//! protocol (`mouvements-sink`), with the Delta log written at commit; and the verifier
//! (`mouvements-verify`) over what was written. Options are typed and validated
//! ([`GenerateOptions`], [`DatasetSettings`]), a [`Control`] stops a job and reports its
//! progress, and errors are a [`JobError`].
//!
//! ```
//! use std::sync::Arc;
//! use mouvements::{Control, DatasetSettings, GenerateOptions, VerifyOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let folder = tempfile::tempdir()?;
//! let url = folder.path().join("lake").to_str().unwrap().parse()?;
//! let dataset = DatasetSettings { rows: 20_000, shards: 2, ..DatasetSettings::default() }.dataset()?;
//! let options = GenerateOptions::new(url, dataset);
//!
//! let runtime = mouvements::runtime(options.threads)?;
//! let summary = runtime.block_on(mouvements::generate(&options, &Arc::new(Control::default())))?;
//! assert_eq!((summary.status, summary.dataset_rows), ("committed", Some(20_000)));
//!
//! let verify = VerifyOptions { sample: None, stats: false, stats_layer: None, threads: 2 };
//! let report = runtime.block_on(mouvements::verify(&options.url, &verify, &options.store))?;
//! assert!(report.passed());
//! # Ok(())
//! # }
//! ```

mod append;
mod compose;
mod control;
mod delta_log;
mod error;
mod generate;
mod guide;
mod merge;
pub mod options;
mod verify;

pub use append::{AppendOptions, period_after};
pub use control::{Control, Event, Level, Progress};
pub use error::JobError;
pub use generate::{Summary, TOOL, generate};
pub use guide::{guide, render as render_guide};
pub use mouvements_sink::{
    Dataset, LakeUrl, Layer, Layers, ShardFormat, StoreOptions, StoreSettings, WriteMode,
};
pub use mouvements_verify::{Report, VerifyOptions};
pub use options::{DatasetSettings, GenerateOptions, Task};
pub use verify::{html_target, verify, write_html};

/// The I/O runtime a job runs on: two workers drive the async store clients; generation and
/// checking run on threads of their own, `threads` of them at a time.
pub fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, JobError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(threads + 4)
        .enable_all()
        .build()
        .map_err(|e| JobError::Runtime(format!("cannot start the I/O runtime: {e}")))
}

/// The examples of the guide's page on the crates (`docs/library.md`), compiled and run as
/// this crate's doc tests so that the page cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/library.md")]
struct LibraryGuide;
