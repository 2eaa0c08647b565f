//! From the figures to the generator's laws: for each (type, product, country), the rows a
//! contract makes in a month and the law of the amount, at the country's prices. Volumes
//! that the figures give as shares (commission of premiums, recours of claims…) become the
//! mean of their type's law: `mean = rate × volume ÷ rows`.

use super::figures::{
    CLAIM_OVERRIDES, COUNTRIES, Component, LIFE, LIFE_COMMISSION, LIFE_FEES_ON_RESERVES, PRODUCTS,
    ProductFigures,
};
use crate::detmath;
use crate::{Pays, Produit, TypeOp};

/// How the types without a published band arise: rows per contract per month (or per premium
/// or claim row, as said) and their amounts against the mean premium row. Choices, not
/// figures; they shape the mix but no ratio an analyst checks.
pub mod flows {
    /// Commission statements per premium row (commissions are settled in batches).
    pub const COMMISSION_ROWS_PER_PREMIUM_ROW: f64 = 0.15;
    /// Share of commission passed on to partners (rétrocession), and its rows per commission row.
    pub const RETROCESSION: (f64, f64) = (0.2, 0.5);
    /// Management fee rows per premium row.
    pub const FEE_ROWS_PER_PREMIUM_ROW: f64 = 0.2;
    /// Reinsurance bordereaux per premium row.
    pub const CESSION_ROWS_PER_PREMIUM_ROW: f64 = 0.02;
    /// Recourse actions per claim, by product in `Produit::ALL` order.
    pub const RECOURS_ROWS_PER_CLAIM: [f64; 4] = [0.1, 0.0, 0.08, 0.0];
    /// Reserve allocations (provision) per claim; each reserves a mean claim.
    pub const PROVISION_ROWS_PER_CLAIM: f64 = 0.5;
    /// Cancellations per contract per month (about 7 % a year), each refunding 1.5 premium rows.
    pub const ANNULATION: (f64, f64) = (0.006, 1.5);
    /// Late-payment penalties per contract per month, and their median in euros.
    pub const PENALITE: (f64, f64) = (0.004, 30.0);
    /// Adjustments, regularisations and corrections per contract per month, each against
    /// the mean premium row.
    pub const AJUSTEMENT: (f64, f64) = (0.01, 0.3);
    /// See [`AJUSTEMENT`].
    pub const REGULARISATION: (f64, f64) = (0.008, 1.0);
    /// See [`AJUSTEMENT`].
    pub const CORRECTION: (f64, f64) = (0.006, 0.5);
    /// Transfers per contract per month (life: arbitrages), against the mean premium row.
    pub const VIREMENT: [(f64, f64); 4] = [(0.005, 5.0), (0.005, 5.0), (0.005, 5.0), (0.012, 20.0)];
    /// Motor bonus-malus adjustments per contract per month, against the mean premium row.
    pub const BONUS_MALUS: (f64, f64) = (0.03, 0.15);
}

/// The law of one type for one product and country.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeLaw {
    /// Rows per contract per month (0: the type never occurs).
    pub rows: f64,
    /// The law of the amount, euros at the country's prices.
    pub components: Vec<Component>,
}

impl TypeLaw {
    fn none() -> Self {
        Self { rows: 0.0, components: Vec::new() }
    }

    /// The mean amount.
    pub fn mean(&self) -> f64 {
        self.components.iter().map(|c| c.share * c.median_eur * detmath::exp(c.sigma * c.sigma / 2.0)).sum()
    }

    /// This law with its amounts times `factor`.
    fn scaled(&self, factor: f64) -> Self {
        let components =
            self.components.iter().map(|c| Component { median_eur: c.median_eur * factor, ..*c }).collect();
        Self { rows: self.rows, components }
    }
}

