//! The column chunks of a row group, encoded for this schema's five columns: values go
//! straight into delta-encoded pages or dictionary indices, with no Arrow arrays in between,
//! and each page that zstd shrinks is compressed with one zstd context per writer. The
//! parquet crate frames the pages (their headers), splices the chunks into the file and
//! writes its footer.

use std::collections::HashMap;
use std::io::{self, Write};

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, PageType, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{ColumnChunkMetaData, PageEncodingStats};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use zstd::stream::raw::CParameter;
use zstd::zstd_safe::ParamSwitch;

use crate::delta_packing::{DeltaPacker, Padded, PagePacker, PrefixPacker, write_uleb128};

/// zstd's level: a fast negative level (its match finder skips ahead), with the literals still
/// Huffman-coded. What zstd gains on these pages is the entropy of the id's digits and of the
/// type indices, not repeats: 0.4 % more bytes than level 1 for 8 % fewer instructions in the
/// encoding (level 1 gave the same size as 3).
const ZSTD_LEVEL: i32 = -20;

/// Values of a data page at most, as arrow-rs's default.
const PAGE_ROWS: usize = 20_000;

/// Bytes of a data page's string suffixes at most (before compression).
const DATA_PAGE_BYTES: usize = 64 << 10;

/// Bit-packed groups of 8 values in one run at most, so a run's header is one byte.
const MAX_PACKED_GROUPS: usize = 63;

/// Repeats of one value from which a run is written as one value and a count.
const MIN_REPEATED_RUN: usize = 8;

/// A dictionary slot no key uses: a date is at least year 1, far above `i32::MIN` days.
const EMPTY_KEY: i32 = i32::MIN;

fn parquet_error(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e)
}

