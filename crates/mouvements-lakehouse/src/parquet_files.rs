//! Rows to Parquet bytes, one file per partition of a shard, streamed into any `io::Write`
//! (the lake's uploads). Types: `date_op` DATE (INT32), `montant` DECIMAL(18,2) (INT64, never
//! a float); strings for the rest. Same rows, same crate versions: same bytes.
//!
//! The parquet crate writes the files (page headers, row groups, footer, the Arrow schema in
//! its metadata); the values are encoded by [`column_chunks`](crate::column_chunks), which
//! knows this schema's five columns, at more than twice the speed of arrow-rs's generic
//! `ArrowWriter`. The settings were chosen by measurement (pyarrow's writer on our rows gave
//! the same sizes): `id_mouvement` DELTA_BYTE_ARRAY (ids come sorted: each is the prefix it
//! shares with the one before and a few digits) then zstd at a fast level; `montant`
//! DELTA_BINARY_PACKED and no compression (as small as PLAIN after zstd, which finds nothing
//! more in it); dictionaries for `date_op`, `type_op` and `agence_id` (few distinct values),
//! then zstd for the types only (the dates' pages are runs of one index, which zstd made
//! bigger; it took 7 % off the agencies' for 2-3 % of the encoding's time). Files are 20 %
//! smaller than with PLAIN ids and amounts under zstd, and zstd reads a tenth of the bytes.
//! Data pages v1 of at most 20,000 values; chunk statistics (min, max, no nulls) for every
//! column, no page statistics or page index (readers prune by row group); row groups of
//! [`ROW_GROUP_ROWS`] rows. The delta encodings are read by Spark 3.3 and
//! later (vectorized reader; Databricks Runtime 11.3 LTS and later), Photon, DuckDB, pyarrow,
//! polars and delta-rs; Spark 3.2 and older need `spark.sql.parquet.enableVectorizedReader`
//! off.

use std::io::{self, Write};
use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use mouvements_schema::{AgenceId, Montant, Mouvement};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::SchemaDescPtr;

use crate::column_chunks::{DeltaColumn, DictionaryColumn, PrefixColumn, Zstd};
use crate::delta_packing::{MAX_STRING_BYTES, Padded};
use crate::stats::FileStats;
use crate::{PARTITIONS, Partition};

/// Rows per row group: readers skip whole groups by their statistics, and a writer holds one
/// group in memory per partition, so this bounds a shard's memory. A dictionary index of a
/// group fits 16 bits.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// Rows a partition gathers before its columns take them, one column after the other: each
/// column's state then stays in registers through a loop of its own, instead of five columns'
/// states taking turns for every row. Divides [`ROW_GROUP_ROWS`].
const BATCH_ROWS: usize = 256;

/// Slots of the table that finds a date's dictionary entry: every day of 5 years without a
/// collision.
const DATE_SLOTS: usize = 2048;

/// Slots of the tables of types and agencies: one per label.
const LABEL_SLOTS: usize = 64;

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// `AG_001` to `AG_050`, formatted once.
static AGENCE_LABELS: LazyLock<Vec<String>> =
    LazyLock::new(|| AgenceId::all().map(|a| a.to_string()).collect());

/// The schema of the data files: the non-partition columns, in CSV order, none nullable.
pub static FILE_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("id_mouvement", DataType::Utf8, false),
        Field::new("date_op", DataType::Date32, false),
        Field::new("type_op", DataType::Utf8, false),
        Field::new("montant", DataType::Decimal128(18, 2), false),
        Field::new("agence_id", DataType::Utf8, false),
    ]))
});

/// The schema of the change data files (Delta's `_change_data/`): the data files' columns,
/// then `_change_type` ([`ChangeType`]).
pub static CHANGE_DATA_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields: Vec<Field> = FILE_SCHEMA.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("_change_type", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
});

/// What a file of [`FILE_SCHEMA`] or [`CHANGE_DATA_SCHEMA`] is written with: its Parquet
/// schema, as arrow-rs maps it, and the file-level settings (the Arrow schema in the
/// metadata, so that Arrow readers get it back exactly).
struct FileKind {
    parquet: SchemaDescPtr,
    properties: Arc<WriterProperties>,
}

