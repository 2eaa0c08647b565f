//! The business tables, in one readable place: how often each product, country and agency
//! occurs, which operation types each product allows, the sign of each type, and the shape
//! of the calendar. How often each type occurs and how large its amounts are follows from
//! the calibration model ([`crate::calibration`]).
//!
//! Weights are relative integers (only their ratios matter).

use crate::{Montant, Pays, Produit, TypeOp};

/// Which way money moves for an operation type, seen from the insurer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    /// Money in: the amount is positive.
    Inflow,
    /// Money out: the amount is negative.
    Outflow,
    /// Adjustments: either sign, never zero.
    Either,
}

impl Sign {
    /// Whether `montant` has a sign this convention allows (zero is never allowed).
    pub const fn admits(self, montant: Montant) -> bool {
        match self {
            Sign::Inflow => montant.cents() > 0,
            Sign::Outflow => montant.cents() < 0,
            Sign::Either => montant.cents() != 0,
        }
    }
}

/// How a product line is drawn.
#[derive(Debug, Clone, Copy)]
pub struct ProduitRow {
    /// The product.
    pub produit: Produit,
    /// Relative frequency among all rows (motor and health make most ledger lines).
    pub weight: u32,
}

/// Products, in [`Produit::ALL`] order.
pub const PRODUITS: [ProduitRow; 4] = [
    ProduitRow { produit: Produit::Auto, weight: 35 },
    ProduitRow { produit: Produit::Sante, weight: 30 },
    ProduitRow { produit: Produit::Habitation, weight: 20 },
    ProduitRow { produit: Produit::Vie, weight: 15 },
];

/// How an operation type is signed, and which products have it.
#[derive(Debug, Clone, Copy)]
pub struct TypeOpRow {
    /// The operation type.
    pub type_op: TypeOp,
    /// Which way the money goes.
    pub sign: Sign,
    /// Whether each product (in [`Produit::ALL`] order) has this type.
    pub allowed: [bool; 4],
}

macro_rules! type_ops {
    ($( $t:ident $sign:ident [$a:literal $s:literal $h:literal $v:literal] )+) => {
        /// Operation types, in [`TypeOp::ALL`] order.
        /// Columns: sign, then whether auto, santé, habitation and vie have the type.
        pub const TYPE_OPS: [TypeOpRow; 19] = [$(
            TypeOpRow { type_op: TypeOp::$t, sign: Sign::$sign, allowed: [$a == 1, $s == 1, $h == 1, $v == 1] },
        )+];
    };
}

type_ops! {
    //                  sign    auto santé hab vie
    Cotisation          Inflow  [1 1 1 1]
    Remboursement       Outflow [1 1 1 1]
    Commission          Outflow [1 1 1 1]
    Retrocession        Outflow [1 1 1 1]
    Ajustement          Either  [1 1 1 1]
    Regularisation      Either  [1 1 1 1]
    Penalite            Inflow  [1 1 1 1]
    Correction          Either  [1 1 1 1]
    Annulation          Outflow [1 1 1 1]
    Virement            Either  [1 1 1 1]
    Provision           Outflow [1 1 1 1]
    Reassurance         Outflow [1 1 1 1]
    FraisGestion        Inflow  [1 1 1 1]
    PrimeExceptionnelle Inflow  [1 1 1 1]
    BonusMalus          Either  [1 0 0 0]
    Indemnisation       Outflow [1 1 1 1]
    Franchise           Inflow  [1 1 1 0]
    Rachat              Outflow [0 0 0 1]
    Recours             Inflow  [1 0 1 0]
}

/// How much more often cotisations occur in the first days of a month (they are collected
/// then), as a multiplier of their weight, in percent; the other days of the month have
/// fewer, so that the month keeps the model's mix.
pub const MONTH_START_COTISATION_BOOST_PCT: u32 = 600;

/// Days of the month (1-based, inclusive) that count as the month start.
pub const MONTH_START_LAST_DAY: u32 = 5;

/// Relative activity of a weekday, a Saturday and a Sunday.
pub const DAY_WEIGHTS: DayWeights = DayWeights { weekday: 100, saturday: 30, sunday: 10 };

/// Extra activity on month-start days, in percent (the cotisation peak).
pub const MONTH_START_DAY_FACTOR_PCT: u32 = 160;

/// Relative activity of the days of the week.
#[derive(Debug, Clone, Copy)]
pub struct DayWeights {
    /// Monday to Friday.
    pub weekday: u32,
    /// Saturday.
    pub saturday: u32,
    /// Sunday.
    pub sunday: u32,
}

