//! One shard's rows into every output the dataset has: the generator writes the raw CSV and
//! the labels, and its typed rows go through the lakehouse's Parquet writer into one file
//! per partition, all into the outputs the lake's protocol opens. The binary composes the
//! three; no library knows another.

use std::io::{self, Write};

use mouvements_generator::{Generator, ShardPlan};
use mouvements_lakehouse::{Partition, PartitionedWriter};
use mouvements_schema::{MouvementId, Produit};
use mouvements_sink::{FileEntry, Output, Produced, ShardOutputs};

use crate::progress::Progress;

/// Rows between two moves of the progress bar when no CSV is written.
const PROGRESS_ROWS: u64 = 8192;

/// Generates the rows of `shard` into its outputs; returns what was stored. With `parallel`,
/// the Parquet files are encoded by two threads of their own, each taking half of the
/// partitions, while this one writes the CSV; each draws the rows itself (drawing costs little
/// next to encoding). A shard then keeps every core busy when it is the last one running, and
/// the layers take the time of the slowest of the three instead of their sum.
pub fn write_shard(
    generator: &Generator,
    shard: &ShardPlan,
    outputs: &ShardOutputs<'_>,
    progress: &Progress,
    parallel: bool,
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
    // Without a CSV, the first Parquet encoder moves the progress bar.
    let count_progress = raw.is_none();
    let csv = |raw: Option<Output>| match raw {
        Some(mut raw) => {
            let mut counted = progress.counting(&mut raw);
            generator.write_csv(shard.rows.clone(), true, &mut counted)?;
            counted.flush()?;
            raw.finish(rows, None)
        }
        None => Ok(Vec::new()),
    };
    let parquet =
        |group: Group, count: bool| write_parquet(generator, shard, outputs, progress, count, group);
    let (csv, parquet) = if parallel && outputs.has_parquet() {
        // The uploads spawn their part requests on the runtime this thread is in.
        let runtime = tokio::runtime::Handle::current();
        std::thread::scope(|scope| {
            let encoders = Group::HALVES.map(|group| {
                let runtime = &runtime;
                scope.spawn(move || {
                    let _runtime = runtime.enter();
                    parquet(group, count_progress && group == Group::HALVES[0])
                })
            });
            let csv = csv(raw);
            // The scope joins an encoder left behind by the first error.
            let halves = encoders
                .into_iter()
                .map(|encoder| encoder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<io::Result<Vec<_>>>();
            (csv, halves.map(|halves| halves.into_iter().flatten().collect()))
        })
    } else {
        (csv(raw), parquet(Group::All, count_progress))
    };
    produced.files.extend(csv?);
    // Files in partition order, however the encoders split them: the record is the same.
    let mut parquet = parquet?;
    parquet.sort_by_key(|(index, _)| *index);
    produced.files.extend(parquet.into_iter().flat_map(|(_, files)| files));
    Ok(produced)
}

/// The partitions one Parquet encoder writes, by product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Every partition.
    All,
    /// auto and vie: half of the rows (35 % + 15 %).
    AutoVie,
    /// santé and habitation: the other half (30 % + 20 %).
    SanteHabitation,
}

impl Group {
    /// Two groups that split the rows about evenly.
    const HALVES: [Group; 2] = [Group::AutoVie, Group::SanteHabitation];

    /// Whether rows of `produit` belong to this group.
    fn has(self, produit: Produit) -> bool {
        match self {
            Group::All => true,
            Group::AutoVie => matches!(produit, Produit::Auto | Produit::Vie),
            Group::SanteHabitation => matches!(produit, Produit::Sante | Produit::Habitation),
        }
    }
}

/// Encodes the rows of `shard` of the partitions of `group` into one Parquet file per
/// partition, when the dataset has a Parquet layer; returns each file's partition index and
/// entries. Moves the progress bar when `count_progress`.
fn write_parquet(
    generator: &Generator,
    shard: &ShardPlan,
    outputs: &ShardOutputs<'_>,
    progress: &Progress,
    count_progress: bool,
    group: Group,
) -> io::Result<Vec<(usize, Vec<FileEntry>)>> {
    let mut files = Vec::new();
    if !outputs.has_parquet() {
        return Ok(files);
    }
    let mut parquet = PartitionedWriter::new(|partition: Partition| {
        outputs
            .partition(&partition.folder())?
            .ok_or_else(|| io::Error::other("the dataset has no Parquet layer"))
    });
    for (i, row) in generator.rows(shard.rows.clone()).enumerate() {
        if group.has(row.produit) {
            parquet.push(&row)?;
        }
        if count_progress && (i as u64 + 1).is_multiple_of(PROGRESS_ROWS) {
            progress.add_rows(PROGRESS_ROWS);
        }
    }
    for file in parquet.finish()? {
        let stats = file.stats.delta_json();
        files.push((file.partition.index(), file.inner.finish(file.stats.rows, Some(&stats))?));
    }
    Ok(files)
}
