//! An order-independent checksum of rows: each row hashed from its seven values, the hashes
//! summed. Two layers holding the same rows in any order and any file split have the same
//! digest; a row changed, lost or doubled changes it.

use mouvements_schema::Mouvement;

/// SplitMix64's finaliser: every input bit spread over the output.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of one row.
pub fn row_hash(row: &Mouvement) -> u64 {
    let days = chrono::Datelike::num_days_from_ce(&row.date_op) as u64;
    let labels = (row.produit.index() as u64)
        | (row.type_op.index() as u64) << 8
        | u64::from(row.agence_id.number()) << 16
        | (row.pays.index() as u64) << 32;
    mix(row.id_mouvement.0 ^ mix(days ^ mix(labels ^ mix(row.montant.cents() as u64))))
}

/// Rows and their summed hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest {
    /// Rows counted.
    pub rows: u64,
    /// Sum of their hashes.
    pub sum: u64,
}

impl Digest {
    /// Counts one row.
    pub fn add(&mut self, row: &Mouvement) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(row_hash(row));
    }

    /// Adds another digest.
    pub fn merge(&mut self, other: Digest) {
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
    }
}
