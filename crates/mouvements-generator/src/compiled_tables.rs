//! The calibration model of `mouvements-schema`, compiled into lookup tables the hot loop
//! indexes with random bits: weighted picks become slot arrays (a type pick per month, month
//! start or not, product and country: built per generator, since the month-start balance
//! depends on its calendar), amount laws become quantile tables in cents at French prices
//! with a price scale per country, and anomalies a table of exceptional amounts (built once
//! per process).

use std::sync::LazyLock;

use mouvements_schema::calibration::{Component, Laws, SEASONS, derive};
use mouvements_schema::tables::{AGENCES, MONTH_START_COTISATION_BOOST_PCT, PAYS, PRODUITS, Sign, TYPE_OPS};
use mouvements_schema::{AgenceId, Pays, Produit, TypeOp, detmath};

/// Bits of randomness per product or agency pick: 1024 slots give every weight a
/// resolution of 0.1 %.
pub const PICK_BITS: u32 = 10;
/// Bits of a type pick: 4096 slots, so that a type of 1 % of a product's rows (a motor
/// claim) is drawn within 1 % of its frequency.
pub const TYPE_PICK_BITS: u32 = 12;

/// Buckets of the amount quantile tables; interpolated with [`QUANTILE_FRAC_BITS`] more bits.
pub const QUANTILE_BITS: u32 = 10;
/// Bits of linear interpolation between two quantiles.
pub const QUANTILE_FRAC_BITS: u32 = 10;
const QUANTILES: usize = 1 << QUANTILE_BITS;
/// Fixed-point scale of the country price scales.
const SCALE_SHIFT: u32 = 16;
/// Exceptional amounts are 3 to 15 times the largest ordinary amount of their law (its
/// 99.9th percentile at the highest price level), log-uniformly.
const ANOMALY_RANGE: (f64, f64) = (3.0, 15.0);

/// A weighted choice among a few values, made with one table lookup of `BITS` bits.
#[derive(Clone)]
pub struct Pick<T: Copy, const BITS: u32> {
    slots: Box<[T]>,
}