/// Compresses pages with zstd, reusing one context for every page of a writer.
pub struct Zstd(zstd::bulk::Compressor<'static>);

impl Zstd {
    /// A compressor at the data files' level, Huffman-coding literals (a negative level
    /// alone stores them as they are).
    pub fn new() -> io::Result<Self> {
        let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
        compressor.set_parameter(CParameter::LiteralCompressionMode(ParamSwitch::Enable))?;
        Ok(Self(compressor))
    }

    /// The codec the column metadata names (a file names no level: readers need none).
    fn codec() -> Compression {
        Compression::ZSTD(ZstdLevel::default())
    }
}

/// One column chunk's pages, framed and compressed, until its row group is written.
struct Chunk {
    out: TrackedWrite<Vec<u8>>,
    /// Bytes of the pages' headers and uncompressed bodies.
    uncompressed: i64,
    has_dictionary: bool,
    data_pages: i32,
    data_encoding: Encoding,
    /// Whether pages are compressed with zstd (or stored as they are).
    compressed: bool,
    /// Offset in the chunk of its first data page.
    first_data_page: Option<i64>,
}

impl Chunk {
    /// An empty chunk whose data pages are in `data_encoding`, compressed or not.
    fn new(data_encoding: Encoding, compressed: bool) -> Self {
        Self {
            out: TrackedWrite::new(Vec::new()),
            uncompressed: 0,
            has_dictionary: false,
            data_pages: 0,
            data_encoding,
            compressed,
            first_data_page: None,
        }
    }

    /// Appends `body` (compressed if the chunk is) as a data page of `values` values, or as
    /// the dictionary page of `values` entries.
    fn page(&mut self, zstd: &mut Zstd, body: &[u8], values: u32, dictionary: bool) -> io::Result<()> {
        let buf =
            if self.compressed { Bytes::from(zstd.0.compress(body)?) } else { Bytes::copy_from_slice(body) };
        let page = if dictionary {
            Page::DictionaryPage { buf, num_values: values, encoding: Encoding::PLAIN, is_sorted: false }
        } else {
            Page::DataPage {
                buf,
                num_values: values,
                encoding: self.data_encoding,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            }
        };
        let spec = SerializedPageWriter::new(&mut self.out)
            .write_page(CompressedPage::new(page, body.len()))
            .map_err(parquet_error)?;
        self.uncompressed += spec.uncompressed_size as i64;
        if dictionary {
            self.has_dictionary = true;
        } else {
            self.data_pages += 1;
            self.first_data_page.get_or_insert(spec.offset as i64);
        }
        Ok(())
    }

    /// This chunk, leaving an empty one of the same encoding and compression in its place.
    fn take(&mut self) -> Chunk {
        let empty = Chunk::new(self.data_encoding, self.compressed);
        std::mem::replace(self, empty)
    }

    /// Appends the data pages of `other`, a chunk of data pages only, after this one's.
    fn append(&mut self, other: Chunk) -> io::Result<()> {
        debug_assert!(!other.has_dictionary);
        if other.data_pages > 0 {
            self.first_data_page.get_or_insert(self.out.bytes_written() as i64);
        }
        self.out.write_all(&other.out.into_inner().map_err(parquet_error)?)?;
        self.uncompressed += other.uncompressed;
        self.data_pages += other.data_pages;
        Ok(())
    }

    /// The chunk's bytes and what the file writer needs to splice them in.
    fn close(
        self,
        column: ColumnDescPtr,
        rows: u64,
        statistics: Statistics,
    ) -> io::Result<(Bytes, ColumnCloseResult)> {
        let Self {
            out,
            uncompressed,
            has_dictionary,
            data_pages,
            data_encoding,
            compressed,
            first_data_page,
        } = self;
        let bytes = Bytes::from(out.into_inner().map_err(parquet_error)?);
        // The levels' encoding is named though a required column has none, as arrow-rs does.
        let encodings = if has_dictionary {
            vec![Encoding::PLAIN, Encoding::RLE, data_encoding]
        } else {
            vec![data_encoding, Encoding::RLE]
        };
        let mut page_stats = Vec::new();
        if has_dictionary {
            page_stats.push(PageEncodingStats {
                page_type: PageType::DICTIONARY_PAGE,
                encoding: Encoding::PLAIN,
                count: 1,
            });
        }
        page_stats.push(PageEncodingStats {
            page_type: PageType::DATA_PAGE,
            encoding: data_encoding,
            count: data_pages,
        });
        let metadata = ColumnChunkMetaData::builder(column)
            .set_encodings(encodings)
            .set_compression(if compressed { Zstd::codec() } else { Compression::UNCOMPRESSED })
            .set_num_values(rows as i64)
            .set_total_compressed_size(bytes.len() as i64)
            .set_total_uncompressed_size(uncompressed)
            .set_data_page_offset(first_data_page.unwrap_or(0))
            .set_dictionary_page_offset(has_dictionary.then_some(0))
            .set_statistics(statistics)
            .set_page_encoding_stats(page_stats)
            .build()
            .map_err(parquet_error)?;
        let close = ColumnCloseResult {
            bytes_written: bytes.len() as u64,
            rows_written: rows,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        };
        Ok((bytes, close))
    }
}

/// A column whose pages a packer encodes as they fill ([`DeltaColumn`], [`PrefixColumn`]).
pub struct PackedColumn<P> {
    values: P,
    page: Vec<u8>,
    chunk: Chunk,
}

/// A column of integers, DELTA_BINARY_PACKED a page at a time as the page fills and left
/// uncompressed: amounts take fewer bytes so than PLAIN after zstd (2.4 bytes each), and zstd
/// finds nothing more in them.
pub type DeltaColumn = PackedColumn<DeltaPacker>;

/// A column of strings that come sorted (the ids), DELTA_BYTE_ARRAY-encoded (each string as
/// the prefix it shares with the one before and the rest) and compressed a page at a time:
/// an id takes 2.7 bytes so, 1.8 after zstd, against 2.9 for PLAIN after zstd, and zstd has a
/// tenth of the bytes to go through.
pub type PrefixColumn = PackedColumn<PrefixPacker>;

impl<P: PagePacker> PackedColumn<P> {
    fn with(data_encoding: Encoding, compressed: bool) -> Self {
        Self { values: P::default(), page: Vec::new(), chunk: Chunk::new(data_encoding, compressed) }
    }

    /// Writes the page once it is `full` or holds [`PAGE_ROWS`] values.
    fn value_added(&mut self, zstd: &mut Zstd, full: bool) -> io::Result<()> {
        if full || self.values.len() == PAGE_ROWS { self.flush(zstd) } else { Ok(()) }
    }

    fn flush(&mut self, zstd: &mut Zstd) -> io::Result<()> {
        let values = self.values.len() as u32;
        if values > 0 {
            self.page.clear();
            self.values.finish(&mut self.page);
            self.chunk.page(zstd, &self.page, values, false)?;
        }
        Ok(())
    }

    /// The chunk of every value pushed since the last call; the column starts empty again.
    pub fn close(
        &mut self,
        zstd: &mut Zstd,
        column: ColumnDescPtr,
        rows: u64,
        statistics: Statistics,
    ) -> io::Result<(Bytes, ColumnCloseResult)> {
        self.flush(zstd)?;
        self.chunk.take().close(column, rows, statistics)
    }
}

impl DeltaColumn {
    /// An empty column.
    pub fn new() -> Self {
        Self::with(Encoding::DELTA_BINARY_PACKED, false)
    }

    /// Adds one value.
    #[inline]
    pub fn push(&mut self, zstd: &mut Zstd, value: i64) -> io::Result<()> {
        self.values.push(value);
        self.value_added(zstd, false)
    }
}

impl PrefixColumn {
    /// An empty column.
    pub fn new() -> Self {
        Self::with(Encoding::DELTA_BYTE_ARRAY, true)
    }

    /// Adds one string, the first `len` bytes of `value`.
    #[inline]
    pub fn push(&mut self, zstd: &mut Zstd, value: &Padded, len: usize) -> io::Result<()> {
        self.values.push(value, len);
        let full = self.values.suffix_bytes() >= DATA_PAGE_BYTES;
        self.value_added(zstd, full)
    }
}

/// A dictionary-encoded column: its distinct values in the order they first appear, and each
/// value's index into them. Values are known by an `i32` key (a date's days, a label's index),
/// found through a direct-mapped table of `slots` entries, or a map when two keys collide.
/// Indices are encoded and compressed a page at a time as the page fills, each page with the
/// bits its largest index needs (a page says its own width), so a row group in the making
/// holds compressed pages, not indices.
pub struct DictionaryColumn {
    slots: Box<[(i32, u16)]>,
    spilled: HashMap<i32, u16>,
    /// The dictionary page's body: every entry, PLAIN-encoded.
    entries: Vec<u8>,
    entry_count: usize,
    /// Indices of the page being gathered.
    indices: Vec<u16>,
    /// The data pages written so far, framed and compressed.
    data: Chunk,
    /// The page being encoded.
    page: Vec<u8>,
    /// The last key pushed and its index: rows of a day come together, so a date is most
    /// often the one before (the table's slot, a likely cache miss, is then not read).
    last: (i32, u16),
}

impl DictionaryColumn {
    /// An empty column whose key table has `slots` entries (a power of two), its pages
    /// compressed with zstd or stored as they are.
    pub fn new(slots: usize, compressed: bool) -> Self {
        debug_assert!(slots.is_power_of_two());
        Self {
            slots: vec![(EMPTY_KEY, 0); slots].into_boxed_slice(),
            spilled: HashMap::new(),
            entries: Vec::new(),
            entry_count: 0,
            indices: Vec::with_capacity(PAGE_ROWS),
            data: Chunk::new(Encoding::RLE_DICTIONARY, compressed),
            page: Vec::new(),
            last: (EMPTY_KEY, 0),
        }
    }

    /// Adds one value known by `key`; `plain` writes its PLAIN encoding the first time it is
    /// seen. A row group holds at most 65,536 values, so an index fits 16 bits.
    #[inline]
    pub fn push(&mut self, zstd: &mut Zstd, key: i32, plain: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        let index = if key == self.last.0 { self.last.1 } else { self.index_of(key, plain) };
        self.last = (key, index);
        self.push_index(zstd, index)
    }

    /// Adds one value known by `key`, as [`push`](Self::push) does but without a look at the
    /// value before: for values that change from a row to the next (types, agencies), where
    /// that look was a branch mispredicted about every other row.
    #[inline]
    pub fn push_changing(
        &mut self,
        zstd: &mut Zstd,
        key: i32,
        plain: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        let index = self.index_of(key, plain);
        self.push_index(zstd, index)
    }

    #[inline]
    fn push_index(&mut self, zstd: &mut Zstd, index: u16) -> io::Result<()> {
        self.indices.push(index);
        if self.indices.len() == PAGE_ROWS { self.flush(zstd) } else { Ok(()) }
    }

    /// The index of `key`'s entry, added (PLAIN-encoded by `plain`) if it is new.
    #[inline]
    fn index_of(&mut self, key: i32, plain: impl FnOnce(&mut Vec<u8>)) -> u16 {
        let slot = (key as u32 as usize) & (self.slots.len() - 1);
        let (slot_key, slot_index) = self.slots[slot];
        if slot_key == key {
            return slot_index;
        }
        let known = if slot_key == EMPTY_KEY { None } else { self.spilled.get(&key).copied() };
        known.unwrap_or_else(|| {
            let index = self.entry_count as u16;
            self.entry_count += 1;
            plain(&mut self.entries);
            if slot_key == EMPTY_KEY {
                self.slots[slot] = (key, index);
            } else {
                self.spilled.insert(key, index);
            }
            index
        })
    }

    /// The keys of the values pushed since the column was last closed, each once.
    pub fn keys(&self) -> impl Iterator<Item = i32> + '_ {
        let slotted = self.slots.iter().map(|(key, _)| *key).filter(|key| *key != EMPTY_KEY);
        slotted.chain(self.spilled.keys().copied())
    }

    /// Encodes the gathered indices as a data page.
    fn flush(&mut self, zstd: &mut Zstd) -> io::Result<()> {
        if self.indices.is_empty() {
            return Ok(());
        }
        let bit_width = bits_for(self.entry_count.saturating_sub(1));
        self.page.clear();
        self.page.push(bit_width);
        encode_indices(&self.indices, bit_width, &mut self.page);
        self.data.page(zstd, &self.page, self.indices.len() as u32, false)?;
        self.indices.clear();
        Ok(())
    }

    /// The chunk of every value pushed since the last call: the dictionary page, then the
    /// indices' pages. The column starts empty again.
    pub fn close(
        &mut self,
        zstd: &mut Zstd,
        column: ColumnDescPtr,
        rows: u64,
        statistics: Statistics,
    ) -> io::Result<(Bytes, ColumnCloseResult)> {
        self.flush(zstd)?;
        let mut chunk = Chunk::new(Encoding::RLE_DICTIONARY, self.data.compressed);
        chunk.page(zstd, &self.entries, self.entry_count as u32, true)?;
        chunk.append(self.data.take())?;
        self.slots.fill((EMPTY_KEY, 0));
        self.last = (EMPTY_KEY, 0);
        self.spilled.clear();
        self.entries.clear();
        self.entry_count = 0;
        chunk.close(column, rows, statistics)
    }
}

