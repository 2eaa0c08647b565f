//! `Montant`: an amount in euros held as integer cents, written with exactly two decimals.
//! Text is produced from the integer, never through float formatting.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

/// Longest text a `Montant` can take: sign, 17 digits, point, 2 decimals.
pub const MONTANT_MAX_LEN: usize = 21;

/// An amount in euro cents; `Montant::from_cents(125_050)` is written `1250.50`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Montant(i64);

impl Montant {
    /// The amount of `cents` euro cents.
    pub const fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    /// The amount in cents.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Writes the text form (`-1250.50`) at the start of `buf`, which must hold at least
    /// [`MONTANT_MAX_LEN`] bytes, and returns the length written; bytes past it may be
    /// overwritten. Two digits at a time from a table: this is the generator's hot path, so
    /// amounts below 10^8 euros are written without a branch on their sign or length (their
    /// lengths vary at random from row to row, and every mispredicted branch costs).
    #[inline]
    pub fn write_to(self, buf: &mut [u8]) -> usize {
        let buf = &mut buf[..MONTANT_MAX_LEN];
        let abs = self.0.unsigned_abs();
        if abs < 10_000_000_000 {
            let (euros, cents) = ((abs / 100) as usize, (abs % 100) as usize);
            let pair = |n: usize| [DIGIT_PAIRS[n * 2], DIGIT_PAIRS[n * 2 + 1]];
            // `EEEEEEEE.CC` right-aligned in a fixed frame, copied from where its digits start.
            let mut frame = [0u8; 8 + FRAME];
            frame[..2].copy_from_slice(&pair(euros / 1_000_000));
            frame[2..4].copy_from_slice(&pair(euros / 10_000 % 100));
            frame[4..6].copy_from_slice(&pair(euros / 100 % 100));
            frame[6..8].copy_from_slice(&pair(euros % 100));
            frame[8] = b'.';
            frame[9..11].copy_from_slice(&pair(cents));
            let digits = short_digits(euros as u32);
            let sign = usize::from(self.0 < 0);
            buf[0] = b'-';
            buf[sign..sign + FRAME].copy_from_slice(&frame[8 - digits..][..FRAME]);
            return sign + digits + 3;
        }
        let mut pos = 0;
        if self.0 < 0 {
            buf[0] = b'-';
            pos = 1;
        }
        let abs = self.0.unsigned_abs();
        let (mut euros, cents) = (abs / 100, (abs % 100) as usize);
        let digits = euros.checked_ilog10().unwrap_or(0) as usize + 1;
        let mut end = pos + digits;
        while euros >= 100 {
            let pair = (euros % 100) as usize;
            euros /= 100;
            buf[end - 2..end].copy_from_slice(&DIGIT_PAIRS[pair * 2..pair * 2 + 2]);
            end -= 2;
        }
        if euros >= 10 {
            let pair = euros as usize;
            buf[end - 2..end].copy_from_slice(&DIGIT_PAIRS[pair * 2..pair * 2 + 2]);
        } else {
            buf[end - 1] = b'0' + euros as u8;
        }
        pos += digits;
        buf[pos] = b'.';
        buf[pos + 1..pos + 3].copy_from_slice(&DIGIT_PAIRS[cents * 2..cents * 2 + 2]);
        pos + 3
    }
}

/// Bytes copied from the frame of a short amount: `.CC` and up to 8 digits.
const FRAME: usize = 11;

/// Powers of ten from 10^0, padded so that any 4-bit index is in the table.
const POWERS_OF_TEN: [u32; 16] = {
    let mut powers = [u32::MAX; 16];
    let mut i = 0;
    while i < 10 {
        powers[i] = 10u32.pow(i as u32);
        i += 1;
    }
    powers
};

/// Decimal digits of `n` (1 for 0), from its bit length: `bits × 1233 / 4096` is `bits ×
/// log10(2)` rounded down, one too small at most, and one comparison fixes it. A few
/// instructions where `checked_ilog10` takes seventeen (counted with cachegrind).
#[inline]
fn short_digits(n: u32) -> usize {
    let n = n | 1; // the same digits, and one for 0
    let guess = ((32 - n.leading_zeros()) * 1233) >> 12;
    (guess + u32::from(n >= POWERS_OF_TEN[guess as usize & 15])) as usize
}

/// "00" to "99", concatenated.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

impl fmt::Display for Montant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; MONTANT_MAX_LEN];
        let len = self.write_to(&mut buf);
        // The encoder writes ASCII digits, '.' and '-' only.
        f.write_str(std::str::from_utf8(&buf[..len]).expect("montant text is ASCII"))
    }
}

impl FromStr for Montant {
    type Err = ParseError;

    /// Accepts exactly `-?D+.DD` with no superfluous leading zero and at most 15 integer digits.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || {
            ParseError::new(
                "montant",
                s,
                "euros with exactly 2 decimals and a '.' separator, e.g. 1250.50 or -12.00",
            )
        };
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (euros, cents) = body.split_once('.').ok_or_else(bad)?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(euros)
            || cents.len() != 2
            || !digits(cents)
            || euros.len() > 15
            || (euros.len() > 1 && euros.starts_with('0'))
        {
            return Err(bad());
        }
        let value =
            euros.parse::<i64>().map_err(|_| bad())? * 100 + cents.parse::<i64>().map_err(|_| bad())?;
        if negative && value == 0 {
            return Err(bad());
        }
        Ok(Self(if negative { -value } else { value }))
    }
}

serde_as_text!(Montant);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn montant_has_exactly_two_decimals() {
        assert_eq!(Montant::from_cents(125_050).to_string(), "1250.50");
        assert_eq!(Montant::from_cents(-5).to_string(), "-0.05");
        assert_eq!(Montant::from_cents(0).to_string(), "0.00");
        assert_eq!(Montant::from_cents(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn short_digits_counts_digits_at_every_power_of_ten() {
        for digits in 1..=9u32 {
            let power = 10u32.pow(digits);
            for n in [power / 10, power / 10 + 1, power - 1] {
                assert_eq!(short_digits(n), n.to_string().len(), "{n}");
            }
        }
        assert_eq!(short_digits(0), 1);
        assert_eq!(short_digits(u32::MAX), 10);
    }

    #[test]
    fn malformed_montants_are_refused() {
        for bad in
            ["1250.5", "1250", "1250,50", "+1.00", "01.00", "-0.00", "1.000", ".50", "1e3", "", "-", "12.5a"]
        {
            assert!(bad.parse::<Montant>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn montant_text_matches_integer_formatting(
            cents in prop_oneof![any::<i64>(), -20_000_000_000i64..20_000_000_000, -100_000i64..100_000]
        ) {
            let abs = cents.unsigned_abs();
            let sign = if cents < 0 { "-" } else { "" };
            prop_assert_eq!(Montant::from_cents(cents).to_string(), format!("{sign}{}.{:02}", abs / 100, abs % 100));
        }

        #[test]
        fn montant_text_round_trips(cents in -999_999_999_999_999i64..=999_999_999_999_999) {
            let m = Montant::from_cents(cents);
            prop_assert_eq!(m.to_string().parse::<Montant>(), Ok(m));
        }
    }
}
