//! One shard's rows into every output the dataset has: the generator writes the raw CSV and
//! the labels, and its typed rows go through the lakehouse's Parquet writer into one file
//! per partition, all into the outputs the lake's protocol opens. The binary composes the
//! three; no library knows another.

use std::io::{self, Write};

use mouvements_generator::{Generator, ShardPlan};
use mouvements_lakehouse::{Partition, PartitionedWriter};
use mouvements_schema::MouvementId;
use mouvements_sink::{Produced, ShardOutputs};

use crate::progress::Progress;

/// Rows between two moves of the progress bar when no CSV is written.
const PROGRESS_ROWS: u64 = 8192;

/// Generates the rows of `shard` into its outputs; returns what was stored.
pub fn write_shard(
    generator: &Generator,
    shard: &ShardPlan,
    outputs: &ShardOutputs<'_>,
    progress: &Progress,
) -> io::Result<Produced> {
    let rows = shard.rows.end - shard.rows.start;
    let first_id = generator.config().first_id();
    let mut produced = Produced {
        rows,
        first_id: MouvementId(first_id + shard.rows.start).to_string(),
        last_id: MouvementId(first_id + shard.rows.end - 1).to_string(),
        files: Vec::new(),
    };
    if let Some(mut labels) = outputs.labels()? {
        let count = generator.write_labels_csv(shard.rows.clone(), io::BufWriter::new(&mut labels))?;
        produced.files.extend(labels.finish(count, None)?);
    }
    let raw = outputs.raw()?;
    let counted_by_csv = raw.is_some();
    if let Some(mut raw) = raw {
        let mut counted = progress.counting(&mut raw);
        generator.write_csv(shard.rows.clone(), true, &mut counted)?;
        counted.flush()?;
        produced.files.extend(raw.finish(rows, None)?);
    }
    let mut parquet = PartitionedWriter::new(|partition: Partition| {
        outputs
            .partition(&partition.folder())?
            .ok_or_else(|| io::Error::other("the dataset has no Parquet layer"))
    });
    if outputs.has_parquet() {
        for (i, row) in generator.rows(shard.rows.clone()).enumerate() {
            parquet.push(&row)?;
            if !counted_by_csv && (i as u64 + 1).is_multiple_of(PROGRESS_ROWS) {
                progress.add_rows(PROGRESS_ROWS);
            }
        }
        for file in parquet.finish()? {
            let stats = file.stats.delta_json();
            produced.files.extend(file.inner.finish(file.stats.rows, Some(&stats))?);
        }
    }
    Ok(produced)
}
