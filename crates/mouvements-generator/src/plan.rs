//! The plan: how a dataset's rows are cut into shards (and shards among tasks). Shard `s` of
//! `n` holds a contiguous, balanced row range, so concatenating the shards in order gives
//! the rows in order, whatever `n`.

use std::ops::Range;

/// One shard of a dataset: its number, the shard count, and its rows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShardPlan {
    /// Shard number, `0..count`.
    pub index: u32,
    /// Number of shards in the dataset.
    pub count: u32,
    /// Row indices of the dataset this shard holds.
    pub rows: Range<u64>,
}

/// The shards of a `rows`-row dataset cut in `count` (at least 1); sizes differ by at most 1.
pub fn shards(rows: u64, count: u32) -> Vec<ShardPlan> {
    let count = count.max(1);
    let n = u64::from(count);
    let bound = |s: u64| (u128::from(rows) * u128::from(s) / u128::from(n)) as u64;
    (0..count)
        .map(|index| ShardPlan { index, count, rows: bound(u64::from(index))..bound(u64::from(index) + 1) })
        .collect()
}

/// Whether task `task` of `tasks` writes shard `shard`: tasks take shards round-robin.
pub fn task_owns(task: u32, tasks: u32, shard: u32) -> bool {
    shard % tasks.max(1) == task
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_rows_evenly() {
        for (rows, count) in [(10, 3), (10_000_000, 5), (3, 7), (1, 1)] {
            let plan = shards(rows, count);
            assert_eq!(plan.len(), count as usize);
            assert_eq!(plan[0].rows.start, 0);
            assert_eq!(plan.last().unwrap().rows.end, rows);
            for pair in plan.windows(2) {
                assert_eq!(pair[0].rows.end, pair[1].rows.start);
            }
            let sizes: Vec<u64> = plan.iter().map(|s| s.rows.end - s.rows.start).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn every_shard_has_exactly_one_task() {
        for shard in 0..11 {
            assert_eq!((0..3).filter(|&t| task_owns(t, 3, shard)).count(), 1);
        }
    }
}