impl FileKind {
    fn of(schema: &SchemaRef) -> Self {
        let parquet = ArrowSchemaConverter::new().convert(schema).expect("the file schemas map to Parquet");
        let mut properties = WriterProperties::builder().build();
        add_encoded_arrow_schema_to_metadata(schema, &mut properties);
        Self { parquet: Arc::new(parquet), properties: Arc::new(properties) }
    }
}

static DATA_FILE: LazyLock<FileKind> = LazyLock::new(|| FileKind::of(&FILE_SCHEMA));
static CHANGE_DATA_FILE: LazyLock<FileKind> = LazyLock::new(|| FileKind::of(&CHANGE_DATA_SCHEMA));

/// A row's `_change_type` in a change data file, as Delta's Change Data Feed names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeType {
    /// A new row.
    Insert,
    /// A row before its update.
    UpdatePreimage,
    /// A row after its update.
    UpdatePostimage,
    /// A row deleted, as it was.
    Delete,
}

impl ChangeType {
    /// Every change type, in the order of their column keys.
    pub const ALL: [ChangeType; 4] =
        [ChangeType::Insert, ChangeType::UpdatePreimage, ChangeType::UpdatePostimage, ChangeType::Delete];

    /// The `_change_type` value.
    pub const fn label(self) -> &'static str {
        match self {
            ChangeType::Insert => "insert",
            ChangeType::UpdatePreimage => "update_preimage",
            ChangeType::UpdatePostimage => "update_postimage",
            ChangeType::Delete => "delete",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The days since 1970-01-01 of a date, as Parquet's DATE holds it.
pub fn date32(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_FROM_CE
}

/// The date `days` after 1970-01-01, the inverse of [`date32`]; `None` past chrono's dates.
pub(crate) fn date_of_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)
}

/// `id` as the CSV writes it (`M` and at least 7 digits) at the start of a buffer, and its
/// length.
fn id_text(id: u64) -> (Padded, usize) {
    let digits = id.checked_ilog10().map_or(1, |l| l as usize + 1).max(7);
    let mut buf = [b'0'; MAX_STRING_BYTES];
    buf[0] = b'M';
    let mut n = id;
    for digit in buf[1..=digits].iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    (buf, 1 + digits)
}

/// `n` (below 100,000,000) as eight ASCII digits, zero-padded, in the bytes of a word in
/// reading order. The digits are made at once in the lanes of the word (two numbers below
/// 10,000, split into hundreds, then tens): 20 instructions where digit-by-digit division
/// took 70.
const fn eight_digits(n: u64) -> u64 {
    // Lanes of 32 bits: the high four digits in the low lane, the low four in the high one.
    let thousands = (n / 10_000) | ((n % 10_000) << 32);
    // Each lane divided by 100 (exact below 10,000: 10,486 / 2^20 is 1/100 by excess).
    let hundreds_high = ((thousands * 10_486) >> 20) & (0x7f << 32 | 0x7f);
    let hundreds_low = thousands - 100 * hundreds_high;
    // Lanes of 16 bits, each below 100, in digit order; then each divided by 10 (103 / 2^10).
    let hundreds = hundreds_low << 16 | hundreds_high;
    let tens_high = ((hundreds * 103) >> 10) & (0xf << 48 | 0xf << 32 | 0xf << 16 | 0xf);
    let digits = tens_high | (hundreds - 10 * tens_high) << 8;
    digits | 0x3030_3030_3030_3030
}

