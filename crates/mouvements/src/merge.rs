//! A load's change events merged into the Delta table: which data files of earlier loads hold
//! a movement the events change, what those files must hold now, and which shard of the load
//! rewrites each. A Delta data file of an earlier load is one shard's rows of one partition;
//! once an event touches it, it is rewritten (its rows regenerated, every event of the history
//! applied) under a new name, and the load's Delta version removes the file it replaces.
//!
//! Like the events, the rewrites are a pure function of the history's settings: the same
//! history gives the same files, whatever shards, threads or tasks write them.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;

use mouvements_generator::changes::{self, Change, ChangeKind, LoadSettings, WINDOW};
use mouvements_generator::{Generator, plan};
use mouvements_lakehouse::{PARTITIONS, Partition, PartitionedWriter};
use mouvements_schema::Mouvement;
use mouvements_sink::{Dataset, FileEntry, Layer, ShardOutputs, layout};

use crate::compose;

/// The Delta table's part of a load with change events: the files to rewrite.
#[derive(Default)]
pub struct Merge {
    /// The load being written.
    load: u32,
    rewrites: Vec<Rewrite>,
}

/// One shard of an earlier load whose data files this load's events touch.
pub struct Rewrite {
    /// The earlier load.
    origin: Dataset,
    /// Its generator.
    generator: Arc<Generator>,
    /// The shard of that load.
    shard: u32,
    /// The partitions whose file this load rewrites, each with the file it replaces.
    partitions: BTreeMap<Partition, String>,
    /// The rows of the shard that any event of the history changed, by row number in the
    /// load, in order: each as the last event left it (`None`: cancelled).
    states: Vec<(u64, Option<Mouvement>)>,
}

/// Where a movement of the history lives: its load (index in the history), the shard of that
/// load, and its row number in the load.
type Place = (usize, u32, u64);

/// The events that name a movement of the history, each with its place.
fn located<'a>(
    events: &'a [Change],
    locate: &impl Fn(&Mouvement) -> Option<Place>,
) -> Vec<(Place, &'a Change)> {
    events.iter().filter_map(|c| Some((locate(&c.row)?, c))).collect()
}

impl Merge {
    /// The rewrites of the last load of `history` (every committed load, then the one being
    /// written; `settings`, each one's settings for its events), whose events are `now`;
    /// nothing when the load has none or no Delta table.
    pub fn plan(history: &[Dataset], settings: &[LoadSettings], now: &[Change]) -> Merge {
        if now.is_empty() || !history.last().is_some_and(|d| d.layers.contains(Layer::Delta)) {
            return Merge::default();
        }
        let n = history.len() - 1;
        let plans: Vec<Vec<plan::ShardPlan>> =
            history.iter().map(|d| plan::shards(d.generator.rows(), d.shards)).collect();
        let locate = |row: &Mouvement| -> Option<Place> {
            let id = row.id_mouvement.0;
            let load = history.iter().position(|d| {
                let first = d.generator.first_id();
                (first..first + d.generator.rows()).contains(&id)
            })?;
            let index = id - history[load].generator.first_id();
            let shard = plans[load].iter().find(|s| s.rows.contains(&index))?.index;
            Some((load, shard, index))
        };
        let partition_of = |c: &Change| Partition { pays: c.row.pays, produit: c.row.produit };
        // A file this load touches is of one of the WINDOW loads before it; the events that
        // changed it before are of the loads after that one.
        let now = located(now, &locate);
        // Only the earlier events aimed at the loads this one touches matter.
        let origins: BTreeSet<usize> = now.iter().map(|((origin, _, _), _)| *origin).collect();
        let first = n.saturating_sub(WINDOW) + 1;
        let earlier_events: Vec<(u32, Vec<Change>)> = (first..n)
            .map(|j| (history[j].load, changes::load_changes_in(settings, j, |t| origins.contains(&t))))
            .collect();
        let earlier: Vec<(u32, Vec<(Place, &Change)>)> =
            earlier_events.iter().map(|(load, events)| (*load, located(events, &locate))).collect();
        let mut targets: BTreeMap<(usize, u32), BTreeMap<Partition, String>> = BTreeMap::new();
        for ((origin, shard, _), change) in &now {
            let partition = partition_of(change);
            let original =
                layout::partition_file(Layer::Delta, &partition.folder(), *shard, &history[*origin]);
            targets.entry((*origin, *shard)).or_default().insert(partition, original);
        }
        // The file each replaces: the one the last earlier load that touched it wrote.
        for (load, events) in &earlier {
            for ((origin, shard, _), change) in events {
                let partition = partition_of(change);
                if let Some(current) =
                    targets.get_mut(&(*origin, *shard)).and_then(|parts| parts.get_mut(&partition))
                {
                    *current = layout::rewritten_file(&partition.folder(), *shard, &history[*origin], *load);
                }
            }
        }
        let mut generators: BTreeMap<usize, Arc<Generator>> = BTreeMap::new();
        let mut states: BTreeMap<(usize, u32), BTreeMap<u64, Option<Mouvement>>> = BTreeMap::new();
        for ((origin, shard, index), change) in earlier.iter().flat_map(|(_, events)| events).chain(&now) {
            if targets.contains_key(&(*origin, *shard)) {
                let state = (change.kind == ChangeKind::Update).then_some(change.row);
                states.entry((*origin, *shard)).or_default().insert(*index, state);
            }
        }
        let rewrites = targets
            .into_iter()
            .map(|((origin, shard), partitions)| Rewrite {
                origin: history[origin],
                generator: Arc::clone(
                    generators
                        .entry(origin)
                        .or_insert_with(|| Arc::new(Generator::new(history[origin].generator))),
                ),
                shard,
                partitions,
                states: states.remove(&(origin, shard)).unwrap_or_default().into_iter().collect(),
            })
            .collect();
        Merge { load: history[n].load, rewrites }
    }

