//! The vocabulary of mouvements, schema v1: what one synthetic insurance financial movement
//! is, the values each column may take, and the business tables (weights, signs, agencies,
//! amount distributions) the generator draws from and the verifier checks against.
//!
//! Every value round-trips through its text form:
//!
//! ```
//! use mouvements_schema::{Montant, Produit, TypeOp};
//!
//! assert_eq!("santé".parse::<Produit>().unwrap(), Produit::Sante);
//! assert_eq!(TypeOp::Retrocession.to_string(), "rétrocession");
//! assert_eq!("-1250.50".parse::<Montant>().unwrap().cents(), -125_050);
//! assert!("vol".parse::<TypeOp>().unwrap_err().to_string().contains("cotisation"));
//! ```

/// Serde support through the text form: serialised with `Display`, read back with `FromStr`,
/// so JSON and CSV hold exactly what the CSV encoder writes.
macro_rules! serde_as_text {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod agence;
pub mod calibration;
mod config;
pub mod detmath;
mod error;
mod labels;
mod montant;
mod mouvement;
pub mod tables;

pub use agence::AgenceId;
pub use config::{
    ConfigError, GeneratorConfig, LATE_DAYS, MAX_CHANGE_RATE, MAX_PERIOD_DAYS, MAX_ROWS, Period, YEARS,
};
pub use error::ParseError;
pub use labels::{Pays, Produit, TypeOp};
pub use montant::{MONTANT_MAX_LEN, Montant};
pub use mouvement::{COLUMNS, CSV_HEADER, MAX_CSV_ROW_BYTES, Mouvement, MouvementId};

/// Version of the data contract (the columns and their rules); recorded in every manifest and
/// part of the determinism key.
pub const SCHEMA_VERSION: u32 = 1;

/// Version of the data itself (the business tables and how rows are drawn from them): it
/// changes when the same config starts giving other rows. Recorded in every manifest and
/// part of the determinism key.
pub const DATA_VERSION: u32 = 2;
