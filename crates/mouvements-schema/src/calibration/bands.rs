//! The bands the books must land in (the note's estimates from the published figures), and
//! how each ratio is read from the rows. `verify --stats` shows every ratio against its band.

use crate::{Pays, Produit, TypeOp};

/// A ratio an analyst checks, read from sums and counts of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ratio {
    /// Claims paid (indemnisation and remboursement; for vie also rachat) ÷ premiums
    /// (cotisation and prime_exceptionnelle).
    ClaimsToPremiums,
    /// Claim rows (indemnisation; for santé also remboursement, each care line a claim) per
    /// premium row: the claim frequency per contract-month over the premium rows per
    /// contract-month (0.679 with 65 % of contracts paying monthly).
    ClaimRowsPerPremiumRow,
    /// Commission ÷ premiums.
    Commission,
    /// Frais de gestion ÷ premiums.
    Fees,
    /// Réassurance ceded ÷ premiums.
    Cession,
    /// Recours ÷ claims paid (indemnisation).
    Recours,
    /// Rachat (surrenders) ÷ premiums.
    Surrenders,
}

impl Ratio {
    /// Every ratio.
    pub const ALL: [Ratio; 7] = [
        Ratio::ClaimsToPremiums,
        Ratio::ClaimRowsPerPremiumRow,
        Ratio::Commission,
        Ratio::Fees,
        Ratio::Cession,
        Ratio::Recours,
        Ratio::Surrenders,
    ];

    /// The ratio's name in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Ratio::ClaimsToPremiums => "claims ÷ premiums",
            Ratio::ClaimRowsPerPremiumRow => "claim rows per premium row",
            Ratio::Commission => "commission ÷ premiums",
            Ratio::Fees => "frais de gestion ÷ premiums",
            Ratio::Cession => "réassurance ÷ premiums",
            Ratio::Recours => "recours ÷ claims",
            Ratio::Surrenders => "rachats ÷ premiums",
        }
    }

    /// What the ratio divides: `(types, counted)` where `counted` is true for a count of rows
    /// and false for a sum of absolute amounts.
    pub fn numerator(self, produit: Produit) -> (&'static [TypeOp], bool) {
        use TypeOp::{Commission, FraisGestion, Indemnisation, Rachat, Reassurance, Recours, Remboursement};
        match self {
            Ratio::ClaimsToPremiums if produit == Produit::Vie => {
                (&[Indemnisation, Remboursement, Rachat], false)
            }
            Ratio::ClaimsToPremiums => (&[Indemnisation, Remboursement], false),
            Ratio::ClaimRowsPerPremiumRow if produit == Produit::Sante => {
                (&[Indemnisation, Remboursement], true)
            }
            Ratio::ClaimRowsPerPremiumRow => (&[Indemnisation], true),
            Ratio::Commission => (&[Commission], false),
            Ratio::Fees => (&[FraisGestion], false),
            Ratio::Cession => (&[Reassurance], false),
            Ratio::Recours => (&[Recours], false),
            Ratio::Surrenders => (&[Rachat], false),
        }
    }

    /// What it is divided by, as [`Ratio::numerator`].
    pub fn denominator(self) -> (&'static [TypeOp], bool) {
        use TypeOp::{Cotisation, Indemnisation, PrimeExceptionnelle};
        match self {
            Ratio::ClaimRowsPerPremiumRow => (&[Cotisation], true),
            Ratio::Recours => (&[Indemnisation], false),
            _ => (&[Cotisation, PrimeExceptionnelle], false),
        }
    }
}

/// A band: where a ratio of a product (in a country, when given) must land.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// The ratio.
    pub ratio: Ratio,
    /// The product.
    pub produit: Produit,
    /// The country, for a band that holds in one country only.
    pub pays: Option<Pays>,
    /// Lowest believable value.
    pub low: f64,
    /// Highest believable value.
    pub high: f64,
}

const fn band(ratio: Ratio, produit: Produit, low: f64, high: f64) -> Band {
    Band { ratio, produit, pays: None, low, high }
}

/// Premium rows per contract per month, with 60–70 % of contracts paying monthly: turns a
/// claim frequency per contract into one per premium row.
const PREMIUM_ROWS: f64 = 0.65 + 0.35 / 12.0;

