//! The breakdowns behind the original project's analyses, built in the same pass as the
//! other statistics: per day (rows, net amount, cotisations, remboursements), per agency
//! (rows, net amount, rétrocessions), rows per (type, product), and the compliance types
//! (pénalité, correction, annulation) per (country, product).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use mouvements_schema::{AgenceId, Mouvement, Pays, Produit, TypeOp};
use serde::Serialize;

use super::anomalies::{PAIRS, pair};

/// The types the compliance analysis follows.
pub const COMPLIANCE_TYPES: [TypeOp; 3] = [TypeOp::Penalite, TypeOp::Correction, TypeOp::Annulation];

/// Rows and amounts in cents of one day.
#[derive(Clone, Copy, Default)]
struct DayTally {
    rows: u64,
    net: i128,
    cotisations: i128,
    remboursements: i128,
}

/// Rows and amounts in cents of one agency.
#[derive(Clone, Copy, Default)]
struct AgencyTally {
    rows: u64,
    net: i128,
    retrocessions: u64,
    retrocession_amount: i128,
}

/// The breakdowns of one shard or, merged, of the dataset.
#[derive(Clone)]
pub struct Breakdowns {
    days: BTreeMap<NaiveDate, DayTally>,
    agencies: [AgencyTally; 50],
    pairs: [u64; PAIRS],
    /// `[compliance type][produit][pays]`: rows and signed cents.
    compliance: [[[(u64, i128); 5]; 4]; 3],
}

impl Default for Breakdowns {
    fn default() -> Self {
        Self {
            days: BTreeMap::new(),
            agencies: [AgencyTally::default(); 50],
            pairs: [0; PAIRS],
            compliance: [[[(0, 0); 5]; 4]; 3],
        }
    }
}

/// One day.
#[derive(Debug, Clone, Serialize)]
pub struct DayStats {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// Rows.
    pub rows: u64,
    /// Sum of every amount, in euros.
    pub net: f64,
    /// Sum of the cotisations, in euros (money in).
    pub cotisations: f64,
    /// Sum of the remboursements, in euros (money out, negative).
    pub remboursements: f64,
}

/// One agency.
#[derive(Debug, Clone, Serialize)]
pub struct AgencyStats {
    /// `AG_nnn`.
    pub agence_id: String,
    /// Its country.
    pub pays: String,
    /// Rows.
    pub rows: u64,
    /// Sum of every amount, in euros.
    pub net: f64,
    /// Rétrocession rows.
    pub retrocessions: u64,
    /// Sum of the rétrocessions, in euros (money out, negative).
    pub retrocession_amount: f64,
}

/// Rows of one (type, product).
#[derive(Debug, Clone, Serialize)]
pub struct PairCount {
    /// The type.
    pub type_op: String,
    /// The product.
    pub produit: String,
    /// Rows.
    pub rows: u64,
}

/// One compliance type in one (country, product).
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceCell {
    /// The country.
    pub pays: String,
    /// The product.
    pub produit: String,
    /// `pénalité`, `correction` or `annulation`.
    pub type_op: String,
    /// Rows.
    pub rows: u64,
    /// Sum of the amounts, in euros.
    pub total: f64,
}

/// Cents to euros.
fn euros(cents: i128) -> f64 {
    cents as f64 / 100.0
}

impl Breakdowns {
    /// Counts one row.
    pub fn add(&mut self, row: &Mouvement) {
        let cents = i128::from(row.montant.cents());
        let day = self.days.entry(row.date_op).or_default();
        day.rows += 1;
        day.net += cents;
        let agency = &mut self.agencies[row.agence_id.index()];
        agency.rows += 1;
        agency.net += cents;
        self.pairs[pair(row.type_op, row.produit)] += 1;
        match row.type_op {
            TypeOp::Cotisation => day.cotisations += cents,
            TypeOp::Remboursement => day.remboursements += cents,
            TypeOp::Retrocession => {
                agency.retrocessions += 1;
                agency.retrocession_amount += cents;
            }
            TypeOp::Penalite | TypeOp::Correction | TypeOp::Annulation => {
                let k = COMPLIANCE_TYPES.iter().position(|t| *t == row.type_op).unwrap_or(0);
                let cell = &mut self.compliance[k][row.produit.index()][row.pays.index()];
                cell.0 += 1;
                cell.1 += cents;
            }
            _ => {}
        }
    }

    /// Adds another shard's breakdowns.
    pub fn merge(&mut self, other: Breakdowns) {
        for (date, theirs) in other.days {
            let day = self.days.entry(date).or_default();
            day.rows += theirs.rows;
            day.net += theirs.net;
            day.cotisations += theirs.cotisations;
            day.remboursements += theirs.remboursements;
        }
        for (mine, theirs) in self.agencies.iter_mut().zip(other.agencies) {
            mine.rows += theirs.rows;
            mine.net += theirs.net;
            mine.retrocessions += theirs.retrocessions;
            mine.retrocession_amount += theirs.retrocession_amount;
        }
        for (mine, theirs) in self.pairs.iter_mut().zip(other.pairs) {
            *mine += theirs;
        }
        let theirs = other.compliance.iter().flatten().flatten();
        for (mine, theirs) in self.compliance.iter_mut().flatten().flatten().zip(theirs) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
    }

    /// Rows per day, in date order.
    pub fn rows_per_day(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.days.iter().map(|(d, t)| (d.to_string(), t.rows))
    }

    /// Every day, in date order.
    pub fn days(&self) -> Vec<DayStats> {
        self.days
            .iter()
            .map(|(d, t)| DayStats {
                date: d.to_string(),
                rows: t.rows,
                net: euros(t.net),
                cotisations: euros(t.cotisations),
                remboursements: euros(t.remboursements),
            })
            .collect()
    }

    /// Every agency, in number order.
    pub fn agencies(&self) -> Vec<AgencyStats> {
        AgenceId::all()
            .zip(&self.agencies)
            .map(|(a, t)| AgencyStats {
                agence_id: a.to_string(),
                pays: a.pays().label().to_owned(),
                rows: t.rows,
                net: euros(t.net),
                retrocessions: t.retrocessions,
                retrocession_amount: euros(t.retrocession_amount),
            })
            .collect()
    }

    /// Rows of every (type, product) a product allows, types in table order.
    pub fn pairs(&self) -> Vec<PairCount> {
        TypeOp::ALL
            .iter()
            .flat_map(|t| Produit::ALL.iter().map(move |p| (*t, *p)))
            .filter(|(t, p)| t.allowed_for(*p))
            .map(|(t, p)| PairCount {
                type_op: t.label().to_owned(),
                produit: p.label().to_owned(),
                rows: self.pairs[pair(t, p)],
            })
            .collect()
    }

    /// Every compliance type in every (country, product) that allows it.
    pub fn compliance(&self) -> Vec<ComplianceCell> {
        let mut cells = Vec::new();
        for pays in Pays::ALL {
            for produit in Produit::ALL {
                for (k, t) in COMPLIANCE_TYPES.iter().enumerate() {
                    if !t.allowed_for(*produit) {
                        continue;
                    }
                    let (rows, cents) = self.compliance[k][produit.index()][pays.index()];
                    cells.push(ComplianceCell {
                        pays: pays.label().to_owned(),
                        produit: produit.label().to_owned(),
                        type_op: t.label().to_owned(),
                        rows,
                        total: euros(cents),
                    });
                }
            }
        }
        cells
    }
}
