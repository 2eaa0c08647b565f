//! Parquet encoder throughput: one shard's rows of the default dataset into per-partition
//! files held in memory. Prints rows, bytes and seconds as one JSON line.
//!
//! Usage: `cargo run --release -p mouvements-lakehouse --example encode -- [ROWS]`

use std::time::Instant;

use mouvements_generator::{Generator, GeneratorConfig};
use mouvements_lakehouse::{Partition, PartitionedWriter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).map_or(Ok(2_000_000), |a| a.parse())?;
    let generator = Generator::new(GeneratorConfig::with_rows(42, rows)?);
    let started = Instant::now();
    let mut files = PartitionedWriter::new(|_: Partition| Ok(Vec::new()))?;
    for row in generator.rows(0..rows) {
        files.push(&row)?;
    }
    let bytes: usize = files.finish()?.iter().map(|f| f.inner.len()).sum();
    let seconds = started.elapsed().as_secs_f64();
    println!(r#"{{"rows":{rows},"bytes":{bytes},"seconds":{seconds}}}"#);
    Ok(())
}
