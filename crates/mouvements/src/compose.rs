//! One shard's rows into every output the dataset has: the generator writes the raw CSV and
//! the labels, and its typed rows go through the lakehouse's Parquet writer into one file
//! per partition, all into the outputs the lake's protocol opens. This crate composes the
//! three, for every front end; none of them knows another.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use mouvements_generator::changes::{
    Change, shard_part, write_changes_csv, write_events_csv, write_repeats_csv,
};
use mouvements_generator::{Generator, ShardPlan};
use mouvements_lakehouse::{FeedEvent, Partition, PartitionedWriter, write_events};
use mouvements_schema::{Mouvement, MouvementId, Produit};
use mouvements_sink::{FileEntry, Output, Produced, ShardOutputs};

use crate::control::Control;
use crate::generate::Load;

/// Rows between two moves of the progress bar when no CSV is written.
const PROGRESS_ROWS: u64 = 8192;

/// Rows handed to a Parquet encoder thread at a time.
const BATCH_ROWS: usize = 4096;

/// Batches on their way to an encoder thread at most: the walk waits beyond.
const BATCHES_IN_FLIGHT: usize = 4;

/// Generates the rows of `shard` of `load` into its outputs, its part of the load's change
/// events into the change feed and, when the load merges them into the Delta table, into its
/// change data files, with the rewrites this shard owns, its part of the rows the load delivers
/// again, and the ground truth of its events; returns what was stored. The rows are walked
/// once: the walk writes the CSV and hands each typed row to the Parquet encoding. With `parallel`, two threads of their own encode the Parquet files, each
/// taking half of the partitions from batches of rows this one sends them: a shard then keeps
/// every core busy when it is the last one running.
pub(crate) fn write_shard(
    load: &Load,
    shard: &ShardPlan,
    outputs: &ShardOutputs<'_>,
    progress: &Control,
    parallel: bool,
) -> io::Result<Produced> {
    let generator = &load.generator;
    let changes = shard_part(&load.changes, shard.index, shard.count);
    let repeats = shard_part(&load.repeats, shard.index, shard.count);
    let rows = shard.rows.end - shard.rows.start;
    let first_id = generator.config().first_id();
    let mut produced = Produced {
        rows,
        first_id: MouvementId(first_id + shard.rows.start).to_string(),
        last_id: MouvementId(first_id + shard.rows.end - 1).to_string(),
        files: Vec::new(),
    };
    if let Some(mut feed) = outputs.changes()? {
        write_changes_csv(changes, io::BufWriter::new(&mut feed))?;
        produced.files.extend(feed.finish(changes.len() as u64, None)?);
    }
    if outputs.stages_changes() {
        let events: Vec<FeedEvent<'_>> = changes
            .iter()
            .map(|c| FeedEvent { change_type: c.kind.label(), seq: c.seq, row: &c.row })
            .collect();
        let files = write_events(&events, |partition| {
            outputs
                .staging_changes(&partition.folder())?
                .ok_or_else(|| io::Error::other("the load stages no change"))
        })?;
        for (_, output, rows) in files {
            produced.files.extend(output.finish(rows, None)?);
        }
    }
    if let Some(mut labels) = outputs.labels()? {
        let count = generator.write_labels_csv(shard.rows.clone(), io::BufWriter::new(&mut labels))?;
        produced.files.extend(labels.finish(count, None)?);
    }
    if let (Some(mut again), Some(earlier)) = (outputs.repeats()?, load.earlier.as_ref()) {
        write_repeats_csv(earlier, repeats, io::BufWriter::new(&mut again))?;
        produced.files.extend(again.finish(repeats.len() as u64, None)?);
    }
    if let Some(mut labels) = outputs.event_labels()? {
        let count = write_events_csv(
            load.merge.load(),
            generator,
            shard.rows.clone(),
            (load.earlier.as_ref(), repeats),
            changes,
            io::BufWriter::new(&mut labels),
        )?;
        produced.files.extend(labels.finish(count, None)?);
    }
    let raw = outputs.raw()?;
    let walk =
        |each: &mut dyn FnMut(Mouvement) -> io::Result<()>| walk_rows(generator, shard, raw, progress, each);
    let mut parquet = if !outputs.has_parquet() {
        produced.files.extend(walk(&mut |_| Ok(()))?);
        Vec::new()
    } else if parallel {
        let (csv, parquet) = walk_into_encoders(outputs, changes, walk)?;
        produced.files.extend(csv);
        parquet
    } else {
        let mut parquet = Encoder::new(outputs)?;
        produced.files.extend(walk(&mut |row| parquet.push(&row))?);
        parquet.finish(changes, |_| true)?
    };
    // Files in partition order, however the encoders split them: the record is the same.
    parquet.sort_by_key(|(index, _)| *index);
    produced.files.extend(parquet.into_iter().flat_map(|(_, files)| files));
    for rewrite in load.merge.of_shard(shard.index, shard.count) {
        produced.files.extend(rewrite.write(load.merge.load(), outputs)?);
    }
    Ok(produced)
}

