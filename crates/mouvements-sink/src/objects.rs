//! `Objects`: object I/O on the lake's base folder, over object_store's `PrefixStore`. Names
//! are relative to the base and `/`-separated (`raw/_SUCCESS`); they are parsed, not encoded,
//! so `produit=santé` stays a raw UTF-8 folder name as Spark writes it. This module knows
//! nothing of datasets: the protocol above it decides what to read and write.
//!
//! On a local lake, an upload is staged in a file named `<name>#<n>` beside its target (by
//! object_store, or by [`ObjectWriter`] writing local files in place), which object_store
//! hides from listings. A process killed mid-upload leaves one
//! behind, which Spark reading the folder would ingest, so listings here report them as
//! [`Listed::leftover`] and [`Objects::delete`] removes them.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use tokio::runtime::Handle;

use crate::store::{LOCAL_FLUSH_IN_BATCHES, open_store};
use crate::writer::WriteTarget;
use crate::{LakeUrl, ObjectReader, ObjectWriter, Receipt, SinkError, StoreOptions, UploadShape};

/// Sizes read at once from a store: enough to hide its latency.
const CONCURRENT_HEADS: usize = 32;

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its name, relative to the base.
    pub name: String,
    /// Its size, when the listing read it: a store's listing does, a local walk does not
    /// (see [`Objects::sizes`]).
    pub size: Option<u64>,
    /// Whether it is an unfinished local upload (`<name>#<n>`), not an object.
    pub leftover: bool,
}

/// The objects under one lake base.
#[derive(Clone)]
pub struct Objects {
    url: LakeUrl,
    store: Arc<dyn ObjectStore>,
    local_root: Option<PathBuf>,
}

impl Objects {
    /// Opens the objects of the lake at `url`; never writes.
    pub fn open(url: &LakeUrl, options: &StoreOptions) -> Result<Self, SinkError> {
        let opened = open_store(url, options)?;
        Ok(Self::with_store(url.clone(), opened.store, &opened.prefix).with_local_root(opened.local_root))
    }