/// Bits an index up to `max` needs; at least one, which every reader takes.
fn bits_for(max: usize) -> u8 {
    (usize::BITS - max.leading_zeros()).max(1) as u8
}

/// Appends `values` in Parquet's RLE/bit-packing hybrid: a value repeated at least
/// [`MIN_REPEATED_RUN`] times is one repeated run, the rest go in groups of 8 bit-packed
/// values (the last group padded with zeros, which the page's value count leaves unread).
fn encode_indices(values: &[u16], bit_width: u8, out: &mut Vec<u8>) {
    let width = usize::from(bit_width);
    let mut packed = Vec::new();
    let mut packed_groups = 0;
    let flush = |packed: &mut Vec<u8>, groups: &mut usize, out: &mut Vec<u8>| {
        if *groups > 0 {
            out.push(((*groups as u8) << 1) | 1);
            out.append(packed);
            *groups = 0;
        }
    };
    let mut i = 0;
    while i < values.len() {
        let value = values[i];
        // Types and agencies change from a row to the next: one comparison says so.
        let run = if values.get(i + 1) == Some(&value) {
            values[i..].iter().take_while(|v| **v == value).count()
        } else {
            1
        };
        if run >= MIN_REPEATED_RUN {
            flush(&mut packed, &mut packed_groups, out);
            write_uleb128(out, (run as u64) << 1);
            out.extend_from_slice(&value.to_le_bytes()[..width.div_ceil(8)]);
            i += run;
        } else {
            let group = &values[i..values.len().min(i + 8)];
            if width <= 8 {
                let bits =
                    group.iter().enumerate().fold(0u64, |bits, (j, v)| bits | u64::from(*v) << (j * width));
                packed.extend_from_slice(&bits.to_le_bytes()[..width]);
            } else {
                let bits =
                    group.iter().enumerate().fold(0u128, |bits, (j, v)| bits | u128::from(*v) << (j * width));
                packed.extend_from_slice(&bits.to_le_bytes()[..width]);
            }
            packed_groups += 1;
            if packed_groups == MAX_PACKED_GROUPS {
                flush(&mut packed, &mut packed_groups, out);
            }
            i += group.len();
        }
    }
    flush(&mut packed, &mut packed_groups, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the hybrid encoding back, as a reader does.
    fn decode(mut bytes: &[u8], bit_width: u8, count: usize) -> Vec<u16> {
        let width = usize::from(bit_width);
        let mut values = Vec::new();
        while values.len() < count {
            let (mut header, mut shift) = (0u64, 0);
            loop {
                let byte = bytes[0];
                bytes = &bytes[1..];
                header |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    break;
                }
            }
            if header & 1 == 1 {
                for _ in 0..header >> 1 {
                    let mut word = [0u8; 16];
                    word[..width].copy_from_slice(&bytes[..width]);
                    bytes = &bytes[width..];
                    let bits = u128::from_le_bytes(word);
                    values.extend((0..8).map(|j| ((bits >> (j * width)) & ((1 << width) - 1)) as u16));
                }
            } else {
                let size = width.div_ceil(8);
                let mut word = [0u8; 2];
                word[..size].copy_from_slice(&bytes[..size]);
                bytes = &bytes[size..];
                values.extend(std::iter::repeat_n(u16::from_le_bytes(word), (header >> 1) as usize));
            }
        }
        assert!(bytes.is_empty(), "bytes left after the values");
        values.truncate(count);
        values
    }

    proptest::proptest! {
        #[test]
        fn indices_decode_to_themselves(
            runs in proptest::collection::vec((0u16..1000, 1usize..40), 0..200),
            spread in 1u16..=u16::MAX,
        ) {
            let values: Vec<u16> = runs.iter().flat_map(|(v, n)| std::iter::repeat_n(v % spread, *n)).collect();
            let width = bits_for(values.iter().copied().max().unwrap_or(0).into());
            let mut out = Vec::new();
            encode_indices(&values, width, &mut out);
            proptest::prop_assert_eq!(decode(&out, width, values.len()), values);
        }
    }

    #[test]
    fn an_index_takes_the_bits_of_the_largest_one() {
        assert_eq!([0, 1, 2, 3, 255, 256, 65_535].map(bits_for), [1, 1, 2, 2, 8, 9, 16]);
    }

    #[test]
    fn colliding_keys_keep_their_own_entries() {
        let mut column = DictionaryColumn::new(4, true);
        let mut zstd = Zstd::new().unwrap();
        for key in [1, 5, 1, 9, 5] {
            column.push(&mut zstd, key, |out| out.push(key as u8)).unwrap();
        }
        assert_eq!(column.indices, [0, 1, 0, 2, 1]);
        assert_eq!(column.entries, [1, 5, 9]);
    }
}