/// Opens a partition's output.
type Opener<'a> = Box<dyn FnMut(Partition) -> io::Result<Output> + 'a>;

/// A shard's Parquet writer: its data files, and its change data files when the load merges
/// change events into the Delta table (the new rows as inserts, then the events).
struct Encoder<'a>(PartitionedWriter<Output, Opener<'a>>);

impl<'a> Encoder<'a> {
    fn new(outputs: &'a ShardOutputs<'_>) -> io::Result<Self> {
        let data = Box::new(move |partition: Partition| {
            outputs
                .partition(&partition.folder())?
                .ok_or_else(|| io::Error::other("the dataset has no Parquet layer"))
        }) as Opener<'a>;
        if !outputs.merges() {
            return Ok(Self(PartitionedWriter::new(data)?));
        }
        let change_data = Box::new(move |partition: Partition| {
            outputs
                .change_data(&partition.folder())?
                .ok_or_else(|| io::Error::other("the load merges no change into the Delta table"))
        }) as Opener<'a>;
        Ok(Self(PartitionedWriter::with_change_data(data, change_data)?))
    }

    fn push(&mut self, row: &Mouvement) -> io::Result<()> {
        self.0.push(row)
    }

    /// Adds the `events` of the partitions `ours` takes to the change data (a load that
    /// merges none has none), and finishes every file; returns each one's partition index and
    /// entries.
    fn finish(
        mut self,
        events: &[Change],
        ours: impl Fn(Produit) -> bool,
    ) -> io::Result<Vec<PartitionFiles>> {
        for event in events.iter().filter(|e| ours(e.row.produit)) {
            self.0.push_event(&event.row, event.updated_from())?;
        }
        finish(self.0)
    }
}

/// A partition's file and the files it went to.
type PartitionFiles = (usize, Vec<FileEntry>);

/// Walks the rows of `shard`, writing them to `raw` when the dataset has a CSV and handing
/// each to `each`; returns the CSV's entries. Without a CSV, moves the progress bar itself.
fn walk_rows(
    generator: &Generator,
    shard: &ShardPlan,
    raw: Option<Output>,
    progress: &Control,
    each: &mut dyn FnMut(Mouvement) -> io::Result<()>,
) -> io::Result<Vec<FileEntry>> {
    if let Some(mut raw) = raw {
        let mut counted = progress.counting(&mut raw, true);
        generator.write_csv_and_rows(shard.rows.clone(), true, &mut counted, each)?;
        counted.flush()?;
        return raw.finish(shard.rows.end - shard.rows.start, None);
    }
    for (i, row) in generator.rows(shard.rows.clone()).enumerate() {
        each(row)?;
        if (i as u64 + 1).is_multiple_of(PROGRESS_ROWS) {
            progress.add_rows(PROGRESS_ROWS);
        }
    }
    progress.add_rows((shard.rows.end - shard.rows.start) % PROGRESS_ROWS);
    Ok(Vec::new())
}

