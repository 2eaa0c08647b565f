//! `ObjectReader`: a blocking `io::Read` over a stored object, gzip decoded when asked, that
//! tallies the stored bytes and their CRC32C as they pass. Like the writer, use it from a
//! blocking thread.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::runtime::Handle;

use crate::Receipt;

/// The stored bytes, read through the store's stream.
struct StoredBytes {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    handle: Handle,
    tally: Arc<Mutex<Receipt>>,
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
        tally.add(&chunk);
        Ok(n)
    }
}

/// An object being read; see the module docs.
pub struct ObjectReader {
    inner: Box<dyn Read + Send>,
    tally: Arc<Mutex<Receipt>>,
}

impl ObjectReader {
    pub(crate) fn new(
        stream: BoxStream<'static, object_store::Result<Bytes>>,
        gzip: bool,
        handle: Handle,
    ) -> Self {
        let tally = Arc::new(Mutex::new(Receipt { bytes: 0, crc32c: 0 }));
        let stored = StoredBytes { stream, current: Bytes::new(), handle, tally: Arc::clone(&tally) };
        let inner: Box<dyn Read + Send> =
            if gzip { Box::new(MultiGzDecoder::new(stored)) } else { Box::new(stored) };
        Self { inner, tally }
    }

    /// Size and CRC32C of the stored bytes read so far (all of them once `read` returned 0).
    pub fn stored(&self) -> Receipt {
        *self.tally.lock().expect("tally lock is never poisoned: no code panics holding it")
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}