/// `id` as the CSV writes it (`M` and at least 7 digits) at the start of a buffer, and its
/// length, as [`id_text`] makes it. Made of [`eight_digits`] words, one below 100,000,000 and
/// two above (the ids of a lake's later months), put together in one 16-byte word and stored
/// at once: the division by digit cost an append a tenth more time than the first month, and
/// the digits stored in pieces then read as one word stalled every row (the processor cannot
/// forward several stores to one load; perf showed a third of the encoding's time there). Ids
/// of 16 digits and more (past the 2^48 rows a dataset may hold) take [`id_text`].
fn short_id_text(id: u64) -> (Padded, usize) {
    const EIGHT: u64 = 100_000_000;
    let (head, len) = if id < EIGHT {
        // Below 10,000,000 the first of the eight digits is a `0`, which the id does not have.
        if id >= 10_000_000 {
            (u128::from(eight_digits(id)) << 8, 9)
        } else {
            (u128::from(eight_digits(id) >> 8) << 8, 8)
        }
    } else if id < EIGHT * EIGHT / 10 {
        let (high, low) = (id / EIGHT, id % EIGHT);
        // The high part's digits without its leading zeros, then the low part's eight.
        let count = (high as u32).ilog10() as usize + 1;
        let high = u128::from(eight_digits(high) >> (8 * (8 - count)));
        (high << 8 | u128::from(eight_digits(low)) << (8 * (1 + count)), 1 + count + 8)
    } else {
        return id_text(id);
    };
    let mut padded = [0; MAX_STRING_BYTES];
    padded[..16].copy_from_slice(&(head | u128::from(b'M')).to_le_bytes());
    (padded, len)
}