    /// The objects under `prefix` of a given store, e.g. a wrapped one in tests.
    pub fn with_store(url: LakeUrl, store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        let store: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(store, prefix));
        Self { url, store, local_root: None }
    }

    fn with_local_root(mut self, root: Option<PathBuf>) -> Self {
        self.local_root = root;
        self
    }

    /// Whether the lake is a local folder.
    pub(crate) fn is_local(&self) -> bool {
        self.local_root.is_some()
    }

    /// Where the lake lives.
    pub fn url(&self) -> &LakeUrl {
        &self.url
    }

    /// The full URL of an object or folder, as Spark would address it.
    pub fn url_of(&self, name: &str) -> String {
        self.url.join(name)
    }

    fn path(name: &str) -> Result<Path, SinkError> {
        Path::parse(name).map_err(|e| SinkError::Name { name: name.to_owned(), reason: e.to_string() })
    }

    fn error(&self, operation: &'static str, name: &str) -> impl Fn(object_store::Error) -> SinkError {
        let url = self.url_of(name);
        move |source| SinkError::Store { operation, url: url.clone(), source }
    }

    /// Reads a small object whole; `None` when it does not exist (or vanished since listed).
    pub async fn get(&self, name: &str) -> Result<Option<Bytes>, SinkError> {
        let path = Self::path(name)?;
        let read = match self.store.get(&path).await {
            Ok(result) => result.bytes().await,
            Err(e) => Err(e),
        };
        match read {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("read", name)(e)),
        }
    }

    /// Writes a small object, replacing any.
    pub async fn put(&self, name: &str, bytes: Bytes) -> Result<(), SinkError> {
        let path = Self::path(name)?;
        self.store.put(&path, PutPayload::from_bytes(bytes)).await.map_err(self.error("write", name))?;
        Ok(())
    }

    /// Writes a small object only if none exists: `Ok(false)` when one does. Two writers can
    /// never both create it (S3 If-None-Match, GCS if-generation-match 0, Azure If-None-Match,
    /// a hard link on local disks).
    pub async fn create(&self, name: &str, bytes: Bytes) -> Result<bool, SinkError> {
        let options = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        let path = Self::path(name)?;
        match self.store.put_opts(&path, PutPayload::from_bytes(bytes), options).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.error("write", name)(e)),
        }
    }

    /// Deletes an object (or a local leftover); one already gone is fine.
    pub async fn delete(&self, name: &str) -> Result<(), SinkError> {
        if let Some(file) = self.leftover_file(name) {
            return match std::fs::remove_file(&file) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(SinkError::Write { url: self.url_of(name), source: e }),
            };
        }
        match self.store.delete(&Self::path(name)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", name)(e)),
        }
    }

    /// Makes every write so far durable. On a local lake under Linux this is one `syncfs` of
    /// the lake's file system, which covers every file and folder entry every task wrote
    /// (10,000 shards cost one flush instead of 40,000 fsyncs); object stores, and local
    /// lakes elsewhere (an fsync per file), are durable already.
    pub async fn make_durable(&self) -> Result<(), SinkError> {
        #[cfg(target_os = "linux")]
        if let Some(root) = self.local_root.clone() {
            let url = self.url.to_string();
            return tokio::task::spawn_blocking(move || {
                std::fs::File::open(&root).and_then(|folder| Ok(rustix::fs::syncfs(&folder)?))
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|synced| synced)
            .map_err(|source| SinkError::Write { url, source });
        }
        Ok(())
    }

    /// Every object under the folder `prefix` (and, on a local lake, every leftover upload).
    /// A local lake is walked here, once, reading names only: object_store's walk stats each
    /// entry twice and would need a second walk for the leftovers it hides, and an append
    /// lists every file of the lake's history but needs the sizes of its own files only.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>, SinkError> {
        let path = Self::path(prefix)?;
        if let Some(root) = self.local_root.clone() {
            let prefix_owned = prefix.to_owned();
            return tokio::task::spawn_blocking(move || list_local(&root, &prefix_owned))
                .await
                .map_err(std::io::Error::other)
                .and_then(|listed| listed)
                .map_err(|e| {
                    self.error("list", prefix)(object_store::Error::Generic {
                        store: "local",
                        source: e.into(),
                    })
                });
        }
        self.store
            .list(Some(&path))
            .map_ok(|meta| Listed { name: meta.location.to_string(), size: Some(meta.size), leftover: false })
            .try_collect()
            .await
            .map_err(self.error("list", prefix))
    }

    /// The sizes of objects (`None` for one that does not exist), read together: on a local
    /// lake, one `stat` each on one blocking thread.
    pub async fn sizes(&self, names: &[&str]) -> Result<Vec<Option<u64>>, SinkError> {
        if let Some(root) = self.local_root.clone() {
            for name in names {
                Self::path(name)?;
            }
            let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let stat = move || {
                let mut sizes = Vec::with_capacity(owned.len());
                for name in owned {
                    sizes.push(match std::fs::metadata(root.join(&name)) {
                        // As the listing: whatever is not a folder is an object.
                        Ok(meta) => (!meta.is_dir()).then_some(meta.len()),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                        Err(e) => return Err((name, e)),
                    });
                }
                Ok(sizes)
            };
            let stated = tokio::task::spawn_blocking(stat).await.unwrap_or_else(|e| {
                Err((names.first().map_or_else(String::new, |n| (*n).to_owned()), e.into()))
            });
            return stated.map_err(|(name, e)| {
                self.error("stat", &name)(object_store::Error::Generic { store: "local", source: e.into() })
            });
        }
        futures::stream::iter(names)
            .map(|name| async move {
                match self.store.head(&Self::path(name)?).await {
                    Ok(meta) => Ok(Some(meta.size)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(self.error("stat", name)(e)),
                }
            })
            .buffered(CONCURRENT_HEADS)
            .try_collect()
            .await
    }

    /// The file of a local leftover upload, when `name` is one.
    fn leftover_file(&self, name: &str) -> Option<PathBuf> {
        let root = self.local_root.as_ref()?;
        is_leftover(name).then(|| root.join(name))
    }

    /// Starts writing the same bytes to every object of `names` (created or replaced as a
    /// whole when the writer finishes). Blocking: call from a blocking thread.
    pub fn writer(
        &self,
        names: &[String],
        gzip: bool,
        shape: UploadShape,
        handle: &Handle,
        cancel: Arc<AtomicBool>,
    ) -> Result<ObjectWriter, SinkError> {
        let paths = names.iter().map(|n| Self::path(n)).collect::<Result<Vec<_>, _>>()?;
        let url = names.first().map(|n| self.url_of(n)).unwrap_or_default();
        // Where files are not fsynced one by one (see `make_durable`), they are written in
        // place, and big ones flushed as they complete.
        let local_files = match &self.local_root {
            Some(root) if LOCAL_FLUSH_IN_BATCHES => names.iter().map(|n| root.join(n)).collect(),
            _ => Vec::new(),
        };
        let target = WriteTarget { store: Arc::clone(&self.store), paths, local_files, url };
        Ok(ObjectWriter::new(target, gzip, shape, handle.clone(), cancel))
    }

    /// Opens an object for reading, gzip decoded if asked. Blocking: call from a blocking thread.
    pub fn reader(&self, name: &str, gzip: bool, handle: &Handle) -> Result<ObjectReader, SinkError> {
        let path = Self::path(name)?;
        let result = handle.block_on(self.store.get(&path)).map_err(self.error("read", name))?;
        Ok(ObjectReader::new(result.into_stream(), gzip, handle.clone()))
    }

    /// Size and CRC32C of a stored object, streamed; `None` when it does not exist.
    pub async fn receipt(&self, name: &str) -> Result<Option<Receipt>, SinkError> {
        let result = match self.store.get(&Self::path(name)?).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error("read", name)(e)),
        };
        let mut stream = result.into_stream();
        let mut receipt = Receipt::default();
        while let Some(chunk) = stream.try_next().await.map_err(self.error("read", name))? {
            receipt.add(&chunk);
        }
        Ok(Some(receipt))
    }
}

