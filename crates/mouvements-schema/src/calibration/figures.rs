//! The market figures, per product at the French price level and per country, with their
//! sources (press reports of the named publishers; see the README's "The books"). Every
//! number here is a figure or a choice inside a published band; nothing is fitted to a test.

use crate::{Pays, Produit};

/// One log-normal component of an amount law: its share of the rows, its median in euros
/// (French price level) and the standard deviation of its log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// Share of the type's rows drawn from this component.
    pub share: f64,
    /// Median amount, euros.
    pub median_eur: f64,
    /// Standard deviation of the log-amount.
    pub sigma: f64,
}

/// A single-component law.
pub const fn single(median_eur: f64, sigma: f64) -> [Component; 1] {
    [Component { share: 1.0, median_eur, sigma }]
}

/// A product line, at the French price level.
#[derive(Debug, Clone, Copy)]
pub struct ProductFigures {
    /// The product.
    pub produit: Produit,
    /// Share of the ledger's rows: motor and health make most lines.
    pub row_weight: u32,
    /// Annual premium per contract, euros (France).
    pub annual_premium_eur: f64,
    /// Spread of premiums between contracts (standard deviation of the log).
    pub premium_sigma: f64,
    /// Share of contracts paying monthly; the others pay once a year, on their renewal date.
    pub monthly_share: f64,
    /// Claims (indemnisation rows) per contract per month.
    pub claim_frequency: f64,
    /// The law of a claim paid (indemnisation).
    pub claims: &'static [Component],
    /// Reimbursement lines per contract per month: health care lines for santé, premium
    /// refunds elsewhere.
    pub remboursement_rows: f64,
    /// The law of a reimbursement line.
    pub remboursements: &'static [Component],
    /// Commission paid to distributors, share of premiums.
    pub commission_rate: f64,
    /// Management fees charged, share of premiums.
    pub fees_rate: f64,
    /// Premiums ceded to reinsurers, share of premiums.
    pub ceded_rate: f64,
    /// Amounts recovered from liable third parties (recours), share of claims.
    pub recovery_rate: f64,
    /// Share of claims that carry a deductible (franchise).
    pub franchise_share: f64,
    /// The law of a deductible.
    pub franchises: &'static [Component],
    /// One-off premiums (prime_exceptionnelle) per contract per month.
    pub one_off_rows: f64,
    /// The law of a one-off premium.
    pub one_offs: &'static [Component],
}

/// Life insurance, beyond what [`ProductFigures`] says: reserves and what leaves them.
#[derive(Debug, Clone, Copy)]
pub struct LifeFigures {
    /// Reserves (outstanding) per contract, euros: 2,107 bn€ over 57 M contracts (France).
    pub reserves_per_contract_eur: f64,
    /// Surrenders per month, share of reserves (75.7 bn€ a year, 4.7 % of reserves, 2024).
    pub surrender_rate_monthly: f64,
    /// The law of a surrender (partial surrenders dominate).
    pub surrenders: &'static [Component],
    /// Benefits paid (deaths, maturities and surrenders), share of premiums.
    pub benefits_rate: f64,
}

/// Motor: France Assureurs 2023 (448 € a vehicle before tax, 98.7 % claims/premiums with
/// costs, about 17 claims per 100 vehicles a year, glass 37 % of them); damage about 1 k€ and
/// bodily injury about 25 k€ a claim, 0.5 % of victims making 22 % of bodily-injury cost.
const AUTO: ProductFigures = ProductFigures {
    produit: Produit::Auto,
    row_weight: 35,
    annual_premium_eur: 480.0,
    premium_sigma: 0.35,
    monthly_share: 0.65,
    claim_frequency: 0.013,
    claims: &[
        Component { share: 0.37, median_eur: 560.0, sigma: 0.25 }, // glass
        Component { share: 0.58, median_eur: 1_150.0, sigma: 0.5 }, // material damage
        Component { share: 0.05, median_eur: 14_000.0, sigma: 1.1 }, // bodily injury
    ],
    remboursement_rows: 0.003,
    remboursements: &single(55.0, 0.6),
    commission_rate: 0.09,
    fees_rate: 0.10,
    ceded_rate: 0.04,
    recovery_rate: 0.10,
    franchise_share: 0.5,
    franchises: &single(300.0, 0.4),
    one_off_rows: 0.001,
    one_offs: &single(150.0, 0.6),
};

