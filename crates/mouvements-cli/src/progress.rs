//! The progress bar (on a terminal only) and the writer that feeds it.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Rows and bytes written so far, and the bar that shows them.
pub struct Progress {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
}

impl Progress {
    /// A bar over `rows` rows when stderr is a terminal and `enabled`.
    pub fn new(rows: u64, enabled: bool) -> Self {
        let bar = (enabled && io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(rows);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} rows  {per_sec}  eta {eta}")
                    .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar, bytes: AtomicU64::new(0) }
    }

    /// Stored-or-not bytes generated so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Moves the bar by `rows` rows written without CSV.
    pub fn add_rows(&self, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// A writer that counts what passes into `inner`.
    pub fn counting<W: Write>(&self, inner: W) -> Counting<'_, W> {
        Counting { inner, progress: self }
    }
}

/// See [`Progress::counting`].
pub struct Counting<'a, W> {
    inner: W,
    progress: &'a Progress,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(bar) = &self.progress.bar {
            #[allow(clippy::naive_bytecount)] // vectorises well; only runs with a bar on screen
            bar.inc(buf[..n].iter().filter(|&&b| b == b'\n').count() as u64);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
