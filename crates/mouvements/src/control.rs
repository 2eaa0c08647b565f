//! `Control`: what a front end holds while a job runs. It stops the job (Ctrl-C, a notebook's
//! interrupt), reads how far it got (a progress bar, a callback) and receives its events (log
//! lines). The job never prints: front ends decide what is shown.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::watch;

/// How much an event matters to the person watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The run's start and end.
    Info,
    /// One per shard: worth showing where no progress bar is.
    Progress,
}

/// Something that happened during a job, with structured fields (for logs).
#[derive(Debug, Clone)]
pub struct Event {
    /// How much it matters.
    pub level: Level,
    /// What happened, e.g. `shard written`.
    pub message: &'static str,
    /// Its details, e.g. `shard`, `rows`, `bytes`.
    pub fields: Vec<(&'static str, Value)>,
}

/// How far a job got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Rows this run writes, once known (after the lake is prepared).
    pub rows_total: u64,
    /// Rows written so far: counted only when the control was made with row counting.
    pub rows_done: u64,
    /// CSV bytes generated so far, before any compression.
    pub csv_bytes: u64,
}

/// A receiver of events.
type Listener = Box<dyn Fn(&Event) + Send + Sync>;

/// Cancellation, progress and events of one job, shared between the job and its front end.
pub struct Control {
    cancelled: AtomicBool,
    wake: watch::Sender<bool>,
    count_rows: bool,
    rows_total: AtomicU64,
    rows_done: AtomicU64,
    csv_bytes: AtomicU64,
    listener: Option<Listener>,
}

impl Default for Control {
    fn default() -> Self {
        Self::new(false)
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("cancelled", &self.is_cancelled())
            .field("progress", &self.progress())
            .finish_non_exhaustive()
    }
}

impl Control {
    /// A control; with `count_rows`, [`Progress::rows_done`] counts the rows as they are
    /// written (it costs a look at every CSV byte, so only for a bar someone watches).
    pub fn new(count_rows: bool) -> Self {
        Self {
            cancelled: AtomicBool::new(false),
            wake: watch::Sender::new(false),
            count_rows,
            rows_total: AtomicU64::new(0),
            rows_done: AtomicU64::new(0),
            csv_bytes: AtomicU64::new(0),
            listener: None,
        }
    }

    /// This control, with `listener` receiving every event.
    #[must_use]
    pub fn with_listener(mut self, listener: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Asks the job to stop: the shards in progress abort their uploads, nothing is
    /// committed, and the job returns [`crate::JobError::Interrupted`].
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.wake.send_replace(true);
    }

    /// Whether [`Control::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// How far the job got.
    pub fn progress(&self) -> Progress {
        Progress {
            rows_total: self.rows_total.load(Ordering::Relaxed),
            rows_done: self.rows_done.load(Ordering::Relaxed),
            csv_bytes: self.csv_bytes.load(Ordering::Relaxed),
        }
    }

    /// Waits until the job is cancelled.
    pub(crate) async fn cancelled(&self) {
        let mut woken = self.wake.subscribe();
        // The sender lives as long as `self`: `wait_for` only ends on cancellation.
        let _ = woken.wait_for(|cancelled| *cancelled).await;
    }

    pub(crate) fn set_total(&self, rows: u64) {
        self.rows_total.store(rows, Ordering::Relaxed);
    }

    /// Counts `rows` written without CSV.
    pub(crate) fn add_rows(&self, rows: u64) {
        self.rows_done.fetch_add(rows, Ordering::Relaxed);
    }

    /// Sends an event to the listener.
    pub(crate) fn emit(&self, level: Level, message: &'static str, fields: Vec<(&'static str, Value)>) {
        if let Some(listener) = &self.listener {
            listener(&Event { level, message, fields });
        }
    }

    /// A writer that counts what passes into `inner`: bytes, and rows (lines, but for a
    /// `header`).
    pub(crate) fn counting<W: Write>(&self, inner: W, header: bool) -> Counting<'_, W> {
        Counting { inner, control: self, uncounted_lines: u64::from(header) }
    }
}

/// See [`Control::counting`].
pub(crate) struct Counting<'a, W> {
    inner: W,
    control: &'a Control,
    /// Lines still to pass before lines count as rows: the header's.
    uncounted_lines: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.control.csv_bytes.fetch_add(n as u64, Ordering::Relaxed);
        if self.control.count_rows {
            #[allow(clippy::naive_bytecount)] // vectorises well; only runs for a watched bar
            let lines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            let skipped = lines.min(self.uncounted_lines);
            self.uncounted_lines -= skipped;
            self.control.rows_done.fetch_add(lines - skipped, Ordering::Relaxed);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
