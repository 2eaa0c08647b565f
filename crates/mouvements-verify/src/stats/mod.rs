//! Statistics of a dataset, built shard by shard in bounded memory and merged: shares by
//! country, product, type and agency; amounts per type (count, sum, mean, min, max and
//! percentiles from a log histogram); the breakdowns the report draws (per day, per agency,
//! per type and product, compliance); the business ratios; and the anomalies the percentile
//! rule finds.

mod anomalies;
mod breakdowns;
mod histogram;
mod ratios;
mod shares;

use mouvements_schema::{AgenceId, Mouvement, Pays, Produit, TypeOp};
use serde::Serialize;

pub use anomalies::{Detector, Evaluation, FlaggedRow, LabelTally, MAX_CANDIDATES, THRESHOLD, pair};
pub use breakdowns::{AgencyStats, COMPLIANCE_TYPES, ComplianceCell, DayStats, PairCount};
pub use ratios::BusinessRatio;
pub use shares::Count;

use anomalies::{Candidates, PAIRS};
use histogram::{AmountDistribution, quantile};
use shares::shares;

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
    breakdowns: breakdowns::Breakdowns,
    candidates: Candidates,
    books: ratios::Books,
}

impl StatsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            rows: 0,
            pays: [0; 5],
            produit: [0; 4],
            type_op: [0; 19],
            agence: [0; 50],
            sum: [0; 19],
            min: [i64::MAX; 19],
            max: [i64::MIN; 19],
            amounts: vec![AmountDistribution::new(); PAIRS],
            breakdowns: breakdowns::Breakdowns::default(),
            candidates: Candidates::new(),
            books: ratios::Books::default(),
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
        self.breakdowns.add(row);
        self.candidates.offer(p, cents.unsigned_abs(), row.id_mouvement.0, row.pays);
        self.books.add(row);
    }

    /// Adds another shard's statistics.
    pub fn merge(&mut self, other: StatsBuilder) {
        self.rows += other.rows;
        let add = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        add(&mut self.pays, &other.pays);
        add(&mut self.produit, &other.produit);
        add(&mut self.type_op, &other.type_op);
        add(&mut self.agence, &other.agence);
        for t in 0..19 {
            self.sum[t] += other.sum[t];
            self.min[t] = self.min[t].min(other.min[t]);
            self.max[t] = self.max[t].max(other.max[t]);
        }
        for (a, b) in self.amounts.iter_mut().zip(&other.amounts) {
            a.merge(b);
        }
        self.breakdowns.merge(other.breakdowns);
        self.candidates.merge(other.candidates);
        self.books.merge(&other.books);
    }

    /// The anomaly detector of the rows counted so far (the whole dataset, once merged).
    pub fn detector(&self) -> Detector {
        Detector::new(&self.amounts)
    }

    /// The final statistics; `labels` is how the labelled anomalies fared, when known.
    pub fn finish(self, labels: Option<LabelTally>, rows_per_shard: Vec<(String, u64)>) -> Stats {
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
                let magnitudes = all.abs_points();
                let magnitude = |q: f64| quantile(&magnitudes, q).round() / 100.0;
                let negative: u64 = all.negative.points().map(|p| p.1).sum();
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
                    magnitude: Magnitude {
                        p1: magnitude(0.01),
                        p25: magnitude(0.25),
                        p50: magnitude(0.50),
                        p75: magnitude(0.75),
                        p99: magnitude(0.99),
                    },
                    negative_share: negative as f64 / self.type_op[i] as f64,
                }
            })
            .collect();
        let detector = self.detector();
        let flagged = detector.find(&self.candidates, &self.amounts);
        let business_ratios = self.books.capped(&flagged.amounts).ratios();
        let anomalies = AnomalyReport {
            rule: format!(
                "|montant| more than {THRESHOLD} times the 99th percentile of its (type_op, produit)"
            ),
            flagged_count: flagged.count,
            capped: flagged.capped,
            by_type_op: shares(flagged.count, flagged.by_type),
            top: flagged.rows.into_iter().take(20).collect(),
            evaluation: labels.map(|tally| Evaluation::new(flagged.count, tally)),
        };
        let n = self.rows;
        Stats {
            rows: n,
            rows_per_shard: shares(n, rows_per_shard),
            by_pays: shares(n, Pays::ALL.iter().map(|p| (p.label().to_owned(), self.pays[p.index()]))),
            by_produit: shares(
                n,
                Produit::ALL.iter().map(|p| (p.label().to_owned(), self.produit[p.index()])),
            ),
            by_type_op: shares(
                n,
                TypeOp::ALL.iter().map(|t| (t.label().to_owned(), self.type_op[t.index()])),
            ),
            by_agence: shares(n, AgenceId::all().map(|a| (a.to_string(), self.agence[a.index()]))),
            montant_by_type_op: amounts,
            rows_per_day: shares(n, self.breakdowns.rows_per_day()),
            days: self.breakdowns.days(),
            agencies: self.breakdowns.agencies(),
            type_by_produit: self.breakdowns.pairs(),
            compliance: self.breakdowns.compliance(),
            business_ratios,
            anomalies,
        }
    }
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
    /// Percentiles of the absolute amounts (within 0.8 %), for a log-scale box plot.
    pub magnitude: Magnitude,
    /// Share of the amounts that are negative (money out).
    pub negative_share: f64,
}

/// Percentiles 1, 25, 50, 75 and 99 of absolute amounts, in euros.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Magnitude {
    /// 1st percentile.
    pub p1: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// What the percentile rule finds.
#[derive(Debug, Clone, Serialize)]
pub struct AnomalyReport {
    /// The rule, in words.
    pub rule: String,
    /// Rows flagged.
    pub flagged_count: u64,
    /// Whether a (type, product) had more flagged rows than candidates kept: its count is
    /// estimated from the histogram, and its rows beyond the kept ones are not listed.
    pub capped: bool,
    /// Rows flagged per type.
    pub by_type_op: Vec<Count>,
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
    /// Per day: rows, net amount, cotisations, remboursements.
    pub days: Vec<DayStats>,
    /// Per agency: country, rows, net amount, rétrocessions.
    pub agencies: Vec<AgencyStats>,
    /// Rows per (type, product), for every pair a product allows.
    pub type_by_produit: Vec<PairCount>,
    /// Pénalités, corrections and annulations per (country, product).
    pub compliance: Vec<ComplianceCell>,
    /// The ratios an insurance analyst checks, per product and per country, against their
    /// bands, without the rows the anomaly rule flags (as an analyst would set them aside).
    pub business_ratios: Vec<BusinessRatio>,
    /// Anomalies found by the rule.
    pub anomalies: AnomalyReport,
}