/// Runs `walk` on this thread, sending its rows to two encoder threads by product; returns
/// the walk's CSV entries and the encoders' files. When one side fails, the other stops, and
/// the error is the one that started it.
fn walk_into_encoders(
    outputs: &ShardOutputs<'_>,
    changes: &[Change],
    walk: impl FnOnce(&mut dyn FnMut(Mouvement) -> io::Result<()>) -> io::Result<Vec<FileEntry>>,
) -> io::Result<(Vec<FileEntry>, Vec<PartitionFiles>)> {
    // The uploads spawn their part requests on the runtime this thread is in.
    let runtime = tokio::runtime::Handle::current();
    std::thread::scope(|scope| {
        let mut batches = Vec::new();
        let mut encoders = Vec::new();
        for encoder in 0..ENCODERS {
            let (sender, receiver) = sync_channel(BATCHES_IN_FLIGHT);
            let (give_back, returned) = sync_channel(BATCHES_IN_FLIGHT + 1);
            let runtime = &runtime;
            encoders.push(scope.spawn(move || {
                let _runtime = runtime.enter();
                encode_received(outputs, changes, encoder, &receiver, &give_back)
            }));
            batches.push(Batches { sender, returned, rows: Vec::with_capacity(BATCH_ROWS) });
        }
        let csv = walk(&mut |row| batches[encoder_of(row.produit)].push(row))
            .and_then(|csv| batches.iter_mut().try_for_each(Batches::end).map(|()| csv));
        // Closed channels stop the encoders if the walk did not end them.
        drop(batches);
        let parquet = encoders
            .into_iter()
            .map(|encoder| encoder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect::<io::Result<Vec<_>>>();
        match (csv, parquet) {
            (Ok(csv), Ok(parquet)) => Ok((csv, parquet.into_iter().flatten().collect())),
            (Err(walk), Err(encoder)) if is_stopped(&walk) => Err(encoder),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    })
}

/// The error of a side that stopped because the other failed.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped: another part of the shard's writing failed")
    }
}

impl std::error::Error for Stopped {}

/// Whether `e` only says that the other side failed.
fn is_stopped(e: &io::Error) -> bool {
    e.get_ref().is_some_and(<dyn std::error::Error + Send + Sync>::is::<Stopped>)
}

/// Rows gathered for one encoder thread, the channel to it, and the channel that brings its
/// batches back once encoded, to be filled again (a new batch each time cost a page fault every
/// 4 KiB: 21,600 of them for 10 M rows). An empty batch ends its rows.
struct Batches {
    sender: SyncSender<Vec<Mouvement>>,
    returned: Receiver<Vec<Mouvement>>,
    rows: Vec<Mouvement>,
}

impl Batches {
    fn push(&mut self, row: Mouvement) -> io::Result<()> {
        self.rows.push(row);
        if self.rows.len() == BATCH_ROWS { self.send() } else { Ok(()) }
    }

    fn send(&mut self) -> io::Result<()> {
        let empty = self.returned.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH_ROWS));
        let rows = std::mem::replace(&mut self.rows, empty);
        self.sender.send(rows).map_err(|_| io::Error::other(Stopped))
    }

    /// Sends the last rows, then the empty batch that ends them.
    fn end(&mut self) -> io::Result<()> {
        if !self.rows.is_empty() {
            self.send()?;
        }
        self.send()
    }
}

/// Parquet encoder threads of a shard, each taking the partitions of two products.
const ENCODERS: usize = 2;

/// The encoder thread of `produit`'s rows: auto and vie (35 % + 15 % of the rows) go to the
/// first, santé and habitation (30 % + 20 %) to the second, so each takes about half.
fn encoder_of(produit: Produit) -> usize {
    match produit {
        Produit::Auto | Produit::Vie => 0,
        Produit::Sante | Produit::Habitation => 1,
    }
}

/// Encodes the rows received until the empty batch that ends them, giving each encoded batch
/// back, emptied, through `give_back`, then the change events of encoder `encoder`'s
/// products; without that end (the walk failed), stops without finishing a file.
fn encode_received(
    outputs: &ShardOutputs<'_>,
    changes: &[Change],
    encoder: usize,
    rows: &Receiver<Vec<Mouvement>>,
    give_back: &SyncSender<Vec<Mouvement>>,
) -> io::Result<Vec<PartitionFiles>> {
    let mut parquet = Encoder::new(outputs)?;
    loop {
        let mut batch = rows.recv().map_err(|_| io::Error::other(Stopped))?;
        if batch.is_empty() {
            return parquet.finish(changes, |produit| encoder_of(produit) == encoder);
        }
        for row in &batch {
            parquet.push(row)?;
        }
        batch.clear();
        // A full return channel (the walk ended) just drops the batch.
        let _ = give_back.try_send(batch);
    }
}

/// Finishes every file of `parquet` (a data file's entry keeps its `stats`); returns each
/// one's partition index and entries.
pub(crate) fn finish<F>(parquet: PartitionedWriter<Output, F>) -> io::Result<Vec<PartitionFiles>>
where
    F: FnMut(Partition) -> io::Result<Output>,
{
    let mut files = Vec::new();
    for file in parquet.finish()? {
        let json = (!file.change_data).then(|| file.stats.delta_json());
        files.push((file.partition.index(), file.inner.finish(file.stats.rows, json.as_deref())?));
    }
    Ok(files)
}