/// A string PLAIN-encoded: its length in 4 bytes, then its bytes.
fn plain_text(text: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// The rows of the row group being written, column by column.
struct RowGroup {
    ids: PrefixColumn,
    dates: DictionaryColumn,
    types: DictionaryColumn,
    montants: DeltaColumn,
    agences: DictionaryColumn,
    /// `_change_type`, in a change data file; and the types seen, one bit per
    /// [`ChangeType::index`].
    change_types: Option<(DictionaryColumn, u8)>,
    stats: FileStats,
    /// The last date pushed and its days since 1970: rows of a day come together.
    last_date: (NaiveDate, i32),
}

impl RowGroup {
    fn new(change_data: bool) -> Self {
        Self {
            ids: PrefixColumn::new(),
            dates: DictionaryColumn::new(DATE_SLOTS, false),
            types: DictionaryColumn::new(LABEL_SLOTS, true),
            montants: DeltaColumn::new(),
            agences: DictionaryColumn::new(LABEL_SLOTS, false),
            change_types: change_data.then(|| (DictionaryColumn::new(LABEL_SLOTS, false), 0)),
            stats: FileStats::default(),
            last_date: (NaiveDate::MIN, date32(NaiveDate::MIN)),
        }
    }

    /// Adds `rows`, one column at a time (each column's pages are the same as row by row), and
    /// in a change data file their change types (`kinds`, one per row).
    fn push(&mut self, zstd: &mut Zstd, rows: &[Mouvement], kinds: &[ChangeType]) -> io::Result<()> {
        for row in rows {
            let id = row.id_mouvement.0;
            let (text, len) = short_id_text(id);
            self.ids.push(zstd, &text, len)?;
        }
        for row in rows {
            if row.date_op != self.last_date.0 {
                self.last_date = (row.date_op, date32(row.date_op));
            }
            let days = self.last_date.1;
            self.dates.push(zstd, days, |out| out.extend_from_slice(&days.to_le_bytes()))?;
        }
        for row in rows {
            let type_op = row.type_op;
            self.types.push_changing(zstd, type_op.index() as i32, |out| plain_text(type_op.label(), out))?;
        }
        for row in rows {
            self.montants.push(zstd, row.montant.cents())?;
        }
        for row in rows {
            let agence = row.agence_id.index();
            self.agences.push_changing(zstd, agence as i32, |out| plain_text(&AGENCE_LABELS[agence], out))?;
        }
        for row in rows {
            self.stats.add_id_and_amount(row.id_mouvement.0, row.montant.cents());
        }
        if let Some((column, seen)) = self.change_types.as_mut() {
            for kind in kinds {
                *seen |= 1 << kind.index();
                column.push(zstd, kind.index() as i32, |out| plain_text(kind.label(), out))?;
            }
        }
        Ok(())
    }

    /// Writes the group's rows as the file's next row group and counts them in `file_stats`,
    /// and as inserts in `twin`, a data file's change data file (the same column chunks, byte
    /// for byte, and a `_change_type` column); the group starts empty again.
    fn write_to<W: Write + Send>(
        &mut self,
        zstd: &mut Zstd,
        file: &mut SerializedFileWriter<W>,
        file_stats: &mut FileStats,
        twin: Option<&mut PartitionFile<W>>,
    ) -> io::Result<()> {
        let mut stats = std::mem::take(&mut self.stats);
        stats.add_labels(self.dates.keys(), self.types.keys(), self.agences.keys());
        let Some([ids, dates, types, montants, agences]) = stats.parquet_statistics() else {
            return Ok(());
        };
        let kind = if self.change_types.is_some() { &*CHANGE_DATA_FILE } else { &*DATA_FILE };
        let column = |i: usize| kind.parquet.column(i);
        let mut chunks = vec![
            self.ids.close(zstd, column(0), stats.rows, ids)?,
            self.dates.close(zstd, column(1), stats.rows, dates)?,
            self.types.close(zstd, column(2), stats.rows, types)?,
            self.montants.close(zstd, column(3), stats.rows, montants)?,
            self.agences.close(zstd, column(4), stats.rows, agences)?,
        ];
        if let Some((change_types, seen)) = self.change_types.as_mut() {
            chunks.push(change_types.close(zstd, column(5), stats.rows, change_type_statistics(*seen))?);
            *seen = 0;
        }
        let error = io::Error::other;
        if let Some(twin) = twin {
            let mut group = twin.writer.next_row_group().map_err(error)?;
            for (bytes, close) in &chunks {
                group.append_column(bytes, close.clone()).map_err(error)?;
            }
            let (bytes, close) = inserts(zstd, stats.rows)?;
            group.append_column(&bytes, close).map_err(error)?;
            group.close().map_err(error)?;
            twin.stats.merge(&stats);
        }
        let mut group = file.next_row_group().map_err(error)?;
        for (bytes, close) in chunks {
            group.append_column(&bytes, close).map_err(error)?;
        }
        group.close().map_err(error)?;
        file_stats.merge(&stats);
        Ok(())
    }
}

/// The `_change_type` column chunk of `rows` inserts: the one of a full row group is made
/// once.
fn inserts(zstd: &mut Zstd, rows: u64) -> io::Result<(bytes::Bytes, ColumnCloseResult)> {
    static FULL: std::sync::OnceLock<(bytes::Bytes, ColumnCloseResult)> = std::sync::OnceLock::new();
    if rows != ROW_GROUP_ROWS as u64 {
        return insert_chunk(zstd, rows);
    }
    if let Some(full) = FULL.get() {
        return Ok(full.clone());
    }
    let chunk = insert_chunk(zstd, rows)?;
    Ok(FULL.get_or_init(|| chunk).clone())
}

/// The `_change_type` column chunk of `rows` inserts.
fn insert_chunk(zstd: &mut Zstd, rows: u64) -> io::Result<(bytes::Bytes, ColumnCloseResult)> {
    let insert = ChangeType::Insert;
    let mut column = DictionaryColumn::new(LABEL_SLOTS, false);
    for _ in 0..rows {
        column.push(zstd, insert.index() as i32, |out| plain_text(insert.label(), out))?;
    }
    let statistics = change_type_statistics(1 << insert.index());
    column.close(zstd, CHANGE_DATA_FILE.parquet.column(5), rows, statistics)
}

/// The statistics of a `_change_type` chunk holding the change types `seen` (one bit per
/// [`ChangeType::index`]): the least and greatest label, no nulls.
fn change_type_statistics(seen: u8) -> Statistics {
    let mut labels = ChangeType::ALL.iter().filter(|k| seen & (1 << k.index()) != 0).map(|k| k.label());
    let first = labels.next().unwrap_or_default();
    let (lo, hi) = labels.fold((first, first), |(lo, hi), l| (lo.min(l), hi.max(l)));
    Statistics::byte_array(Some(lo.into()), Some(hi.into()), None, Some(0), false)
}

/// One partition's file being written.
struct PartitionFile<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    /// Rows not yet in the row group: at most [`BATCH_ROWS`].
    batch: Vec<Mouvement>,
    /// Their change types, in a change data file.
    kinds: Vec<ChangeType>,
    group: RowGroup,
    stats: FileStats,
}

