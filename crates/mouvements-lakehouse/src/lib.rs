//! The staging and delta layers of a mouvements lake, natively, without Spark: rows to
//! Parquet bytes partitioned by pays and produit ([`PartitionedWriter`]), the Delta log
//! ([`delta`]), and both read back for verification ([`read_rows`], [`delta::replay`]). It
//! hands bytes to any `io::Write` and takes bytes back: it has no store of its own.
//!
//! ```
//! use mouvements_generator::{Generator, GeneratorConfig};
//! use mouvements_lakehouse::{Partition, PartitionedWriter, read_rows};
//!
//! let generator = Generator::new(GeneratorConfig::with_rows(42, 10_000)?);
//! let mut files = PartitionedWriter::new(|_partition: Partition| Ok(Vec::new()))?;
//! for row in generator.rows(0..10_000) {
//!     files.push(&row)?;
//! }
//! let mut rows = 0;
//! for file in files.finish()? {
//!     rows += read_rows(file.inner.into(), file.partition, &mut |_| {})?;
//!     assert!(file.stats.delta_json().contains("numRecords"));
//! }
//! assert_eq!(rows, 10_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod column_chunks;
pub mod delta;
mod delta_packing;
mod events;
mod parquet_files;
mod partition;
mod read;
mod stats;

pub use events::{EVENTS_SCHEMA, FeedEvent, write_events};
pub use parquet_files::{
    CHANGE_DATA_SCHEMA, ChangeType, EncodedFile, FILE_SCHEMA, PartitionedWriter, ROW_GROUP_ROWS, date32,
};
pub use partition::{PARTITION_COLUMNS, PARTITIONS, Partition};
pub use read::{ReadError, read_rows};
pub use stats::{FILE_COLUMNS, FileStats};