impl<T: Copy, const BITS: u32> Pick<T, BITS> {
    /// Splits the `2^BITS` slots among `(value, weight)` by largest remainder; every
    /// positive weight gets at least one slot.
    fn new(items: &[(T, u64)]) -> Self {
        let slots = 1u64 << BITS;
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        assert!(total > 0, "a pick needs a positive weight");
        let mut counts: Vec<u64> = items
            .iter()
            .map(|(_, w)| {
                if *w == 0 {
                    0
                } else {
                    (u128::from(*w) * u128::from(slots) / u128::from(total)).max(1) as u64
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..items.len()).filter(|&i| items[i].1 > 0).collect();
        // Largest remainder first; ties by table order, so the result is fully determined.
        order.sort_by_key(|&i| {
            std::cmp::Reverse(u128::from(items[i].1) * u128::from(slots) % u128::from(total))
        });
        let mut assigned: u64 = counts.iter().sum();
        for &i in order.iter().cycle() {
            if assigned == slots {
                break;
            }
            if assigned < slots {
                counts[i] += 1;
                assigned += 1;
            } else if counts[i] > 1 {
                counts[i] -= 1;
                assigned -= 1;
            }
        }
        let mut table = Vec::with_capacity(slots as usize);
        for ((value, _), count) in items.iter().zip(&counts) {
            table.extend(std::iter::repeat_n(*value, *count as usize));
        }
        Self { slots: table.into_boxed_slice() }
    }

    /// The value for the low `BITS` bits of `bits`.
    #[inline]
    pub fn get(&self, bits: u64) -> T {
        self.slots[(bits as usize) & ((1 << BITS) - 1)]
    }
}

/// The type picks of one kind of day, per product and country. Countries whose mix is the
/// same share one table (only Spanish home claims differ today), so a day's tables stay in
/// the core's first-level cache: profiling showed the type pick's cache misses at 14 % of
/// the encoder's time with a table per country.
pub struct TypePicks {
    /// Where each product and country's slots start in `slots`.
    start: [[u32; 5]; 4],
    /// The slots of every distinct pick, one after the other: one load fewer on the row's
    /// chain of dependent loads than a table of picks.
    slots: Box<[TypeOp]>,
}

impl TypePicks {
    /// The type for a product and country, from the low [`TYPE_PICK_BITS`] bits of `bits`.
    #[inline]
    pub fn get(&self, produit: Produit, pays: Pays, bits: u64) -> TypeOp {
        let start = self.start[produit.index()][pays.index()] as usize;
        self.slots[start + (bits as usize & ((1 << TYPE_PICK_BITS) - 1))]
    }
}

/// The compiled tables.
pub struct CompiledTables {
    /// Product of a row.
    pub produit: Pick<Produit, PICK_BITS>,
    /// Agency of a row (and so its country).
    pub agence: Pick<AgenceId, PICK_BITS>,
    /// The laws the tables come from.
    laws: Laws,
    /// Amount shapes: `QUANTILES + 1` quantiles over the median, in 1/2^16. Laws of one
    /// log-normal with the same spread share one, so that the few tables stay in cache (the
    /// amount lookup was 13 % of the encoder's time with a table per type and product).
    shapes: Vec<[i32; QUANTILES + 1]>,
    /// The shape of each `[type][produit]`.
    shape_of: [[u8; 4]; 19],
    /// The median amount in cents of each `[type][produit][pays]` (a mixture's median, raised
    /// so that the table's mean is the law's).
    bases: [[[i64; 5]; 4]; 19],
    /// Exceptional amount factors: `QUANTILES + 1` points, in 1/2^16.
    anomaly_factors: [i64; QUANTILES + 1],
    /// Largest ordinary amount per `[type][produit]` at the highest price level, cents.
    anomaly_base: [[i64; 4]; 19],
    /// Sign rule per type, as bit masks: `(always negative, negative on a coin toss)`.
    signs: [(u64, u64); 19],
}

/// The tables, built once.
pub static TABLES: LazyLock<CompiledTables> = LazyLock::new(CompiledTables::new);

/// The standard normal distribution function, from Numerical Recipes' `erfc` (fractional
/// error below 1.2e-7), built from exact operations and [`detmath::exp`].
fn normal_cdf(x: f64) -> f64 {
    let z = (x / std::f64::consts::SQRT_2).abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * detmath::exp(poly);
    if x >= 0.0 { 1.0 - 0.5 * erfc } else { 0.5 * erfc }
}

/// A law's quantile function (a mixture of log-normals), in euros: closed form for one
/// component; for a mixture, its distribution on a fine grid of log-amounts, inverted.
enum QuantileFunction<'a> {
    LogNormal(&'a Component),
    Mixture(MixtureGrid),
}

impl<'a> QuantileFunction<'a> {
    fn new(law: &'a [Component]) -> Self {
        match law {
            [one] => Self::LogNormal(one),
            _ => Self::Mixture(MixtureGrid::new(law)),
        }
    }

    /// The amount at quantile `p`.
    fn at(&self, p: f64) -> f64 {
        match self {
            Self::LogNormal(one) => one.median_eur * detmath::exp(one.sigma * detmath::normal_quantile(p)),
            Self::Mixture(grid) => grid.quantile(p),
        }
    }

    /// The amounts at the quantiles `(k + 0.5) / (QUANTILES + 1)`, for `k` in `0..=QUANTILES`.
    fn table(&self) -> Vec<f64> {
        (0..=QUANTILES).map(|k| self.at((k as f64 + 0.5) / (QUANTILES + 1) as f64)).collect()
    }
}

/// A mixture's distribution function on a grid of log-amounts, from 9 spreads below its
/// lowest component to 9 above its highest.
struct MixtureGrid {
    ln_x: Vec<f64>,
    cdf: Vec<f64>,
}

impl MixtureGrid {
    /// Steps of the grid: a log-step of about 0.005 spread, finer than the tables need.
    const STEPS: usize = 8192;

    fn new(law: &[Component]) -> Self {
        let lo = law.iter().map(|c| detmath::ln(c.median_eur) - 9.0 * c.sigma).fold(f64::INFINITY, f64::min);
        let hi =
            law.iter().map(|c| detmath::ln(c.median_eur) + 9.0 * c.sigma).fold(f64::NEG_INFINITY, f64::max);
        let ln_x: Vec<f64> =
            (0..=Self::STEPS).map(|i| lo + (hi - lo) * i as f64 / Self::STEPS as f64).collect();
        let ln_medians: Vec<f64> = law.iter().map(|c| detmath::ln(c.median_eur)).collect();
        let cdf = ln_x
            .iter()
            .map(|x| {
                law.iter()
                    .zip(&ln_medians)
                    .map(|(c, ln_median)| c.share * normal_cdf((x - ln_median) / c.sigma))
                    .sum()
            })
            .collect();
        Self { ln_x, cdf }
    }

    /// The amount whose distribution function is `p`, interpolated in the log-amount.
    fn quantile(&self, p: f64) -> f64 {
        let i = self.cdf.partition_point(|c| *c < p).clamp(1, Self::STEPS);
        let (c0, c1) = (self.cdf[i - 1], self.cdf[i]);
        let t = if c1 > c0 { (p - c0) / (c1 - c0) } else { 0.0 };
        detmath::exp(self.ln_x[i - 1] + t * (self.ln_x[i] - self.ln_x[i - 1]))
    }
}

/// The mean of what a shape gives: each segment is as likely, and linear within.
fn shape_mean(shape: &[i32; QUANTILES + 1]) -> f64 {
    shape[..=QUANTILES].windows(2).map(|w| f64::midpoint(f64::from(w[0]), f64::from(w[1]))).sum::<f64>()
        / QUANTILES as f64
}

impl CompiledTables {
    fn new() -> Self {
        let laws = derive();
        let produit = Pick::new(&PRODUITS.map(|p| (p.produit, u64::from(p.weight))));
        let agence = Pick::new(&AGENCES.map(|a| {
            let pays = PAYS[a.pays.index()];
            let activity: u32 = AGENCES.iter().filter(|b| b.pays == a.pays).map(|b| b.activity).sum();
            let weight = u64::from(pays.weight) * u64::from(a.activity) * 1_000_000 / u64::from(activity);
            (AgenceId::from_number(a.number).expect("agency table numbers are valid"), weight)
        }));
        let mut shapes: Vec<[i32; QUANTILES + 1]> = Vec::new();
        let mut shape_of = [[0u8; 4]; 19];
        let mut bases = [[[0i64; 5]; 4]; 19];
        let mut anomaly_base = [[0i64; 4]; 19];
        for t in TypeOp::ALL {
            for p in Produit::ALL {
                let reference = laws.of(*p, Pays::Fr).law(*t);
                if reference.rows <= 0.0 {
                    continue;
                }
                // The law's shape: its quantiles over its median, in 1/2^16. Laws of one
                // log-normal with the same spread share theirs.
                let quantile_function = QuantileFunction::new(&reference.components);
                let quantiles = quantile_function.table();
                let median = quantiles[QUANTILES / 2];
                let shape: [i32; QUANTILES + 1] = std::array::from_fn(|k| {
                    (quantiles[k] / median * f64::from(1u32 << SCALE_SHIFT))
                        .round()
                        .clamp(1.0, f64::from(i32::MAX)) as i32
                });
                let index = shapes.iter().position(|s| *s == shape).unwrap_or_else(|| {
                    shapes.push(shape);
                    shapes.len() - 1
                });
                shape_of[t.index()][p.index()] = u8::try_from(index).expect("at most 76 shapes");
                // The table cuts the law's far tail: its base is raised so that its mean is the
                // law's, as the model's ratios need.
                let table_mean = shape_mean(&shapes[index]) / f64::from(1u32 << SCALE_SHIFT) * median;
                let mut highest = 0.0f64;
                for c in Pays::ALL {
                    let law = laws.of(*p, *c).law(*t);
                    if law.rows > 0.0 {
                        let base = median * 100.0 * law.mean() / table_mean;
                        highest = highest.max(base / median / 100.0);
                        bases[t.index()][p.index()][c.index()] = base.round() as i64;
                    }
                }
                let extreme = quantile_function.at(0.999);
                anomaly_base[t.index()][p.index()] = (extreme * 100.0 * highest).round() as i64;
            }
        }
        let (low, high) = ANOMALY_RANGE;
        let anomaly_factors = std::array::from_fn(|k| {
            let u = (k as f64 + 0.5) / (QUANTILES + 1) as f64;
            (low * detmath::exp(u * detmath::ln(high / low)) * f64::from(1u32 << SCALE_SHIFT)).round() as i64
        });
        Self {
            produit,
            agence,
            laws,
            shapes,
            shape_of,
            bases,
            anomaly_factors,
            anomaly_base,
            signs: TYPE_OPS.map(|t| match t.sign {
                Sign::Inflow => (0, 0),
                Sign::Outflow => (1, 0),
                Sign::Either => (0, 1),
            }),
        }
    }

    /// The type picks of every kind of day, indexed `[month * 2 + month_start]`, for a
    /// calendar whose month-start days hold `start_shares[month]` of their month's rows.
    pub fn type_picks(&self, start_shares: &[f64; 12]) -> Vec<TypePicks> {
        (0..24).map(|i| type_picks(&self.laws, i / 2, i % 2 == 1, start_shares[i as usize / 2])).collect()
    }

    /// Interpolates a table of `QUANTILES + 1` points with `QUANTILE_BITS + QUANTILE_FRAC_BITS` uniform bits.
    #[inline]
    fn interpolate(table: &[i32; QUANTILES + 1], bits: u64) -> i64 {
        let index = ((bits >> QUANTILE_FRAC_BITS) as usize) & (QUANTILES - 1);
        let frac = (bits & ((1 << QUANTILE_FRAC_BITS) - 1)) as i64;
        let (lo, hi) = (i64::from(table[index]), i64::from(table[index + 1]));
        lo + (((hi - lo) * frac) >> QUANTILE_FRAC_BITS)
    }

    /// The absolute amount in cents of a type, product and country, from `QUANTILE_BITS +
    /// QUANTILE_FRAC_BITS` uniform bits: the law's quantile, interpolated.
    #[inline]
    pub fn amount_cents(&self, type_op: TypeOp, produit: Produit, pays: Pays, bits: u64) -> i64 {
        let (t, p) = (type_op.index(), produit.index());
        let shape = Self::interpolate(&self.shapes[usize::from(self.shape_of[t][p])], bits);
        ((shape * self.bases[t][p][pays.index()]) >> SCALE_SHIFT).max(1)
    }

    /// An exceptional absolute amount in cents for a type and product, from the same number
    /// of uniform bits.
    pub fn anomaly_cents(&self, type_op: TypeOp, produit: Produit, bits: u64) -> i64 {
        let index = ((bits >> QUANTILE_FRAC_BITS) as usize) & (QUANTILES - 1);
        let frac = (bits & ((1 << QUANTILE_FRAC_BITS) - 1)) as i64;
        let (lo, hi) = (self.anomaly_factors[index], self.anomaly_factors[index + 1]);
        let factor = lo + (((hi - lo) * frac) >> QUANTILE_FRAC_BITS);
        ((i128::from(self.anomaly_base[type_op.index()][produit.index()]) * i128::from(factor))
            >> SCALE_SHIFT) as i64
    }

    /// Whether an amount of a type is negative, given a coin toss (bit 0 of `coin`): without
    /// a branch, since the type changes at random from row to row.
    #[inline]
    pub fn negative(&self, type_op: TypeOp, coin: u64) -> bool {
        let (always, on_coin) = self.signs[type_op.index()];
        (always | (on_coin & coin)) & 1 == 1
    }
}

/// The type picks of a day: the model's rows per contract per month, times the seasons of
/// the month, with cotisations boosted on month-start days and lowered on the others so that
/// the month as a whole keeps the model's mix.
fn type_picks(laws: &Laws, month: u32, month_start: bool, start_share: f64) -> TypePicks {
    let m = month as usize;
    let boost = f64::from(MONTH_START_COTISATION_BOOST_PCT) / 100.0;
    let mut seen: Vec<Vec<(TypeOp, u64)>> = Vec::new();
    let mut slots = Vec::new();
    let start = std::array::from_fn(|p| {
        let produit = Produit::ALL[p];
        std::array::from_fn(|c| {
            let laws = laws.of(produit, Pays::ALL[c]);
            let rows = |t: TypeOp| {
                let season = if t.is_claim(produit) {
                    SEASONS.claims[p][m]
                } else if matches!(t, TypeOp::Cotisation | TypeOp::PrimeExceptionnelle) {
                    SEASONS.premiums[p][m]
                } else {
                    1.0
                };
                laws.law(t).rows * season
            };
            let total: f64 = TypeOp::ALL.iter().map(|t| rows(*t)).sum();
            let share = rows(TypeOp::Cotisation) / total;
            // The month-start share of cotisations, and what the other days keep of theirs.
            let on_start = boost * share / (boost * share + 1.0 - share);
            let elsewhere = (share - start_share * on_start) / (1.0 - start_share);
            let factor =
                if month_start { boost } else { elsewhere * (1.0 - share) / (share * (1.0 - elsewhere)) };
            let weights: Vec<(TypeOp, u64)> = TypeOp::ALL
                .iter()
                .map(|t| {
                    let weight = rows(*t) * if *t == TypeOp::Cotisation { factor } else { 1.0 };
                    (*t, (weight * 1e9).round() as u64)
                })
                .collect();
            let position = seen.iter().position(|w| *w == weights).unwrap_or_else(|| {
                slots.extend_from_slice(&Pick::<TypeOp, TYPE_PICK_BITS>::new(&weights).slots);
                seen.push(weights);
                seen.len() - 1
            });
            u32::try_from(position << TYPE_PICK_BITS).expect("at most 20 distinct picks")
        })
    });
    TypePicks { start, slots: slots.into_boxed_slice() }
}
