//! `AgenceId`: an agency, written `AG_` + 3 digits, which belongs to exactly one country.

use std::fmt;
use std::str::FromStr;

use crate::tables::AGENCES;
use crate::{ParseError, Pays};

/// The country of each agency number (the padding is never read: numbers are 1 to 50).
const PAYS_BY_NUMBER: [Pays; 64] = {
    let mut pays = [Pays::Fr; 64];
    let mut i = 0;
    while i < AGENCES.len() {
        pays[AGENCES[i].number as usize] = AGENCES[i].pays;
        i += 1;
    }
    pays
};

/// One of the 50 agencies of [`AGENCES`](crate::tables::AGENCES).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgenceId(u16);

impl AgenceId {
    /// Every agency, `AG_001` to `AG_050`.
    pub fn all() -> impl Iterator<Item = AgenceId> {
        AGENCES.iter().map(|a| AgenceId(a.number))
    }

    /// The agency with this number, if it exists.
    pub fn from_number(number: u16) -> Option<Self> {
        (1..=AGENCES.len() as u16).contains(&number).then_some(Self(number))
    }

    /// The number in `AG_nnn`.
    pub const fn number(self) -> u16 {
        self.0
    }

    /// Position in [`AGENCES`], usable as a table index.
    pub const fn index(self) -> usize {
        self.0 as usize - 1
    }

    /// The country this agency belongs to: a lookup the generator's hot loop makes per row,
    /// in a table padded so that it needs no bounds check.
    pub const fn pays(self) -> Pays {
        PAYS_BY_NUMBER[self.0 as usize % PAYS_BY_NUMBER.len()]
    }

    /// The label as fixed-width bytes, `AG_001`.
    pub const fn label_bytes(self) -> [u8; 6] {
        let n = self.0;
        [b'A', b'G', b'_', b'0' + (n / 100 % 10) as u8, b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
    }
}

impl fmt::Display for AgenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AG_{:03}", self.0)
    }
}

impl FromStr for AgenceId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let digits = s
            .strip_prefix("AG_")
            .filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ParseError::new("agence_id", s, "AG_ followed by 3 digits, e.g. AG_001"))?;
        let number: u16 = digits.parse().map_err(|_| ParseError::new("agence_id", s, "AG_001 to AG_050"))?;
        Self::from_number(number)
            .ok_or_else(|| ParseError::new("agence_id", s, "a known agency, AG_001 to AG_050"))
    }
}

serde_as_text!(AgenceId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_labels_round_trip_and_match_label_bytes() {
        for a in AgenceId::all() {
            let text = a.to_string();
            assert_eq!(text.as_bytes(), a.label_bytes());
            assert_eq!(text.parse::<AgenceId>(), Ok(a));
        }
    }

    #[test]
    fn malformed_and_unknown_agencies_are_refused() {
        for bad in ["AG_000", "AG_051", "AG_1", "AG_0010", "ag_001", "AG-001", "", "AG_00a"] {
            assert!(bad.parse::<AgenceId>().is_err(), "{bad}");
        }
    }
}