/// Home (MRH): France Assureurs 2024 (299 € a contract, about 10 claims per 100 contracts a
/// year, 1,761 € a claim: water damage 44 % of claims at about 1.2 k€, fire 12.4 k€, nat-cat
/// 9.3 k€, storm 2.3 k€, theft 2.1 k€, glass 0.6 k€), claims/premiums 58–65 %.
const HABITATION: ProductFigures = ProductFigures {
    produit: Produit::Habitation,
    row_weight: 20,
    annual_premium_eur: 299.0,
    premium_sigma: 0.4,
    monthly_share: 0.65,
    claim_frequency: 0.009,
    claims: &[
        Component { share: 0.48, median_eur: 900.0, sigma: 0.55 }, // water damage
        Component { share: 0.20, median_eur: 1_900.0, sigma: 0.5 }, // storm
        Component { share: 0.08, median_eur: 1_500.0, sigma: 0.6 }, // theft
        Component { share: 0.18, median_eur: 480.0, sigma: 0.3 },  // glass
        Component { share: 0.03, median_eur: 9_000.0, sigma: 0.7 }, // fire
        Component { share: 0.03, median_eur: 6_000.0, sigma: 0.8 }, // nat-cat
    ],
    remboursement_rows: 0.003,
    remboursements: &single(35.0, 0.6),
    commission_rate: 0.19,
    fees_rate: 0.125,
    ceded_rate: 0.15,
    recovery_rate: 0.055,
    franchise_share: 0.6,
    franchises: &single(200.0, 0.4),
    one_off_rows: 0.001,
    one_offs: &single(90.0, 0.6),
};

/// Complémentaire santé: DREES 2023 (benefits 81 % of premiums, management costs 19 %;
/// individual premiums 36 €/month at 20 to 142 €/month at 85). Care lines of 30–60 € for
/// 10–30 % of members a month, and hospital stays paid as indemnisations.
const SANTE: ProductFigures = ProductFigures {
    produit: Produit::Sante,
    row_weight: 30,
    annual_premium_eur: 480.0,
    premium_sigma: 0.45,
    monthly_share: 0.65,
    claim_frequency: 0.015,
    claims: &single(1_100.0, 0.7),
    remboursement_rows: 0.25,
    remboursements: &single(38.0, 0.55),
    commission_rate: 0.075,
    fees_rate: 0.12,
    ceded_rate: 0.015,
    recovery_rate: 0.0,
    franchise_share: 0.05,
    franchises: &single(20.0, 0.5),
    one_off_rows: 0.001,
    one_offs: &single(60.0, 0.6),
};

/// Assurance vie: France Assureurs 2024 (premiums 174.9 bn€, benefits ≈146 bn€ of which
/// surrenders 75.7 bn€, outstanding 2,107 bn€ over 57 M contracts); regular premiums of
/// 50–300 € a month, one-off payments of 2–20 k€.
const VIE: ProductFigures = ProductFigures {
    produit: Produit::Vie,
    row_weight: 15,
    annual_premium_eur: 3_000.0,
    premium_sigma: 0.5,
    monthly_share: 0.65,
    claim_frequency: 0.002,
    claims: &single(12_000.0, 0.9),
    remboursement_rows: 0.001,
    remboursements: &single(150.0, 0.6),
    commission_rate: 0.0, // set from the reserves: see LIFE
    fees_rate: 0.0,       // set from the reserves: see LIFE
    ceded_rate: 0.015,
    recovery_rate: 0.0,
    franchise_share: 0.0,
    franchises: &single(1.0, 0.1),
    one_off_rows: 0.005,
    one_offs: &single(5_000.0, 0.7),
};

/// The life figures of the life product (`VIE`).
pub const LIFE: LifeFigures = LifeFigures {
    reserves_per_contract_eur: 37_000.0,
    surrender_rate_monthly: 0.0042,
    surrenders: &single(8_000.0, 1.0),
    benefits_rate: 0.85,
};

