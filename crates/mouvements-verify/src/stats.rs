//! Statistics of a dataset, built shard by shard in bounded memory and merged: shares by
//! country, product, type and agency; amounts per type (count, sum, mean, min, max and
//! percentiles from a log histogram); rows per day; and the anomalies a robust rule finds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use chrono::NaiveDate;
use mouvements_schema::{AgenceId, Mouvement, Pays, Produit, TypeOp};
use serde::Serialize;

/// Sub-buckets per power of two: percentiles are exact to within 1/128 (0.8 %).
const SUB_BITS: u32 = 7;
/// Powers of two covered: amounts up to 2^47 cents (1.4 trillion euros); larger ones share
/// the last bucket. 48 × 128 buckets keep a histogram at 48 KiB.
const EXPONENTS: usize = 48;
const BUCKETS: usize = EXPONENTS << SUB_BITS;

/// A log-bucketed histogram of absolute amounts in cents, per sign.
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
}

fn bucket(abs: u64) -> usize {
    if abs < (1 << SUB_BITS) {
        return abs as usize;
    }
    let exp = abs.ilog2();
    let shift = exp - SUB_BITS;
    ((((shift + 1) as usize) << SUB_BITS) + ((abs >> shift) as usize - (1 << SUB_BITS))).min(BUCKETS - 1)
}

/// The middle of a bucket's range, in cents.
fn bucket_value(b: usize) -> f64 {
    if b < (1 << SUB_BITS) {
        return b as f64;
    }
    let shift = (b >> SUB_BITS) as u32 - 1;
    let mantissa = (b & ((1 << SUB_BITS) - 1)) as u64 + (1 << SUB_BITS);
    let low = (mantissa << shift) as f64;
    low + ((1u64 << shift) as f64 - 1.0) / 2.0
}

impl Histogram {
    fn new() -> Self {
        Self { counts: vec![0; BUCKETS] }
    }

    fn add(&mut self, abs: u64) {
        self.counts[bucket(abs)] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// (bucket midpoint, count) of non-empty buckets, ascending.
    fn points(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(b, c)| (bucket_value(b), *c))
    }
}

/// Amounts of one (type, product) pair: negatives and positives apart, so signed
/// percentiles and log-scale medians both come from them.
#[derive(Clone)]
struct AmountDistribution {
    negative: Histogram,
    positive: Histogram,
}

impl AmountDistribution {
    fn new() -> Self {
        Self { negative: Histogram::new(), positive: Histogram::new() }
    }

    fn add(&mut self, cents: i64) {
        if cents < 0 {
            self.negative.add(cents.unsigned_abs());
        } else {
            self.positive.add(cents.unsigned_abs());
        }
    }

    fn merge(&mut self, other: &Self) {
        self.negative.merge(&other.negative);
        self.positive.merge(&other.positive);
    }

    /// Signed values in ascending order with their counts.
    fn signed_points(&self) -> Vec<(f64, u64)> {
        let mut points: Vec<(f64, u64)> = self.negative.points().map(|(v, c)| (-v, c)).collect();
        points.reverse();
        points.extend(self.positive.points());
        points
    }

    /// `ln |amount|` of every bucket with its count.
    fn log_points(&self) -> Vec<(f64, u64)> {
        let mut points: Vec<(f64, u64)> = self
            .negative
            .points()
            .chain(self.positive.points())
            .filter(|(v, _)| *v > 0.0)
            .map(|(v, c)| (v.ln(), c))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    }
}

/// The value at quantile `q` of sorted weighted points.
fn quantile(points: &[(f64, u64)], q: f64) -> f64 {
    let total: u64 = points.iter().map(|p| p.1).sum();
    let target = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    for (value, count) in points {
        seen += count;
        if seen >= target {
            return *value;
        }
    }
    points.last().map_or(0.0, |p| p.0)
}

/// A row kept as an anomaly candidate: its amount's magnitude and id.
type Candidate = Reverse<(u64, u64)>;

