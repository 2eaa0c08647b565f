//! Shares: a count of rows and its share of all rows, for each country, product, type,
//! agency, shard or day.

use serde::Serialize;

/// A count and its share of all rows.
#[derive(Debug, Clone, Serialize)]
pub struct Count {
    /// What is counted (a country, a day, a shard…).
    pub key: String,
    /// How many rows.
    pub count: u64,
    /// Share of all rows.
    pub share: f64,
}

/// The counts of `pairs` with their shares of `total` rows.
pub fn shares(total: u64, pairs: impl IntoIterator<Item = (String, u64)>) -> Vec<Count> {
    pairs
        .into_iter()
        .map(|(key, count)| Count {
            key,
            count,
            share: if total == 0 { 0.0 } else { count as f64 / total as f64 },
        })
        .collect()
}
