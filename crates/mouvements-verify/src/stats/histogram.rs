//! Log-bucketed histograms of amounts: bounded memory whatever the rows, percentiles within
//! 1/128 (0.8 %), mergeable across shards.

/// Sub-buckets per power of two: percentiles are exact to within 1/128 (0.8 %).
const SUB_BITS: u32 = 7;
/// Powers of two covered: amounts up to 2^47 cents (1.4 trillion euros); larger ones share
/// the last bucket. 48 × 128 buckets keep a histogram at 48 KiB.
const EXPONENTS: usize = 48;
const BUCKETS: usize = EXPONENTS << SUB_BITS;

/// A log-bucketed histogram of absolute amounts in cents.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
}

/// The bucket of an absolute amount in cents.
pub fn bucket(abs: u64) -> usize {
    if abs < (1 << SUB_BITS) {
        return abs as usize;
    }
    let exp = abs.ilog2();
    let shift = exp - SUB_BITS;
    ((((shift + 1) as usize) << SUB_BITS) + ((abs >> shift) as usize - (1 << SUB_BITS))).min(BUCKETS - 1)
}

/// The middle of a bucket's range, in cents.
pub fn bucket_value(b: usize) -> f64 {
    if b < (1 << SUB_BITS) {
        return b as f64;
    }
    let shift = (b >> SUB_BITS) as u32 - 1;
    let mantissa = (b & ((1 << SUB_BITS) - 1)) as u64 + (1 << SUB_BITS);
    let low = (mantissa << shift) as f64;
    low + ((1u64 << shift) as f64 - 1.0) / 2.0
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self { counts: vec![0; BUCKETS] }
    }

    /// Counts one absolute amount.
    pub fn add(&mut self, abs: u64) {
        self.counts[bucket(abs)] += 1;
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// (bucket midpoint, count) of non-empty buckets, ascending.
    pub fn points(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(b, c)| (bucket_value(b), *c))
    }

    /// Amounts counted above `abs` cents: whole buckets above it, and the share of its own
    /// bucket that lies above it.
    pub fn count_above(&self, abs: f64) -> f64 {
        let b = bucket(abs.max(0.0) as u64);
        let above: u64 = self.counts[b + 1..].iter().sum();
        let width = if b + 1 < BUCKETS { bucket_value(b + 1) - bucket_value(b) } else { 1.0 };
        let share = ((bucket_value(b) + width / 2.0 - abs) / width).clamp(0.0, 1.0);
        above as f64 + self.counts[b] as f64 * share
    }
}

/// Amounts of one (type, product) pair: negatives and positives apart, so signed
/// percentiles and log-scale medians both come from them.
#[derive(Clone)]
pub struct AmountDistribution {
    /// Absolute values of the negative amounts.
    pub negative: Histogram,
    /// The positive amounts.
    pub positive: Histogram,
}

impl AmountDistribution {
    /// An empty distribution.
    pub fn new() -> Self {
        Self { negative: Histogram::new(), positive: Histogram::new() }
    }

    /// Counts one signed amount in cents.
    pub fn add(&mut self, cents: i64) {
        if cents < 0 {
            self.negative.add(cents.unsigned_abs());
        } else {
            self.positive.add(cents.unsigned_abs());
        }
    }

    /// Adds another distribution's counts.
    pub fn merge(&mut self, other: &Self) {
        self.negative.merge(&other.negative);
        self.positive.merge(&other.positive);
    }

    /// Signed values in ascending order with their counts.
    pub fn signed_points(&self) -> Vec<(f64, u64)> {
        let mut points: Vec<(f64, u64)> = self.negative.points().map(|(v, c)| (-v, c)).collect();
        points.reverse();
        points.extend(self.positive.points());
        points
    }

    /// Absolute values in ascending order with their counts.
    pub fn abs_points(&self) -> Vec<(f64, u64)> {
        let mut points: Vec<(f64, u64)> = self.negative.points().chain(self.positive.points()).collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    }

    /// `ln |amount|` of every bucket with its count, ascending.
    pub fn log_points(&self) -> Vec<(f64, u64)> {
        self.abs_points().into_iter().filter(|(v, _)| *v > 0.0).map(|(v, c)| (v.ln(), c)).collect()
    }

    /// Amounts counted whose absolute value is above `abs` cents.
    pub fn count_above(&self, abs: f64) -> f64 {
        self.negative.count_above(abs) + self.positive.count_above(abs)
    }
}

/// The value at quantile `q` of sorted weighted points.
pub fn quantile(points: &[(f64, u64)], q: f64) -> f64 {
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

    #[test]
    fn counts_above_a_value_are_close() {
        let mut h = Histogram::new();
        for abs in 1..=100_000u64 {
            h.add(abs);
        }
        for threshold in [10.0, 5_000.0, 99_000.0] {
            let expected = 100_000.0 - threshold;
            assert!((h.count_above(threshold) - expected).abs() <= expected / 100.0 + 2.0, "{threshold}");
        }
    }
}