/// Statistics of one shard or, merged, of the dataset.
#[derive(Clone)]
pub struct StatsBuilder {
    rows: u64,
    pays: [u64; 5],
    produit: [u64; 4],
    type_op: [u64; 19],
    agence: [u64; 50],
    sum: [i128; 19],
    min: [i64; 19],
    max: [i64; 19],
    amounts: Vec<AmountDistribution>,
    days: BTreeMap<NaiveDate, u64>,
    /// Rows seen per (type, product).
    pair_rows: Vec<u64>,
    /// Per (type, product): the largest amounts seen, as anomaly candidates.
    candidates: Vec<BinaryHeap<Candidate>>,
    /// Share of each pair's rows kept as candidates.
    candidate_share: f64,
}

/// Candidates kept per pair whatever its size, so small pairs are fully covered.
const MIN_CANDIDATES: usize = 64;

fn pair(type_op: TypeOp, produit: Produit) -> usize {
    type_op.index() * 4 + produit.index()
}

impl StatsBuilder {
    /// An empty builder keeping, per (type, product), the largest `candidate_share` of its
    /// rows (at least [`MIN_CANDIDATES`]) as anomaly candidates.
    pub fn new(candidate_share: f64) -> Self {
        Self {
            rows: 0,
            pays: [0; 5],
            produit: [0; 4],
            type_op: [0; 19],
            agence: [0; 50],
            sum: [0; 19],
            min: [i64::MAX; 19],
            max: [i64::MIN; 19],
            amounts: vec![AmountDistribution::new(); 19 * 4],
            days: BTreeMap::new(),
            pair_rows: vec![0; 19 * 4],
            candidates: vec![BinaryHeap::new(); 19 * 4],
            candidate_share,
        }
    }

    /// Counts one row.
    pub fn add(&mut self, row: &Mouvement) {
        let (t, cents) = (row.type_op.index(), row.montant.cents());
        self.rows += 1;
        self.pays[row.pays.index()] += 1;
        self.produit[row.produit.index()] += 1;
        self.type_op[t] += 1;
        self.agence[row.agence_id.index()] += 1;
        self.sum[t] += i128::from(cents);
        self.min[t] = self.min[t].min(cents);
        self.max[t] = self.max[t].max(cents);
        let p = pair(row.type_op, row.produit);
        self.amounts[p].add(cents);
        *self.days.entry(row.date_op).or_insert(0) += 1;
        self.pair_rows[p] += 1;
        let limit = self.candidate_limit(p);
        let heap = &mut self.candidates[p];
        let candidate = Reverse((cents.unsigned_abs(), row.id_mouvement.0));
        if heap.len() < limit {
            heap.push(candidate);
        } else if heap.peek().is_some_and(|smallest| candidate < *smallest) {
            heap.pop();
            heap.push(candidate);
        }
    }

    fn candidate_limit(&self, pair: usize) -> usize {
        ((self.pair_rows[pair] as f64 * self.candidate_share) as usize).max(MIN_CANDIDATES)
    }

    /// Adds another shard's statistics.
    pub fn merge(&mut self, other: StatsBuilder) {
        self.rows += other.rows;
        for (a, b) in self.pays.iter_mut().zip(other.pays) {
            *a += b;
        }
        for (a, b) in self.produit.iter_mut().zip(other.produit) {
            *a += b;
        }
        for (a, b) in self.type_op.iter_mut().zip(other.type_op) {
            *a += b;
        }
        for (a, b) in self.agence.iter_mut().zip(other.agence) {
            *a += b;
        }
        for t in 0..19 {
            self.sum[t] += other.sum[t];
            self.min[t] = self.min[t].min(other.min[t]);
            self.max[t] = self.max[t].max(other.max[t]);
        }
        for (a, b) in self.amounts.iter_mut().zip(&other.amounts) {
            a.merge(b);
        }
        for (day, n) in other.days {
            *self.days.entry(day).or_insert(0) += n;
        }
        for (a, b) in self.pair_rows.iter_mut().zip(&other.pair_rows) {
            *a += b;
        }
        for (p, theirs) in other.candidates.into_iter().enumerate() {
            let limit = self.candidate_limit(p);
            let heap = &mut self.candidates[p];
            for candidate in theirs {
                heap.push(candidate);
                if heap.len() > limit {
                    heap.pop();
                }
            }
        }
    }

