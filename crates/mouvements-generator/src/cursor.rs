//! Random streams and the row cursor. Rows are grouped in fixed blocks of [`BLOCK_ROWS`]; each
//! block has its own PCG stream seeded from (seed, block), and every row takes exactly two
//! 64-bit draws from it. Any row can so be reached by seeding its block and advancing the
//! stream, without producing the rows before it: ranges, shards and tasks are independent.

use mouvements_schema::{AgenceId, DATA_VERSION, Produit, SCHEMA_VERSION, TypeOp};
use rand_core::Rng;
use rand_pcg::Pcg64Mcg;

use crate::Generator;
use crate::compiled_tables::{
    PICK_BITS, QUANTILE_BITS, QUANTILE_FRAC_BITS, TABLES, TYPE_PICK_BITS, TypePicks,
};

/// Rows per random stream. Any value gives the same data for a given value; this one is fixed
/// because it is part of the data's definition.
pub const BLOCK_ROWS: u64 = 8192;

/// 64-bit draws each row consumes.
const DRAWS_PER_ROW: u64 = 2;

/// `SplitMix64`'s finaliser: a bijective mix spreading every input bit over the output.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream of `block` for `seed`, positioned at its first row.
fn block_stream(seed: u64, block: u64) -> Pcg64Mcg {
    let high = mix(seed ^ mix(u64::from(SCHEMA_VERSION)) ^ mix(u64::from(DATA_VERSION) << 32));
    let low = mix(high ^ mix(block.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    Pcg64Mcg::new((u128::from(high) << 64) | u128::from(low))
}

/// Everything drawn for one row.
#[derive(Debug, Clone, Copy)]
pub struct Draw {
    /// Row index in the dataset.
    pub row: u64,
    /// Index of the row's day in the calendar.
    pub day: usize,
    /// Product.
    pub produit: Produit,
    /// Operation type.
    pub type_op: TypeOp,
    /// Agency.
    pub agence: AgenceId,
    /// Signed amount in cents, anomaly included.
    pub cents: i64,
    /// Signed amount in cents the row would have without the anomaly.
    pub usual_cents: i64,
    /// Whether the amount is an anomaly.
    pub anomalous: bool,
}

/// Walks the rows of a range in order, yielding their draws.
pub struct Cursor<'g> {
    generator: &'g Generator,
    row: u64,
    end: u64,
    rng: Pcg64Mcg,
    block_end: u64,
    day: usize,
    day_end: u64,
    /// The type picks of the current day (its month, month start or not), by product and country.
    type_picks: &'g TypePicks,
}

impl<'g> Cursor<'g> {
    /// A cursor on rows `start..end` (clamped to the dataset).
    pub fn new(generator: &'g Generator, start: u64, end: u64) -> Self {
        let end = end.min(generator.config.rows());
        let start = start.min(end);
        let block = start / BLOCK_ROWS;
        let mut rng = block_stream(generator.config.seed(), block);
        rng.advance(u128::from((start - block * BLOCK_ROWS) * DRAWS_PER_ROW));
        let day = generator.calendar.day_index(start.min(generator.config.rows() - 1));
        Self {
            generator,
            row: start,
            end,
            rng,
            block_end: (block + 1) * BLOCK_ROWS,
            day,
            day_end: generator.calendar.end_row(day),
            type_picks: Self::type_picks(generator, day),
        }
    }

    /// The type picks for the day at `day`: the seasons of its month; cotisations peak at
    /// month starts.
    fn type_picks(generator: &'g Generator, day: usize) -> &'g TypePicks {
        let day = generator.calendar.day(day);
        &generator.type_picks[day.month0 as usize * 2 + usize::from(day.month_start)]
    }

    /// The next row's draw, or `None` past the range. Always inlined: the encoder's loop
    /// runs ~1.5× faster with the draw folded into it (profiled with perf).
    #[inline(always)]
    #[allow(clippy::inline_always)] // measured: see the doc line above
    pub fn next_draw(&mut self) -> Option<Draw> {
        if self.row >= self.end {
            return None;
        }
        if self.row == self.block_end {
            self.rng = block_stream(self.generator.config.seed(), self.row / BLOCK_ROWS);
            self.block_end += BLOCK_ROWS;
        }
        while self.row >= self.day_end {
            self.day += 1;
            self.day_end = self.generator.calendar.end_row(self.day);
            self.type_picks = Self::type_picks(self.generator, self.day);
        }
        let tables = &*TABLES;
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();

        // Bits of `a`: produit, agency, type, amount quantile, then one sign bit.
        let produit = tables.produit.get(a);
        let agence = tables.agence.get(a >> PICK_BITS);
        let pays = agence.pays();
        let type_op = self.type_picks.get(produit, pays, a >> (2 * PICK_BITS));
        let amount_bits = a >> (2 * PICK_BITS + TYPE_PICK_BITS);
        let negative = tables.negative(type_op, amount_bits >> (QUANTILE_BITS + QUANTILE_FRAC_BITS));
        // Two's complement negation when negative (`-m` is `(m ^ -1) + 1`), without a branch.
        let flip = -i64::from(negative);
        let signed = |magnitude: i64| (magnitude ^ flip) - flip;
        let usual_cents = signed(tables.amount_cents(type_op, produit, pays, amount_bits));

        // Bits of `b`: the low half decides the anomaly, the high half its exceptional amount,
        // drawn like an ordinary one (so its cents look ordinary) from a law far beyond its type's.
        let anomalous = u64::from(b as u32) < self.generator.anomaly_threshold;
        let cents =
            if anomalous { signed(tables.anomaly_cents(type_op, produit, b >> 32)) } else { usual_cents };

        let calendar = &self.generator.calendar;
        let day =
            if calendar.has_late_rows() { calendar.late_day(self.row).unwrap_or(self.day) } else { self.day };
        let draw = Draw { row: self.row, day, produit, type_op, agence, cents, usual_cents, anomalous };
        self.row += 1;
        Some(draw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_blocks_and_seeds_get_different_streams() {
        let first = |seed, block| block_stream(seed, block).next_u64();
        assert_ne!(first(42, 0), first(42, 1));
        assert_ne!(first(42, 0), first(43, 0));
    }
}