/// Spain's share of the rows (its weight in `tables::PAYS`): its home claims, 2.5 % a month,
/// weigh in the product's band.
const SPAIN_SHARE: f64 = 0.10;

/// Life reserves over a year of premiums (37 k€ per contract for 3.4 k€ of premiums a year
/// in the model), to read reserve-based bands against premiums.
const LIFE_RESERVE_YEARS: f64 = 10.9;

/// Home claims per premium row outside Spain: 0.7–1.0 % of contracts a month.
const HOME_CLAIMS_ELSEWHERE: Band =
    band(Ratio::ClaimRowsPerPremiumRow, Produit::Habitation, 0.007 / PREMIUM_ROWS, 0.010 / PREMIUM_ROWS);

/// The bands, from `notes/insurance-calibration.md` ("Bands for a believable generator").
pub const BANDS: [Band; 27] = {
    use Produit::{Auto, Habitation, Sante, Vie};
    use Ratio::{Cession, ClaimRowsPerPremiumRow, ClaimsToPremiums, Commission, Fees, Recours, Surrenders};
    [
        band(ClaimsToPremiums, Auto, 0.70, 0.85),
        band(ClaimsToPremiums, Habitation, 0.55, 0.70),
        band(ClaimsToPremiums, Sante, 0.75, 0.87),
        band(ClaimsToPremiums, Vie, 0.75, 1.0),
        band(ClaimRowsPerPremiumRow, Auto, 0.009 / PREMIUM_ROWS, 0.015 / PREMIUM_ROWS),
        band(
            ClaimRowsPerPremiumRow,
            Habitation,
            ((1.0 - SPAIN_SHARE) * 0.007 + SPAIN_SHARE * 0.025) / PREMIUM_ROWS,
            ((1.0 - SPAIN_SHARE) * 0.010 + SPAIN_SHARE * 0.025) / PREMIUM_ROWS,
        ),
        Band {
            pays: Some(Pays::Es),
            ..band(ClaimRowsPerPremiumRow, Habitation, 0.020 / PREMIUM_ROWS, 0.030 / PREMIUM_ROWS)
        },
        Band { pays: Some(Pays::Fr), ..HOME_CLAIMS_ELSEWHERE },
        Band { pays: Some(Pays::It), ..HOME_CLAIMS_ELSEWHERE },
        Band { pays: Some(Pays::De), ..HOME_CLAIMS_ELSEWHERE },
        Band { pays: Some(Pays::Be), ..HOME_CLAIMS_ELSEWHERE },
        band(ClaimRowsPerPremiumRow, Sante, 0.10 / PREMIUM_ROWS, 0.30 / PREMIUM_ROWS),
        band(Commission, Auto, 0.04, 0.13),
        band(Commission, Habitation, 0.15, 0.23),
        band(Commission, Sante, 0.05, 0.10),
        band(Commission, Vie, 0.01 + 0.003 * LIFE_RESERVE_YEARS, 0.03 + 0.005 * LIFE_RESERVE_YEARS),
        band(Fees, Auto, 0.08, 0.12),
        band(Fees, Habitation, 0.10, 0.15),
        band(Fees, Sante, 0.10, 0.14),
        band(Fees, Vie, 0.005 * LIFE_RESERVE_YEARS, 0.01 * LIFE_RESERVE_YEARS),
        band(Cession, Auto, 0.02, 0.06),
        band(Cession, Habitation, 0.10, 0.20),
        band(Cession, Sante, 0.0, 0.03),
        band(Cession, Vie, 0.01, 0.02),
        band(Recours, Auto, 0.05, 0.15),
        band(Recours, Habitation, 0.03, 0.08),
        band(Surrenders, Vie, 0.52, 0.60),
    ]
};

/// The band of a ratio for a product in a country: the country's own, else the product's.
pub fn band_for(ratio: Ratio, produit: Produit, pays: Option<Pays>) -> Option<&'static Band> {
    let of_product = || BANDS.iter().filter(move |b| b.ratio == ratio && b.produit == produit);
    of_product()
        .find(|b| pays.is_some() && b.pays == pays)
        .or_else(|| of_product().find(|b| b.pays.is_none()))
}