impl<W: Write + Send> PartitionFile<W> {
    /// A file of `kind` written to `inner`.
    fn new(inner: W, change_data: bool) -> io::Result<Self> {
        let kind = if change_data { &*CHANGE_DATA_FILE } else { &*DATA_FILE };
        let writer =
            SerializedFileWriter::new(inner, kind.parquet.root_schema_ptr(), Arc::clone(&kind.properties))
                .map_err(io::Error::other)?;
        Ok(Self {
            writer,
            batch: Vec::with_capacity(BATCH_ROWS),
            kinds: Vec::with_capacity(if change_data { BATCH_ROWS } else { 0 }),
            group: RowGroup::new(change_data),
            stats: FileStats::default(),
        })
    }

    /// Moves the gathered rows into the row group, and writes the group once full (its rows
    /// also as inserts in `twin`).
    fn push_batch(&mut self, zstd: &mut Zstd, twin: Option<&mut PartitionFile<W>>) -> io::Result<()> {
        self.group.push(zstd, &self.batch, &self.kinds)?;
        self.batch.clear();
        self.kinds.clear();
        if self.group.stats.rows == ROW_GROUP_ROWS as u64 {
            self.group.write_to(zstd, &mut self.writer, &mut self.stats, twin)?;
        }
        Ok(())
    }

    /// Writes every row gathered as a row group (also as inserts in `twin`).
    fn flush(&mut self, zstd: &mut Zstd, mut twin: Option<&mut PartitionFile<W>>) -> io::Result<()> {
        self.push_batch(zstd, twin.as_deref_mut())?;
        self.group.write_to(zstd, &mut self.writer, &mut self.stats, twin)
    }

    /// Writes what is left and the footer.
    fn finish(mut self, zstd: &mut Zstd, twin: Option<&mut PartitionFile<W>>) -> io::Result<(W, FileStats)> {
        self.flush(zstd, twin)?;
        Ok((self.writer.into_inner().map_err(io::Error::other)?, self.stats))
    }
}

/// A finished data file: its partition, the writer it went to, and its statistics.
pub struct EncodedFile<W> {
    /// The partition.
    pub partition: Partition,
    /// The writer the bytes went to, to finish (e.g. complete the upload).
    pub inner: W,
    /// Rows and column statistics.
    pub stats: FileStats,
    /// Whether it is a change data file ([`CHANGE_DATA_SCHEMA`]) or a data file.
    pub change_data: bool,
}

/// One shard's rows, split by partition into Parquet files opened on demand by `open`; with
/// [`PartitionedWriter::with_change_data`], beside each data file its change data file (Delta's
/// `_change_data/`): the data file's rows as inserts, their column chunks copied byte for byte,
/// then the change events pushed after the rows.
pub struct PartitionedWriter<W: Write + Send, F> {
    open: F,
    /// Opens a partition's change data file, in a writer of change data.
    open_change_data: Option<F>,
    files: Vec<Option<PartitionFile<W>>>,
    /// The change data files, by partition.
    change_data: Vec<Option<PartitionFile<W>>>,
    /// Compresses the pages of every file.
    zstd: Zstd,
}

