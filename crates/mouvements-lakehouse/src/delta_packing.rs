//! Parquet's delta encodings, as a page's body: DELTA_BINARY_PACKED for integers (each value
//! as its difference from the one before, bit-packed by blocks of 128) and DELTA_BYTE_ARRAY
//! for strings (each as the length of the prefix it shares with the string before, and the
//! rest). Amounts take as few bytes this way as PLAIN pages after zstd, with no compression
//! at all; sorted ids, fewer even before zstd.

/// Values of a block, and of each of its miniblocks.
const BLOCK_VALUES: usize = 128;
const MINIBLOCKS: usize = 4;
const MINIBLOCK_VALUES: usize = BLOCK_VALUES / MINIBLOCKS;

/// Values gathered for a page and written as its body.
pub trait PagePacker: Default {
    /// Values added since the page began.
    fn len(&self) -> usize;

    /// Appends the page's body to `out` and starts again empty.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// Integers encoded as DELTA_BINARY_PACKED as they come, a block of 128 at a time: per
/// block its smallest delta, the bit width of each miniblock of 32, and the miniblocks' deltas
/// above the smallest, bit-packed; [`finish`](Self::finish) puts the header (block size,
/// miniblocks per block, value count, first value) before them. The last miniblock is padded
/// with zeros to its full size; miniblocks past the last value have width 0 and no bytes.
pub struct DeltaPacker {
    count: usize,
    first: i64,
    last: i64,
    /// Deltas of the block being gathered, how many, and the smallest (`i64::MAX` when none).
    deltas: [i64; BLOCK_VALUES],
    in_block: usize,
    min_delta: i64,
    /// The blocks encoded so far.
    blocks: Vec<u8>,
}

impl Default for DeltaPacker {
    fn default() -> Self {
        Self {
            count: 0,
            first: 0,
            last: 0,
            deltas: [0; BLOCK_VALUES],
            in_block: 0,
            min_delta: i64::MAX,
            blocks: Vec::new(),
        }
    }
}

impl DeltaPacker {
    /// Adds the next value.
    #[inline]
    pub fn push(&mut self, value: i64) {
        if self.count == 0 {
            self.first = value;
        } else {
            let delta = value.wrapping_sub(self.last);
            self.deltas[self.in_block] = delta;
            self.min_delta = self.min_delta.min(delta);
            self.in_block += 1;
            if self.in_block == BLOCK_VALUES {
                self.write_block();
            }
        }
        self.last = value;
        self.count += 1;
    }

    fn write_block(&mut self) {
        let (deltas, min) = (&self.deltas[..self.in_block], self.min_delta);
        write_uleb128(&mut self.blocks, zigzag(min));
        let widths_at = self.blocks.len();
        self.blocks.extend_from_slice(&[0; MINIBLOCKS]);
        for (i, miniblock) in deltas.chunks(MINIBLOCK_VALUES).enumerate() {
            let (mut above, mut all) = ([0u64; MINIBLOCK_VALUES], 0);
            for (slot, delta) in above.iter_mut().zip(miniblock) {
                *slot = delta.wrapping_sub(min) as u64;
                all |= *slot;
            }
            let width = 64 - all.leading_zeros();
            self.blocks[widths_at + i] = width as u8;
            pack(&above, width, &mut self.blocks);
        }
        self.in_block = 0;
        self.min_delta = i64::MAX;
    }
}

impl PagePacker for DeltaPacker {
    fn len(&self) -> usize {
        self.count
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.in_block > 0 {
            self.write_block();
        }
        write_uleb128(out, BLOCK_VALUES as u64);
        write_uleb128(out, MINIBLOCKS as u64);
        write_uleb128(out, self.count as u64);
        write_uleb128(out, zigzag(self.first));
        out.extend_from_slice(&self.blocks);
        self.blocks.clear();
        self.count = 0;
    }
}

/// Appends the 32 values of a miniblock in `width` bits each (values below 2^width), the
/// first in the lowest bits: `4 * width` bytes, gathered in a 64-bit word stored whole as it
/// fills.
fn pack(values: &[u64; MINIBLOCK_VALUES], width: u32, out: &mut Vec<u8>) {
    if width == 0 {
        return;
    }
    let bytes = MINIBLOCK_VALUES * width as usize / 8;
    let start = out.len();
    // Room for a whole last word: the bytes past the miniblock are cut below.
    out.resize(start + bytes + 8, 0);
    let (mut word, mut filled, mut at) = (0u64, 0, start);
    for value in values {
        word |= value << filled;
        filled += width;
        if filled >= 64 {
            out[at..at + 8].copy_from_slice(&word.to_le_bytes());
            at += 8;
            filled -= 64;
            // The bits of `value` that did not fit.
            word = if filled == 0 { 0 } else { value >> (width - filled) };
        }
    }
    out[at..at + 8].copy_from_slice(&word.to_le_bytes());
    out.truncate(start + bytes);
}

/// Bytes of the longest string a [`PrefixPacker`] takes (an id takes at most 20).
pub const MAX_STRING_BYTES: usize = 24;

/// A string of at most [`MAX_STRING_BYTES`] bytes, at the start of a fixed-size array (what
/// follows it is ignored): it is copied and compared in registers, with no call.
pub type Padded = [u8; MAX_STRING_BYTES];

/// Strings encoded as DELTA_BYTE_ARRAY as they come: the lengths of the prefixes they share
/// with the string before, then the rest of each as DELTA_LENGTH_BYTE_ARRAY (the rest's
/// lengths, then their bytes one after the other).
pub struct PrefixPacker {
    prefixes: DeltaPacker,
    suffix_lengths: DeltaPacker,
    suffixes: Vec<u8>,
    previous: Padded,
    previous_len: usize,
}

impl Default for PrefixPacker {
    fn default() -> Self {
        Self {
            prefixes: DeltaPacker::default(),
            suffix_lengths: DeltaPacker::default(),
            suffixes: Vec::new(),
            previous: [0; MAX_STRING_BYTES],
            previous_len: 0,
        }
    }
}

impl PrefixPacker {
    /// Adds the next string, the first `len` bytes of `value`.
    #[inline]
    pub fn push(&mut self, value: &Padded, len: usize) {
        let prefix = common_prefix(&self.previous, value).min(len).min(self.previous_len);
        self.prefixes.push(prefix as i64);
        self.suffix_lengths.push((len - prefix) as i64);
        if len <= 16 {
            // The suffix shifted down in a register, stored as 16 bytes, cut to its length.
            let word = u128::from_le_bytes(value[..16].try_into().expect("16 bytes"));
            let end = self.suffixes.len() + len - prefix;
            let suffix = word.checked_shr(8 * prefix as u32).unwrap_or(0);
            self.suffixes.extend_from_slice(&suffix.to_le_bytes());
            self.suffixes.truncate(end);
        } else {
            self.suffixes.extend_from_slice(&value[prefix..len]);
        }
        self.previous = *value;
        self.previous_len = len;
    }

