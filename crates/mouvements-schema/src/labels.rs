//! The labelled enumerations: `Produit`, `TypeOp` and `Pays`. One macro gives each its exact
//! UTF-8 label, `Display`, `FromStr` (with an error listing the valid labels) and serde.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

macro_rules! labelled_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $column:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in table order (the order of the index `as usize`).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact label written in the CSV.
            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            /// Position in [`Self::ALL`], usable as a table index.
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($label => Ok($name::$variant),)+
                    _ => Err(ParseError::new(
                        $column,
                        s,
                        format!("one of {}", [$($label),+].join(", ")),
                    )),
                }
            }
        }

        serde_as_text!($name);
    };
}

labelled_enum! {
    /// The insurance product line a movement belongs to.
    Produit, "produit" {
        /// Motor insurance.
        Auto => "auto",
        /// Health insurance.
        Sante => "santé",
        /// Home insurance.
        Habitation => "habitation",
        /// Life insurance.
        Vie => "vie",
    }
}

labelled_enum! {
    /// The kind of financial operation (19 kinds).
    TypeOp, "type_op" {
        /// Premium received from a policyholder.
        Cotisation => "cotisation",
        /// Refund paid to a policyholder.
        Remboursement => "remboursement",
        /// Commission paid to a distributor.
        Commission => "commission",
        /// Share of commission passed on to a partner.
        Retrocession => "rétrocession",
        /// Adjustment, either way.
        Ajustement => "ajustement",
        /// Regularisation of an earlier entry, either way.
        Regularisation => "régularisation",
        /// Penalty charged.
        Penalite => "pénalité",
        /// Correction of an earlier entry, either way.
        Correction => "correction",
        /// Cancellation of a premium.
        Annulation => "annulation",
        /// Internal transfer, either way.
        Virement => "virement",
        /// Allocation to technical reserves.
        Provision => "provision",
        /// Premium ceded to a reinsurer.
        Reassurance => "réassurance",
        /// Management fees charged.
        FraisGestion => "frais_gestion",
        /// One-off extra premium.
        PrimeExceptionnelle => "prime_exceptionnelle",
        /// Bonus-malus adjustment on a motor premium, either way.
        BonusMalus => "bonus_malus",
        /// Claim paid.
        Indemnisation => "indemnisation",
        /// Deductible retained on a claim.
        Franchise => "franchise",
        /// Surrender of a life contract, paid out.
        Rachat => "rachat",
        /// Amount recovered from a liable third party.
        Recours => "recours",
    }
}

labelled_enum! {
    /// The country of an agency, as an ISO 3166-1 alpha-2 code.
    Pays, "pays" {
        /// France.
        Fr => "FR",
        /// Spain.
        Es => "ES",
        /// Italy.
        It => "IT",
        /// Germany.
        De => "DE",
        /// Belgium.
        Be => "BE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_round_trips() {
        for p in Produit::ALL {
            assert_eq!(p.label().parse::<Produit>(), Ok(*p));
        }
        for t in TypeOp::ALL {
            assert_eq!(t.label().parse::<TypeOp>(), Ok(*t));
        }
        for p in Pays::ALL {
            assert_eq!(p.label().parse::<Pays>(), Ok(*p));
        }
    }

    #[test]
    fn there_are_19_operation_types_4_products_and_5_countries() {
        assert_eq!(TypeOp::ALL.len(), 19);
        assert_eq!(Produit::ALL.len(), 4);
        assert_eq!(Pays::ALL.len(), 5);
    }

    #[test]
    fn unknown_label_error_names_value_and_valid_ones() {
        let err = "sante".parse::<Produit>().unwrap_err().to_string();
        assert!(err.contains("\"sante\""), "{err}");
        assert!(err.contains("auto, santé, habitation, vie"), "{err}");
    }

    #[test]
    fn labels_never_need_csv_quoting() {
        let all = Produit::ALL
            .iter()
            .map(|p| p.label())
            .chain(TypeOp::ALL.iter().map(|t| t.label()))
            .chain(Pays::ALL.iter().map(|p| p.label()));
        for label in all {
            assert!(!label.contains([',', '"', '\n', '\r']), "{label}");
        }
    }
}
