//! `Partition`: one (pays, produit) pair and its folder, `pays=FR/produit=santé`, named the way
//! Spark's `partitionBy("pays", "produit")` names it: raw UTF-8, no percent-encoding.

use std::fmt;

use mouvements_schema::{Pays, Produit};

/// The partition columns, in folder order.
pub const PARTITION_COLUMNS: [&str; 2] = ["pays", "produit"];

/// Partitions there can be: every country times every product.
pub const PARTITIONS: usize = 5 * 4;

/// One partition of the staging dataset and the Delta table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    /// The country.
    pub pays: Pays,
    /// The product.
    pub produit: Produit,
}

impl Partition {
    /// Every partition, in index order.
    pub fn all() -> impl Iterator<Item = Partition> {
        Pays::ALL
            .iter()
            .flat_map(|pays| Produit::ALL.iter().map(|produit| Partition { pays: *pays, produit: *produit }))
    }

    /// Position in [`Partition::all`], usable as a table index.
    pub const fn index(self) -> usize {
        self.pays.index() * 4 + self.produit.index()
    }

    /// `pays=FR/produit=santé`.
    pub fn folder(self) -> String {
        self.to_string()
    }

    /// The partition of a folder, `pays=FR/produit=santé`, or `None`.
    pub fn parse(folder: &str) -> Option<Partition> {
        let (pays, produit) = folder.split_once('/')?;
        let pays = pays.strip_prefix("pays=")?.parse().ok()?;
        let produit = produit.strip_prefix("produit=")?.parse().ok()?;
        Some(Partition { pays, produit })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pays={}/produit={}", self.pays, self.produit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_keep_accents_raw_and_parse_back() {
        let p = Partition { pays: Pays::Fr, produit: Produit::Sante };
        assert_eq!(p.folder(), "pays=FR/produit=santé");
        assert_eq!(Partition::parse("pays=FR/produit=santé"), Some(p));
        assert_eq!(Partition::parse("pays=FR/produit=sant%C3%A9"), None);
        assert_eq!(Partition::all().count(), PARTITIONS);
        assert!(Partition::all().enumerate().all(|(i, p)| p.index() == i));
    }
}