    /// The final statistics; `labels` are the ground-truth anomaly ids when known.
    pub fn finish(self, labels: Option<&[u64]>, rows_per_shard: Vec<(String, u64)>) -> Stats {
        let share = |n: u64| if self.rows == 0 { 0.0 } else { n as f64 / self.rows as f64 };
        let counts = |pairs: Vec<(String, u64)>| {
            pairs.into_iter().map(|(key, count)| Count { key, count, share: share(count) }).collect()
        };
        let amounts = TypeOp::ALL
            .iter()
            .filter(|t| self.type_op[t.index()] > 0)
            .map(|t| {
                let i = t.index();
                let mut all = AmountDistribution::new();
                for p in Produit::ALL {
                    all.merge(&self.amounts[pair(*t, *p)]);
                }
                let points = all.signed_points();
                let euros = |q: f64| quantile(&points, q).round() / 100.0;
                AmountStats {
                    type_op: t.label().to_owned(),
                    count: self.type_op[i],
                    sum: self.sum[i] as f64 / 100.0,
                    mean: self.sum[i] as f64 / 100.0 / self.type_op[i] as f64,
                    min: self.min[i] as f64 / 100.0,
                    max: self.max[i] as f64 / 100.0,
                    p50: euros(0.50),
                    p95: euros(0.95),
                    p99: euros(0.99),
                }
            })
            .collect();
        let anomalies = self.detect(labels);
        Stats {
            rows: self.rows,
            rows_per_shard: rows_per_shard
                .into_iter()
                .map(|(key, count)| Count { key, count, share: share(count) })
                .collect(),
            by_pays: counts(Pays::ALL.iter().map(|p| (p.label().to_owned(), self.pays[p.index()])).collect()),
            by_produit: counts(
                Produit::ALL.iter().map(|p| (p.label().to_owned(), self.produit[p.index()])).collect(),
            ),
            by_type_op: counts(
                TypeOp::ALL.iter().map(|t| (t.label().to_owned(), self.type_op[t.index()])).collect(),
            ),
            by_agence: counts(AgenceId::all().map(|a| (a.to_string(), self.agence[a.index()])).collect()),
            montant_by_type_op: amounts,
            rows_per_day: self
                .days
                .iter()
                .map(|(d, n)| Count { key: d.to_string(), count: *n, share: share(*n) })
                .collect(),
            anomalies,
        }
    }

    /// The robust rule: per (type, product), the modified z-score of `ln |montant|` against
    /// the median and the median absolute deviation; rows above [`ROBUST_Z_THRESHOLD`] are
    /// flagged.
    fn detect(&self, labels: Option<&[u64]>) -> AnomalyReport {
        let mut flagged: Vec<FlaggedRow> = Vec::new();
        let mut capped = false;
        for t in TypeOp::ALL {
            for p in Produit::ALL {
                let i = pair(*t, *p);
                let points = self.amounts[i].log_points();
                if points.iter().map(|x| x.1).sum::<u64>() < 30 {
                    continue;
                }
                let median = quantile(&points, 0.5);
                let mut deviations: Vec<(f64, u64)> =
                    points.iter().map(|(v, c)| ((v - median).abs(), *c)).collect();
                deviations.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mad = quantile(&deviations, 0.5).max(1e-9);
                let mut rows_above = 0;
                for Reverse((abs, id)) in &self.candidates[i] {
                    let z = 0.6745 * ((*abs as f64).ln() - median) / mad;
                    if z > ROBUST_Z_THRESHOLD {
                        rows_above += 1;
                        flagged.push(FlaggedRow {
                            id_mouvement: mouvements_schema::MouvementId(*id).to_string(),
                            id: *id,
                            type_op: t.label().to_owned(),
                            produit: p.label().to_owned(),
                            abs_montant: *abs as f64 / 100.0,
                            robust_z: (z * 100.0).round() / 100.0,
                        });
                    }
                }
                capped |= rows_above == self.candidates[i].len();
            }
        }
        flagged.sort_by(|a, b| b.robust_z.total_cmp(&a.robust_z));
        let evaluation = labels.map(|truth| {
            let truth: std::collections::HashSet<u64> = truth.iter().copied().collect();
            let hits = flagged.iter().filter(|f| truth.contains(&f.id)).count() as f64;
            Evaluation {
                labelled: truth.len() as u64,
                precision: if flagged.is_empty() { 0.0 } else { hits / flagged.len() as f64 },
                recall: if truth.is_empty() { 0.0 } else { hits / truth.len() as f64 },
            }
        });
        AnomalyReport {
            rule: format!("modified z-score of ln|montant| per (type_op, produit) > {ROBUST_Z_THRESHOLD}"),
            flagged_count: flagged.len() as u64,
            capped,
            top: flagged.into_iter().take(20).collect(),
            evaluation,
        }
    }
}