/// How a country is drawn.
#[derive(Debug, Clone, Copy)]
pub struct PaysRow {
    /// The country.
    pub pays: Pays,
    /// Relative frequency among all rows; also its share of the agencies.
    pub weight: u32,
}

/// Countries, in [`Pays::ALL`] order, weighted by premiums written in retail lines (2024:
/// France 45, Germany 25, Italy 15, Spain 10, Belgium 5).
pub const PAYS: [PaysRow; 5] = [
    PaysRow { pays: Pays::Fr, weight: 45 },
    PaysRow { pays: Pays::Es, weight: 10 },
    PaysRow { pays: Pays::It, weight: 15 },
    PaysRow { pays: Pays::De, weight: 25 },
    PaysRow { pays: Pays::Be, weight: 5 },
];

/// One agency: its number (`AG_001` is 1), its country and its relative activity inside
/// that country.
#[derive(Debug, Clone, Copy)]
pub struct AgenceRow {
    /// The number in `AG_nnn`.
    pub number: u16,
    /// The one country it belongs to.
    pub pays: Pays,
    /// Relative activity among the agencies of its country.
    pub activity: u32,
}

macro_rules! agences {
    ($( $pays:ident: [$($n:literal $act:literal),+] )+) => {
        /// The 50 agencies, numbered 1 to 50, each in one country; each country has a share of
        /// them in proportion to its weight, rounded (FR 22, ES 5, IT 8, DE 13, BE 2).
        pub const AGENCES: [AgenceRow; 50] = [$($(
            AgenceRow { number: $n, pays: Pays::$pays, activity: $act },
        )+)+];
    };
}

agences! {
    Fr: [1 9, 2 7, 3 6, 4 5, 5 5, 6 4, 7 4, 8 4, 9 3, 10 3, 11 3, 12 3, 13 2, 14 2, 15 2, 16 2, 17 2, 18 2, 19 1, 20 1, 21 1, 22 1]
    Es: [23 5, 24 3, 25 2, 26 2, 27 1]
    It: [28 6, 29 4, 30 3, 31 3, 32 2, 33 2, 34 1, 35 1]
    De: [36 8, 37 6, 38 5, 39 4, 40 3, 41 3, 42 2, 43 2, 44 2, 45 2, 46 1, 47 1, 48 1]
    Be: [49 3, 50 2]
}

impl TypeOp {
    /// The row of [`TYPE_OPS`] for this type.
    pub const fn row(self) -> &'static TypeOpRow {
        &TYPE_OPS[self.index()]
    }

    /// Which way the money moves for this type.
    pub const fn sign(self) -> Sign {
        self.row().sign
    }

    /// Whether a product may carry this type (e.g. `rachat` only for `vie`).
    pub const fn allowed_for(self, produit: Produit) -> bool {
        self.row().allowed[produit.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_in_enum_order() {
        for (i, row) in TYPE_OPS.iter().enumerate() {
            assert_eq!(row.type_op.index(), i);
        }
        for (i, row) in PRODUITS.iter().enumerate() {
            assert_eq!(row.produit.index(), i);
        }
        for (i, row) in PAYS.iter().enumerate() {
            assert_eq!(row.pays.index(), i);
        }
        for (i, row) in AGENCES.iter().enumerate() {
            assert_eq!(usize::from(row.number), i + 1);
        }
    }

    #[test]
    fn agency_count_per_country_is_its_weight_share_rounded() {
        let total: u32 = PAYS.iter().map(|p| p.weight).sum();
        for p in PAYS {
            let count = AGENCES.iter().filter(|a| a.pays == p.pays).count() as f64;
            let share = f64::from(p.weight * 50) / f64::from(total);
            assert!((count - share).abs() <= 0.5, "{}: {count} agencies for {share}", p.pays);
        }
    }

    #[test]
    fn rachat_is_only_for_vie_and_every_product_has_types() {
        for p in Produit::ALL {
            assert_eq!(TypeOp::Rachat.allowed_for(*p), *p == Produit::Vie);
            assert!(TypeOp::ALL.iter().filter(|t| t.allowed_for(*p)).count() >= 10);
        }
    }

    #[test]
    fn every_type_is_allowed_somewhere() {
        for t in TypeOp::ALL {
            assert!(Produit::ALL.iter().any(|p| t.allowed_for(*p)), "{t}");
        }
    }
}
