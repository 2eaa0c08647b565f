//! The calibration model: the market figures the books are held to ([`figures`]), what follows
//! from them for the generator ([`mod@derive`]: for each type, product and country, the rows a
//! contract makes in a month and the law of the amount), and the bands an analyst checks the
//! result against ([`bands`]). The ratios (claims ÷ premiums, commission rate…) follow from
//! the figures; nothing is tuned per row.

pub mod bands;
pub mod derive;
pub mod figures;

pub use bands::{BANDS, Band, Ratio, band_for};
pub use derive::{Laws, ProductLaws, TypeLaw, derive};
pub use figures::{Component, SEASONS};

use crate::{Produit, TypeOp};

impl TypeOp {
    /// Whether rows of this type follow the claims' seasons for `produit`: claims paid
    /// (health care lines for santé), and what comes with a claim (reserve, deductible,
    /// recourse).
    pub const fn is_claim(self, produit: Produit) -> bool {
        match self {
            TypeOp::Indemnisation | TypeOp::Provision | TypeOp::Franchise | TypeOp::Recours => true,
            TypeOp::Remboursement => matches!(produit, Produit::Sante),
            _ => false,
        }
    }
}
