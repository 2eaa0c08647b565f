//! Arrow throughput: makes the rows' record batches on one thread, keeping them all as a
//! table would, and prints one JSON line `{"rows":…,"seconds":…}`: the reference `cargo
//! xtask bench` holds the Python stream to.
//!
//! Usage: `cargo run --release -p mouvements-generator --features arrow --example record_batches -- [ROWS] [BATCH_ROWS]`

use std::time::Instant;

use mouvements_generator::{Generator, GeneratorConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map_or(Ok(10_000_000), |a| a.parse())?;
    let batch_rows: u64 = args.next().map_or(Ok(65_536), |a| a.parse())?;
    let generator = Generator::new(GeneratorConfig::with_rows(42, rows)?);
    let started = Instant::now();
    // The batches are kept, as a consumer that builds a table does.
    let mut kept = Vec::new();
    let mut next = 0;
    while next < rows {
        let stop = rows.min(next + batch_rows);
        kept.push(generator.record_batch(next..stop));
        next = stop;
    }
    let walked: usize = kept.iter().map(arrow_array::RecordBatch::num_rows).sum();
    let seconds = started.elapsed().as_secs_f64();
    println!("{{\"rows\":{walked},\"seconds\":{seconds}}}");
    Ok(())
}