/// Whether a name is object_store's staging name for a local upload: `<name>#<digits>`.
fn is_leftover(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Every file under the folder `prefix` of a local lake, named relative to `root`, its size
/// unread: objects, and leftover uploads marked as such. A symbolic link to a file is
/// followed (a broken one is skipped, as object_store does); one to a folder is not walked
/// (no loop can hold the walk); entries removed while the walk runs are skipped, and names
/// that are not UTF-8 are no object of this lake.
fn list_local(root: &std::path::Path, prefix: &str) -> std::io::Result<Vec<Listed>> {
    let mut listed = Vec::new();
    let mut folders = vec![root.join(prefix)];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let is_file = match entry.file_type() {
                Ok(kind) if kind.is_symlink() => std::fs::metadata(&path).map(|meta| !meta.is_dir()),
                Ok(kind) if kind.is_dir() => {
                    folders.push(path);
                    continue;
                }
                Ok(_) => Ok(true),
                Err(e) => Err(e),
            };
            let is_file = match is_file {
                Ok(is_file) => is_file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if is_file && let Some(name) = path.strip_prefix(root).ok().and_then(|p| p.to_str()) {
                listed.push(Listed { name: name.to_owned(), size: None, leftover: is_leftover(name) });
            }
        }
    }
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_listing_finds_objects_and_leftovers_in_one_walk() {
        let root = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = root.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        };
        write("raw/a.csv", b"abc");
        write("raw/a.csv#3", b"ab");
        write("raw/_shards/k/s.json", b"{}");
        write("staging/x.parquet", b"x");
        std::os::unix::fs::symlink(root.path().join("nowhere"), root.path().join("raw/broken")).unwrap();
        std::os::unix::fs::symlink(root.path().join("staging/x.parquet"), root.path().join("raw/linked"))
            .unwrap();
        let mut listed = list_local(root.path(), "raw").unwrap();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        let listed: Vec<_> = listed.iter().map(|l| (l.name.as_str(), l.size, l.leftover)).collect();
        assert_eq!(
            listed,
            [
                ("raw/_shards/k/s.json", None, false),
                ("raw/a.csv", None, false),
                ("raw/a.csv#3", None, true),
                ("raw/linked", None, false),
            ]
        );
        assert!(list_local(root.path(), "delta").unwrap().is_empty(), "a missing folder lists nothing");
    }

    #[test]
    fn leftover_names_are_recognised() {
        assert!(is_leftover("raw/mouvements-00001-of-00005.csv#1"));
        assert!(is_leftover("raw/x#12"));
        assert!(!is_leftover("raw/x#"));
        assert!(!is_leftover("raw/x#a1"));
        assert!(!is_leftover("raw/mouvements-00001-of-00005.csv"));
    }
}
