//! `ObjectWriter`: a blocking `io::Write` that streams bytes to one object, or the same bytes
//! to several (a Parquet file lands in staging/ and delta/ at once). Parts are cut at the
//! upload shape's size; the multipart upload starts with the first full part, so an object
//! smaller than one part is stored with a single put. Memory stays bounded by the part size
//! times the parts in flight, whatever the object's size.
//!
//! An object appears whole when `finish` completes, or not at all: any failure, or dropping
//! the writer unfinished, aborts every upload it started.
//!
//! On a local lake under Linux the parts go straight into staging files renamed into place at
//! `finish`, as object_store's local uploads do, without its upload tasks: no part is copied
//! or handed to another thread (10,000 shards: 29 thread wake-ups per shard before). Twins are
//! written once: the first file gets the bytes, the others are hard links to it (a copy where
//! the file system has none).
//!
//! It blocks on the async client through a runtime handle, so use it from a blocking thread
//! (`tokio::task::spawn_blocking`), never from async code.

use std::io::{self, Write};
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use flate2::Compression;
use flate2::write::GzEncoder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use rustix::fs::Advice;
use tokio::runtime::Handle;

use crate::ShardFormat;

/// What was stored: the object's size and CRC32C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Receipt {
    /// Bytes stored.
    pub bytes: u64,
    /// CRC32C of the stored bytes.
    pub crc32c: u32,
}

impl Receipt {
    /// Counts `bytes` as stored after those counted so far.
    pub fn add(&mut self, bytes: &[u8]) {
        self.crc32c = crc32c::crc32c_append(self.crc32c, bytes);
        self.bytes += bytes.len() as u64;
    }
}

/// How big the upload parts are and how many travel at once, per object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadShape {
    /// Bytes per part (the last may be smaller). Object stores need at least 5 MiB.
    pub part_size: usize,
    /// Parts uploading concurrently per object.
    pub parts_in_flight: usize,
}

/// The most parts a multipart upload may have (S3's limit; GCS and Azure allow as many).
pub const MAX_PARTS: u64 = 10_000;

/// The largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 << 30;

impl UploadShape {
    /// This shape, with parts grown so that an object of `expected` bytes fits in
    /// [`MAX_PARTS`] parts with a quarter to spare; `None` when even the largest part is
    /// too small (the object must be cut smaller).
    pub fn for_expected_size(self, expected: u64) -> Option<Self> {
        let needed = (expected + expected / 4).div_ceil(MAX_PARTS);
        if needed <= self.part_size as u64 {
            return Some(self);
        }
        let part_size = needed.next_multiple_of(1 << 20);
        (part_size <= MAX_PART_SIZE).then_some(Self { part_size: part_size as usize, ..self })
    }
}

/// One object the bytes go to: its path and, once begun, its multipart upload.
struct Destination {
    path: Path,
    upload: Option<WriteMultipart>,
}

/// A local file written in place, as object_store's local uploads are: under a staging name
/// `<name>#<n>` beside it (a name listings report as a leftover), renamed to its name when
/// complete, removed when aborted. No upload machinery: the bytes go from the writer's buffer
/// to the file on the writing thread.
struct LocalFile {
    path: PathBuf,
    staged: Option<(std::fs::File, PathBuf)>,
    /// Bytes written so far, and how many of them were handed to the disk's write-back.
    written: u64,
    written_back: u64,
}

impl LocalFile {
    /// The open staging file, created at the first write (with its folders).
    fn file(&mut self) -> io::Result<&mut std::fs::File> {
        if self.staged.is_none() {
            self.staged = Some(create_staged(&self.path)?);
        }
        Ok(&mut self.staged.as_mut().expect("the file was just created").0)
    }

