//! The CSV encoder: rows straight to bytes. Labels, dates and agency columns are precomputed
//! byte strings, the id is an ASCII counter incremented in place, the amount is written from
//! integer cents: no allocation and no formatting machinery per row.

use std::io::{self, Write};

use mouvements_schema::{MONTANT_MAX_LEN, Montant, Produit, TypeOp};

use crate::Generator;
use crate::stream::{Cursor, Draw};

/// Bytes handed to the writer at a time: big enough that a write costs little per row, small
/// enough to stay in a core's L2 cache while it is filled (measured with `cargo xtask bench`).
pub const CHUNK_BYTES: usize = 128 * 1024;

/// Longest row: a 20-digit id, the longest labels, the longest amount.
const ROW_MAX_BYTES: usize = 1 + 20 + 11 + 40 + MONTANT_MAX_LEN + 11;

/// The id column as ASCII digits, incremented in place.
struct IdCounter {
    /// `M` and the digits, right-aligned; the text is `buf[start..]`.
    buf: [u8; 22],
    start: usize,
}

impl IdCounter {
    fn new(id: u64) -> Self {
        let text = mouvements_schema::MouvementId(id).to_string();
        let mut buf = [b'0'; 22];
        let start = buf.len() - text.len();
        buf[start..].copy_from_slice(text.as_bytes());
        Self { buf, start }
    }

    #[inline]
    fn text(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    #[inline]
    fn increment(&mut self) {
        let mut i = self.buf.len() - 1;
        loop {
            if self.buf[i] == b'9' {
                self.buf[i] = b'0';
                i -= 1;
                if i == self.start {
                    // Every digit was 9: grow by one digit, `M` moves left.
                    self.buf[i] = b'1';
                    self.start -= 1;
                    self.buf[self.start] = b'M';
                    return;
                }
            } else {
                self.buf[i] += 1;
                return;
            }
        }
    }
}

/// `,produit,type_op,` for every pair, then `,AG_nnn,PP\n` for every agency.
pub struct Labels {
    middle: Vec<Vec<u8>>,
    tail: Vec<[u8; 11]>,
}

impl Labels {
    /// Precomputes the label byte strings.
    pub fn new() -> Self {
        let middle = Produit::ALL
            .iter()
            .flat_map(|p| TypeOp::ALL.iter().map(move |t| format!(",{p},{t},").into_bytes()))
            .collect();
        let tail = mouvements_schema::AgenceId::all()
            .map(|a| {
                let mut t = [0u8; 11];
                t[0] = b',';
                t[1..7].copy_from_slice(&a.label_bytes());
                t[7] = b',';
                t[8..10].copy_from_slice(a.pays().label().as_bytes());
                t[10] = b'\n';
                t
            })
            .collect();
        Self { middle, tail }
    }

    #[inline]
    fn middle(&self, produit: Produit, type_op: TypeOp) -> &[u8] {
        &self.middle[produit.index() * TypeOp::ALL.len() + type_op.index()]
    }
}

/// Appends one row's CSV line to `out`.
#[inline]
fn encode_row(generator: &Generator, id: &IdCounter, draw: &Draw, out: &mut Vec<u8>) {
    let labels = &generator.labels;
    let mut montant = [0u8; MONTANT_MAX_LEN];
    out.extend_from_slice(id.text());
    out.extend_from_slice(&generator.calendar.day(draw.day).text);
    out.extend_from_slice(labels.middle(draw.produit, draw.type_op));
    out.extend_from_slice(Montant::from_cents(draw.cents).encode(&mut montant));
    out.extend_from_slice(&labels.tail[draw.agence.index()]);
}

/// Writes rows `start..end` as CSV lines (no header) to `out`, in chunks of [`CHUNK_BYTES`].
pub fn write_rows<W: Write>(generator: &Generator, start: u64, end: u64, mut out: W) -> io::Result<()> {
    let mut cursor = Cursor::new(generator, start, end);
    let mut id = IdCounter::new(generator.config.first_id() + start);
    let mut buf = Vec::with_capacity(CHUNK_BYTES + ROW_MAX_BYTES);
    while let Some(draw) = cursor.next_draw() {
        encode_row(generator, &id, &draw, &mut buf);
        id.increment();
        if buf.len() >= CHUNK_BYTES {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_counter_counts_like_the_formatter() {
        for start in [0, 1, 9_999_990, 99_999_990, 123_456] {
            let mut id = IdCounter::new(start);
            for n in start..start + 20 {
                assert_eq!(id.text(), mouvements_schema::MouvementId(n).to_string().as_bytes());
                id.increment();
            }
        }
    }
}
