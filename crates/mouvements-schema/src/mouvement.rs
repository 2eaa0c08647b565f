//! `Mouvement`, one row of the dataset, its id, and the CSV header.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::{AgenceId, Montant, ParseError, Pays, Produit, TypeOp};

/// The seven columns, in file order.
pub const COLUMNS: [&str; 7] =
    ["id_mouvement", "date_op", "produit", "type_op", "montant", "agence_id", "pays"];

/// The header line of every shard, with its LF.
pub const CSV_HEADER: &str = "id_mouvement,date_op,produit,type_op,montant,agence_id,pays\n";

/// Minimum number of digits after the `M` of an id.
pub const ID_MIN_DIGITS: usize = 7;

/// The longest CSV line a row can take, `\n` included: the largest id, date, product, type,
/// amount, agency and country, with their commas. Upload parts are sized from it.
pub const MAX_CSV_ROW_BYTES: u64 = 96;

/// A movement id, written `M` + the number zero-padded to at least 7 digits (`M0000001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MouvementId(pub u64);

impl MouvementId {
    /// The largest id: 19 digits, what the id column holds (`M9999999999999999999`).
    pub const MAX: MouvementId = MouvementId(9_999_999_999_999_999_999);
}

impl fmt::Display for MouvementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "M{:0width$}", self.0, width = ID_MIN_DIGITS)
    }
}

impl FromStr for MouvementId {
    type Err = ParseError;

    /// Accepts only the canonical form: `M`, at least 7 digits, no padding beyond 7.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || {
            ParseError::new(
                "id_mouvement",
                s,
                "M followed by the row number zero-padded to 7 digits, e.g. M0000001",
            )
        };
        let digits = s.strip_prefix('M').ok_or_else(bad)?;
        if digits.len() < ID_MIN_DIGITS || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if digits.len() > ID_MIN_DIGITS && digits.starts_with('0') {
            return Err(bad());
        }
        digits.parse().map(MouvementId).map_err(|_| bad())
    }
}

serde_as_text!(MouvementId);

/// One financial movement: a row of the dataset. Field names are the CSV column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mouvement {
    /// Unique, contiguous, ascending id.
    pub id_mouvement: MouvementId,
    /// Day of the operation, inside the dataset's period.
    pub date_op: NaiveDate,
    /// Product line.
    pub produit: Produit,
    /// Operation type, allowed for the product.
    pub type_op: TypeOp,
    /// Signed amount, sign given by the type.
    pub montant: Montant,
    /// Agency that booked it.
    pub agence_id: AgenceId,
    /// Country of the agency.
    pub pays: Pays,
}

impl Mouvement {
    /// Checks the rules that tie columns together: the type is allowed for the product, the
    /// country is the agency's, the amount's sign is the type's. Returns the rule broken.
    pub fn check_consistency(&self) -> Result<(), &'static str> {
        if !self.type_op.allowed_for(self.produit) {
            return Err("type_op not allowed for produit");
        }
        if self.agence_id.pays() != self.pays {
            return Err("pays is not the agency's country");
        }
        if !self.type_op.sign().admits(self.montant) {
            return Err("montant sign does not match type_op");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_padded_to_seven_digits_and_grow_past_them() {
        assert_eq!(MouvementId(1).to_string(), "M0000001");
        assert_eq!(MouvementId(12_345_678).to_string(), "M12345678");
        assert_eq!("M0000001".parse(), Ok(MouvementId(1)));
        assert_eq!("M12345678".parse(), Ok(MouvementId(12_345_678)));
    }

    #[test]
    fn non_canonical_ids_are_refused() {
        for bad in ["M000001", "M00000001", "0000001", "m0000001", "M000000a", "M", ""] {
            assert!(bad.parse::<MouvementId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_longest_row_fits_the_bound() {
        let longest = |labels: &mut dyn Iterator<Item = &'static str>| labels.map(str::len).max().unwrap();
        let produit = longest(&mut Produit::ALL.iter().map(|p| p.label()));
        let type_op = longest(&mut TypeOp::ALL.iter().map(|t| t.label()));
        let id = MouvementId::MAX.to_string().len();
        let montant = crate::MONTANT_MAX_LEN;
        // id, date, produit, type_op, montant, agence, pays: seven fields, six commas, a newline.
        let row = id + 10 + produit + type_op + montant + 6 + 2 + 6 + 1;
        assert_eq!(row as u64, MAX_CSV_ROW_BYTES);
    }

    #[test]
    fn header_lists_the_columns() {
        assert_eq!(CSV_HEADER.trim_end(), COLUMNS.join(","));
    }

    #[test]
    fn a_row_reads_back_from_csv() {
        let text = format!("{CSV_HEADER}M0000001,2025-06-02,santé,rétrocession,-1250.50,AG_023,ES\n");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let row: Mouvement = reader.deserialize().next().unwrap().unwrap();
        assert_eq!(row.produit, Produit::Sante);
        assert_eq!(row.type_op, TypeOp::Retrocession);
        assert_eq!(row.montant, Montant::from_cents(-125_050));
        assert_eq!(row.check_consistency(), Ok(()));
    }
}
