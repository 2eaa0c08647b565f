//! A bounded line reader: lines of at most [`MAX_LINE_BYTES`] are read whole, longer ones are
//! reported and skipped, so memory stays bounded whatever the bytes (a hostile file may be
//! one endless line).

use std::io::{BufRead, BufReader, Read};

/// Longest line read whole; a longer one is reported and skipped (a valid line is < 120 bytes).
pub const MAX_LINE_BYTES: usize = 4096;

/// Reads lines of at most [`MAX_LINE_BYTES`]; reports whether each ended with `\n`.
pub struct Lines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
}

/// What the reader found next.
pub enum Next {
    /// A line, now in [`Lines::line`]; whether it ended with `\n`.
    Line {
        /// Whether it ended with `\n`.
        terminated: bool,
    },
    /// A line longer than [`MAX_LINE_BYTES`], skipped.
    TooLong,
    /// The end of the bytes.
    End,
}

impl<R: Read> Lines<R> {
    /// Lines of `reader`, read 1 MiB at a time: few calls into the store's stream, still a
    /// small share of memory.
    pub fn new(reader: R) -> Self {
        Self { reader: BufReader::with_capacity(1 << 20, reader), line: Vec::with_capacity(256) }
    }

    /// The current line, without its `\n`.
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Reads the next line.
    pub fn next(&mut self) -> std::io::Result<Next> {
        self.line.clear();
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(if self.line.is_empty() { Next::End } else { Next::Line { terminated: false } });
            }
            let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            let too_long = self.line.len() + chunk.len() > MAX_LINE_BYTES;
            if !too_long {
                self.line.extend_from_slice(chunk);
            }
            let consumed = found.unwrap_or(buf.len());
            self.reader.consume(consumed);
            if too_long {
                self.skip_to_newline(found.is_some())?;
                return Ok(Next::TooLong);
            }
            if found.is_some() {
                return Ok(Next::Line { terminated: true });
            }
        }
    }

    fn skip_to_newline(&mut self, already: bool) -> std::io::Result<()> {
        if already {
            return Ok(());
        }
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            if let Some(i) = buf.iter().position(|b| *b == b'\n') {
                self.reader.consume(i + 1);
                return Ok(());
            }
            let n = buf.len();
            self.reader.consume(n);
        }
    }
}
