//! One shard's rows into every output the dataset has: the generator writes the raw CSV and
//! the labels into the outputs the lake's protocol opens. The binary composes the two; neither
//! library knows the other.

use std::io::{self, Write};

use mouvements_generator::{Generator, ShardPlan};
use mouvements_schema::MouvementId;
use mouvements_sink::{Produced, ShardOutputs};

use crate::progress::Progress;

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
    if let Some(mut raw) = outputs.raw()? {
        let mut counted = progress.counting(&mut raw);
        generator.write_csv(shard.rows.clone(), true, &mut counted)?;
        counted.flush()?;
        produced.files.extend(raw.finish(rows, None)?);
    }
    Ok(produced)
}