    /// Writes `bytes` at the end of the file, and starts the write-back of every
    /// [`WRITE_BACK_EACH_BYTES`] written, without waiting for it.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file()?.write_all(bytes)?;
        self.written += bytes.len() as u64;
        if self.written - self.written_back >= WRITE_BACK_EACH_BYTES {
            self.start_write_back();
        }
        Ok(())
    }

    /// Starts the write-back of the bytes written since the last call, without waiting for it,
    /// and drops from the page cache the bytes whose write-back began [`DROP_BEHIND_BYTES`]
    /// or more ago.
    fn start_write_back(&mut self) {
        let Some((file, _)) = &self.staged else { return };
        // `POSIX_FADV_DONTNEED` starts the write-back of the range's dirty pages and returns,
        // and drops the range's clean pages: the bytes handed to the write-back a few
        // megabytes ago are on disk by now, and their pages are then reused for the next
        // bytes instead of new ones (a lake of 600 MB kept 600 MB of cache; under a
        // hypervisor, pages the guest had freed cost a fault each when used again, and made
        // the copy into the cache several times slower). A hint: its failure changes when the
        // bytes reach the disk, or how much cache they keep, not whether they are written.
        let drop_until = self.written_back.saturating_sub(DROP_BEHIND_BYTES);
        let pending = NonZeroU64::new(self.written - drop_until);
        if pending.is_some() {
            let _ = rustix::fs::fadvise(file, drop_until, pending, Advice::DontNeed);
        }
        self.written_back = self.written;
    }

    /// Closes the staging file, flushing it to disk first when asked (else starting the
    /// write-back of its last bytes, which the commit's flush then finds done), places its
    /// `twins`, and renames it into place.
    fn publish(&mut self, flush: bool, twins: &[PathBuf]) -> io::Result<()> {
        self.file()?;
        if !flush {
            self.start_write_back();
        }
        let (file, staged) = self.staged.take().expect("the file was just created");
        if flush {
            file.sync_data()?;
        }
        drop(file);
        twins
            .iter()
            .try_for_each(|twin| place_twin(&staged, twin))
            .and_then(|()| std::fs::rename(&staged, &self.path))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&staged);
            })
    }

    /// Removes the staging file, if any.
    fn abort(&mut self) {
        if let Some((file, staged)) = self.staged.take() {
            drop(file);
            // Best effort: a leftover is found and removed by the next run's listing.
            let _ = std::fs::remove_file(staged);
        }
    }
}

/// Creates a new staging file `<path>#<n>` with the first free `n`, and `path`'s folders
/// (which other threads may be creating at the same time).
fn create_staged(path: &std::path::Path) -> io::Result<(std::fs::File, PathBuf)> {
    stage(path, |staged| std::fs::OpenOptions::new().write(true).create_new(true).open(staged))
}

/// Puts at `twin` the bytes of the complete staging file `staged`: a hard link to it (one copy
/// on disk, no byte written again: 7 % of the time of a lake with both Parquet layers), or a
/// copy where the file system has no links; under a staging name renamed into place, like
/// every file.
fn place_twin(staged: &std::path::Path, twin: &std::path::Path) -> io::Result<()> {
    let placed = if let Ok(((), linked)) = stage(twin, |name| std::fs::hard_link(staged, name)) {
        linked
    } else {
        let (mut copy, copied) = create_staged(twin)?;
        let copying = std::fs::File::open(staged).and_then(|mut source| io::copy(&mut source, &mut copy));
        copying.inspect_err(|_| {
            let _ = std::fs::remove_file(&copied);
        })?;
        copied
    };
    std::fs::rename(&placed, twin).inspect_err(|_| {
        let _ = std::fs::remove_file(&placed);
    })
}

