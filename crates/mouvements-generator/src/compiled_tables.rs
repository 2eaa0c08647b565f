//! The business tables of `mouvements-schema`, compiled once per generator into lookup tables
//! the hot loop can index with random bits: weighted picks become 1024-slot arrays, amount
//! distributions become quantile tables in fixed point.

use mouvements_schema::tables::{AGENCES, MONTH_START_COTISATION_BOOST_PCT, PAYS, PRODUITS, Sign, TYPE_OPS};
use mouvements_schema::{AgenceId, Produit, TypeOp};

use crate::detmath;

/// Bits of randomness per weighted pick: 1024 slots give every weight a resolution of 0.1 %.
pub const PICK_BITS: u32 = 10;
const PICK_SLOTS: usize = 1 << PICK_BITS;

/// Buckets of the amount quantile tables; interpolated with [`QUANTILE_FRAC_BITS`] more bits.
pub const QUANTILE_BITS: u32 = 10;
/// Bits of linear interpolation between two quantiles.
pub const QUANTILE_FRAC_BITS: u32 = 10;
const QUANTILES: usize = 1 << QUANTILE_BITS;
/// Fixed-point scale of the amount multipliers.
const MULTIPLIER_SHIFT: u32 = 16;

/// A weighted choice among a few values, made with one table lookup.
#[derive(Clone)]
pub struct Pick<T: Copy> {
    slots: Box<[T; PICK_SLOTS]>,
}

impl<T: Copy> Pick<T> {
    /// Splits the slots among `(value, weight)` by largest remainder; every positive weight
    /// gets at least one slot.
    fn new(items: &[(T, u64)]) -> Self {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        assert!(total > 0, "a pick needs a positive weight");
        let slots = PICK_SLOTS as u64;
        let mut counts: Vec<u64> =
            items.iter().map(|(_, w)| if *w == 0 { 0 } else { (w * slots / total).max(1) }).collect();
        let mut order: Vec<usize> = (0..items.len()).filter(|&i| items[i].1 > 0).collect();
        // Largest remainder first; ties by table order, so the result is fully determined.
        order.sort_by_key(|&i| std::cmp::Reverse(items[i].1 * slots % total));
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
        let mut table = Vec::with_capacity(PICK_SLOTS);
        for ((value, _), count) in items.iter().zip(&counts) {
            table.extend(std::iter::repeat_n(*value, *count as usize));
        }
        let slots: Box<[T; PICK_SLOTS]> =
            table.into_boxed_slice().try_into().ok().expect("slot counts add up to PICK_SLOTS");
        Self { slots }
    }

    /// The value for the low [`PICK_BITS`] bits of `bits`.
    #[inline]
    pub fn get(&self, bits: u64) -> T {
        self.slots[(bits as usize) & (PICK_SLOTS - 1)]
    }
}

/// The compiled draw tables.
pub struct CompiledTables {
    /// Product of a row.
    pub produit: Pick<Produit>,
    /// Agency of a row (and so its country).
    pub agence: Pick<AgenceId>,
    /// Operation type per `[month_start as usize][produit]`.
    pub type_op: [[Pick<TypeOp>; 4]; 2],
    /// Amount multipliers per type: `QUANTILES + 1` points of `exp(sigma * z)`, in 1/2^16.
    multipliers: Vec<[i64; QUANTILES + 1]>,
    /// Median amount in cents per `[type][produit]`.
    medians: [[i64; 4]; 19],
    /// Sign per type.
    signs: [Sign; 19],
}

impl CompiledTables {
    /// Compiles the schema's tables.
    pub fn new() -> Self {
        let produit = Pick::new(&PRODUITS.map(|p| (p.produit, u64::from(p.weight))));
        let agence = Pick::new(&AGENCES.map(|a| {
            let pays = PAYS[a.pays.index()];
            let activity: u32 = AGENCES.iter().filter(|b| b.pays == a.pays).map(|b| b.activity).sum();
            let weight = u64::from(pays.weight) * u64::from(a.activity) * 1_000_000 / u64::from(activity);
            (AgenceId::from_number(a.number).expect("agency table numbers are valid"), weight)
        }));
        let type_op = [false, true].map(|month_start| {
            PRODUITS.map(|row| {
                let p = row.produit;
                Pick::new(&TYPE_OPS.map(|t| {
                    let mut w = u64::from(t.weights[p.index()]);
                    if month_start && t.type_op == TypeOp::Cotisation {
                        w = w * u64::from(MONTH_START_COTISATION_BOOST_PCT) / 100;
                    }
                    (t.type_op, w)
                }))
            })
        });
        let multipliers = TYPE_OPS
            .iter()
            .map(|t| {
                let sigma = f64::from(t.sigma_milli) / 1000.0;
                std::array::from_fn(|k| {
                    let p = (k as f64 + 0.5) / (QUANTILES + 1) as f64;
                    let m = detmath::exp(sigma * detmath::normal_quantile(p));
                    (m * f64::from(1u32 << MULTIPLIER_SHIFT)).round() as i64
                })
            })
            .collect();
        let medians =
            TYPE_OPS.map(|t| PRODUITS.map(|p| t.median_cents * i64::from(p.amount_factor_pct) / 100));
        let signs = TYPE_OPS.map(|t| t.sign);
        Self { produit, agence, type_op, multipliers, medians, signs }
    }

    /// The absolute amount in cents for a type and product, from `QUANTILE_BITS +
    /// QUANTILE_FRAC_BITS` uniform bits: the log-normal quantile, linearly interpolated.
    #[inline]
    pub fn amount_cents(&self, type_op: TypeOp, produit: Produit, bits: u64) -> i64 {
        let table = &self.multipliers[type_op.index()];
        let index = ((bits >> QUANTILE_FRAC_BITS) as usize) & (QUANTILES - 1);
        let frac = (bits & ((1 << QUANTILE_FRAC_BITS) - 1)) as i64;
        let (lo, hi) = (table[index], table[index + 1]);
        let multiplier = lo + (((hi - lo) * frac) >> QUANTILE_FRAC_BITS);
        ((self.medians[type_op.index()][produit.index()] * multiplier) >> MULTIPLIER_SHIFT).max(1)
    }

    /// The sign convention of a type.
    #[inline]
    pub fn sign(&self, type_op: TypeOp) -> Sign {
        self.signs[type_op.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_follow_their_weights_to_a_slot() {
        let pick = Pick::new(&[('a', 35), ('b', 30), ('c', 20), ('d', 15), ('z', 0)]);
        let count = |c| (0..1024).filter(|&b| pick.get(b) == c).count();
        assert_eq!(count('z'), 0);
        for (c, w) in [('a', 35.0), ('b', 30.0), ('c', 20.0), ('d', 15.0)] {
            assert!((count(c) as f64 - w * 10.24).abs() <= 1.0, "{c}: {}", count(c));
        }
    }

    #[test]
    fn tiny_weights_still_get_a_slot() {
        let pick = Pick::new(&[('a', 1_000_000), ('b', 1)]);
        assert_eq!((0..1024).filter(|&b| pick.get(b) == 'b').count(), 1);
    }

    #[test]
    fn median_bits_give_the_median_amount() {
        let tables = CompiledTables::new();
        let median_bits = 1 << (QUANTILE_BITS + QUANTILE_FRAC_BITS - 1);
        let cents = tables.amount_cents(TypeOp::Cotisation, Produit::Auto, median_bits);
        assert!((cents - 8_500).abs() <= 10, "{cents}");
    }
}
