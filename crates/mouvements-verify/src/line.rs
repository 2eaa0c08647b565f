//! The line parser: one CSV line of bytes to a typed row, or the first rule it breaks, with
//! the column and value at fault. Pure and total: no input makes it panic (fuzzed).

use chrono::NaiveDate;
use mouvements_schema::{AgenceId, Montant, Mouvement, MouvementId, Pays, Produit, TypeOp};

/// A rule a line breaks, with where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Rule id, e.g. `montant.format`.
    pub rule: &'static str,
    /// Column at fault, if one.
    pub column: Option<&'static str>,
    /// The offending text (cut to 60 characters).
    pub value: String,
}

impl LineError {
    fn new(rule: &'static str, column: Option<&'static str>, value: &[u8]) -> Self {
        let text = String::from_utf8_lossy(value);
        Self { rule, column, value: text.chars().take(60).collect() }
    }
}

/// Parses a label column against the valid labels of `T`.
fn label<T: Copy>(all: &[T], text: &[u8], name: fn(T) -> &'static str) -> Option<T> {
    all.iter().copied().find(|v| name(*v).as_bytes() == text)
}

fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// `M` + at least 7 digits, canonical.
fn parse_id(text: &[u8]) -> Option<MouvementId> {
    let rest = text.strip_prefix(b"M")?;
    if rest.len() < 7 || (rest.len() > 7 && rest[0] == b'0') {
        return None;
    }
    digits(rest).map(MouvementId)
}

/// `YYYY-MM-DD`.
pub fn parse_date(text: &[u8]) -> Option<NaiveDate> {
    if text.len() != 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&text[0..4])?, digits(&text[5..7])?, digits(&text[8..10])?);
    NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
}

/// `-?D+.DD`, no superfluous leading zero, no `-0.00`.
fn parse_montant(text: &[u8]) -> Option<Montant> {
    let (negative, body) = match text.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if body.len() < 4 || body.len() > 18 || body[body.len() - 3] != b'.' {
        return None;
    }
    let (euros, cents) = (&body[..body.len() - 3], &body[body.len() - 2..]);
    if euros.len() > 1 && euros[0] == b'0' {
        return None;
    }
    let value = (digits(euros)? * 100 + digits(cents)?) as i64;
    if negative && value == 0 {
        return None;
    }
    Some(Montant::from_cents(if negative { -value } else { value }))
}

/// The rules that tie a row's columns together: the type is allowed for the product, the
/// country is the agency's, the amount's sign is the type's.
pub fn check_row(row: &Mouvement) -> Result<(), LineError> {
    if !row.type_op.allowed_for(row.produit) {
        let value = format!("{} for {}", row.type_op, row.produit);
        return Err(LineError::new("type_op.produit", Some("type_op"), value.as_bytes()));
    }
    if row.agence_id.pays() != row.pays {
        let value = format!("{} for {}", row.pays, row.agence_id);
        return Err(LineError::new("pays.agence", Some("pays"), value.as_bytes()));
    }
    if !row.type_op.sign().admits(row.montant) {
        let value = format!("{} for {}", row.montant, row.type_op);
        return Err(LineError::new("montant.sign", Some("montant"), value.as_bytes()));
    }
    Ok(())
}

