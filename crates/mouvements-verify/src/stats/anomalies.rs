//! Anomaly scoring: per (type, product), an amount is flagged when it is more than
//! [`THRESHOLD`] times the pair's 99th percentile. A percentile rule rather than a z-score of
//! the log-amount: several laws are mixtures (monthly and annual premiums, glass and bodily
//! injury), whose spread a median and a deviation misread. The percentiles come from the
//! histograms; the flagged rows from the largest amounts kept per pair (counted from the
//! histogram beyond them); the scoring against labels streams the labels, so memory stays
//! bounded at any rate.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use mouvements_schema::{MouvementId, Pays, Produit, TypeOp};
use serde::Serialize;

use super::histogram::{AmountDistribution, quantile};

/// How many times its pair's 99th percentile an amount must exceed to be flagged.
pub const THRESHOLD: f64 = 3.0;

/// Largest amounts kept per (type, product) as candidates: 8192 × 76 pairs × 16 bytes keeps
/// them under 10 MiB per shard being checked; flagged rows beyond are counted, not listed.
pub const MAX_CANDIDATES: usize = 8192;

/// Pairs of (type, product), indexed by [`pair`].
pub const PAIRS: usize = 19 * 4;

/// The index of a (type, product) pair.
pub fn pair(type_op: TypeOp, produit: Produit) -> usize {
    type_op.index() * 4 + produit.index()
}

/// A row kept as an anomaly candidate: its amount's magnitude in cents, its id and its
/// country.
pub type Candidate = Reverse<(u64, u64, Pays)>;

/// The largest amounts of each pair, bounded.
#[derive(Clone)]
pub struct Candidates {
    heaps: Vec<BinaryHeap<Candidate>>,
}

impl Candidates {
    /// None kept yet.
    pub fn new() -> Self {
        Self { heaps: vec![BinaryHeap::new(); PAIRS] }
    }

    /// Offers a row.
    pub fn offer(&mut self, pair: usize, abs: u64, id: u64, pays: Pays) {
        let heap = &mut self.heaps[pair];
        let candidate = Reverse((abs, id, pays));
        if heap.len() < MAX_CANDIDATES {
            heap.push(candidate);
        } else if heap.peek().is_some_and(|smallest| candidate < *smallest) {
            heap.pop();
            heap.push(candidate);
        }
    }

    /// Adds another shard's candidates.
    pub fn merge(&mut self, other: Candidates) {
        for (p, theirs) in other.heaps.into_iter().enumerate() {
            for Reverse((abs, id, pays)) in theirs {
                self.offer(p, abs, id, pays);
            }
        }
    }
}

/// The law of one pair's amounts, as the rule reads it.
#[derive(Debug, Clone, Copy)]
struct Law {
    /// The 99th percentile of the absolute amounts, in cents.
    p99: f64,
}

impl Law {
    /// An amount's score: how many times the 99th percentile it is.
    fn score(self, abs_cents: u64) -> f64 {
        abs_cents as f64 / self.p99
    }

    /// The absolute amount in cents above which a row is flagged.
    fn threshold(self) -> f64 {
        THRESHOLD * self.p99
    }
}

/// The detector: each pair's law, from the dataset's histograms (pairs with under 30 rows
/// have none and flag nothing).
#[derive(Debug, Clone)]
pub struct Detector {
    laws: Vec<Option<Law>>,
}

impl Detector {
    /// The laws of every pair.
    pub fn new(amounts: &[AmountDistribution]) -> Self {
        let laws = amounts
            .iter()
            .map(|distribution| {
                let points = distribution.log_points();
                if points.iter().map(|x| x.1).sum::<u64>() < 30 {
                    return None;
                }
                Some(Law { p99: quantile(&points, 0.99).exp().max(1.0) })
            })
            .collect();
        Self { laws }
    }

    /// Whether a row of this pair and absolute amount is flagged.
    pub fn flags(&self, pair: usize, abs_cents: u64) -> bool {
        self.laws[pair].is_some_and(|law| law.score(abs_cents) > THRESHOLD)
    }