/// Makes a new file with `make` at the staging name `<path>#<n>` with the first free `n`,
/// creating `path`'s folders (which other threads may be creating at the same time); returns
/// what `make` gave and the name.
fn stage<T>(
    path: &std::path::Path,
    mut make: impl FnMut(&std::path::Path) -> io::Result<T>,
) -> io::Result<(T, PathBuf)> {
    let mut n = 1u32;
    let mut folders_made = false;
    loop {
        let mut staged = path.as_os_str().to_owned();
        staged.push(format!("#{n}"));
        let staged = PathBuf::from(staged);
        match make(&staged) {
            Ok(value) => return Ok((value, staged)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => n += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !folders_made => {
                std::fs::create_dir_all(path.parent().ok_or(e)?)?;
                folders_made = true;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where the parts go.
enum Destinations {
    /// The store's objects, each through its own upload.
    Store { store: Arc<dyn ObjectStore>, objects: Vec<Destination> },
    /// A local file, written in place, and the paths of its twins.
    Local { file: LocalFile, twins: Vec<PathBuf> },
}

/// Cuts the bytes into parts, sends each to every destination, and tallies what passes.
struct PartSender {
    destinations: Destinations,
    part: BytesMut,
    shape: UploadShape,
    handle: Handle,
    receipt: Receipt,
    aborted: bool,
}

impl PartSender {
    fn send_part(&mut self) -> io::Result<()> {
        let (store, objects) = match &mut self.destinations {
            Destinations::Store { store, objects } => (store, objects),
            Destinations::Local { file, .. } => {
                file.write(&self.part)?;
                self.part.clear();
                return Ok(());
            }
        };
        let part: Bytes = self.part.split().freeze();
        for destination in objects {
            if destination.upload.is_none() {
                let started = self.handle.block_on(store.put_multipart(&destination.path));
                let upload = started.map_err(io::Error::other)?;
                destination.upload = Some(WriteMultipart::new_with_chunk_size(upload, self.shape.part_size));
            }
            let upload = destination.upload.as_mut().expect("the upload was just begun");
            self.handle
                .block_on(upload.wait_for_capacity(self.shape.parts_in_flight))
                .map_err(io::Error::other)?;
            upload.put(part.clone());
        }
        Ok(())
    }

    /// Stores what is left: a single put where no part was sent, else the last part and the
    /// completion of each upload. Local files of at least [`FLUSH_EACH_BYTES`] are flushed to
    /// disk before they are published.
    fn complete(&mut self) -> io::Result<()> {
        match &mut self.destinations {
            Destinations::Local { file, twins } => {
                file.write(&self.part)?;
                file.publish(self.receipt.bytes >= FLUSH_EACH_BYTES, twins)
            }
            Destinations::Store { store, objects } if objects.iter().all(|d| d.upload.is_none()) => {
                let body: Bytes = self.part.split().freeze();
                for destination in objects.iter() {
                    let put = store.put(&destination.path, PutPayload::from_bytes(body.clone()));
                    self.handle.block_on(put).map_err(io::Error::other)?;
                }
                Ok(())
            }
            Destinations::Store { .. } => {
                if !self.part.is_empty() {
                    self.send_part()?;
                }
                let Destinations::Store { objects, .. } = &mut self.destinations else {
                    unreachable!("matched above")
                };
                for destination in objects {
                    if let Some(upload) = destination.upload.take() {
                        self.handle.block_on(upload.finish()).map_err(io::Error::other)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Aborts every upload begun and not completed, waiting for the store to confirm, and
    /// refuses any later write.
    fn abort(&mut self) {
        self.aborted = true;
        match &mut self.destinations {
            Destinations::Store { objects, .. } => {
                for destination in objects {
                    if let Some(upload) = destination.upload.take() {
                        // Best effort: the write failed already, and that error is what matters.
                        let _ = self.handle.block_on(upload.abort());
                    }
                }
            }
            Destinations::Local { file, .. } => file.abort(),
        }
    }
}

impl Drop for PartSender {
    /// On any error path, and for a writer dropped unfinished, nothing is left open (and billed).
    fn drop(&mut self) {
        self.abort();
    }
}

impl Write for PartSender {
    /// Fills the part up to exactly its size, so the buffer never grows past it (a grown
    /// buffer is a reallocation and a copy of the whole part, which profiling showed at 14 %
    /// of a run). Small objects never reserve a whole part.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.aborted {
            return Err(io::Error::other("upload aborted"));
        }
        if let Destinations::Local { file, .. } = &mut self.destinations
            && self.part.is_empty()
            && buf.len() >= self.shape.part_size
        {
            // A local part is one write: a whole part's worth goes straight to the file.
            file.write(buf)?;
            self.receipt.add(buf);
            return Ok(buf.len());
        }
        let n = buf.len().min(self.shape.part_size - self.part.len());
        let taken = &buf[..n];
        self.receipt.add(taken);
        if self.part.capacity() - self.part.len() < n {
            let wanted = (self.part.len() + n).max(self.part.capacity() * 2).min(self.shape.part_size);
            self.part.reserve(wanted - self.part.len());
        }
        self.part.extend_from_slice(taken);
        if self.part.len() == self.shape.part_size {
            self.send_part()?;
            self.part.reserve(self.shape.part_size);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Body {
    Plain(PartSender),
    Gzip(GzEncoder<PartSender>),
}

/// Local files at least this big are flushed to disk as soon as they are stored: their
/// write-back then overlaps the other shards' generation instead of waiting for the commit's
/// flush (10 M raw rows in 5 shards: 0.92 s with one flush at commit, 0.69 s so). Smaller
/// files wait for the commit, where one flush covers thousands of them.
pub const FLUSH_EACH_BYTES: u64 = 8 << 20;

/// Local files start the write-back of each this many bytes as soon as they are written, so
/// that the disk works while the rows are made, and the flush of a complete file, or the
/// commit's, waits for the last bytes only (10 M rows, every layer: the cores stood idle
/// 0.1 s each time two shards flushed their CSV at once, three times a run).
pub const WRITE_BACK_EACH_BYTES: u64 = 1 << 20;

/// Local files drop from the page cache the bytes handed to the write-back this many bytes
/// earlier: by then they are on disk, and their pages clean (see `LocalFile::start_write_back`).
const DROP_BEHIND_BYTES: u64 = 4 << 20;

/// An object being written; see the module docs.
pub struct ObjectWriter {
    url: String,
    body: Option<Body>,
    cancel: Arc<AtomicBool>,
}

/// Where an [`ObjectWriter`] stores its bytes.
pub(crate) struct WriteTarget {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The objects, each receiving the same bytes.
    pub paths: Vec<Path>,
    /// On a local lake whose files are flushed in batches, their files, which are then
    /// written in place instead of through the store; else empty.
    pub local_files: Vec<PathBuf>,
    /// The first object's URL, for messages.
    pub url: String,
}

impl ObjectWriter {
    /// A writer of the same bytes to every object of `target`, gzip-compressed if asked, in
    /// parts of `shape`; it stops with an error once `cancel` is set.
    pub(crate) fn new(
        target: WriteTarget,
        gzip: bool,
        shape: UploadShape,
        handle: Handle,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        let WriteTarget { store, paths, local_files, url } = target;
        let mut local_files = local_files.into_iter();
        let destinations = if let Some(path) = local_files.next() {
            let file = LocalFile { path, staged: None, written: 0, written_back: 0 };
            Destinations::Local { file, twins: local_files.collect() }
        } else {
            let objects = paths.into_iter().map(|path| Destination { path, upload: None }).collect();
            Destinations::Store { store, objects }
        };
        let sender = PartSender {
            destinations,
            part: BytesMut::new(),
            shape,
            handle,
            receipt: Receipt::default(),
            aborted: false,
        };
        let body = if gzip {
            // Level 1: gzip's fastest level keeps compression off the critical path.
            Body::Gzip(GzEncoder::new(sender, Compression::new(1)))
        } else {
            Body::Plain(sender)
        };
        Self { url, body: Some(body), cancel }
    }

    /// The URL of the (first) object, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Completes the uploads: the objects become visible, whole. On failure they are aborted
    /// (dropping the sender aborts whatever it had begun).
    pub fn finish(mut self) -> io::Result<Receipt> {
        let body = self.body.take().expect("a writer is finished once");
        let mut sender = match body {
            Body::Plain(sender) => sender,
            Body::Gzip(gz) => gz.finish().map_err(|e| self.error(&e))?,
        };
        sender.complete().map_err(|e| self.error(&e))?;
        Ok(sender.receipt)
    }

    /// An I/O error that names the object.
    fn error(&self, e: &io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.url))
    }

    fn body(&mut self) -> io::Result<&mut dyn Write> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("interrupted"));
        }
        match self.body.as_mut() {
            Some(Body::Plain(sender)) => Ok(sender),
            Some(Body::Gzip(gz)) => Ok(gz),
            None => Err(io::Error::other("writer already finished")),
        }
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.body()?.write(buf);
        result.map_err(|e| self.error(&e))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    /// An unfinished writer aborts its uploads (through its sender's drop). A gzip body is
    /// not finished first: its trailer would only feed more parts to uploads being thrown away.
    fn drop(&mut self) {
        match self.body.take() {
            Some(Body::Gzip(mut gz)) => gz.get_mut().abort(),
            Some(Body::Plain(sender)) => drop(sender),
            None => {}
        }
    }
}

impl ShardFormat {
    /// Whether objects of this format are gzip-compressed on the way out.
    pub(crate) const fn gzip(self) -> bool {
        matches!(self, ShardFormat::CsvGz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUD: UploadShape = UploadShape { part_size: 16 << 20, parts_in_flight: 4 };

    #[test]
    fn parts_grow_with_the_expected_size_and_refuse_what_cannot_fit() {
        assert_eq!(CLOUD.for_expected_size(1 << 30), Some(CLOUD));
        let big = CLOUD.for_expected_size(1 << 40).unwrap();
        assert!(big.part_size as u64 * MAX_PARTS >= (1u64 << 40) && big.part_size.is_multiple_of(1 << 20));
        assert_eq!(CLOUD.for_expected_size(60 << 40), None);
        // Small parts stay small while they fit (they once grew to 1 MiB whatever the size).
        let small = UploadShape { part_size: 64 << 10, parts_in_flight: 2 };
        assert_eq!(small.for_expected_size(100 << 20), Some(small));
        assert_eq!(small.for_expected_size(1 << 30).unwrap().part_size, 1 << 20);
    }

    /// Names of the files under `dir`, recursively, relative to it.
    fn files(dir: &std::path::Path) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                found
                    .extend(files(&path).into_iter().map(|n| format!("{}/{n}", entry.file_name().display())));
            } else {
                found.push(entry.file_name().display().to_string());
            }
        }
        found.sort();
        found
    }

    /// A writer of local twin files `a/x` and `b/x` under `dir`, in parts of 64 KiB.
    fn local_twins(dir: &std::path::Path, runtime: &tokio::runtime::Runtime) -> ObjectWriter {
        let target = WriteTarget {
            store: Arc::new(object_store::memory::InMemory::new()),
            paths: Vec::new(),
            local_files: vec![dir.join("a/x"), dir.join("b/x")],
            url: "x".to_owned(),
        };
        let shape = UploadShape { part_size: 64 << 10, parts_in_flight: 2 };
        ObjectWriter::new(target, false, shape, runtime.handle().clone(), Arc::new(AtomicBool::new(false)))
    }

    #[test]
    fn local_files_appear_whole_at_finish_and_unfinished_ones_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = local_twins(dir.path(), &runtime);
        writer.write_all(&bytes[..1000]).unwrap();
        writer.write_all(&bytes[1000..]).unwrap();
        assert_eq!(files(dir.path()), ["a/x#1"], "staged until finished, the twin made at the end");
        let receipt = writer.finish().unwrap();
        assert_eq!(receipt, Receipt { bytes: bytes.len() as u64, crc32c: crc32c::crc32c(&bytes) });
        assert_eq!(files(dir.path()), ["a/x", "b/x"]);
        assert_eq!(std::fs::read(dir.path().join("a/x")).unwrap(), bytes);
        assert_eq!(std::fs::read(dir.path().join("b/x")).unwrap(), bytes);
        let links =
            |name| std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(dir.path().join(name)).unwrap());
        assert_eq!((links("a/x"), links("b/x")), (2, 2), "one copy on disk");

        let mut unfinished = local_twins(dir.path(), &runtime);
        unfinished.write_all(&bytes).unwrap();
        drop(unfinished);
        assert_eq!(files(dir.path()), ["a/x", "b/x"], "the old files stay, the new ones are gone");
        assert_eq!(std::fs::read(dir.path().join("a/x")).unwrap(), bytes);
    }

    #[test]
    fn a_twin_is_copied_where_it_cannot_be_linked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x#1"), b"bytes").unwrap();
        // A folder cannot be linked to: the twin is copied from it, which fails and leaves
        // nothing; a file is linked.
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        assert!(place_twin(&dir.path().join("folder"), &dir.path().join("b/y")).is_err());
        assert_eq!(files(dir.path()), ["x#1"]);
        place_twin(&dir.path().join("x#1"), &dir.path().join("b/x")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("b/x")).unwrap(), b"bytes");
        // Across file systems (memory and disk) no link can be made: the twin is a copy.
        let Ok(memory) = tempfile::tempdir_in("/dev/shm") else { return };
        let device =
            |path: &std::path::Path| std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(path).unwrap());
        if device(memory.path()) != device(dir.path()) {
            place_twin(&dir.path().join("x#1"), &memory.path().join("x")).unwrap();
            assert_eq!(std::fs::read(memory.path().join("x")).unwrap(), b"bytes");
            assert_eq!(
                std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(memory.path().join("x")).unwrap()),
                1
            );
        }
    }

    #[test]
    fn threads_staging_files_in_one_new_folder_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        for trial in 0..200 {
            let folder = dir.path().join(format!("produit={trial}"));
            let barrier = std::sync::Barrier::new(8);
            std::thread::scope(|scope| {
                for i in 0..8 {
                    let (folder, barrier) = (&folder, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        create_staged(&folder.join(format!("part-{i}"))).unwrap();
                    });
                }
            });
            assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 8);
        }
    }
}
