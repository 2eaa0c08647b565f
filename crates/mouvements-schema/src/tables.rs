//! The business tables, in one readable place: how often each product, operation type,
//! country and agency occurs, which operation types each product allows, the sign of each
//! type, the amount distribution of each (type, product), and the shape of the calendar.
//!
//! Weights are relative integers (only their ratios matter). Amounts are log-normal: a
//! median in cents per type, scaled per product, and a spread `sigma` (the standard
//! deviation of the log-amount, in thousandths).

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

/// How a product line is drawn and how it scales amounts.
#[derive(Debug, Clone, Copy)]
pub struct ProduitRow {
    /// The product.
    pub produit: Produit,
    /// Relative frequency among all rows.
    pub weight: u32,
    /// Multiplier of every type's median amount, in percent.
    pub amount_factor_pct: u32,
}

/// Products, in [`Produit::ALL`] order.
pub const PRODUITS: [ProduitRow; 4] = [
    ProduitRow { produit: Produit::Auto, weight: 35, amount_factor_pct: 100 },
    ProduitRow { produit: Produit::Sante, weight: 30, amount_factor_pct: 70 },
    ProduitRow { produit: Produit::Habitation, weight: 20, amount_factor_pct: 130 },
    ProduitRow { produit: Produit::Vie, weight: 15, amount_factor_pct: 300 },
];

/// How an operation type is drawn, signed and sized.
#[derive(Debug, Clone, Copy)]
pub struct TypeOpRow {
    /// The operation type.
    pub type_op: TypeOp,
    /// Which way the money goes.
    pub sign: Sign,
    /// Median absolute amount in cents, before the product factor.
    pub median_cents: i64,
    /// Spread of the log-amount, in thousandths.
    pub sigma_milli: u32,
    /// Relative frequency per product, in [`Produit::ALL`] order; 0 means not allowed.
    pub weights: [u32; 4],
}

macro_rules! type_ops {
    ($( $t:ident $sign:ident $median_eur:literal $sigma:literal [$a:literal $s:literal $h:literal $v:literal] )+) => {
        /// Operation types, in [`TypeOp::ALL`] order.
        /// Columns: sign, median €, sigma ‰, weight for auto, santé, habitation, vie.
        pub const TYPE_OPS: [TypeOpRow; 19] = [$(
            TypeOpRow {
                type_op: TypeOp::$t,
                sign: Sign::$sign,
                median_cents: $median_eur * 100,
                sigma_milli: $sigma,
                weights: [$a, $s, $h, $v],
            },
        )+];
    };
}

type_ops! {
    //                  sign     €     σ‰    auto santé hab vie
    Cotisation          Inflow   85    550  [300  300  300  300]
    Remboursement       Outflow  60    900  [ 40  260   30   10]
    Commission          Outflow  25    700  [ 60   50   60   80]
    Retrocession        Outflow  40    800  [ 30   20   30   60]
    Ajustement          Either   30   1000  [ 40   40   40   40]
    Regularisation      Either   45   1000  [ 35   35   35   35]
    Penalite            Inflow   50    600  [ 15   10   15   20]
    Correction          Either   20   1100  [ 30   30   30   30]
    Annulation          Outflow  90    700  [ 25   20   25   15]
    Virement            Either  500   1200  [ 20   20   20   60]
    Provision           Outflow 1500  1000  [ 20   15   20   40]
    Reassurance         Outflow  800   900  [ 10    5   15   20]
    FraisGestion        Inflow   15    500  [ 50   50   50   70]
    PrimeExceptionnelle Inflow  1200   900  [  5    5    5   40]
    BonusMalus          Either   40    600  [ 60    0    0    0]
    Indemnisation       Outflow 1800  1300  [150   20  120   30]
    Franchise           Inflow  150    500  [ 40   10   40    0]
    Rachat              Outflow 8000  1100  [  0    0    0   60]
    Recours             Inflow  900   1000  [ 25    0   20    0]
}

/// How much more often cotisations occur in the first days of a month (they are collected
/// then), as a multiplier of their weight, in percent.
pub const MONTH_START_COTISATION_BOOST_PCT: u32 = 400;

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

/// Countries, in [`Pays::ALL`] order.
pub const PAYS: [PaysRow; 5] = [
    PaysRow { pays: Pays::Fr, weight: 40 },
    PaysRow { pays: Pays::Es, weight: 20 },
    PaysRow { pays: Pays::It, weight: 20 },
    PaysRow { pays: Pays::De, weight: 12 },
    PaysRow { pays: Pays::Be, weight: 8 },
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
        /// them proportional to its weight (FR 20, ES 10, IT 10, DE 6, BE 4).
        pub const AGENCES: [AgenceRow; 50] = [$($(
            AgenceRow { number: $n, pays: Pays::$pays, activity: $act },
        )+)+];
    };
}

agences! {
    Fr: [1 9, 2 7, 3 6, 4 5, 5 5, 6 4, 7 4, 8 4, 9 3, 10 3, 11 3, 12 3, 13 2, 14 2, 15 2, 16 2, 17 2, 18 1, 19 1, 20 1]
    Es: [21 8, 22 6, 23 4, 24 3, 25 3, 26 2, 27 2, 28 2, 29 1, 30 1]
    It: [31 8, 32 6, 33 4, 34 3, 35 3, 36 2, 37 2, 38 2, 39 1, 40 1]
    De: [41 6, 42 4, 43 3, 44 2, 45 2, 46 1]
    Be: [47 5, 48 3, 49 2, 50 1]
}

/// Anomalous amounts are the usual amount times a factor drawn uniformly in this range.
pub const ANOMALY_FACTOR: std::ops::RangeInclusive<u32> = 20..=60;

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
        self.row().weights[produit.index()] > 0
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
    fn agency_count_per_country_is_proportional_to_its_weight() {
        let total: u32 = PAYS.iter().map(|p| p.weight).sum();
        for p in PAYS {
            let count = AGENCES.iter().filter(|a| a.pays == p.pays).count() as u32;
            assert_eq!(count * total, p.weight * 50, "{}", p.pays);
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