/// The modified z-score above which a row is flagged (Iglewicz and Hoaglin's 3.5).
pub const ROBUST_Z_THRESHOLD: f64 = 3.5;

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

/// Amount statistics of one operation type, in euros.
#[derive(Debug, Clone, Serialize)]
pub struct AmountStats {
    /// The type.
    pub type_op: String,
    /// Rows.
    pub count: u64,
    /// Sum.
    pub sum: f64,
    /// Mean.
    pub mean: f64,
    /// Smallest (most negative) amount.
    pub min: f64,
    /// Largest amount.
    pub max: f64,
    /// Median (within 0.8 %).
    pub p50: f64,
    /// 95th percentile (within 0.8 %).
    pub p95: f64,
    /// 99th percentile (within 0.8 %).
    pub p99: f64,
}

/// A row the robust rule flags.
#[derive(Debug, Clone, Serialize)]
pub struct FlaggedRow {
    /// Its id.
    pub id_mouvement: String,
    #[serde(skip)]
    id: u64,
    /// Its type.
    pub type_op: String,
    /// Its product.
    pub produit: String,
    /// Its absolute amount.
    pub abs_montant: f64,
    /// Its modified z-score.
    pub robust_z: f64,
}

/// How the rule fares against the ground truth.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Rows labelled anomalous.
    pub labelled: u64,
    /// Share of flagged rows that are labelled.
    pub precision: f64,
    /// Share of labelled rows that are flagged.
    pub recall: f64,
}

/// What the robust rule finds.
#[derive(Debug, Clone, Serialize)]
pub struct AnomalyReport {
    /// The rule, in words.
    pub rule: String,
    /// Rows flagged.
    pub flagged_count: u64,
    /// Whether a (type, product) had more flagged rows than the candidates kept.
    pub capped: bool,
    /// The 20 highest scores.
    pub top: Vec<FlaggedRow>,
    /// Precision and recall when labels exist.
    pub evaluation: Option<Evaluation>,
}

/// The statistics of a dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Rows.
    pub rows: u64,
    /// Rows per shard.
    pub rows_per_shard: Vec<Count>,
    /// By country.
    pub by_pays: Vec<Count>,
    /// By product.
    pub by_produit: Vec<Count>,
    /// By operation type.
    pub by_type_op: Vec<Count>,
    /// By agency.
    pub by_agence: Vec<Count>,
    /// Amounts per operation type.
    pub montant_by_type_op: Vec<AmountStats>,
    /// Rows per day.
    pub rows_per_day: Vec<Count>,
    /// Anomalies found by the robust rule.
    pub anomalies: AnomalyReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut previous = 0;
        for abs in (1..10_000_000u64).step_by(7919) {
            let b = bucket(abs);
            assert!(b >= previous);
            previous = b;
            let mid = bucket_value(b);
            assert!((mid - abs as f64).abs() <= abs as f64 / 128.0 + 1.0, "{abs}: {mid}");
        }
    }

    #[test]
    fn quantiles_of_weighted_points() {
        let points = [(1.0, 1), (2.0, 1), (3.0, 98)];
        assert!((quantile(&points, 0.01) - 1.0).abs() < f64::EPSILON);
        assert!((quantile(&points, 0.5) - 3.0).abs() < f64::EPSILON);
    }
}