/// Parses one line (without its `\n`) into a row, checking every field and the rules that tie
/// columns together. `date_cache` holds the last date seen, since consecutive rows share it.
pub fn parse_line(
    line: &[u8],
    date_cache: &mut Option<([u8; 10], NaiveDate)>,
) -> Result<Mouvement, LineError> {
    if line.last() == Some(&b'\r') {
        return Err(LineError::new("line.crlf", None, b"\\r\\n"));
    }
    if std::str::from_utf8(line).is_err() {
        return Err(LineError::new("line.utf8", None, line));
    }
    let mut fields = line.split(|b| *b == b',');
    let mut next = || fields.next();
    let (Some(id), Some(date), Some(produit), Some(type_op), Some(montant), Some(agence), Some(pays), None) =
        (next(), next(), next(), next(), next(), next(), next(), next())
    else {
        let count = line.split(|b| *b == b',').count();
        return Err(LineError::new(
            "line.field_count",
            None,
            format!("{count} fields, expected 7").as_bytes(),
        ));
    };
    let id_mouvement = parse_id(id).ok_or_else(|| LineError::new("id.format", Some("id_mouvement"), id))?;
    let date_op = match date_cache {
        Some((bytes, parsed)) if bytes.as_slice() == date => *parsed,
        _ => {
            let parsed =
                parse_date(date).ok_or_else(|| LineError::new("date.format", Some("date_op"), date))?;
            *date_cache = date.try_into().ok().map(|bytes| (bytes, parsed));
            parsed
        }
    };
    let produit = label(Produit::ALL, produit, Produit::label)
        .ok_or_else(|| LineError::new("produit.domain", Some("produit"), produit))?;
    let type_op = label(TypeOp::ALL, type_op, TypeOp::label)
        .ok_or_else(|| LineError::new("type_op.domain", Some("type_op"), type_op))?;
    let montant_value =
        parse_montant(montant).ok_or_else(|| LineError::new("montant.format", Some("montant"), montant))?;
    let agence_id = std::str::from_utf8(agence)
        .ok()
        .and_then(|a| a.parse::<AgenceId>().ok())
        .ok_or_else(|| LineError::new("agence.format", Some("agence_id"), agence))?;
    let pays_value = label(Pays::ALL, pays, Pays::label)
        .ok_or_else(|| LineError::new("pays.domain", Some("pays"), pays))?;
    let row = Mouvement {
        id_mouvement,
        date_op,
        produit,
        type_op,
        montant: montant_value,
        agence_id,
        pays: pays_value,
    };
    check_row(&row)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(line: &str) -> Result<Mouvement, LineError> {
        parse_line(line.as_bytes(), &mut None)
    }

    #[test]
    fn a_good_line_parses() {
        let row = parse("M0000001,2025-06-02,santé,rétrocession,-1250.50,AG_023,ES").unwrap();
        assert_eq!(row.montant.cents(), -125_050);
    }

    #[test]
    fn each_broken_rule_is_named_with_its_column() {
        for (line, rule) in [
            ("M000001,2025-06-02,auto,cotisation,1.00,AG_001,FR", "id.format"),
            ("M0000001,2025-06-31,auto,cotisation,1.00,AG_001,FR", "date.format"),
            ("M0000001,2025-06-02,moto,cotisation,1.00,AG_001,FR", "produit.domain"),
            ("M0000001,2025-06-02,auto,vol,1.00,AG_001,FR", "type_op.domain"),
            ("M0000001,2025-06-02,auto,cotisation,1.0,AG_001,FR", "montant.format"),
            ("M0000001,2025-06-02,auto,cotisation,1.00,AG_999,FR", "agence.format"),
            ("M0000001,2025-06-02,auto,cotisation,1.00,AG_001,XX", "pays.domain"),
            ("M0000001,2025-06-02,auto,rachat,-1.00,AG_001,FR", "type_op.produit"),
            ("M0000001,2025-06-02,auto,cotisation,1.00,AG_023,FR", "pays.agence"),
            ("M0000001,2025-06-02,auto,cotisation,-1.00,AG_001,FR", "montant.sign"),
            ("M0000001,2025-06-02,auto,cotisation,1.00,AG_001", "line.field_count"),
            ("M0000001,2025-06-02,auto,cotisation,1.00,AG_001,FR,x", "line.field_count"),
            ("M0000001,2025-06-02,auto,cotisation,1.00,AG_001,FR\r", "line.crlf"),
        ] {
            assert_eq!(parse(line).unwrap_err().rule, rule, "{line}");
        }
        assert_eq!(parse_line(b"M0000001,\xff", &mut None).unwrap_err().rule, "line.utf8");
    }

    proptest! {
        #[test]
        fn no_bytes_make_the_parser_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_line(&bytes, &mut None);
        }

        #[test]
        fn near_valid_lines_never_panic(line in "M[0-9]{7},20[0-9]{2}-[0-1][0-9]-[0-3][0-9],(auto|santé|vie),[a-zé_]{3,12},-?[0-9]{1,6}\\.[0-9]{1,3},AG_[0-9]{3},[A-Z]{2}") {
            let _ = parse(&line);
        }
    }
}
