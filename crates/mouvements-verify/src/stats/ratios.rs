//! The books: sums and counts per (type, product, country), and from them the ratios an
//! insurance analyst checks (claims ÷ premiums, commission rate…), per product and per
//! country, each against its band from the calibration model.

use mouvements_schema::calibration::{Ratio, band_for};
use mouvements_schema::{Mouvement, Pays, Produit, TypeOp};
use serde::Serialize;

use super::anomalies::FlaggedAmount;

/// Rows and absolute amounts in cents per `[type][produit][pays]`.
#[derive(Clone)]
pub struct Books {
    cells: Vec<[[(u64, i128); 5]; 4]>,
}

impl Default for Books {
    fn default() -> Self {
        Self { cells: vec![[[(0, 0); 5]; 4]; TypeOp::ALL.len()] }
    }
}

/// One ratio of one product (in one country, or all), and its band.
#[derive(Debug, Clone, Serialize)]
pub struct BusinessRatio {
    /// What is measured (`claims_to_premiums`…).
    pub ratio: Ratio,
    /// Its name for people (`claims ÷ premiums`).
    pub name: &'static str,
    /// The product.
    pub produit: String,
    /// The country, or `None` for the product as a whole.
    pub pays: Option<String>,
    /// The value.
    pub value: f64,
    /// The band's lowest believable value.
    pub low: f64,
    /// The band's highest.
    pub high: f64,
    /// Whether the value is in the band.
    pub in_band: bool,
}

impl Books {
    /// Counts one row.
    pub fn add(&mut self, row: &Mouvement) {
        let cell = &mut self.cells[row.type_op.index()][row.produit.index()][row.pays.index()];
        cell.0 += 1;
        cell.1 += i128::from(row.montant.cents().unsigned_abs());
    }

    /// Adds another shard's books.
    pub fn merge(&mut self, other: &Books) {
        for (mine, theirs) in self.cells.iter_mut().zip(&other.cells) {
            for (a, b) in mine.iter_mut().flatten().zip(theirs.iter().flatten()) {
                a.0 += b.0;
                a.1 += b.1;
            }
        }
    }

    /// These books with each flagged amount capped at its rule's threshold, as actuaries cap
    /// large losses: an injected anomaly then weighs no more than a large ordinary amount,
    /// and a genuine heavy-tail claim the rule also flags still counts. (Leaving flagged rows
    /// out dropped those genuine claims: motor claims ÷ premiums read 0.675 on a labelled
    /// 6 M-row year whose ordinary amounts give 0.734; capped, 0.725.)
    pub fn capped(&self, flagged: &[FlaggedAmount]) -> Books {
        let mut books = self.clone();
        for row in flagged {
            let cell = &mut books.cells[row.type_op.index()][row.produit.index()][row.pays.index()];
            cell.1 -= i128::from(row.abs) - i128::from(row.abs.min(row.threshold));
        }
        books
    }

    fn total(&self, (types, counted): (&[TypeOp], bool), produit: Produit, pays: Option<Pays>) -> f64 {
        let mut sum = 0.0;
        for t in types {
            for c in Pays::ALL.iter().filter(|c| pays.is_none_or(|x| x == **c)) {
                let (n, cents) = self.cells[t.index()][produit.index()][c.index()];
                sum += if counted { n as f64 } else { cents as f64 / 100.0 };
            }
        }
        sum
    }

    /// Every ratio that has a band, for each product and then each country, where the rows
    /// allow it (a ratio over nothing is left out).
    pub fn ratios(&self) -> Vec<BusinessRatio> {
        let mut ratios = Vec::new();
        for ratio in Ratio::ALL {
            for produit in Produit::ALL {
                let scopes = std::iter::once(None).chain(Pays::ALL.iter().map(|c| Some(*c)));
                for pays in scopes {
                    let Some(band) = band_for(ratio, *produit, pays) else { continue };
                    let denominator = self.total(ratio.denominator(), *produit, pays);
                    if denominator <= 0.0 {
                        continue;
                    }
                    let value = self.total(ratio.numerator(*produit), *produit, pays) / denominator;
                    ratios.push(BusinessRatio {
                        ratio,
                        name: ratio.name(),
                        produit: produit.label().to_owned(),
                        pays: pays.map(|c| c.label().to_owned()),
                        value,
                        low: band.low,
                        high: band.high,
                        in_band: (band.low..=band.high).contains(&value),
                    });
                }
            }
        }
        ratios
    }
}