/// Life commission: 2 % of premiums plus 0.4 % a year of reserves.
pub const LIFE_COMMISSION: (f64, f64) = (0.02, 0.004);
/// Life management fees: 0.75 % a year of reserves.
pub const LIFE_FEES_ON_RESERVES: f64 = 0.0075;

/// The products, in [`Produit::ALL`] order.
pub const PRODUCTS: [ProductFigures; 4] = [AUTO, SANTE, HABITATION, VIE];

/// A country's price level per product against France (its weight among the rows is in
/// [`crate::tables::PAYS`]).
#[derive(Debug, Clone, Copy)]
pub struct CountryFigures {
    /// The country.
    pub pays: Pays,
    /// Annual premium per contract against France's, per product in [`Produit::ALL`] order:
    /// motor 255 € in Germany (GDV), 416 € in Italy (IVASS 2024), ≈362 € in Spain, 318 € in
    /// Belgium (Assuralia); home and health nearer the French level.
    pub price_level: [f64; 4],
}

/// Countries, in [`Pays::ALL`] order.
pub const COUNTRIES: [CountryFigures; 5] = [
    CountryFigures { pays: Pays::Fr, price_level: [1.0, 1.0, 1.0, 1.0] },
    CountryFigures { pays: Pays::Es, price_level: [0.75, 0.9, 0.65, 0.7] },
    CountryFigures { pays: Pays::It, price_level: [0.87, 1.0, 0.8, 0.8] },
    CountryFigures { pays: Pays::De, price_level: [0.53, 1.3, 1.0, 1.0] },
    CountryFigures { pays: Pays::Be, price_level: [0.66, 1.1, 0.9, 0.9] },
];

/// Where a country's claims differ from the product's: Spanish home insurance, about 2.5 %
/// of contracts claiming a month at 386 € a claim (UNESPA 2024).
#[derive(Debug, Clone, Copy)]
pub struct ClaimOverride {
    /// The country.
    pub pays: Pays,
    /// The product.
    pub produit: Produit,
    /// Claims per contract per month.
    pub claim_frequency: f64,
    /// Mean claim, euros (at the country's price).
    pub mean_claim_eur: f64,
}

/// The country-specific claims.
pub const CLAIM_OVERRIDES: [ClaimOverride; 1] = [ClaimOverride {
    pays: Pays::Es,
    produit: Produit::Habitation,
    claim_frequency: 0.025,
    mean_claim_eur: 386.0,
}];

/// The seasons, one factor per calendar month (January first), each averaging 1 over the
/// year so that a year's ratios are the model's; amplitudes keep every month inside its band.
#[derive(Debug, Clone, Copy)]
pub struct Seasons {
    /// Activity of every type (the August lull).
    pub volume: [f64; 12],
    /// Claims rows per product in [`Produit::ALL`] order: motor bodily injury in June and
    /// damage in November–December; health care in January–February, dipping in August;
    /// home storms and water damage from October to March.
    pub claims: [[f64; 12]; 4],
    /// Premium rows per product: life premiums peak in January and July, weakest in August.
    pub premiums: [[f64; 12]; 4],
    /// Yearly growth of activity (a gentle trend across a multi-year period).
    pub growth_per_year: f64,
}

/// The seasons of the books.
pub const SEASONS: Seasons = Seasons {
    volume: [1.03, 1.02, 1.03, 1.0, 1.0, 1.01, 0.98, 0.80, 1.03, 1.04, 1.03, 1.03],
    claims: [
        [0.99, 0.98, 0.98, 0.98, 1.0, 1.03, 1.01, 1.0, 0.98, 0.99, 1.03, 1.03], // auto
        [1.05, 1.04, 1.01, 1.0, 1.0, 0.99, 0.98, 0.95, 0.99, 1.0, 0.99, 1.0],   // santé
        [1.05, 1.05, 1.04, 0.96, 0.95, 0.95, 0.95, 0.95, 0.96, 1.04, 1.05, 1.05], // habitation
        [1.0; 12],                                                              // vie
    ],
    premiums: [
        [1.0; 12],
        [1.0; 12],
        [1.0; 12],
        [1.03, 1.0, 1.0, 1.0, 1.0, 1.0, 1.03, 0.96, 1.0, 1.0, 0.99, 0.99], // vie
    ],
    growth_per_year: 0.04,
};
