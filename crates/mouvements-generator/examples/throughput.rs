//! Generator core throughput: encodes rows to CSV into a discarding writer and prints one
//! JSON line `{"rows":…,"bytes":…,"threads":…,"seconds":…}`. Threads split the rows into
//! contiguous ranges, as shards do. Used by `cargo xtask bench`.
//!
//! Usage: `cargo run --release -p mouvements-generator --example throughput -- [ROWS] [THREADS]`

use std::io::{self, Write};
use std::time::Instant;

use mouvements_generator::{Generator, GeneratorConfig};

/// Discards bytes, counting them.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map_or(Ok(20_000_000), |a| a.parse())?;
    let threads: u32 = args.next().map_or(Ok(1), |a| a.parse())?;
    let generator = Generator::new(GeneratorConfig::with_rows(42, rows)?);
    let started = Instant::now();
    let bytes: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = generator
            .shards(threads)
            .into_iter()
            .map(|part| {
                let generator = &generator;
                scope.spawn(move || {
                    let mut counter = Counter(0);
                    generator.write_csv(part.rows, false, &mut counter).map(|()| counter.0)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker thread does not panic"))
            .sum::<io::Result<u64>>()
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(r#"{{"rows":{rows},"bytes":{bytes},"threads":{threads},"seconds":{seconds}}}"#);
    Ok(())
}
