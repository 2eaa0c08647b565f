//! The anomaly labels beside a dataset: each file's size and CRC32C against the manifest, each
//! line's form, and, with statistics, how many labelled rows the detector flags. Streamed, so
//! memory stays bounded whatever the anomaly rate.

use std::io::Read;

use mouvements_schema::{Montant, MouvementId, Produit, TypeOp};
use mouvements_sink::{FileEntry, Receipt, crc32c_hex};

use crate::lines::{Lines, Next};
use crate::problems::{Problem, Problems};
use crate::stats::{Detector, LabelTally, pair};

/// The columns a labels file must start with.
const LEADING_COLUMNS: [&str; 4] = ["id_mouvement", "type_op", "produit", "montant"];

/// Checks one labels file's lines as they stream past; tallies them against `detector` when
/// given. Returns the tally and the labels read, for [`check_stored`].
pub fn check(
    reader: impl Read,
    file: &FileEntry,
    detector: Option<&Detector>,
    problems: &mut Problems,
) -> (LabelTally, u64) {
    let mut tally = LabelTally::default();
    let problem = |line: u64, value: String| Problem { shard: file.path.clone(), line, column: None, value };
    let mut lines = Lines::new(reader);
    let mut rows = 0u64;
    let mut number = 0u64;
    loop {
        number += 1;
        match lines.next() {
            Ok(Next::End) => break,
            Ok(Next::Line { .. }) => {}
            Ok(Next::TooLong) => {
                problems.add("labels.format", problem(number, "a line too long to be a label".into()));
                continue;
            }
            Err(e) => {
                problems.add("labels.read_error", problem(number, e.to_string()));
                return (tally, rows);
            }
        }
        let text = String::from_utf8_lossy(lines.line());
        let fields: Vec<&str> = text.split(',').collect();
        if number == 1 {
            if fields.get(..4) != Some(&LEADING_COLUMNS[..]) {
                problems.add("labels.header", problem(1, text.chars().take(80).collect()));
                return (tally, rows);
            }
            continue;
        }
        rows += 1;
        let parsed = (|| {
            let _id: MouvementId = fields.first()?.parse().ok()?;
            let type_op: TypeOp = fields.get(1)?.parse().ok()?;
            let produit: Produit = fields.get(2)?.parse().ok()?;
            let montant: Montant = fields.get(3)?.parse().ok()?;
            Some((type_op, produit, montant))
        })();
        let Some((type_op, produit, montant)) = parsed else {
            problems.add("labels.format", problem(number, text.chars().take(80).collect()));
            continue;
        };
        tally.labelled += 1;
        if detector.is_some_and(|d| d.flags(pair(type_op, produit), montant.cents().unsigned_abs())) {
            tally.flagged += 1;
        }
    }
    (tally, rows)
}

/// Checks what was read of a labels file against the manifest: size, CRC32C and row count.
pub fn check_stored(file: &FileEntry, receipt: Receipt, rows: u64, problems: &mut Problems) {
    let crc = crc32c_hex(receipt.crc32c);
    if receipt.bytes != file.bytes || crc != file.crc32c {
        problems.add_set(
            "labels.checksum",
            &file.path,
            format!(
                "{} bytes, CRC32C {crc}; the manifest says {} bytes, {}",
                receipt.bytes, file.bytes, file.crc32c
            ),
        );
    }
    if rows != file.rows {
        problems.add_set(
            "labels.rows",
            &file.path,
            format!("{rows} labels, the manifest says {}", file.rows),
        );
    }
}