/// A law of one log-normal with the given mean.
fn with_mean(rows: f64, mean: f64, sigma: f64) -> TypeLaw {
    if rows <= 0.0 || mean <= 0.0 {
        return TypeLaw::none();
    }
    TypeLaw {
        rows,
        components: vec![Component {
            share: 1.0,
            median_eur: mean / detmath::exp(sigma * sigma / 2.0),
            sigma,
        }],
    }
}

/// The laws of every type of one product at one price level.
#[derive(Debug, Clone)]
pub struct ProductLaws {
    /// By type, in [`TypeOp::ALL`] order.
    pub types: Vec<TypeLaw>,
}

impl ProductLaws {
    /// The law of `type_op`.
    pub fn law(&self, type_op: TypeOp) -> &TypeLaw {
        &self.types[type_op.index()]
    }

    /// Premiums per contract per month: cotisations and one-off premiums.
    pub fn premium_volume(&self) -> f64 {
        [TypeOp::Cotisation, TypeOp::PrimeExceptionnelle]
            .iter()
            .map(|t| self.law(*t).rows * self.law(*t).mean())
            .sum()
    }
}

/// The laws of one product at one country's price level and claims.
fn product_laws(p: &ProductFigures, level: f64, claims: Option<(f64, f64)>) -> ProductLaws {
    let annual = p.annual_premium_eur * level;
    let scaled = |law: &[Component]| {
        law.iter().map(|c| Component { median_eur: c.median_eur * level, ..*c }).collect::<Vec<_>>()
    };
    let premium_rows = p.monthly_share + (1.0 - p.monthly_share) / 12.0;
    let spread = detmath::exp(p.premium_sigma * p.premium_sigma / 2.0);
    let cotisation = TypeLaw {
        rows: premium_rows,
        components: vec![
            Component {
                share: p.monthly_share / premium_rows,
                median_eur: annual / 12.0 / spread,
                sigma: p.premium_sigma,
            },
            Component {
                share: (1.0 - p.monthly_share) / 12.0 / premium_rows,
                median_eur: annual / spread,
                sigma: p.premium_sigma,
            },
        ],
    };
    let premium_row = annual / 12.0 / premium_rows;
    let one_offs = TypeLaw { rows: p.one_off_rows, components: scaled(p.one_offs) };
    let premiums = annual / 12.0 + one_offs.rows * one_offs.mean();

    let mut frequency = p.claim_frequency;
    let mut indemnisation = TypeLaw { rows: frequency, components: scaled(p.claims) };
    if let Some((f, mean)) = claims {
        frequency = f;
        indemnisation = TypeLaw { rows: f, ..indemnisation.scaled(mean / indemnisation.mean()) };
    }
    let remboursement = TypeLaw { rows: p.remboursement_rows, components: scaled(p.remboursements) };
    let (mut commission_volume, mut fee_volume) = (p.commission_rate * premiums, p.fees_rate * premiums);
    let mut rachat = TypeLaw::none();
    if p.produit == Produit::Vie {
        let reserves = LIFE.reserves_per_contract_eur * level;
        commission_volume = LIFE_COMMISSION.0 * premiums + LIFE_COMMISSION.1 * reserves / 12.0;
        fee_volume = LIFE_FEES_ON_RESERVES * reserves / 12.0;
        let surrender_law = TypeLaw { rows: 1.0, components: scaled(LIFE.surrenders) };
        let surrenders = LIFE.surrender_rate_monthly * reserves;
        rachat = TypeLaw { rows: surrenders / surrender_law.mean(), ..surrender_law };
        // Deaths and maturities pay what the benefits leave after surrenders and refunds.
        let others = LIFE.benefits_rate * premiums - surrenders - remboursement.rows * remboursement.mean();
        indemnisation =
            TypeLaw { rows: frequency, ..indemnisation.scaled(others / frequency / indemnisation.mean()) };
    }
    let claims_volume = indemnisation.rows * indemnisation.mean();
    let commission_rows = premium_rows * flows::COMMISSION_ROWS_PER_PREMIUM_ROW;
    let (retro_share, retro_rows) = flows::RETROCESSION;
    let fee_rows = premium_rows * flows::FEE_ROWS_PER_PREMIUM_ROW;
    let cession_rows = premium_rows * flows::CESSION_ROWS_PER_PREMIUM_ROW;
    let recours_rows = frequency * flows::RECOURS_ROWS_PER_CLAIM[p.produit.index()];
    let against_premium = |(rows, times): (f64, f64), sigma| with_mean(rows, times * premium_row, sigma);

    let mut types = vec![TypeLaw::none(); TypeOp::ALL.len()];
    for t in TypeOp::ALL {
        types[t.index()] = match t {
            TypeOp::Cotisation => cotisation.clone(),
            TypeOp::Remboursement => remboursement.clone(),
            TypeOp::Commission => with_mean(commission_rows, commission_volume / commission_rows, 0.6),
            TypeOp::Retrocession => {
                let rows = commission_rows * retro_rows;
                with_mean(rows, retro_share * commission_volume / rows, 0.7)
            }
            TypeOp::Ajustement => against_premium(flows::AJUSTEMENT, 1.0),
            TypeOp::Regularisation => against_premium(flows::REGULARISATION, 1.0),
            TypeOp::Penalite => {
                with_mean(flows::PENALITE.0, flows::PENALITE.1 * level * detmath::exp(0.125), 0.5)
            }
            TypeOp::Correction => against_premium(flows::CORRECTION, 1.1),
            TypeOp::Annulation => against_premium(flows::ANNULATION, 0.7),
            TypeOp::Virement => against_premium(flows::VIREMENT[p.produit.index()], 1.2),
            TypeOp::Provision => {
                let rows = frequency * flows::PROVISION_ROWS_PER_CLAIM;
                with_mean(rows, indemnisation.mean(), 1.0)
            }
            TypeOp::Reassurance => with_mean(cession_rows, p.ceded_rate * premiums / cession_rows, 0.8),
            TypeOp::FraisGestion => with_mean(fee_rows, fee_volume / fee_rows, 0.5),
            TypeOp::PrimeExceptionnelle => one_offs.clone(),
            TypeOp::BonusMalus if p.produit == Produit::Auto => against_premium(flows::BONUS_MALUS, 0.6),
            TypeOp::Indemnisation => indemnisation.clone(),
            TypeOp::Franchise if p.franchise_share > 0.0 => {
                TypeLaw { rows: frequency * p.franchise_share, components: scaled(p.franchises) }
            }
            TypeOp::Rachat => rachat.clone(),
            TypeOp::Recours if recours_rows > 0.0 => {
                with_mean(recours_rows, p.recovery_rate * claims_volume / recours_rows, 1.0)
            }
            // Types the product does not have.
            TypeOp::BonusMalus | TypeOp::Franchise | TypeOp::Recours => TypeLaw::none(),
        };
    }
    ProductLaws { types }
}

/// The laws of every (product, country), indexed `[produit][pays]`.
#[derive(Debug, Clone)]
pub struct Laws {
    products: Vec<Vec<ProductLaws>>,
}

impl Laws {
    /// The laws of one product in one country.
    pub fn of(&self, produit: Produit, pays: Pays) -> &ProductLaws {
        &self.products[produit.index()][pays.index()]
    }
}

/// Derives every law from the figures.
pub fn derive() -> Laws {
    let products = PRODUCTS
        .iter()
        .map(|p| {
            COUNTRIES
                .iter()
                .map(|c| {
                    let claims = CLAIM_OVERRIDES
                        .iter()
                        .find(|o| o.pays == c.pays && o.produit == p.produit)
                        .map(|o| (o.claim_frequency, o.mean_claim_eur));
                    product_laws(p, c.price_level[p.produit.index()], claims)
                })
                .collect()
        })
        .collect();
    Laws { products }
}