    /// The flagged rows: the candidates above each pair's threshold, counted from the
    /// histogram where a pair had more flagged rows than candidates kept.
    pub fn find(&self, candidates: &Candidates, amounts: &[AmountDistribution]) -> Flagged {
        let mut flagged = Flagged::default();
        for t in TypeOp::ALL {
            let mut of_type = 0.0;
            for p in Produit::ALL {
                let i = pair(*t, *p);
                let Some(law) = self.laws[i] else { continue };
                let heap = &candidates.heaps[i];
                let above: Vec<&Candidate> =
                    heap.iter().filter(|Reverse((abs, _, _))| law.score(*abs) > THRESHOLD).collect();
                let count = if above.len() == MAX_CANDIDATES {
                    flagged.capped = true;
                    amounts[i].count_above(law.threshold()).round().max(above.len() as f64)
                } else {
                    above.len() as f64
                };
                of_type += count;
                let threshold = law.threshold().round() as u64;
                for Reverse((abs, _, pays)) in &above {
                    flagged.amounts.push(FlaggedAmount {
                        type_op: *t,
                        produit: *p,
                        pays: *pays,
                        abs: *abs,
                        threshold,
                    });
                }
                flagged.rows.extend(above.into_iter().map(|Reverse((abs, id, _))| FlaggedRow {
                    id_mouvement: MouvementId(*id).to_string(),
                    type_op: t.label().to_owned(),
                    produit: p.label().to_owned(),
                    abs_montant: *abs as f64 / 100.0,
                    score: (law.score(*abs) * 100.0).round() / 100.0,
                }));
            }
            flagged.count += of_type as u64;
            flagged.by_type.push((t.label().to_owned(), of_type as u64));
        }
        flagged
            .rows
            .sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id_mouvement.cmp(&b.id_mouvement)));
        flagged
    }
}

/// What the detector flags.
#[derive(Debug, Default)]
pub struct Flagged {
    /// Rows flagged in all.
    pub count: u64,
    /// Whether some pair had more flagged rows than candidates kept (its count is estimated).
    pub capped: bool,
    /// Rows flagged per type, in table order.
    pub by_type: Vec<(String, u64)>,
    /// The flagged rows kept, highest score first.
    pub rows: Vec<FlaggedRow>,
    /// The amount of each flagged row kept, for the books.
    pub amounts: Vec<FlaggedAmount>,
}

/// A flagged row's amount, where it counts in the books, and the rule's threshold.
#[derive(Debug, Clone, Copy)]
pub struct FlaggedAmount {
    /// Its type.
    pub type_op: TypeOp,
    /// Its product.
    pub produit: Produit,
    /// Its country.
    pub pays: Pays,
    /// Its absolute amount, cents.
    pub abs: u64,
    /// The absolute amount above which its (type, product) is flagged, cents.
    pub threshold: u64,
}

/// How many labelled anomalies there are, and how many of them the detector flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabelTally {
    /// Labelled rows.
    pub labelled: u64,
    /// Labelled rows the detector flags.
    pub flagged: u64,
}

/// A row the robust rule flags.
#[derive(Debug, Clone, Serialize)]
pub struct FlaggedRow {
    /// Its id.
    pub id_mouvement: String,
    /// Its type.
    pub type_op: String,
    /// Its product.
    pub produit: String,
    /// Its absolute amount.
    pub abs_montant: f64,
    /// Its score: how many times its pair's 99th percentile it is.
    pub score: f64,
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

impl Evaluation {
    /// Precision and recall from the flagged count and the labels' tally.
    pub fn new(flagged: u64, tally: LabelTally) -> Self {
        Self {
            labelled: tally.labelled,
            precision: if flagged == 0 { 0.0 } else { (tally.flagged as f64 / flagged as f64).min(1.0) },
            recall: if tally.labelled == 0 { 0.0 } else { tally.flagged as f64 / tally.labelled as f64 },
        }
    }
}
