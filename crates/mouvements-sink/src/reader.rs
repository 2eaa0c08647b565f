//! `ShardReader`: a blocking `io::Read` over a stored shard, gzip decoded when needed, that
//! tallies the stored bytes and their CRC32C as they pass. Like the writer, use it from a
//! blocking thread.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::runtime::Handle;

use crate::{ShardFormat, ShardReceipt};

/// The stored bytes, read through the store's stream.
struct StoredBytes {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    handle: Handle,
    tally: Arc<Mutex<ShardReceipt>>,
}

impl Read for StoredBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        buf[..n].copy_from_slice(&chunk);
        let mut tally = self.tally.lock().expect("tally lock is never poisoned: no code panics holding it");
        tally.bytes += n as u64;
        tally.crc32c = crc32c::crc32c_append(tally.crc32c, &chunk);
        Ok(n)
    }
}

/// A shard being read; see the module docs.
pub struct ShardReader {
    inner: Box<dyn Read + Send>,
    tally: Arc<Mutex<ShardReceipt>>,
}

impl ShardReader {
    pub(crate) fn new(
        stream: BoxStream<'static, object_store::Result<Bytes>>,
        format: ShardFormat,
        handle: Handle,
    ) -> Self {
        let tally = Arc::new(Mutex::new(ShardReceipt { bytes: 0, crc32c: 0 }));
        let stored = StoredBytes { stream, current: Bytes::new(), handle, tally: Arc::clone(&tally) };
        let inner: Box<dyn Read + Send> = match format {
            ShardFormat::Csv => Box::new(stored),
            ShardFormat::CsvGz => Box::new(MultiGzDecoder::new(stored)),
        };
        Self { inner, tally }
    }

    /// Size and CRC32C of the stored bytes read so far (all of them once `read` returned 0).
    pub fn stored(&self) -> ShardReceipt {
        *self.tally.lock().expect("tally lock is never poisoned: no code panics holding it")
    }
}

impl Read for ShardReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}