impl<W, F> PartitionedWriter<W, F>
where
    W: Write + Send,
    F: FnMut(Partition) -> io::Result<W>,
{
    /// A writer that opens a partition's output with `open` at its first row.
    ///
    /// # Errors
    /// When zstd cannot make its context (out of memory).
    pub fn new(open: F) -> io::Result<Self> {
        Self::with(open, None)
    }

    /// A writer of data files and their change data files ([`CHANGE_DATA_SCHEMA`], opened with
    /// `open_change_data`): the rows [`push`](Self::push)ed are inserts, then come the events
    /// ([`push_event`](Self::push_event)).
    ///
    /// # Errors
    /// When zstd cannot make its context (out of memory).
    pub fn with_change_data(open: F, open_change_data: F) -> io::Result<Self> {
        Self::with(open, Some(open_change_data))
    }

    fn with(open: F, open_change_data: Option<F>) -> io::Result<Self> {
        let none = || (0..PARTITIONS).map(|_| None).collect();
        Ok(Self { open, open_change_data, files: none(), change_data: none(), zstd: Zstd::new()? })
    }

    /// Adds one row (rows come in id order and stay in it within each data file).
    pub fn push(&mut self, row: &Mouvement) -> io::Result<()> {
        let partition = Partition { pays: row.pays, produit: row.produit };
        let index = partition.index();
        if self.files[index].is_none() {
            self.open(partition)?;
        }
        let file = self.files[index].as_mut().expect("the file was just opened");
        file.batch.push(*row);
        if file.batch.len() == BATCH_ROWS {
            file.push_batch(&mut self.zstd, self.change_data[index].as_mut())
        } else {
            Ok(())
        }
    }

    /// Adds the rows of a change event to its partition's change data file, after every row
    /// of that partition: an update's pre-image (`row` with the amount `before`) and
    /// post-image (`row`), or a delete's row (`before` `None`).
    ///
    /// # Errors
    /// In a writer without change data, or when the file cannot be opened or written.
    pub fn push_event(&mut self, row: &Mouvement, before: Option<Montant>) -> io::Result<()> {
        let partition = Partition { pays: row.pays, produit: row.produit };
        let index = partition.index();
        self.open_change_data(partition)?;
        let twin = self.change_data[index].as_mut().expect("the file was just opened");
        let zstd = &mut self.zstd;
        // The partition's rows so far are its inserts: they come first.
        if let Some(file) = self.files[index].as_mut() {
            file.flush(zstd, Some(&mut *twin))?;
        }
        let mut add = |row: &Mouvement, change: ChangeType| {
            twin.batch.push(*row);
            twin.kinds.push(change);
            if twin.batch.len() == BATCH_ROWS { twin.push_batch(zstd, None) } else { Ok(()) }
        };
        match before {
            Some(montant) => {
                add(&Mouvement { montant, ..*row }, ChangeType::UpdatePreimage)?;
                add(row, ChangeType::UpdatePostimage)
            }
            None => add(row, ChangeType::Delete),
        }
    }

    /// Opens `partition`'s file if no row did yet (and its change data file, in a writer of
    /// change data): [`finish`](Self::finish) then writes it, without rows if none comes.
    pub fn open(&mut self, partition: Partition) -> io::Result<()> {
        let slot = &mut self.files[partition.index()];
        if slot.is_none() {
            *slot = Some(PartitionFile::new((self.open)(partition)?, false)?);
        }
        if self.open_change_data.is_some() {
            self.open_change_data(partition)?;
        }
        Ok(())
    }

    /// Opens `partition`'s change data file if not yet open.
    fn open_change_data(&mut self, partition: Partition) -> io::Result<()> {
        let slot = &mut self.change_data[partition.index()];
        if slot.is_none() {
            let open = self
                .open_change_data
                .as_mut()
                .ok_or_else(|| io::Error::other("this writer writes no change data"))?;
            *slot = Some(PartitionFile::new(open(partition)?, true)?);
        }
        Ok(())
    }

    /// Writes what is gathered and closes every file: the data files in partition order, then
    /// the change data files in partition order.
    pub fn finish(mut self) -> io::Result<Vec<EncodedFile<W>>> {
        let mut encoded = Vec::new();
        let partitions: Vec<Partition> = Partition::all().collect();
        for (index, file) in self.files.into_iter().enumerate() {
            let Some(file) = file else { continue };
            let (inner, stats) = file.finish(&mut self.zstd, self.change_data[index].as_mut())?;
            encoded.push(EncodedFile { partition: partitions[index], inner, stats, change_data: false });
        }
        for (index, file) in self.change_data.into_iter().enumerate() {
            let Some(file) = file else { continue };
            let (inner, stats) = file.finish(&mut self.zstd, None)?;
            encoded.push(EncodedFile { partition: partitions[index], inner, stats, change_data: true });
        }
        Ok(encoded)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use mouvements_schema::{Montant, MouvementId, Produit, TypeOp};
    use proptest::prelude::*;

    use super::*;
    use crate::read_rows;

    /// A row of `produit` from raw draws: the date `day` days after 1950-01-01.
    fn row(id: u64, day: i64, type_op: usize, cents: i64, agence: u16, produit: Produit) -> Mouvement {
        let agence_id = AgenceId::from_number(agence).unwrap();
        Mouvement {
            id_mouvement: MouvementId(id),
            date_op: NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::TimeDelta::days(day),
            produit,
            type_op: TypeOp::ALL[type_op],
            montant: Montant::from_cents(cents),
            agence_id,
            pays: agence_id.pays(),
        }
    }

    /// Writes `rows`, reads every file back with arrow-rs's reader, and checks that each file
    /// holds its partition's rows in order, with true statistics.
    fn assert_round_trip(rows: &[Mouvement]) {
        let mut writer = PartitionedWriter::new(|_| Ok(Vec::new())).unwrap();
        for row in rows {
            writer.push(row).unwrap();
        }
        let mut files = 0;
        for file in writer.finish().unwrap() {
            let mut read = Vec::new();
            read_rows(file.inner.into(), file.partition, &mut |r| read.push(r)).unwrap();
            let wanted: Vec<Mouvement> = rows
                .iter()
                .filter(|r| r.pays == file.partition.pays && r.produit == file.partition.produit)
                .copied()
                .collect();
            assert_eq!(read, wanted);
            let mut stats = FileStats::default();
            for r in &read {
                stats.add(r);
            }
            assert_eq!(file.stats, stats);
            files += 1;
        }
        assert!(files > 0 || rows.is_empty());
    }

    #[test]
    fn several_row_groups_and_a_century_of_dates_read_back() {
        // One partition, so its file has three row groups; dates over 100 years, so keys
        // collide in the date table.
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let rows: Vec<Mouvement> = (0..150_000)
            .map(|i| {
                let cents = next(2_000_000_000) as i64 - 1_000_000_000;
                row(9_999_000 + i * 3, next(36_600) as i64, next(19) as usize, cents, 1, Produit::Sante)
            })
            .collect();
        assert_round_trip(&rows);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn rows_read_back_as_they_were_written(
            draws in proptest::collection::vec(
                (1u64..5000, 0i64..36_600, 0usize..19, -1_000_000_000_000i64..1_000_000_000_000, 1u16..=50, 0usize..4),
                0..3000,
            ),
            // Ids of 7 and 8 digits, across 100,000,000 (9 digits), and the largest.
            first_id in prop_oneof![Just(0u64), Just(99_990_000), Just(MouvementId::MAX.0 - 20_000_000)],
        ) {
            let mut id = first_id;
            let rows: Vec<Mouvement> = draws
                .iter()
                .map(|&(gap, day, type_op, cents, agence, produit)| {
                    id += gap;
                    row(id, day, type_op, cents, agence, Produit::ALL[produit])
                })
                .collect();
            assert_round_trip(&rows);
        }
    }

    #[test]
    fn change_data_holds_the_data_file_s_row_groups_as_inserts_then_the_events() {
        use arrow_array::cast::AsArray;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let rows: Vec<Mouvement> = (0..70_000u64)
            .map(|i| row(i + 1, i as i64 / 1000, i as usize % 4, 100 + i as i64, 1, Produit::Vie))
            .collect();
        let open = |_| Ok(Vec::new());
        let mut writer = PartitionedWriter::with_change_data(open, open).unwrap();
        for r in &rows {
            writer.push(r).unwrap();
        }
        let corrected = Mouvement { montant: Montant::from_cents(5), ..rows[3] };
        writer.push_event(&corrected, Some(rows[3].montant)).unwrap();
        writer.push_event(&rows[9], None).unwrap();
        let files = writer.finish().unwrap();
        let [data, change] = &files[..] else { panic!("{} files", files.len()) };
        assert!(!data.change_data && change.change_data && data.partition == change.partition);
        assert_eq!((data.stats.rows, change.stats.rows), (70_000, 70_003));

        let read = |bytes: &Vec<u8>| {
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.clone())).unwrap()
        };
        // The inserts are the data file's row groups, their column chunks byte for byte.
        let (data_meta, change_meta) =
            (read(&data.inner).metadata().clone(), read(&change.inner).metadata().clone());
        assert_eq!((data_meta.num_row_groups(), change_meta.num_row_groups()), (2, 3));
        for (group, inserted) in data_meta.row_groups().iter().zip(change_meta.row_groups()) {
            assert_eq!(group.num_rows(), inserted.num_rows());
            for (a, b) in group.columns().iter().zip(inserted.columns()) {
                let ((a_start, a_len), (b_start, b_len)) = (a.byte_range(), b.byte_range());
                assert_eq!(
                    data.inner[a_start as usize..(a_start + a_len) as usize],
                    change.inner[b_start as usize..(b_start + b_len) as usize]
                );
            }
        }
        let mut ids = Vec::new();
        let mut kinds = Vec::new();
        let mut amounts = Vec::new();
        for batch in read(&change.inner).build().unwrap() {
            let batch = batch.unwrap();
            ids.extend(batch.column(0).as_string::<i32>().iter().map(|v| v.unwrap().to_owned()));
            kinds.extend(batch.column(5).as_string::<i32>().iter().map(|v| v.unwrap().to_owned()));
            amounts.extend(
                batch.column(3).as_primitive::<arrow_array::types::Decimal128Type>().values().iter().copied(),
            );
        }
        let expected_ids: Vec<String> =
            rows.iter().chain([&rows[3], &rows[3], &rows[9]]).map(|r| r.id_mouvement.to_string()).collect();
        assert_eq!(ids, expected_ids);
        assert!(kinds[..70_000].iter().all(|k| k == "insert"));
        assert_eq!(kinds[70_000..], ["update_preimage", "update_postimage", "delete"]);
        assert_eq!(
            amounts[70_000..],
            [i128::from(rows[3].montant.cents()), 5, i128::from(rows[9].montant.cents())]
        );
    }

    #[test]
    fn ids_are_written_like_the_csv() {
        for id in [
            0,
            1,
            1_234_567,
            12_345_678,
            99_999_999,
            100_000_000,
            120_000_001,
            999_999_999_999_999,
            1_000_000_000_000_000,
            9_999_999_999_999_999,
            10_000_000_000_000_000,
            u64::MAX,
        ] {
            let csv = MouvementId(id).to_string();
            let (buf, len) = id_text(id);
            assert_eq!(buf[..len], *csv.as_bytes());
            let (short, len) = short_id_text(id);
            assert_eq!(short[..len], *csv.as_bytes(), "{id}");
            assert!(id >= 10u64.pow(15) || short[len..].iter().all(|b| *b == 0), "{id}: padded with zeros");
        }
    }

    proptest! {
        #[test]
        fn short_ids_are_written_like_the_csv(id in prop_oneof![0u64..100_000_000, 100_000_000u64..10_000_000_000_000_000, any::<u64>()]) {
            let (short, len) = short_id_text(id);
            let csv = MouvementId(id).to_string();
            prop_assert_eq!(&short[..len], csv.as_bytes());
            prop_assert!(id >= 10u64.pow(15) || short[len..].iter().all(|b| *b == 0));
        }
    }

    #[test]
    fn dates_count_days_from_1970() {
        assert_eq!(date32(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
        assert_eq!(date32(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()), -1);
    }
}