    /// The load being written.
    pub fn load(&self) -> u32 {
        self.load
    }

    /// The rewrites shard `index` of `shards` of the load writes: every `shards`-th.
    pub fn of_shard(&self, index: u32, shards: u32) -> impl Iterator<Item = &Rewrite> {
        self.rewrites.iter().skip(index as usize).step_by(shards.max(1) as usize)
    }
}

impl Rewrite {
    /// Regenerates the shard's rows, applies the history's events to them and writes the
    /// partitions this load rewrites into `outputs`; returns the stored files. `load` is the
    /// load being written.
    pub fn write(&self, load: u32, outputs: &ShardOutputs<'_>) -> io::Result<Vec<FileEntry>> {
        let plan = plan::shards(self.origin.generator.rows(), self.origin.shards);
        let rows = plan.get(self.shard as usize).map(|s| s.rows.clone()).unwrap_or(0..0);
        let mut writer = PartitionedWriter::new(|partition: Partition| {
            let replaces = self.partitions.get(&partition).cloned().unwrap_or_default();
            let path = layout::rewritten_file(&partition.folder(), self.shard, &self.origin, load);
            outputs.rewrite(path, &partition.folder(), replaces)
        })?;
        // A file all of whose rows were cancelled is still rewritten, empty: the version
        // removes the one it replaces.
        for partition in self.partitions.keys() {
            writer.open(*partition)?;
        }
        // Looked up for every row of the shard: a table by partition index, not the map.
        let mut rewritten = [false; PARTITIONS];
        for partition in self.partitions.keys() {
            rewritten[partition.index()] = true;
        }
        let mut states = self.states.iter().peekable();
        for (index, mut row) in rows.clone().zip(self.generator.rows(rows)) {
            let changed = states.next_if(|(at, _)| *at == index).map(|(_, state)| *state);
            if !rewritten[Partition { pays: row.pays, produit: row.produit }.index()] {
                continue;
            }
            match changed {
                Some(None) => continue,
                Some(Some(state)) => row = state,
                None => {}
            }
            writer.push(&row)?;
        }
        Ok(compose::finish(writer)?.into_iter().flat_map(|(_, files)| files).collect())
    }
}