    /// Bytes the suffixes take so far.
    pub fn suffix_bytes(&self) -> usize {
        self.suffixes.len()
    }
}

impl PagePacker for PrefixPacker {
    /// Strings added since the page began.
    fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Appends the encoded strings to `out` and starts again empty (the next string shares
    /// no prefix: readers start each page afresh).
    fn finish(&mut self, out: &mut Vec<u8>) {
        self.prefixes.finish(out);
        self.suffix_lengths.finish(out);
        out.extend_from_slice(&self.suffixes);
        self.suffixes.clear();
        self.previous_len = 0;
    }
}

/// Bytes two padded strings share at their start (past their lengths too), compared 16 and
/// then 8 at a time.
fn common_prefix(a: &Padded, b: &Padded) -> usize {
    let head = |s: &Padded| u128::from_le_bytes(s[..16].try_into().expect("16 bytes"));
    let tail = |s: &Padded| u64::from_le_bytes(s[16..].try_into().expect("8 bytes"));
    let differ = head(a) ^ head(b);
    if differ != 0 {
        return differ.trailing_zeros() as usize / 8;
    }
    16 + ((tail(a) ^ tail(b)).trailing_zeros() as usize / 8).min(8)
}

/// `value` zigzag-mapped to an unsigned number: 0, -1, 1, -2… to 0, 1, 2, 3…
fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Appends `value` as an unsigned LEB128 varint.
pub fn write_uleb128(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use parquet::basic::{Encoding, Type as PhysicalType};
    use parquet::column::page::{Page, PageMetadata, PageReader};
    use parquet::column::reader::{get_column_reader, get_typed_column_reader};
    use parquet::data_type::{ByteArrayType, DataType, Int64Type};
    use parquet::schema::types::{ColumnDescriptor, ColumnPath, Type};
    use proptest::prelude::*;

    use super::*;

    /// The pages of one column chunk, handed to the parquet crate's column reader.
    struct Pages(Vec<Page>);

    impl Iterator for Pages {
        type Item = parquet::errors::Result<Page>;
        fn next(&mut self) -> Option<Self::Item> {
            (!self.0.is_empty()).then(|| Ok(self.0.remove(0)))
        }
    }

    impl PageReader for Pages {
        fn get_next_page(&mut self) -> parquet::errors::Result<Option<Page>> {
            self.next().transpose()
        }
        fn peek_next_page(&mut self) -> parquet::errors::Result<Option<PageMetadata>> {
            let meta = |p: &Page| PageMetadata {
                num_rows: None,
                num_levels: Some(p.num_values() as usize),
                is_dict: false,
            };
            Ok(self.0.first().map(meta))
        }
        fn skip_next_page(&mut self) -> parquet::errors::Result<()> {
            self.0.remove(0);
            Ok(())
        }
    }

    /// The `count` values of a data page of `encoding`, read by the parquet crate.
    fn read_page<T: DataType>(
        physical: PhysicalType,
        encoding: Encoding,
        body: Vec<u8>,
        count: usize,
    ) -> Vec<T::T> {
        let field = Type::primitive_type_builder("c", physical).build().unwrap();
        let column = Arc::new(ColumnDescriptor::new(Arc::new(field), 0, 0, ColumnPath::from("c")));
        let page = Page::DataPage {
            buf: Bytes::from(body),
            num_values: count as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let mut reader = get_typed_column_reader::<T>(get_column_reader(column, Box::new(Pages(vec![page]))));
        let mut values = Vec::new();
        let (records, _, _) = reader.read_records(count + 1, None, None, &mut values).unwrap();
        assert_eq!(records, count);
        values
    }

    /// `s` at the start of a padded array, followed by garbage.
    fn padded(s: &[u8]) -> Padded {
        let mut padded = [b'x'; MAX_STRING_BYTES];
        padded[..s.len()].copy_from_slice(s);
        padded
    }

    /// `values` encoded.
    fn packed(values: &[i64]) -> Vec<u8> {
        let mut packer = DeltaPacker::default();
        for value in values {
            packer.push(*value);
        }
        let mut page = Vec::new();
        packer.finish(&mut page);
        page
    }

    /// `values` encoded, then decoded by the parquet crate.
    fn round_trip_integers(values: &[i64]) -> Vec<i64> {
        let page = packed(values);
        read_page::<Int64Type>(PhysicalType::INT64, Encoding::DELTA_BINARY_PACKED, page, values.len())
    }

    /// `strings` encoded as one page, then decoded by the parquet crate.
    fn round_trip_strings(strings: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut page = PrefixPacker::default();
        for s in strings {
            page.push(&padded(s), s.len());
        }
        let mut body = Vec::new();
        page.finish(&mut body);
        read_page::<ByteArrayType>(PhysicalType::BYTE_ARRAY, Encoding::DELTA_BYTE_ARRAY, body, strings.len())
            .iter()
            .map(|b| b.data().to_vec())
            .collect()
    }

    proptest! {
        #[test]
        fn integers_decode_to_themselves(values in proptest::collection::vec(any::<i64>(), 1..700)) {
            prop_assert_eq!(round_trip_integers(&values), values);
        }

        #[test]
        fn amounts_decode_to_themselves(values in proptest::collection::vec(-10_000_000i64..10_000_000, 1..700)) {
            prop_assert_eq!(round_trip_integers(&values), values);
        }

        #[test]
        fn strings_decode_to_themselves(strings in proptest::collection::vec("[M0-9]{0,24}", 1..300)) {
            let strings: Vec<Vec<u8>> = strings.into_iter().map(String::into_bytes).collect();
            prop_assert_eq!(round_trip_strings(&strings), strings);
        }

        #[test]
        fn the_common_prefix_is_the_shared_start(a in "[ab]{0,24}", b in "[ab]{0,24}") {
            let naive = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            let shared = common_prefix(&padded(a.as_bytes()), &padded(b.as_bytes()));
            prop_assert_eq!(shared.min(a.len()).min(b.len()), naive);
        }
    }

    #[test]
    fn sorted_ids_share_their_prefix() {
        let ids: Vec<Vec<u8>> = ["M8000005", "M8000008", "M8000021", "M9999999", "M10000000"]
            .map(|s| s.as_bytes().to_vec())
            .to_vec();
        let mut page = PrefixPacker::default();
        for id in &ids {
            page.push(&padded(id), id.len());
        }
        assert_eq!(page.suffixes, b"M8000005821999999910000000");
        let mut prefixes = DeltaPacker::default();
        for prefix in [0, 7, 6, 1, 1] {
            prefixes.push(prefix);
        }
        let mut body = Vec::new();
        prefixes.finish(&mut body);
        let mut encoded = Vec::new();
        page.finish(&mut encoded);
        assert!(encoded.starts_with(&body), "the prefix lengths come first");
        assert_eq!(round_trip_strings(&ids), ids);
    }

    #[test]
    fn constant_steps_take_no_bits() {
        let page = packed(&(0..200).map(|i| 5 + 3 * i).collect::<Vec<i64>>());
        // Header (128, 4, 200, zigzag 5), then two blocks: min delta 3, four widths of 0.
        assert_eq!(page, [0x80, 0x01, 4, 0xc8, 0x01, 10, 6, 0, 0, 0, 0, 6, 0, 0, 0, 0]);
    }
}
